// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "cli.h"

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "bucket/bucket.h"
#include "common/json_writer.h"
#include "config/settings.h"
#include "consume/consumer.h"
#include "http/server.h"

namespace drip::cli {
namespace {

namespace asio = boost::asio;
using config::Setting;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The "%j" pattern flag: the log message escaped for a JSON string, for
// --log-format json.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        std::string escaped;
        AppendJsonString(
            escaped, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(escaped.data(), escaped.data() + escaped.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonMessageFlag>();
    }
};

void SetUpLogging(const config::Settings& settings) {
    auto logger = spdlog::stderr_logger_mt("drip");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(settings.log_level));
    auto formatter = std::make_unique<spdlog::pattern_formatter>(
        spdlog::pattern_time_type::utc);
    if (settings.log_format == "json") {
        formatter->add_flag<JsonMessageFlag>('j').set_pattern(
            R"({"ts": "%Y-%m-%dT%H:%M:%S.%fZ", "level": "%l", "msg": %j})");
    } else {
        formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v");
    }
    spdlog::set_formatter(std::move(formatter));
}

// Runs `body` on a fresh io_context with a Redis connection that is up,
// or returns 1 when Redis cannot be reached: PRODUCT.md allows three
// seconds, and 2.5 leaves room for starting and stopping the process.
template <typename Body>
int WithBucket(const config::Settings& settings, Body body) {
    asio::io_context io(1);
    redis::ConnectionOptions options;
    options.url = settings.redis;
    options.command_timeout = std::chrono::milliseconds(2000);
    auto connection =
        std::make_shared<redis::Connection>(io.get_executor(), options);
    bucket::Bucket bucket(*connection, settings.queue, settings.capacity,
                          settings.leak_rate);
    connection->Start();
    int status = kExitFailure;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto up =
                co_await connection->WaitUp(std::chrono::milliseconds(2500));
            if (!up) {
                fmt::print(stderr, "drip: redis unreachable: {}\n",
                           up.error().detail);
            } else {
                status = co_await body(bucket);
            }
            connection->Stop();
        },
        [](const std::exception_ptr& e) {
            if (e) std::rethrow_exception(e);
        });
    io.run();
    return status;
}

std::string QueuedAnswer(const bucket::AdmitResult& result) {
    return fmt::format(
        R"({{"status": "queued", "seq": {}, "id": {}, "depth": {}, )"
        R"("capacity": {}}})",
        result.first_seq, result.id, result.depth, result.capacity);
}

// Queues one message; returns false (after saying why on stderr) when it
// was not queued. `where` prefixes the message, e.g. "line 3: ".
asio::awaitable<bool> EnqueueOne(bucket::Bucket& bucket,
                                 bucket::MessageParser& parser,
                                 std::string_view text,
                                 const std::string& where) {
    std::vector<bucket::Message> messages(1);
    std::vector<bucket::Violation> violations;
    if (!parser.ParseOne(text, messages[0], violations)) {
        fmt::print(stderr, "drip: {}invalid message: {}\n", where,
                   bucket::RenderViolations(violations));
        co_return false;
    }
    auto admitted = co_await bucket.Admit(messages, "");
    if (!admitted) {
        fmt::print(stderr, "drip: {}not queued: {}\n", where,
                   admitted.error().detail);
        co_return false;
    }
    if (admitted.value().admission == bucket::Admission::kBucketFull) {
        fmt::print(stderr, "drip: {}bucket full (capacity {})\n", where,
                   admitted.value().capacity);
        co_return false;
    }
    fmt::print("{}\n", QueuedAnswer(admitted.value()));
    co_return true;
}

int RunEnqueue(const config::Settings& settings,
               const std::optional<std::string>& message) {
    return WithBucket(
        settings, [&](bucket::Bucket& bucket) -> asio::awaitable<int> {
            bucket::MessageParser parser;
            if (message) {
                co_return co_await EnqueueOne(bucket, parser, *message, "")
                    ? 0
                    : kExitFailure;
            }
            int status = 0;
            std::string line;
            for (int number = 1; std::getline(std::cin, line); ++number) {
                if (line.find_first_not_of(" \t\r") == std::string::npos) {
                    continue;
                }
                const auto where = fmt::format("line {}: ", number);
                if (!co_await EnqueueOne(bucket, parser, line, where)) {
                    status = kExitFailure;
                }
            }
            co_return status;
        });
}

int RunStats(const config::Settings& settings, bool json) {
    return WithBucket(
        settings, [&](bucket::Bucket& bucket) -> asio::awaitable<int> {
            auto stats = co_await bucket.Stats();
            if (!stats) {
                fmt::print(stderr, "drip: stats failed: {}\n",
                           stats.error().detail);
                co_return kExitFailure;
            }
            const auto& s = stats.value();
            if (json) {
                fmt::print(R"({{"queue": {}, "capacity": {}, "leak_rate": {}, )"
                           R"("depth": {}, "in_flight": {}, "accepted": {}, )"
                           R"("rejected": {}, "processed": {}, "dead": {}}})"
                           "\n",
                           JsonString(settings.queue), s.capacity, s.leak_rate,
                           s.depth, s.in_flight, s.accepted, s.rejected,
                           s.processed, s.dead);
                co_return 0;
            }
            fmt::print(
                "queue      {}\ncapacity   {}\nleak_rate  {}/s\n"
                "depth      {}\nin_flight  {}\naccepted   {}\n"
                "rejected   {}\nprocessed  {}\ndead       {}\n",
                settings.queue, s.capacity, s.leak_rate, s.depth, s.in_flight,
                s.accepted, s.rejected, s.processed, s.dead);
            co_return 0;
        });
}

