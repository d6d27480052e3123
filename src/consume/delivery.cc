// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/delivery.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>

#include <variant>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace drip::consume {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

// A downstream's answer is kept in memory whole before its start is
// logged; a larger one is cut off as a failed read. Downstreams of a
// leaky bucket answer with a status and a line, not with megabytes.
constexpr uint64_t kMaxResponseBody = uint64_t{1} << 20;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string Describe(const error_code& ec) {
    if (ec == beast::error::timeout) return "timeout";
    return ec.message();
}

}  // namespace

struct DeliveryClient::Tls {
    Tls() : context(asio::ssl::context::tls_client) {}
    asio::ssl::context context;
};

struct DeliveryClient::Link {
    explicit Link(beast::tcp_stream tcp) : stream(std::move(tcp)) {}
    Link(beast::tcp_stream tcp, asio::ssl::context& context)
        : stream(std::in_place_type<TlsStream>, std::move(tcp), context) {}

    beast::tcp_stream& Tcp() {
        if (auto* tls = std::get_if<TlsStream>(&stream)) {
            return beast::get_lowest_layer(*tls);
        }
        return std::get<beast::tcp_stream>(stream);
    }

    std::variant<beast::tcp_stream, TlsStream> stream;
    beast::flat_buffer buffer;
};

