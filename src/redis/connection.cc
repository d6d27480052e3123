// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "redis/connection.h"

#include <array>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace drip::redis {
namespace {

using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string Sha1Hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
        fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
    }
    return hex;
}

}  // namespace

// The byte stream under a connection: TCP, TLS over TCP, or a Unix socket.
class Transport {
  public:
    virtual ~Transport() = default;
    virtual asio::awaitable<size_t> ReadSome(asio::mutable_buffer buffer,
                                             error_code& ec) = 0;
    virtual asio::awaitable<size_t> Write(asio::const_buffer buffer,
                                          error_code& ec) = 0;
    virtual void Close() = 0;
};

namespace {

template <typename Stream>
class StreamTransport : public Transport {
  public:
    template <typename... Args>
    explicit StreamTransport(Args&&... args)
        : stream(std::forward<Args>(args)...) {}

    asio::awaitable<size_t> ReadSome(asio::mutable_buffer buffer,
                                     error_code& ec) override {
        co_return co_await stream.async_read_some(
            buffer, asio::redirect_error(asio::use_awaitable, ec));
    }

    asio::awaitable<size_t> Write(asio::const_buffer buffer,
                                  error_code& ec) override {
        co_return co_await asio::async_write(
            stream, buffer, asio::redirect_error(asio::use_awaitable, ec));
    }

    void Close() override {
        error_code ignored;
        LowestLayer().close(ignored);
    }

    auto& LowestLayer() {
        if constexpr (requires { stream.lowest_layer(); }) {
            return stream.lowest_layer();
        } else {
            return stream;
        }
    }

    Stream stream;
};

using TcpTransport = StreamTransport<tcp::socket>;
using UnixTransport = StreamTransport<asio::local::stream_protocol::socket>;

// The TLS context lives beside the stream that borrows it.
struct TlsParts {
    TlsParts(const std::string& host, const std::optional<std::string>& ca)
        : context(asio::ssl::context::tls_client) {
        // A CA file the settings found readable but that holds no
        // certificate leaves the store empty: every handshake then fails,
        // and says so.
        boost::system::error_code ignored;
        if (ca) {
            context.load_verify_file(*ca, ignored);
        } else {
            context.set_default_verify_paths(ignored);
        }
        context.set_verify_mode(asio::ssl::verify_peer);
        context.set_verify_callback(asio::ssl::host_name_verification(host));
    }
    asio::ssl::context context;
};

class TlsTransport : public TlsParts,
                     public StreamTransport<asio::ssl::stream<tcp::socket>> {
  public:
    TlsTransport(asio::any_io_executor executor, const std::string& host,
                 const std::optional<std::string>& ca)
        : TlsParts(host, ca), StreamTransport(executor, context) {}
};

}  // namespace

struct Connection::Pending {
    virtual ~Pending() = default;
    virtual void Complete(Result<Reply> result) = 0;
    Clock::time_point queued_at = Clock::now();
};

namespace {

template <typename Handler>
struct PendingWith : Connection::Pending {
    explicit PendingWith(Handler h) : handler(std::move(h)) {}

    // A reply resumes its caller right away, inside the read loop: the
    // caller runs to its next suspension and the loop goes on with the
    // next reply, which saves a trip through the scheduler per command.
    // The pending entry is off the queue by then, so the caller may queue
    // more commands. Errors are posted instead: they are delivered from
    // Fail() and from Execute itself, where running the caller inline
    // would re-enter them.
    void Complete(Result<Reply> result) override {
        auto executor = asio::get_associated_executor(handler);
        if (result) {
            asio::dispatch(executor, [h = std::move(handler),
                                      r = std::move(result)]() mutable {
                h(std::move(r));
            });
            return;
        }
        asio::post(executor,
                   [h = std::move(handler), r = std::move(result)]() mutable {
                       h(std::move(r));
                   });
    }

    Handler handler;
};

}  // namespace

Script::Script(std::string_view text) : source(text), sha1(Sha1Hex(text)) {}

