// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The downstream side of `drip consume --deliver-url`: an HTTP/1.1 client
// that POSTs one message per call over kept-alive connections, plain or
// TLS (certificates and host names checked), each call bounded by a
// timeout. It reports what happened; what that means for the message is
// delivery_policy.h's business.

#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/errc.h"
#include "consume/delivery_policy.h"

namespace drip::consume {

// Where deliveries go, split out of --deliver-url.
struct DeliveryTarget {
    bool tls = false;
    std::string host;          // without brackets for IPv6
    std::string port;          // "80" or "443" unless the URL names one
    std::string target = "/";  // path and query
    std::string host_header;   // host[:port] as the URL has it
};

// Parses an http:// or https:// URL (the settings have checked its shape).
Result<DeliveryTarget> ParseDeliveryUrl(std::string_view url);

struct DeliveryOptions {
    std::chrono::milliseconds timeout{10'000};
    // PEM certificates to trust instead of the system's.
    std::optional<std::string> ca_file;
    // Idle connections kept for reuse; more than the deliveries in flight
    // at once is never needed.
    size_t max_idle = 16;
};

// Not thread-safe: every call on the executor's one thread.
class DeliveryClient {
  public:
    DeliveryClient(boost::asio::any_io_executor executor, DeliveryTarget target,
                   DeliveryOptions options);
    ~DeliveryClient();
    DeliveryClient(const DeliveryClient&) = delete;
    DeliveryClient& operator=(const DeliveryClient&) = delete;

    // Loads the TLS trust store; an unreadable CA file is an error here,
    // at start, rather than a failed attempt per message later.
    Result<void> Prepare();

    // POSTs `body` (JSON) with `idempotency_key`. Never throws; a
    // transport failure is an answer with status 0.
    boost::asio::awaitable<DeliveryAnswer> Post(std::string body,
                                                std::string idempotency_key);

    // One kept-alive connection; defined in delivery.cc.
    struct Link;

  private:
    boost::asio::awaitable<std::unique_ptr<Link>> Connect(std::string& error);

    boost::asio::any_io_executor executor_;
    DeliveryTarget target_;
    DeliveryOptions options_;
    struct Tls;
    std::unique_ptr<Tls> tls_;
    std::vector<std::unique_ptr<Link>> idle_;
};

}  // namespace drip::consume
