// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "http/api.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <boost/beast/core/string.hpp>

#include "bucket/leak_schedule.h"
#include "common/json_writer.h"

namespace drip::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr size_t kMaxIdempotencyKey = 200;

// Beast 1.74 speaks boost::string_view; the rest of drip speaks std's.
std::string_view Std(beast::string_view text) {
    return {text.data(), text.size()};
}

Response Detail(bhttp::status status, std::string_view detail) {
    return JsonResponse(status,
                        fmt::format(R"({{"detail": {}}})", JsonString(detail)));
}

// The one place where a failed Redis step becomes an HTTP status.
Response FailureResponse(const Error& error) {
    switch (ErrcOf(error)) {
        case Errc::kUnavailable:
        case Errc::kDeadlineExceeded:
            return Detail(bhttp::status::service_unavailable,
                          "redis unavailable: " + error.detail);
        default:
            spdlog::error("request failed err={}", error.detail);
            return Detail(bhttp::status::internal_server_error,
                          "internal error");
    }
}

bool IsJsonContentType(std::string_view value) {
    const auto semicolon = value.find(';');
    auto media = value.substr(0, semicolon);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    return beast::iequals(beast::string_view(media.data(), media.size()),
                          "application/json");
}

// Idempotency keys become part of a Redis key: printable ASCII only.
bool IsValidIdempotencyKey(std::string_view key) {
    if (key.empty() || key.size() > kMaxIdempotencyKey) return false;
    for (const char c : key) {
        if (c <= ' ' || c > '~') return false;
    }
    return true;
}

std::string_view PathOf(std::string_view target) {
    return target.substr(0, target.find('?'));
}

}  // namespace

Response JsonResponse(bhttp::status status, std::string body) {
    Response response(status, 11);
    response.set(bhttp::field::content_type, "application/json");
    response.body() = std::move(body);
    return response;
}

bool Api::Authorized(const Request& request) const {
    const auto& token = context_.options.settings.api_token;
    if (!token) return true;
    const auto header = Std(request[bhttp::field::authorization]);
    constexpr std::string_view kBearer = "Bearer ";
    if (!header.starts_with(kBearer)) return false;
    const auto given = header.substr(kBearer.size());
    // Constant time in the token's content; its length is not a secret
    // worth the complexity of hiding.
    return given.size() == token->size() &&
           CRYPTO_memcmp(given.data(), token->data(), given.size()) == 0;
}

asio::awaitable<Response> Api::Handle(const Request& request) {
    const auto path = PathOf(Std(request.target()));
    const auto method = request.method();
    if (path == "/healthz" || path == "/readyz") {
        if (method != bhttp::verb::get) {
            co_return Detail(bhttp::status::method_not_allowed,
                             "method not allowed");
        }
        if (path == "/healthz") {
            co_return JsonResponse(bhttp::status::ok, R"({"status": "ok"})");
        }
        if (context_.workers_up.load() >= context_.workers) {
            co_return JsonResponse(bhttp::status::ok, R"({"status": "ready"})");
        }
        co_return Detail(bhttp::status::service_unavailable,
                         "redis unavailable: " + context_.redis.LastError());
    }

    const bool enqueue = path == "/enqueue" || path == "/enqueue/batch";
    const bool stats = path == "/stats";
    if (!enqueue && !stats) {
        co_return Detail(bhttp::status::not_found, "not found");
    }
    if (!Authorized(request)) {
        auto response = Detail(bhttp::status::unauthorized,
                               "missing or wrong bearer token");
        response.set(bhttp::field::www_authenticate, "Bearer");
        co_return response;
    }
    if (enqueue && method == bhttp::verb::post) {
        co_return co_await Enqueue(request, path == "/enqueue/batch");
    }
    if (stats && method == bhttp::verb::get) co_return co_await Stats();
    auto response =
        Detail(bhttp::status::method_not_allowed, "method not allowed");
    response.set(bhttp::field::allow, enqueue ? "POST" : "GET");
    co_return response;
}

asio::awaitable<Response> Api::Enqueue(const Request& request, bool batch) {
    if (!IsJsonContentType(Std(request[bhttp::field::content_type]))) {
        co_return Detail(bhttp::status::unsupported_media_type,
                         "Content-Type must be application/json");
    }
    const std::string_view key = Std(request["Idempotency-Key"]);
    if (request.count("Idempotency-Key") > 0 && !IsValidIdempotencyKey(key)) {
        co_return JsonResponse(
            bhttp::status::unprocessable_entity,
            R"({"detail": [{"loc": ["header", "Idempotency-Key"], )"
            R"("msg": "must be 1 to 200 printable ASCII characters", )"
            R"("type": "value_error"}]})");
    }

    messages_.clear();
    violations_.clear();
    bool valid = false;
    if (batch) {
        valid = parser_.ParseBatch(request.body(), context_.options.max_batch,
                                   messages_, violations_);
    } else {
        messages_.emplace_back();
        valid = parser_.ParseOne(request.body(), messages_.back(), violations_);
    }
    if (!valid) {
        co_return JsonResponse(bhttp::status::unprocessable_entity,
                               bucket::RenderViolations(violations_));
    }

    auto admitted = co_await context_.bucket.Admit(messages_, key);
    if (!admitted) co_return FailureResponse(admitted.error());
    const auto& result = admitted.value();
    if (result.admission == bucket::Admission::kBucketFull) {
        auto response = JsonResponse(
            bhttp::status::too_many_requests,
            fmt::format(R"({{"detail": "bucket full", "capacity": {}}})",
                        result.capacity));
        response.set(bhttp::field::retry_after,
                     std::to_string(bucket::RetryAfterSeconds(
                         result.depth, result.capacity, result.count,
                         result.leak_rate)));
        co_return response;
    }
    if (!batch) {
        co_return JsonResponse(
            bhttp::status::accepted,
            fmt::format(R"({{"status": "queued", "seq": {}, "id": {}, )"
                        R"("depth": {}, "capacity": {}}})",
                        result.first_seq, result.id, result.depth,
                        result.capacity));
    }
    std::string body = R"({"status": "queued", "seqs": [)";
    for (int64_t i = 0; i < result.count; ++i) {
        fmt::format_to(std::back_inserter(body), "{}{}", i ? ", " : "",
                       result.first_seq + i);
    }
    fmt::format_to(std::back_inserter(body),
                   R"(], "depth": {}, "capacity": {}}})", result.depth,
                   result.capacity);
    co_return JsonResponse(bhttp::status::accepted, std::move(body));
}

asio::awaitable<Response> Api::Stats() {
    auto stats = co_await context_.bucket.Stats();
    if (!stats) co_return FailureResponse(stats.error());
    const auto& s = stats.value();
    co_return JsonResponse(
        bhttp::status::ok,
        fmt::format(R"({{"queue": {}, "capacity": {}, "leak_rate": {}, )"
                    R"("depth": {}, "in_flight": {}, "accepted": {}, )"
                    R"("rejected": {}, "processed": {}, "dead": {}}})",
                    JsonString(context_.bucket.Queue()), s.capacity,
                    s.leak_rate, s.depth, s.in_flight, s.accepted, s.rejected,
                    s.processed, s.dead));
}

}  // namespace drip::http