Connection::Connection(asio::any_io_executor executor,
                       ConnectionOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      write_signal_(executor_),
      down_signal_(executor_) {}

Connection::~Connection() {
    if (reader_ != nullptr) redisReaderFree(reader_);
}

void Connection::Start() {
    asio::co_spawn(executor_, Run(), asio::detached);
    asio::co_spawn(executor_, Watchdog(), asio::detached);
}

void Connection::Stop() {
    stopped_ = true;
    Fail("connection stopped", Errc::kUnavailable);
}

asio::awaitable<void> Connection::Run() {
    auto self = shared_from_this();
    auto backoff = options_.min_backoff;
    asio::steady_timer timer(executor_);
    while (!stopped_) {
        const auto result = co_await Connect();
        if (result) {
            backoff = options_.min_backoff;
            SetUp(true, "");
            // Sleep until Fail() wakes us: the connection went down.
            const uint64_t generation = generation_;
            while (generation == generation_ && !stopped_) {
                down_signal_.expires_after(std::chrono::hours(1));
                error_code ec;
                co_await down_signal_.async_wait(
                    asio::redirect_error(asio::use_awaitable, ec));
            }
        } else {
            last_error_ = result.error().detail;
            // A connection that never came up (a wrong password, no
            // server) is an outage too: say so once, not per attempt.
            if (!down_announced_ && on_state_) {
                down_announced_ = true;
                on_state_(false, last_error_);
            }
        }
        if (stopped_) break;
        timer.expires_after(backoff);
        error_code ec;
        co_await timer.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
        backoff = std::min(backoff * 2, options_.max_backoff);
    }
}

asio::awaitable<Result<void>> Connection::Connect() {
    const auto& url = options_.url;
    ++generation_;
    if (reader_ != nullptr) redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    std::shared_ptr<Transport> transport;
    error_code ec;

    // A timer closes whatever is being connected when time runs out; the
    // pending operation then fails with operation_aborted.
    asio::steady_timer deadline(executor_, options_.connect_timeout);
    bool timed_out = false;
    deadline.async_wait([&transport, &timed_out](error_code wait_ec) {
        if (wait_ec || !transport) return;
        timed_out = true;
        transport->Close();
    });

    if (url.scheme == config::RedisUrl::Scheme::kUnix) {
        auto unix_transport = std::make_shared<UnixTransport>(executor_);
        transport = unix_transport;
        co_await unix_transport->stream.async_connect(
            asio::local::stream_protocol::endpoint(url.path),
            asio::redirect_error(asio::use_awaitable, ec));
    } else {
        tcp::resolver resolver(executor_);
        const auto endpoints = co_await resolver.async_resolve(
            url.host, std::to_string(url.port),
            asio::redirect_error(asio::use_awaitable, ec));
        if (!ec && url.scheme == config::RedisUrl::Scheme::kTls) {
            auto tls = std::make_shared<TlsTransport>(executor_, url.host,
                                                      options_.ca_file);
            transport = tls;
            // SNI, spelled out: OpenSSL's SSL_set_tlsext_host_name macro
            // hides a C cast that -Wold-style-cast rejects.
            SSL_ctrl(tls->stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                     TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(url.host.c_str()));
            co_await asio::async_connect(
                tls->stream.lowest_layer(), endpoints,
                asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) {
                co_await tls->stream.async_handshake(
                    asio::ssl::stream_base::client,
                    asio::redirect_error(asio::use_awaitable, ec));
            }
        } else if (!ec) {
            auto plain = std::make_shared<TcpTransport>(executor_);
            transport = plain;
            co_await asio::async_connect(
                plain->stream, endpoints,
                asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) plain->stream.set_option(tcp::no_delay(true), ec);
        }
    }
    if (ec) {
        deadline.cancel();
        co_return MakeError(
            Errc::kUnavailable,
            fmt::format("connect to {} failed: {}", url.Redacted(),
                        timed_out ? "timeout" : ec.message()));
    }

    transport_ = transport;
    asio::co_spawn(executor_, ReadLoop(), asio::detached);
    asio::co_spawn(executor_, WriteLoop(), asio::detached);

    // AUTH and SELECT go through the normal pipeline before the connection
    // is declared up, so that no caller's command can overtake them.
    std::vector<Command> hello;
    if (!url.password.empty()) {
        Command auth("AUTH");
        if (!url.user.empty()) auth.Arg(url.user);
        auth.Arg(url.password);
        hello.push_back(std::move(auth));
    }
    if (url.db != 0) hello.push_back(std::move(Command("SELECT").Arg(url.db)));
    hello.push_back(Command("PING"));
    for (const auto& command : hello) {
        auto reply =
            co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(Result<Reply>)>(
                [this, &command](auto handler) {
                    Enqueue(command,
                            std::make_unique<PendingWith<decltype(handler)>>(
                                std::move(handler)));
                },
                asio::use_awaitable);
        if (!reply || reply.value().View().IsError()) {
            deadline.cancel();
            const std::string why =
                reply ? std::string(reply.value().View().Text())
                      : reply.error().detail;
            Fail(why, Errc::kUnavailable);
            co_return MakeError(
                Errc::kUnavailable,
                fmt::format("redis {} refused {}: {}", url.Redacted(),
                            command.ArgCount() > 1 ? "login" : "ping", why));
        }
    }
    deadline.cancel();
    co_return outcome_v2::success();
}

asio::awaitable<void> Connection::ReadLoop() {
    auto self = shared_from_this();
    const uint64_t generation = generation_;
    auto transport = transport_;
    std::array<char, 16384> buffer;
    while (generation == generation_) {
        error_code ec;
        const size_t n = co_await transport->ReadSome(asio::buffer(buffer), ec);
        if (generation != generation_) co_return;
        if (ec) {
            Fail(ec == asio::error::eof ? "redis closed the connection"
                                        : ec.message(),
                 Errc::kUnavailable);
            co_return;
        }
        redisReaderFeed(reader_, buffer.data(), n);
        for (;;) {
            void* raw = nullptr;
            if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
                Fail("redis protocol error", Errc::kInternal);
                co_return;
            }
            if (raw == nullptr) break;
            Reply reply(static_cast<redisReply*>(raw));
            if (pending_.empty()) {
                Fail("reply without a command", Errc::kInternal);
                co_return;
            }
            auto pending = std::move(pending_.front());
            pending_.pop_front();
            pending->Complete(std::move(reply));
        }
    }
}

