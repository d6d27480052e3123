// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "http/api.h"

#include <charconv>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <boost/beast/core/string.hpp>

#include "bucket/leak_schedule.h"
#include "common/json_writer.h"
#include "http/metrics.h"
#include "http/pages.h"

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

Response Unauthorized() {
    auto response =
        Detail(bhttp::status::unauthorized, "missing or wrong bearer token");
    response.set(bhttp::field::www_authenticate, "Bearer");
    return response;
}

// The pages are fetched by browsers: the policy keeps them to their own
// inline code and to this server (no third-party fetch can creep in), and
// no-cache makes a new build's page show up at the next reload.
Response PageResponse(const char* content_type, std::string_view body) {
    Response response(bhttp::status::ok, 11);
    response.set(bhttp::field::content_type, content_type);
    response.set(bhttp::field::cache_control, "no-cache");
    response.set("X-Content-Type-Options", "nosniff");
    response.set("Content-Security-Policy",
                 "default-src 'none'; script-src 'unsafe-inline'; "
                 "style-src 'unsafe-inline'; connect-src 'self'; "
                 "img-src 'self' data:; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'");
    response.body() = std::string(body);
    return response;
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

    if (path == "/" || path == "/docs" || path == "/openapi.json") {
        co_return Page(request, path);
    }

    if (path == "/dead" || path == "/dead/requeue") {
        if (!Authorized(request)) co_return Unauthorized();
        const bool listing = path == "/dead";
        // Two statements, not one conditional: g++ 12 miscompiles a
        // co_await of a conditional expression.
        if (listing && method == bhttp::verb::get) {
            co_return co_await DeadLetters(request);
        }
        if (!listing && method == bhttp::verb::post) {
            co_return co_await Requeue(request);
        }
        auto response =
            Detail(bhttp::status::method_not_allowed, "method not allowed");
        response.set(bhttp::field::allow, listing ? "GET" : "POST");
        co_return response;
    }

    const bool enqueue = path == "/enqueue" || path == "/enqueue/batch";
    const bool stats = path == "/stats";
    const bool metrics = path == "/metrics";
    if (!enqueue && !stats && !metrics) {
        co_return Detail(bhttp::status::not_found, "not found");
    }
    if (!Authorized(request)) {
        co_return Unauthorized();
    }
    if (enqueue && method == bhttp::verb::post) {
        const auto started = std::chrono::steady_clock::now();
        auto response = co_await Enqueue(request, path == "/enqueue/batch");
        RecordEnqueue(context_.redis, context_.bucket.Queue(),
                      response.result_int(),
                      std::chrono::steady_clock::now() - started);
        co_return response;
    }
    if (stats && method == bhttp::verb::get) co_return co_await Stats();
    if (metrics && method == bhttp::verb::get) co_return co_await Metrics();
    auto response =
        Detail(bhttp::status::method_not_allowed, "method not allowed");
    response.set(bhttp::field::allow, enqueue ? "POST" : "GET");
    co_return response;
}

// The two pages hold no data, so a browser loads them before it has the
// token (they ask for it); the OpenAPI document is API like the rest and
// takes the token: PRODUCT.md exempts only /, /docs, /healthz and /readyz.
Response Api::Page(const Request& request, std::string_view path) const {
    if (request.method() != bhttp::verb::get) {
        auto response =
            Detail(bhttp::status::method_not_allowed, "method not allowed");
        response.set(bhttp::field::allow, "GET");
        return response;
    }
    if (path == "/openapi.json") {
        if (!Authorized(request)) return Unauthorized();
        return PageResponse("application/json", OpenApiDocument());
    }
    return PageResponse("text/html; charset=utf-8",
                        path == "/" ? DashboardPage() : DocsPage());
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

    auto admitted = co_await context_.admit_bucket.Admit(messages_, key);
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
        // The answer to nearly every request: compiled, and written where
        // it can be sized before the body's one allocation. Four 64-bit
        // integers of up to 20 characters and the text make at most 142.
        char body[160];
        const auto written = fmt::format_to_n(
            body, sizeof body,
            FMT_COMPILE(R"({{"status": "queued", "seq": {}, "id": {}, )"
                        R"("depth": {}, "capacity": {}}})"),
            result.first_seq, result.id, result.depth, result.capacity);
        co_return JsonResponse(bhttp::status::accepted,
                               std::string(body, written.size));
    }
    std::string body = R"({"status": "queued", "seqs": [)";
    for (int64_t i = 0; i < result.count; ++i) {
        fmt::format_to(std::back_inserter(body), FMT_COMPILE("{}{}"),
                       i ? ", " : "", result.first_seq + i);
    }
    fmt::format_to(std::back_inserter(body),
                   R"(], "depth": {}, "capacity": {}}})", result.depth,
                   result.capacity);
    co_return JsonResponse(bhttp::status::accepted, std::move(body));
}

