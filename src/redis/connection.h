// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// An asynchronous, pipelining Redis connection on Asio. Many coroutines may
// have commands in flight on one connection at once: commands queued while a
// write is in progress go out together in the next write, and replies come
// back in order. The connection reconnects by itself, with backoff.

#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/errc.h"
#include "config/redis_url.h"
#include "redis/reply.h"

struct redisReader;

namespace drip::redis {

namespace asio = boost::asio;

class Transport;

// A Lua script with its SHA1, so that it is sent by EVALSHA once loaded.
struct Script {
    explicit Script(std::string_view source);

    std::string_view source;
    std::string sha1;  // lowercase hex
};

struct ConnectionOptions {
    config::RedisUrl url;
    // rediss:// only: PEM certificates to trust instead of the system's.
    std::optional<std::string> ca_file;
    // Time allowed for connect, TLS handshake, AUTH and SELECT.
    std::chrono::milliseconds connect_timeout{1000};
    // A command without a reply after this long fails the connection: its
    // commands fail with kDeadlineExceeded and it reconnects. This is what
    // keeps a hung Redis from hanging callers.
    std::chrono::milliseconds command_timeout{1000};
    // An idle connection sends a PING this often, so that a Redis that
    // stopped answering is noticed within heartbeat + command_timeout.
    std::chrono::milliseconds heartbeat{200};
    // Reconnect backoff, doubled after each failed attempt.
    std::chrono::milliseconds min_backoff{50};
    std::chrono::milliseconds max_backoff{1000};
};

// Not thread-safe: create it on one executor and use it from that
// executor's thread only (serve gives each worker thread its own).
//
// TODO: one node only. Against a Redis Cluster, a MOVED or ASK reply comes
// back as an error reply; following it (to the node that owns the bucket's
// hash slot) is what would let drip spread buckets over shards by itself.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    // Called on every change between connected and disconnected, with the
    // error that ended the connection (empty when it came up), and once
    // when a connection fails to come up at all.
    using StateHandler = std::function<void(bool up, const std::string&)>;

    Connection(asio::any_io_executor executor, ConnectionOptions options);
    ~Connection();

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void OnStateChange(StateHandler handler) { on_state_ = std::move(handler); }

    // Starts connecting; keeps the connection up until Stop().
    void Start();

    // Closes the connection; commands in flight fail with kUnavailable.
    void Stop();

    bool IsUp() const { return up_; }

    const asio::any_io_executor& Executor() const { return executor_; }

    // Waits until the connection is up, or `timeout` passes (kUnavailable,
    // with the last connect error).
    asio::awaitable<Result<void>> WaitUp(std::chrono::milliseconds timeout);

    // Sends `command` and waits for its reply. An error reply is returned
    // as a Reply (check IsError); kUnavailable when the connection is down
    // (at once, not after a timeout), kDeadlineExceeded when Redis did not
    // answer within command_timeout.
    // Not a coroutine itself, so that a call costs no extra frame; the
    // command must live until the result is awaited, as it does in
    // `co_await connection.Execute(command)`.
    asio::awaitable<Result<Reply>> Execute(const Command& command);

    // Runs `script` with EVALSHA, loading it with EVAL when Redis does not
    // know it yet (after a restart, for example). `keys_and_args` holds the
    // first `key_count` arguments as keys, then the script's arguments.
    asio::awaitable<Result<Reply>> Eval(const Script& script, int key_count,
                                        const Command& keys_and_args);

    // The error text of the last failed connect or lost connection.
    const std::string& LastError() const { return last_error_; }

    // A command waiting for its reply; defined in connection.cc.
    struct Pending;

  private:
    asio::awaitable<void> Run();
    asio::awaitable<Result<void>> Connect();
    asio::awaitable<void> ReadLoop();
    asio::awaitable<void> WriteLoop();
    asio::awaitable<void> Watchdog();
    void Enqueue(const Command& command, std::unique_ptr<Pending> pending);
    void Fail(const std::string& why, Errc code);
    void SetUp(bool up, const std::string& why);

    asio::any_io_executor executor_;
    ConnectionOptions options_;
    StateHandler on_state_;
    std::shared_ptr<Transport> transport_;
    redisReader* reader_ = nullptr;
    std::string write_buffer_;
    std::deque<std::unique_ptr<Pending>> pending_;
    asio::steady_timer write_signal_;  // cancelled when there is output
    asio::steady_timer down_signal_;   // cancelled when the link drops
    bool up_ = false;
    bool down_announced_ = false;
    bool stopped_ = false;
    std::chrono::steady_clock::time_point last_enqueue_;
    // Bumped on every (re)connect so that loops of an old connection stop.
    uint64_t generation_ = 0;
    std::string last_error_ = "not connected yet";
};

}  // namespace drip::redis