asio::awaitable<void> Connection::WriteLoop() {
    auto self = shared_from_this();
    const uint64_t generation = generation_;
    auto transport = transport_;
    std::string out;
    while (generation == generation_) {
        if (write_buffer_.empty()) {
            write_signal_.expires_at(Clock::time_point::max());
            error_code ec;
            co_await write_signal_.async_wait(
                asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        out.clear();
        std::swap(out, write_buffer_);
        error_code ec;
        co_await transport->Write(asio::buffer(out), ec);
        if (ec) {
            if (generation == generation_) {
                Fail(ec.message(), Errc::kUnavailable);
            }
            co_return;
        }
    }
}

asio::awaitable<void> Connection::Watchdog() {
    auto self = shared_from_this();
    asio::steady_timer timer(executor_);
    const auto tick =
        std::min(options_.command_timeout / 4, std::chrono::milliseconds(100));
    while (!stopped_) {
        timer.expires_after(tick);
        error_code ec;
        co_await timer.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
        const auto now = Clock::now();
        if (!pending_.empty() &&
            now - pending_.front()->queued_at > options_.command_timeout) {
            Fail(fmt::format("redis did not answer within {} ms",
                             options_.command_timeout.count()),
                 Errc::kDeadlineExceeded);
        } else if (up_ && pending_.empty() &&
                   now - last_enqueue_ > options_.heartbeat) {
            // An idle connection to a Redis that hangs (stopped, or a
            // network that drops packets) would look healthy forever; a
            // PING gives the timeout above something to time.
            auto ignore = asio::bind_executor(executor_, [](Result<Reply>) {});
            Enqueue(Command("PING"),
                    std::make_unique<PendingWith<decltype(ignore)>>(
                        std::move(ignore)));
        }
    }
}

void Connection::Enqueue(const Command& command,
                         std::unique_ptr<Pending> pending) {
    command.AppendTo(write_buffer_);
    pending_.push_back(std::move(pending));
    last_enqueue_ = pending_.back()->queued_at;
    write_signal_.cancel();
}

void Connection::Fail(const std::string& why, Errc code) {
    ++generation_;
    if (transport_) {
        transport_->Close();
        transport_.reset();
    }
    write_buffer_.clear();
    write_signal_.cancel();
    down_signal_.cancel();
    auto failed = std::move(pending_);
    pending_.clear();
    for (auto& pending : failed) pending->Complete(MakeError(code, why));
    last_error_ = why;
    // A deliberate Stop() is not an outage worth telling anyone about.
    if (up_ && stopped_) up_ = false;
    if (up_) SetUp(false, why);
}

void Connection::SetUp(bool up, const std::string& why) {
    up_ = up;
    down_announced_ = !up;
    if (on_state_) on_state_(up, why);
}

asio::awaitable<Result<void>> Connection::WaitUp(
    std::chrono::milliseconds timeout) {
    asio::steady_timer timer(executor_);
    const auto deadline = Clock::now() + timeout;
    while (!up_ && Clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(5));
        error_code ec;
        co_await timer.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
    }
    if (up_) co_return outcome_v2::success();
    co_return MakeError(Errc::kUnavailable, last_error_);
}

asio::awaitable<Result<Reply>> Connection::Execute(const Command& command) {
    return asio::async_initiate<decltype(asio::use_awaitable),
                                void(Result<Reply>)>(
        [this, &command](auto handler) {
            auto pending = std::make_unique<PendingWith<decltype(handler)>>(
                std::move(handler));
            if (up_) {
                Enqueue(command, std::move(pending));
            } else {
                pending->Complete(MakeError(Errc::kUnavailable, last_error_));
            }
        },
        asio::use_awaitable);
}

asio::awaitable<Result<Reply>> Connection::Eval(const Script& script,
                                                int key_count,
                                                const Command& keys_and_args) {
    Command call("EVALSHA");
    call.Arg(script.sha1).Arg(key_count).Append(keys_and_args);
    auto result = co_await Execute(call);
    if (result && result.value().View().IsError() &&
        result.value().View().Text().starts_with("NOSCRIPT")) {
        Command load("EVAL");
        load.Arg(script.source).Arg(key_count).Append(keys_and_args);
        result = co_await Execute(load);
    }
    co_return result;
}

}  // namespace drip::redis