namespace {

// One request and its answer on `stream`.
template <typename Stream>
asio::awaitable<error_code> Exchange(
    Stream& stream, beast::flat_buffer& buffer,
    bhttp::request<bhttp::string_body>& request,
    bhttp::response_parser<bhttp::string_body>& parser) {
    error_code ec;
    co_await bhttp::async_write(stream, request,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    co_await bhttp::async_read(stream, buffer, parser,
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

// Whether an idle connection is still usable: nothing to read yet. A
// closed one reads as end of file; one with bytes waiting (a TLS alert, a
// stray answer) is out of step with its requests.
bool StillOpen(beast::tcp_stream& tcp) {
    char byte = 0;
    const ssize_t n =
        ::recv(tcp.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

Result<DeliveryTarget> ParseDeliveryUrl(std::string_view url) {
    DeliveryTarget target;
    std::string_view rest;
    const auto lower_starts = [&](std::string_view prefix) {
        if (url.size() < prefix.size()) return false;
        for (size_t i = 0; i < prefix.size(); ++i) {
            if (std::tolower(static_cast<unsigned char>(url[i])) != prefix[i]) {
                return false;
            }
        }
        return true;
    };
    if (lower_starts("https://")) {
        target.tls = true;
        target.port = "443";
        rest = url.substr(8);
    } else if (lower_starts("http://")) {
        target.port = "80";
        rest = url.substr(7);
    } else {
        return MakeError(Errc::kInvalidArgument,
                         "deliver URL must start with http:// or https://");
    }
    const auto path_at = rest.find_first_of("/?");
    auto authority = rest.substr(0, path_at);
    if (path_at != std::string_view::npos) {
        target.target = std::string(rest.substr(path_at));
        if (target.target.front() == '?') target.target.insert(0, "/");
    }
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        return MakeError(Errc::kInvalidArgument,
                         "deliver URL must not carry credentials");
    }
    target.host_header = std::string(authority);
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return MakeError(Errc::kInvalidArgument, "deliver URL: bad host");
        }
        target.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (authority.starts_with(':')) {
            target.port = std::string(authority.substr(1));
        }
    } else {
        const auto colon = authority.find(':');
        target.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            target.port = std::string(authority.substr(colon + 1));
        }
    }
    if (target.host.empty() || target.port.empty()) {
        return MakeError(Errc::kInvalidArgument, "deliver URL: bad host");
    }
    return target;
}

DeliveryClient::DeliveryClient(asio::any_io_executor executor,
                               DeliveryTarget target, DeliveryOptions options)
    : executor_(std::move(executor)),
      target_(std::move(target)),
      options_(std::move(options)) {}

DeliveryClient::~DeliveryClient() = default;

Result<void> DeliveryClient::Prepare() {
    if (!target_.tls) return outcome_v2::success();
    tls_ = std::make_unique<Tls>();
    error_code ec;
    if (options_.ca_file) {
        tls_->context.load_verify_file(*options_.ca_file, ec);
    } else {
        tls_->context.set_default_verify_paths(ec);
    }
    if (ec) {
        return MakeError(
            Errc::kInvalidArgument,
            fmt::format("cannot load CA certificates {}: {}",
                        options_.ca_file.value_or("(system)"), ec.message()));
    }
    tls_->context.set_verify_mode(asio::ssl::verify_peer);
    return outcome_v2::success();
}

asio::awaitable<std::unique_ptr<DeliveryClient::Link>> DeliveryClient::Connect(
    std::string& error) {
    error_code ec;
    tcp::resolver resolver(executor_);
    // TODO: resolving for every new connection costs a lookup per
    // connection; kept-alive connections make that rare, and caching
    // would have to honour the records' TTL to follow a moved downstream.
    const auto endpoints = co_await resolver.async_resolve(
        target_.host, target_.port,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        error = "resolve " + target_.host + ": " + Describe(ec);
        co_return nullptr;
    }
    beast::tcp_stream tcp(executor_);
    tcp.expires_after(options_.timeout);
    co_await tcp.async_connect(endpoints,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        error = "connect: " + Describe(ec);
        co_return nullptr;
    }
    tcp.socket().set_option(tcp::no_delay(true), ec);
    if (!target_.tls) co_return std::make_unique<Link>(std::move(tcp));

    auto link = std::make_unique<Link>(std::move(tcp), tls_->context);
    auto& tls = std::get<TlsStream>(link->stream);
    // SNI, spelled out: OpenSSL's SSL_set_tlsext_host_name macro hides a C
    // cast that -Wold-style-cast rejects.
    SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
             TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(target_.host.c_str()));
    tls.set_verify_callback(asio::ssl::host_name_verification(target_.host));
    co_await tls.async_handshake(asio::ssl::stream_base::client,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        error = "tls handshake: " + Describe(ec);
        co_return nullptr;
    }
    co_return link;
}

asio::awaitable<DeliveryAnswer> DeliveryClient::Post(
    std::string body, std::string idempotency_key) {
    bhttp::request<bhttp::string_body> request(bhttp::verb::post,
                                               target_.target, 11);
    request.set(bhttp::field::host, target_.host_header);
    request.set(bhttp::field::user_agent, "drip/" DRIP_VERSION);
    request.set(bhttp::field::content_type, "application/json");
    request.set("Idempotency-Key", idempotency_key);
    request.keep_alive(true);
    request.body() = std::move(body);
    request.prepare_payload();

    DeliveryAnswer answer;
    std::unique_ptr<Link> link;
    // A kept-alive connection the downstream closed while it sat idle would
    // fail this attempt for nothing: such connections are dropped here.
    // One closed at the very moment the request goes out still fails the
    // attempt, which is then retried like any other.
    while (!link && !idle_.empty()) {
        link = std::move(idle_.back());
        idle_.pop_back();
        if (!StillOpen(link->Tcp())) link.reset();
    }
    if (!link) {
        link = co_await Connect(answer.excerpt);
        if (!link) co_return answer;
    }
    link->Tcp().expires_after(options_.timeout);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    error_code ec;
    if (auto* tls = std::get_if<TlsStream>(&link->stream)) {
        ec = co_await Exchange(*tls, link->buffer, request, parser);
    } else {
        ec = co_await Exchange(std::get<beast::tcp_stream>(link->stream),
                               link->buffer, request, parser);
    }
    if (ec) {
        answer.excerpt = "request: " + Describe(ec);
        co_return answer;
    }
    auto& response = parser.get();
    answer.status = static_cast<int>(response.result_int());
    answer.excerpt = Utf8Excerpt(response.body(), 256);
    if (const auto it = response.find(bhttp::field::retry_after);
        it != response.end()) {
        answer.retry_after = std::string(it->value());
    }
    if (response.keep_alive() && idle_.size() < options_.max_idle) {
        link->Tcp().expires_never();
        idle_.push_back(std::move(link));
    }
    co_return answer;
}

}  // namespace drip::consume