// Writes the capacity and leak rate given on this command line into the
// bucket, where every serve and consume process of the bucket reads them:
// consumers leak at the new rate from their next slot, with no restart.
int RunConfigure(const config::Settings& settings,
                 std::optional<int64_t> capacity,
                 std::optional<double> leak_rate) {
    if (!capacity && !leak_rate) {
        fmt::print(stderr,
                   "drip configure: give --capacity, --leak-rate or both\n");
        return kExitUsage;
    }
    return WithBucket(
        settings, [&](bucket::Bucket& bucket) -> asio::awaitable<int> {
            auto configured = co_await bucket.Configure(capacity, leak_rate);
            if (!configured) {
                fmt::print(stderr, "drip: configure failed: {}\n",
                           configured.error().detail);
                co_return kExitFailure;
            }
            auto stats = co_await bucket.Stats();
            if (stats) {
                fmt::print("queue {}: capacity {}, leak_rate {}/s\n",
                           settings.queue, stats.value().capacity,
                           stats.value().leak_rate);
            }
            co_return 0;
        });
}

}  // namespace

int Main(int argc, char** argv) {
    CLI::App app{
        "drip: a leaky-bucket message queue on Redis. Bursts in, a "
        "constant rate out, nothing lost."};
    app.set_version_flag("--version", "drip " DRIP_VERSION);
    app.require_subcommand(1);
    config::SettingsParser settings_parser;

    auto* serve = app.add_subcommand("serve", "run the HTTP API");
    settings_parser.AddOptions(
        *serve,
        {Setting::kRedisUrl, Setting::kQueue, Setting::kCapacity,
         Setting::kLeakRate, Setting::kHost, Setting::kPort, Setting::kApiToken,
         Setting::kMaxBodyBytes, Setting::kThreads, Setting::kMaxConnections,
         Setting::kRequestTimeout, Setting::kIdleTimeout, Setting::kLogLevel,
         Setting::kLogFormat});

    auto* consume = app.add_subcommand(
        "consume", "leak messages at the leak rate and process them");
    settings_parser.AddOptions(
        *consume, {Setting::kRedisUrl, Setting::kQueue, Setting::kCapacity,
                   Setting::kLeakRate, Setting::kLogFile, Setting::kDeliverUrl,
                   Setting::kMaxAttempts, Setting::kVisibilityTimeout,
                   Setting::kConsumerId, Setting::kDeliverTimeout,
                   Setting::kDeliverConcurrency, Setting::kLogMaxBytes,
                   Setting::kLogLevel, Setting::kLogFormat});

    auto* enqueue = app.add_subcommand(
        "enqueue",
        "queue messages straight into Redis: one JSON object as an "
        "argument, or JSON Lines on stdin");
    std::optional<std::string> message;
    enqueue->add_option("message", message, "one message as a JSON object");
    settings_parser.AddOptions(
        *enqueue, {Setting::kRedisUrl, Setting::kQueue, Setting::kCapacity,
                   Setting::kLeakRate, Setting::kLogLevel});

    auto* stats = app.add_subcommand("stats", "print the bucket's state");
    bool json = false;
    stats->add_flag("--json", json, "print one JSON object");
    settings_parser.AddOptions(
        *stats, {Setting::kRedisUrl, Setting::kQueue, Setting::kCapacity,
                 Setting::kLeakRate, Setting::kLogLevel});

    auto* configure = app.add_subcommand(
        "configure",
        "change a live bucket's capacity or leak rate; its serve and "
        "consume processes follow without a restart");
    settings_parser.AddOptions(
        *configure, {Setting::kRedisUrl, Setting::kQueue, Setting::kCapacity,
                     Setting::kLeakRate, Setting::kLogLevel});

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int status = app.exit(e);
        return status == 0 ? 0 : kExitUsage;
    }

    CLI::App* command = app.get_subcommands().front();
    auto settings = settings_parser.Resolve(*command, config::ProcessEnv);
    if (!settings) {
        fmt::print(stderr, "drip {}: {}\n", command->get_name(),
                   settings.error().detail);
        return kExitUsage;
    }
    SetUpLogging(settings.value());

    if (command == serve) {
        return http::RunServer(http::ServerOptions{settings.value()});
    }
    if (command == consume) return consume::RunConsumer(settings.value());
    if (command == enqueue) return RunEnqueue(settings.value(), message);
    if (command == configure) {
        // Only what this command line names: a default is not a change.
        const auto& given = settings.value();
        return RunConfigure(
            given,
            configure->count("--capacity") ? std::optional(given.capacity)
                                           : std::nullopt,
            configure->count("--leak-rate") ? std::optional(given.leak_rate)
                                            : std::nullopt);
    }
    return RunStats(settings.value(), json);
}

}  // namespace drip::cli
