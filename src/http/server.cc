// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "http/server.h"

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <atomic>
#include <chrono>
#include <list>
#include <thread>
#include <unordered_set>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bucket/bucket.h"
#include "common/json_writer.h"
#include "http/api.h"
#include "http/metrics.h"
#include "redis/durability.h"

namespace drip::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kHeaderLimit = size_t{16} * 1024;

using Clock = std::chrono::steady_clock;

// How often a worker looks for connections past their deadline; a timeout
// is kept to within this much.
constexpr auto kSweepEvery = std::chrono::milliseconds(100);

// The completion of a spawned coroutine: the one catch-all that keeps a
// bug in one session or loop from taking the process down.
auto LogFailure(const char* what) {
    return [what](const std::exception_ptr& failure) {
        if (!failure) return;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            spdlog::error("{} failed err={}", what, e.what());
        }
    };
}

// State every worker shares. Written only with atomics.
struct Shared {
    const ServerOptions& options;
    int workers = 1;
    std::atomic<int> connections{0};
    std::atomic<bool> draining{false};
    std::atomic<int> workers_up{0};
};

// One connection's state that the worker's drain and deadline sweep need
// to see: a session waiting for its next request is closed at once on a
// drain, a busy one finishes; any session is closed once its deadline (for
// the next request to begin, or for this one to be read and answered) has
// passed.
struct SessionState {
    tcp::socket* socket = nullptr;
    bool busy = false;
    Clock::time_point deadline = Clock::time_point::max();
};

class Worker {
  public:
    // Every worker admits through one bucket, `admit_bucket` (its own when
    // null): the first worker's, whose Redis connection carries the admit
    // calls of the whole process. Requests that wait while one call is on
    // its way go together in the next, so one connection makes calls
    // twice as large on two cores as a connection per worker would, and
    // Redis's cost per call (the script's setup, a read, a write and a
    // wakeup) is paid half as often.
    // Known shortcoming: with one call at a time, a worker whose requests
    // all wait for that call sits idle (4% to 9% of two cores under load
    // here, against 2% to 4% with a connection per worker), which ate the
    // gain in req/s on two cores. Letting a second call go once a few
    // requests wait did not help there; with more cores it may, and
    // Bucket::Admit, which decides when a call starts, is where it goes.
    Worker(Shared& shared, int index, bucket::Bucket* admit_bucket)
        : shared_(shared),
          index_(index),
          acceptor_(io_),
          redis_(std::make_shared<redis::Connection>(
              io_.get_executor(), ConnectionOptionsFor(shared.options))),
          bucket_(*redis_, shared.options.settings.queue,
                  shared.options.settings.capacity,
                  shared.options.settings.leak_rate),
          api_(ApiContext{shared.options, *redis_, bucket_,
                          admit_bucket ? *admit_bucket : bucket_,
                          shared.workers_up, shared.workers}) {}

    bucket::Bucket& OwnBucket() { return bucket_; }