namespace {

// The value of query parameter `name` in `target`, undecoded; nullopt when
// absent. The dead-letter page's parameters are integers, so percent
// decoding is never needed.
std::optional<std::string_view> QueryParameter(std::string_view target,
                                               std::string_view name) {
    const auto question = target.find('?');
    if (question == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(question + 1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (pair.substr(0, equals) == name) {
            return equals == std::string_view::npos ? std::string_view()
                                                    : pair.substr(equals + 1);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

std::optional<int64_t> ParsePositive(std::string_view text) {
    int64_t value = 0;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1) {
        return std::nullopt;
    }
    return value;
}

Response QueryError(std::string_view name, std::string_view msg) {
    return JsonResponse(
        bhttp::status::unprocessable_entity,
        fmt::format(R"({{"detail": [{{"loc": ["query", "{}"], "msg": {}, )"
                    R"("type": "value_error"}}]}})",
                    name, JsonString(msg)));
}

constexpr int64_t kDefaultDeadPage = 50;
constexpr int64_t kMaxDeadPage = 1000;

}  // namespace

asio::awaitable<Response> Api::DeadLetters(const Request& request) {
    const auto target = Std(request.target());
    std::optional<int64_t> cursor;
    int64_t limit = kDefaultDeadPage;
    if (const auto text = QueryParameter(target, "cursor");
        text && !text->empty()) {
        cursor = ParsePositive(*text);
        if (!cursor) {
            co_return QueryError("cursor",
                                 "must be the next value of an earlier page");
        }
    }
    if (const auto text = QueryParameter(target, "limit")) {
        const auto value = ParsePositive(*text);
        if (!value || *value > kMaxDeadPage) {
            co_return QueryError("limit", "must be an integer from 1 to 1000");
        }
        limit = *value;
    }
    auto page = co_await context_.bucket.DeadLetters(cursor, limit);
    if (!page) co_return FailureResponse(page.error());

    std::string body = R"({"dead": [)";
    bool first = true;
    for (const auto& letter : page.value()) {
        const auto message = bucket::ParseStored(letter.stored);
        if (!message) continue;
        fmt::format_to(
            std::back_inserter(body),
            R"({}{{"seq": {}, "message": {{"id": {}, "job_priority": {}, )"
            R"("job_type": {}, "job_publisher": {}, "data": {}}}, )"
            R"("attempts": {}, "last_error": {}, "enqueued_at": ")",
            first ? "" : ", ", message->seq, message->id, message->job_priority,
            message->job_type, message->publisher_json, message->data_json,
            message->attempt, letter.last_error);
        AppendIsoTime(body, Micros(message->enqueued_us));
        body += R"(", "dead_at": ")";
        AppendIsoTime(body, letter.dead_at);
        body += "\"}";
        first = false;
    }
    body += "], \"next\": ";
    if (static_cast<int64_t>(page.value().size()) == limit) {
        body += std::to_string(page.value().back().order);
    } else {
        body += "null";
    }
    body += "}";
    co_return JsonResponse(bhttp::status::ok, std::move(body));
}

asio::awaitable<Response> Api::Requeue(const Request& request) {
    if (!request.body().empty() &&
        !IsJsonContentType(Std(request[bhttp::field::content_type]))) {
        co_return Detail(bhttp::status::unsupported_media_type,
                         "Content-Type must be application/json");
    }
    std::optional<std::vector<int64_t>> seqs;
    violations_.clear();
    if (!bucket::ParseSeqSelection(request.body(), seqs, violations_)) {
        co_return JsonResponse(bhttp::status::unprocessable_entity,
                               bucket::RenderViolations(violations_));
    }
    auto requeued = co_await context_.bucket.Requeue(seqs);
    if (!requeued) co_return FailureResponse(requeued.error());
    co_return JsonResponse(
        bhttp::status::ok,
        fmt::format(R"({{"requeued": {}, "dead": {}}})",
                    requeued.value().requeued, requeued.value().still_dead));
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

asio::awaitable<Response> Api::Metrics() {
    const auto& settings = context_.options.settings;
    auto figures = co_await ReadBucketFigures(
        context_.redis, bucket::BaseKey(context_.bucket.Queue()),
        settings.capacity, settings.leak_rate);
    if (!figures) co_return FailureResponse(figures.error());
    Response response(bhttp::status::ok, 11);
    response.set(bhttp::field::content_type, kMetricsContentType);
    response.body() =
        RenderMetrics(figures.value(), EnqueueLatency().Snapshot());
    co_return response;
}

}  // namespace drip::http
