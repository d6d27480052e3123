// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The HTTP API's routes and handlers: a Request in, a Response out. The
// status codes and bodies are PRODUCT.md's contract; every answer, errors
// included, is JSON.

#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include "bucket/bucket.h"
#include "bucket/message.h"
#include "http/server.h"

namespace drip::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A response with `body` as application/json.
Response JsonResponse(boost::beast::http::status status, std::string body);

// What the handlers work with; all of it belongs to one worker thread but
// admit_bucket, which every worker admits through (see Bucket::Admit).
struct ApiContext {
    const ServerOptions& options;
    redis::Connection& redis;
    bucket::Bucket& bucket;
    bucket::Bucket& admit_bucket;
    // Workers whose Redis connection is up, of `workers`: the process is
    // ready when every one of them is, whichever worker is asked.
    const std::atomic<int>& workers_up;
    int workers;
};

// Not thread-safe: one per worker.
class Api {
  public:
    explicit Api(ApiContext context) : context_(context) {}

    // Routes `request` and answers it; never throws for bad input.
    boost::asio::awaitable<Response> Handle(const Request& request);

  private:
    boost::asio::awaitable<Response> Enqueue(const Request& request,
                                             bool batch);
    boost::asio::awaitable<Response> Stats();
    // GET /dead and POST /dead/requeue.
    boost::asio::awaitable<Response> DeadLetters(const Request& request);
    boost::asio::awaitable<Response> Requeue(const Request& request);
    boost::asio::awaitable<Response> Metrics();
    // GET /, /docs and /openapi.json.
    Response Page(const Request& request, std::string_view path) const;
    bool Authorized(const Request& request) const;

    ApiContext context_;
    bucket::MessageParser parser_;
    std::vector<bucket::Message> messages_;
    std::vector<bucket::Violation> violations_;
};

}  // namespace drip::http