    // Binds the listening socket; returns the port bound (useful for 0).
    Result<uint16_t> Listen(const std::string& host, uint16_t port) {
        error_code ec;
        const auto address = asio::ip::make_address(host, ec);
        if (ec) {
            return MakeError(Errc::kInvalidArgument,
                             fmt::format("invalid host '{}'", host));
        }
        const tcp::endpoint endpoint(address, port);
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) {
            const int one = 1;
            ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT,
                         &one, sizeof one);
            acceptor_.bind(endpoint, ec);
        }
        if (!ec)
            acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            return MakeError(Errc::kUnavailable,
                             fmt::format("cannot listen on {}:{}: {}", host,
                                         port, ec.message()));
        }
        return acceptor_.local_endpoint().port();
    }

    void Start() {
        redis_->OnStateChange(
            [this](bool up, const std::string& why) { OnRedisState(up, why); });
        redis_->Start();
        asio::co_spawn(io_, Accept(), LogFailure("accept loop"));
        asio::co_spawn(io_, SweepDeadlines(), LogFailure("deadline sweep"));
        thread_ = std::thread([this] { io_.run(); });
    }

    // Stops accepting and closes the sessions that wait for a request.
    void BeginDrain() {
        asio::post(io_, [this] {
            error_code ignored;
            acceptor_.close(ignored);
            for (SessionState* session : sessions_) {
                if (!session->busy) session->socket->close(ignored);
            }
        });
    }

    void Stop() {
        asio::post(io_, [this] {
            redis_->Stop();
            io_.stop();
        });
    }

    void Join() {
        if (thread_.joinable()) thread_.join();
    }

  private:
    static redis::ConnectionOptions ConnectionOptionsFor(
        const ServerOptions& options) {
        redis::ConnectionOptions connection;
        connection.url = options.settings.redis;
        connection.ca_file = options.settings.redis_ca_file;
        // A request must get its 503 within a second of Redis going
        // away; the watchdog adds up to a tenth of the timeout.
        connection.command_timeout = std::chrono::milliseconds(700);
        connection.connect_timeout = std::chrono::milliseconds(800);
        return connection;
    }

    void OnRedisState(bool up, const std::string& why) {
        if (up != redis_up_) shared_.workers_up += up ? 1 : -1;
        redis_up_ = up;
        if (up) {
            spdlog::info("redis connected worker={}", index_);
            // The capacity is serve's to set; the bucket keeps it so that
            // every process, and drip stats, agrees on one figure. Once per
            // process: after a reconnect the bucket may carry a capacity
            // set since by drip configure.
            if (index_ == 0 && !configured_) {
                configured_ = true;
                asio::co_spawn(io_, ConfigureBucket(), LogFailure("configure"));
            }
        } else {
            spdlog::warn("redis connection lost worker={} err={}", index_, why);
        }
    }

    asio::awaitable<void> ConfigureBucket() {
        auto result = co_await bucket_.Configure(
            shared_.options.settings.capacity, std::nullopt);
        if (!result) {
            spdlog::warn("bucket configure failed err={}",
                         result.error().detail);
        }
        for (const auto& risk : co_await redis::DurabilityRisks(*redis_)) {
            spdlog::warn("redis may lose accepted messages: {}", risk);
        }
    }

    asio::awaitable<void> Accept() {
        const auto& settings = shared_.options.settings;
        for (;;) {
            error_code ec;
            tcp::socket socket = co_await acceptor_.async_accept(
                asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (ec == asio::error::operation_aborted || shared_.draining) {
                    co_return;
                }
                // Out of descriptors, most likely: let some close first.
                spdlog::warn("accept failed err={}", ec.message());
                asio::steady_timer pause(io_, std::chrono::milliseconds(10));
                co_await pause.async_wait(
                    asio::redirect_error(asio::use_awaitable, ec));
                continue;
            }
            if (shared_.connections.load() >= settings.max_connections) {
                // Refusing by closing keeps the limit cheap to enforce.
                socket.close(ec);
                continue;
            }
            ++shared_.connections;
            socket.set_option(tcp::no_delay(true), ec);
            asio::co_spawn(io_, Session(std::move(socket)),
                           LogFailure("session"));
        }
    }

    // Closes the connections whose deadline has passed. One timer serves
    // all of a worker's connections: Beast's tcp_stream arms a timer for
    // every read and write and cancels it after, and the cancelled wait
    // completes through the scheduler, two extra trips per request.
    asio::awaitable<void> SweepDeadlines() {
        asio::steady_timer timer(io_);
        for (;;) {
            timer.expires_after(kSweepEvery);
            error_code ec;
            co_await timer.async_wait(
                asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            const auto now = Clock::now();
            // Closing only cancels the session's pending operation, which
            // completes later: sessions_ does not change under the loop.
            error_code ignored;
            for (SessionState* session : sessions_) {
                if (session->deadline <= now) {
                    session->socket->close(ignored);
                    session->deadline = Clock::time_point::max();
                }
            }
        }
    }

    asio::awaitable<void> Session(tcp::socket socket) {
        const auto& settings = shared_.options.settings;
        beast::flat_buffer buffer;
        std::string output;
        SessionState state{&socket};
        sessions_.insert(&state);
        struct Leave {
            Worker& worker;
            SessionState& state;
            ~Leave() {
                worker.sessions_.erase(&state);
                --worker.shared_.connections;
            }
        } leave{*this, state};

        for (;;) {
            state.busy = false;
            if (shared_.draining) break;
            error_code ec;
            // Keep-alive: wait for the first byte of the next request with
            // the idle timeout, then give the whole request its own.
            if (buffer.size() == 0) {
                state.deadline = Clock::now() + settings.idle_timeout;
                const size_t n = co_await socket.async_read_some(
                    buffer.prepare(4096),
                    asio::redirect_error(asio::use_awaitable, ec));
                if (ec) break;
                buffer.commit(n);
                // The drain may have closed this idle socket after the
                // bytes came in but before this coroutine ran again: the
                // request was not taken in, so it is not answered either
                // (and not queued, so the client may safely retry it).
                if (shared_.draining) break;
            }
            state.busy = true;
            state.deadline = Clock::now() + settings.request_timeout;

            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(kHeaderLimit);
            parser.body_limit(settings.max_body_bytes);
            co_await ReadRequest(socket, buffer, parser, ec);
            if (ec) {
                auto refusal = RefusalFor(ec);
                const auto target = parser.get().target();
                if (ec == bhttp::error::body_limit &&
                    IsEnqueueTarget({target.data(), target.size()})) {
                    CountRefusal(*redis_, bucket_.Queue(), Refusal::kTooLarge);
                }
                if (refusal) {
                    Serialize(*refusal, /*keep_alive=*/false, 11, output);
                    co_await asio::async_write(
                        socket, asio::buffer(output),
                        asio::redirect_error(asio::use_awaitable, ec));
                }
                break;
            }

            auto request = parser.release();
            Response response = co_await api_.Handle(request);
            const bool keep_alive = request.keep_alive() && !shared_.draining;
            Serialize(response, keep_alive, request.version(), output);
            co_await asio::async_write(
                socket, asio::buffer(output),
                asio::redirect_error(asio::use_awaitable, ec));
            if (ec || !keep_alive) break;
        }
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
    }

    // Reads one request into `parser`, parsing what `buffer` already holds
    // before reading more: a request that arrived whole (the common case,
    // and every pipelined one after the first) is parsed with no I/O and no
    // trip through the scheduler, where Beast's async_read_header and
    // async_read would each complete through one.
    static asio::awaitable<void> ReadRequest(
        tcp::socket& socket, beast::flat_buffer& buffer,
        bhttp::request_parser<bhttp::string_body>& parser, error_code& ec) {
        parser.eager(true);
        bool answered_expect = false;
        for (;;) {
            if (buffer.size() > 0) {
                const size_t used = parser.put(buffer.data(), ec);
                buffer.consume(used);
                if (ec && ec != bhttp::error::need_more) co_return;
                ec = {};
                if (parser.is_done()) co_return;
                if (parser.is_header_done() && !answered_expect &&
                    parser.get()[bhttp::field::expect] == "100-continue") {
                    // curl sends Expect for bodies over 1 KiB and would
                    // otherwise wait a second before sending the body.
                    answered_expect = true;
                    bhttp::response<bhttp::empty_body> proceed(
                        bhttp::status::continue_, parser.get().version());
                    co_await bhttp::async_write(
                        socket, proceed,
                        asio::redirect_error(asio::use_awaitable, ec));
                    if (ec) co_return;
                }
                // A partial token stays in the buffer: the parser consumed
                // nothing and needs more bytes behind it.
            }
            const size_t n = co_await socket.async_read_some(
                buffer.prepare(beast::read_size(buffer, 65536)),
                asio::redirect_error(asio::use_awaitable, ec));
            buffer.commit(n);
            if (ec == asio::error::eof) {
                // As Beast's own read reports it: a client gone between
                // requests, or in the middle of one.
                ec = parser.got_some() ? bhttp::error::partial_message
                                       : bhttp::error::end_of_stream;
                co_return;
            }
            if (ec) co_return;
        }
    }

    // Writes `response` as HTTP/1.1 bytes into `out`. Beast's serializer
    // is general (chunked bodies, buffer sequences) and showed up in
    // profiles; drip's answers are small strings with a few headers.
    static void Serialize(const Response& response, bool keep_alive,
                          unsigned version, std::string& out) {
        out.clear();
        const auto reason = bhttp::obsolete_reason(response.result());
        fmt::format_to(std::back_inserter(out),
                       FMT_COMPILE("HTTP/1.1 {} {}\r\n"), response.result_int(),
                       std::string_view(reason.data(), reason.size()));
        for (const auto& field : response) {
            const auto name = field.name_string();
            const auto value = field.value();
            out.append(name.data(), name.size());
            out.append(": ");
            out.append(value.data(), value.size());
            out.append("\r\n");
        }
        fmt::format_to(std::back_inserter(out),
                       FMT_COMPILE("Content-Length: {}\r\n{}\r\n"),
                       response.body().size(),
                       !keep_alive     ? "Connection: close\r\n"
                       : version == 10 ? "Connection: keep-alive\r\n"
                                       : "");
        out.append(response.body());
    }

    // The answer to a request that could not be read, or none when the
    // client simply went away or was too slow.
    static std::optional<Response> RefusalFor(const error_code& ec) {
        if (ec == bhttp::error::body_limit) {
            return JsonResponse(bhttp::status::payload_too_large,
                                R"({"detail": "request body too large"})");
        }
        if (ec == bhttp::error::header_limit) {
            return JsonResponse(bhttp::status::request_header_fields_too_large,
                                R"({"detail": "request header too large"})");
        }
        if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream)
                                 .category() &&
            ec != bhttp::error::end_of_stream &&
            ec != bhttp::error::partial_message) {
            return JsonResponse(
                bhttp::status::bad_request,
                fmt::format(R"({{"detail": {}}})",
                            JsonString("malformed request: " + ec.message())));
        }
        return std::nullopt;
    }

    Shared& shared_;
    int index_;
    // Declared before io_ so that it outlives the session frames that
    // io_'s destructor destroys.
    std::unordered_set<SessionState*> sessions_;
    asio::io_context io_{1};
    tcp::acceptor acceptor_;
    std::shared_ptr<redis::Connection> redis_;
    bucket::Bucket bucket_;
    Api api_;
    std::thread thread_;
    bool configured_ = false;
    bool redis_up_ = false;
};

int WorkerCount(const config::Settings& settings) {
    if (settings.threads > 0) return settings.threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

int RunServer(const ServerOptions& options) {
    const auto& settings = options.settings;
    Shared shared{options, WorkerCount(settings)};
    std::list<Worker> workers;
    uint16_t port = settings.port;
    for (int i = 0; i < shared.workers; ++i) {
        auto& worker = workers.emplace_back(
            shared, i,
            workers.empty() ? nullptr : &workers.front().OwnBucket());
        // With port 0 the first worker picks the port and the others join
        // it, so that SO_REUSEPORT groups them.
        auto bound = worker.Listen(settings.host, port);
        if (!bound) {
            spdlog::error("listen failed err={}", bound.error().detail);
            return 1;
        }
        port = bound.value();
    }
    for (auto& worker : workers) worker.Start();
    spdlog::info("listening addr={}:{} workers={} queue={} redis={}",
                 settings.host, port, workers.size(), settings.queue,
                 settings.redis.Redacted());

    asio::io_context main_io(1);
    asio::signal_set signals(main_io, SIGINT, SIGTERM);
    int signal_number = 0;
    signals.async_wait(
        [&](const error_code&, int number) { signal_number = number; });
    main_io.run();

    spdlog::info("draining signal={} connections={}", signal_number,
                 shared.connections.load());
    shared.draining = true;
    for (auto& worker : workers) worker.BeginDrain();
    const auto deadline =
        std::chrono::steady_clock::now() + options.drain_timeout;
    while (shared.connections.load() > 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& worker : workers) worker.Stop();
    for (auto& worker : workers) worker.Join();
    // The first worker's bucket may still hold admits of the others, whose
    // coroutines it destroys with them: it goes first, while the others
    // are still whole.
    while (!workers.empty()) workers.pop_front();
    spdlog::info("stopped connections_left={}", shared.connections.load());
    return 0;
}

}  // namespace drip::http
