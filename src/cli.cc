// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "cli.h"

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bucket/bucket.h"
#include "cli_format.h"
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

// Lines of `drip enqueue` on their way to Redis at once. Two of the
// bucket's script calls' worth (256 admits each): one can form while the
// other is in Redis.
constexpr size_t kMaxAdmitsInFlight = 512;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);
constexpr auto kWatchInterval = std::chrono::seconds(1);

// ANSI (ECMA-48) control sequences: erase from the cursor to the end of
// the line; move the cursor home and erase the screen.
constexpr std::string_view kEraseToEnd = "\x1b[K";
constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";

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

void RethrowError(const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
}

// Runs `body(bucket, connection)` on a fresh io_context with a Redis
// connection that is up, or returns 1 when Redis cannot be reached:
// PRODUCT.md allows three seconds, and 2.5 leaves room for starting and
// stopping the process.
template <typename Body>
int WithBucket(const config::Settings& settings, Body body) {
    asio::io_context io(1);
    redis::ConnectionOptions options;
    options.url = settings.redis;
    options.ca_file = settings.redis_ca_file;
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
                status = co_await body(bucket, *connection);
            }
            connection->Stop();
        },
        RethrowError);
    io.run();
    return status;
}

std::string QueuedAnswer(const bucket::AdmitResult& result) {
    return fmt::format(
        R"({{"status": "queued", "seq": {}, "id": {}, "depth": {}, )"
        R"("capacity": {}}})",
        result.first_seq, result.id, result.depth, result.capacity);
}

// Why an admitted message was not queued, for stderr; nothing when it was.
std::optional<std::string> NotQueuedReason(
    const Result<bucket::AdmitResult>& admitted) {
    if (!admitted) {
        return fmt::format("not queued: {}", admitted.error().detail);
    }
    if (admitted.value().admission == bucket::Admission::kBucketFull) {
        return fmt::format("bucket full (capacity {})",
                           admitted.value().capacity);
    }
    return std::nullopt;
}

// Queues the one message given as an argument; returns false (after saying
// why on stderr) when it was not queued.
asio::awaitable<bool> EnqueueArgument(bucket::Bucket& bucket,
                                      std::string_view text) {
    bucket::MessageParser parser;
    std::vector<bucket::Message> messages(1);
    std::vector<bucket::Violation> violations;
    if (!parser.ParseOne(text, messages[0], violations)) {
        fmt::print(stderr, "drip: invalid message: {}\n",
                   bucket::RenderViolations(violations));
        co_return false;
    }
    auto admitted = co_await bucket.Admit(messages, "");
    if (auto reason = NotQueuedReason(admitted)) {
        fmt::print(stderr, "drip: {}\n", *reason);
        co_return false;
    }
    fmt::print("{}\n", QueuedAnswer(admitted.value()));
    co_return true;
}

// Lines of a file descriptor, read in large chunks, with a way to ask
// whether one is there without waiting for it.
class LineReader {
  public:
    explicit LineReader(int fd) : fd_(fd) {
        struct stat info {};
        if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
            const off_t at = std::max<off_t>(lseek(fd, 0, SEEK_CUR), 0);
            total_ =
                static_cast<uint64_t>(std::max<off_t>(info.st_size - at, 0));
        }
    }

    // The bytes left to read when reading began; known for regular files.
    std::optional<uint64_t> TotalBytes() const { return total_; }
    uint64_t BytesTaken() const { return taken_; }
    // Why reading stopped early; empty at a normal end of input.
    const std::string& Error() const { return error_; }

    // A whole line is buffered, or the unterminated last one.
    bool HasLine() const {
        return buffer_.find('\n', start_) != std::string::npos ||
               (end_ && start_ < buffer_.size());
    }

    bool AtEnd() const { return end_ && start_ == buffer_.size(); }

    // Waits up to `timeout` for input and reads what is there; returns
    // false when nothing was read.
    bool Read(std::chrono::milliseconds timeout);

    // Requires: HasLine(). The line without its '\n', valid until the next
    // Read.
    std::string_view TakeLine() {
        const size_t newline = buffer_.find('\n', start_);
        const size_t stop = std::min(newline, buffer_.size());
        const std::string_view line(buffer_.data() + start_, stop - start_);
        start_ = newline == std::string::npos ? stop : stop + 1;
        taken_ += line.size() + (newline == std::string::npos ? 0 : 1);
        return line;
    }

  private:
    static constexpr size_t kChunk = size_t{64} * 1024;

    int fd_;
    std::optional<uint64_t> total_;
    uint64_t taken_ = 0;
    std::string buffer_;
    size_t start_ = 0;  // where the lines not yet taken begin
    bool end_ = false;
    std::string error_;
};

bool LineReader::Read(std::chrono::milliseconds timeout) {
    if (end_) return false;
    pollfd ready{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&ready, 1, static_cast<int>(timeout.count())) <= 0) return false;

    buffer_.erase(0, start_);
    start_ = 0;
    const size_t had = buffer_.size();
    buffer_.resize(had + kChunk);
    const ssize_t got = read(fd_, buffer_.data() + had, kChunk);
    buffer_.resize(had + static_cast<size_t>(std::max<ssize_t>(got, 0)));
    if (got < 0 && errno != EINTR && errno != EAGAIN) {
        error_ = std::strerror(errno);
        end_ = true;
    }
    if (got == 0) end_ = true;
    return got > 0;
}

int TerminalColumns(int fd) {
    winsize size{};
    if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        return size.ws_col;
    }
    return 80;
}

// The progress line of `drip enqueue` at the bottom of a terminal: drawn
// in place at most every kProgressInterval, erased before anything else is
// written to that terminal.
class ProgressLine {
  public:
    explicit ProgressLine(bool enabled) : enabled_(enabled) {}

    void Show(const EnqueueProgress& progress) {
        const auto now = std::chrono::steady_clock::now();
        if (!enabled_ || now - last_drawn_ < kProgressInterval) return;
        last_drawn_ = now;
        // One column short: a line that fills the last column makes some
        // terminals wrap, and then \r no longer reaches its start.
        const int width = TerminalColumns(STDERR_FILENO) - 1;
        fmt::print(stderr, "\r{}{}", RenderProgressLine(progress, width),
                   kEraseToEnd);
        shown_ = true;
    }

    void Erase() {
        if (!shown_) return;
        fmt::print(stderr, "\r{}", kEraseToEnd);
        shown_ = false;
    }

    void Finish(const EnqueueProgress& progress) {
        if (!enabled_) return;
        Erase();
        fmt::print(stderr, "{}\n", RenderEnqueueSummary(progress));
    }

  private:
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_drawn_{};
};

// One line of the input on its way through the pipeline.
struct PendingLine {
    int64_t number = 0;
    std::vector<bucket::Message> messages;  // the line's one message
    std::string invalid;                    // why it is not a message
    std::optional<Result<bucket::AdmitResult>> admitted;

    bool Done() const { return !invalid.empty() || admitted.has_value(); }
};

// Set by SIGINT or SIGTERM during `drip enqueue` from stdin: no more
// lines are read, the ones on their way to Redis are answered, and the
// command exits as after the last line (a clean stop).
volatile std::sig_atomic_t g_enqueue_interrupted = 0;

extern "C" void InterruptEnqueue(int /*signal*/) { g_enqueue_interrupted = 1; }

asio::awaitable<void> AdmitLine(bucket::Bucket& bucket, PendingLine& line,
                                asio::steady_timer& wake) {
    line.admitted = co_await bucket.Admit(line.messages, "");
    wake.cancel();
}

// `drip enqueue` of JSON Lines on stdin. Up to kMaxAdmitsInFlight lines
// are on their way to Redis at once (the bucket carries admits that wait
// for one another in one script call), and their answers are written in
// input order. Nothing waits for input while answers are due: the pipeline
// writes them first, so a slow producer sees each answer promptly.
class LinePipeline {
  public:
    LinePipeline(bucket::Bucket& bucket, const asio::any_io_executor& executor)
        : bucket_(bucket),
          executor_(executor),
          wake_(executor),
          // Not while someone types the lines: the redraws would garble
          // what the terminal echoes.
          progress_(isatty(STDERR_FILENO) == 1 && isatty(STDIN_FILENO) == 0),
          stdout_is_terminal_(isatty(STDOUT_FILENO) == 1) {}

    asio::awaitable<int> Run() {
        start_ = std::chrono::steady_clock::now();
        for (;;) {
            ReadLines();
            if (window_.empty()) break;
            while (!window_.front()->Done()) {
                wake_.expires_at(asio::steady_timer::time_point::max());
                boost::system::error_code ec;
                co_await wake_.async_wait(
                    asio::redirect_error(asio::use_awaitable, ec));
            }
            while (!window_.empty() && window_.front()->Done()) {
                Report(*window_.front());
                window_.pop_front();
            }
            progress_.Show(Figures());
        }

        if (!input_.Error().empty()) {
            progress_.Erase();
            fmt::print(stderr, "drip: reading stdin: {}\n", input_.Error());
        }
        progress_.Finish(Figures());
        co_return failed_ > 0 || !input_.Error().empty() ? kExitFailure : 0;
    }

  private:
    // Starts the lines that can be read now; waits for input only when
    // no line is in flight.
    void ReadLines() {
        while (window_.size() < kMaxAdmitsInFlight) {
            if (g_enqueue_interrupted != 0) {
                if (!interrupted_) {
                    interrupted_ = true;
                    progress_.Erase();
                    fmt::print(stderr,
                               "drip: interrupted; lines after {} not read\n",
                               line_number_);
                }
                return;
            }
            if (input_.HasLine()) {
                StartLine(input_.TakeLine());
            } else if (input_.AtEnd()) {
                return;
            } else if (!window_.empty()) {
                if (!input_.Read(std::chrono::milliseconds(0))) return;
            } else {
                std::fflush(stdout);
                input_.Read(kProgressInterval);
                progress_.Show(Figures());
            }
        }
    }

    void StartLine(std::string_view text) {
        ++line_number_;
        if (text.find_first_not_of(" \t\r") == std::string::npos) return;
        auto line = std::make_unique<PendingLine>();
        line->number = line_number_;
        line->messages.resize(1);
        violations_.clear();
        if (parser_.ParseOne(text, line->messages[0], violations_)) {
            asio::co_spawn(executor_, AdmitLine(bucket_, *line, wake_),
                           RethrowError);
        } else {
            line->invalid = bucket::RenderViolations(violations_);
        }
        window_.push_back(std::move(line));
    }

    void Report(const PendingLine& line) {
        const auto reason = line.invalid.empty()
                                ? NotQueuedReason(*line.admitted)
                                : "invalid message: " + line.invalid;
        if (reason) {
            ++failed_;
            progress_.Erase();
            fmt::print(stderr, "drip: line {}: {}\n", line.number, *reason);
            return;
        }
        ++queued_;
        if (stdout_is_terminal_) progress_.Erase();
        fmt::print("{}\n", QueuedAnswer(line.admitted->value()));
    }

    EnqueueProgress Figures() const {
        EnqueueProgress figures;
        figures.queued = queued_;
        figures.failed = failed_;
        figures.elapsed = std::chrono::steady_clock::now() - start_;
        figures.bytes_read = input_.BytesTaken();
        figures.bytes_total = input_.TotalBytes();
        return figures;
    }

    bucket::Bucket& bucket_;
    asio::any_io_executor executor_;
    asio::steady_timer wake_;  // cancelled when an admit completes
    ProgressLine progress_;
    bool stdout_is_terminal_;
    LineReader input_{STDIN_FILENO};
    bucket::MessageParser parser_;
    std::vector<bucket::Violation> violations_;
    std::deque<std::unique_ptr<PendingLine>> window_;  // in input order
    int64_t line_number_ = 0;
    int64_t queued_ = 0;
    int64_t failed_ = 0;
    bool interrupted_ = false;
    std::chrono::steady_clock::time_point start_;
};

int RunEnqueue(const config::Settings& settings,
               const std::optional<std::string>& message) {
    return WithBucket(
        settings,
        [&](bucket::Bucket& bucket,
            redis::Connection&) -> asio::awaitable<int> {
            if (message) {
                co_return co_await EnqueueArgument(bucket, *message)
                    ? 0
                    : kExitFailure;
            }
            struct sigaction interrupt {};
            interrupt.sa_handler = InterruptEnqueue;
            sigemptyset(&interrupt.sa_mask);
            ::sigaction(SIGINT, &interrupt, nullptr);
            ::sigaction(SIGTERM, &interrupt, nullptr);
            LinePipeline pipeline(bucket, co_await asio::this_coro::executor);
            co_return co_await pipeline.Run();
        });
}

std::string WallClock() {
    return fmt::format("{:%H:%M:%S}", fmt::localtime(std::time(nullptr)));
}

// What `drip stats --watch` shows after each read of the bucket's stats.
class WatchScreen {
  public:
    WatchScreen(std::string queue, bool json)
        : queue_(std::move(queue)),
          json_(json),
          terminal_(isatty(STDOUT_FILENO) == 1) {}

    void Show(const Result<bucket::BucketStats>& stats) {
        if (stats) {
            ShowFigures(stats.value());
        } else {
            ShowOutage(stats.error().detail);
        }
        std::fflush(stdout);
    }

  private:
    struct Reading {
        bucket::BucketStats stats;
        std::chrono::steady_clock::time_point at;
        std::string clock;  // the wall clock then, for people
    };

    void ShowFigures(const bucket::BucketStats& stats) {
        Reading now{stats, std::chrono::steady_clock::now(), WallClock()};
        if (outage_since_ && json_) {
            fmt::print(stderr, "drip: stats: redis reachable again\n");
        }
        outage_since_.reset();
        if (json_) {
            fmt::print("{}\n", RenderStatsJson(queue_, stats));
        } else {
            std::optional<CounterRates> rates;
            if (last_)
                rates = RatesBetween(last_->stats, stats, now.at - last_->at);
            Draw(now.clock, RenderStatsTable(queue_, stats, rates));
        }
        last_ = std::move(now);
    }

    void ShowOutage(const std::string& detail) {
        const bool new_outage = !outage_since_;
        if (new_outage) outage_since_ = WallClock();
        if (json_) {
            if (new_outage) {
                fmt::print(stderr, "drip: stats failed: {}; retrying\n",
                           detail);
            }
            return;
        }
        std::string body = fmt::format(
            "redis unreachable since {}: {}\nretrying every second\n",
            *outage_since_, detail);
        if (last_) {
            body += fmt::format("\nlast figures, from {}:\n", last_->clock);
            body += RenderStatsTable(queue_, last_->stats, std::nullopt);
        }
        Draw(WallClock(), body);
    }

    // On a terminal the screen is redrawn from the top; elsewhere each
    // refresh follows the one before, after a blank line.
    void Draw(const std::string& clock, const std::string& body) {
        const auto text = fmt::format(
            "drip stats  {}  refreshed every second, Ctrl-C stops\n\n{}", clock,
            body);
        if (terminal_) {
            fmt::print("{}{}", kClearScreen, text);
        } else {
            fmt::print("{}\n", text);
        }
    }

    std::string queue_;
    bool json_;
    bool terminal_;
    std::optional<Reading> last_;
    std::optional<std::string> outage_since_;  // wall clock
};

// Reads the stats every kWatchInterval until SIGINT or SIGTERM; a failed
// read is shown and the next one tried on time.
asio::awaitable<int> WatchStats(const std::string& queue,
                                bucket::Bucket& bucket,
                                redis::Connection& connection, bool json) {
    const auto executor = co_await asio::this_coro::executor;
    asio::signal_set signals(executor, SIGINT, SIGTERM);
    asio::steady_timer tick(executor);
    bool stopping = false;
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;  // cancelled at the end: the frame may be gone
        stopping = true;
        tick.cancel();
        // A read waiting on a hung Redis fails now instead of in seconds.
        connection.Stop();
    });

    WatchScreen screen(queue, json);
    auto next = std::chrono::steady_clock::now();
    while (!stopping) {
        const auto stats = co_await bucket.Stats();
        if (stopping) break;
        screen.Show(stats);

        const auto now = std::chrono::steady_clock::now();
        next += kWatchInterval;
        if (next <= now) next = now + kWatchInterval;
        tick.expires_at(next);
        boost::system::error_code ec;
        co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    signals.cancel();
    co_return 0;
}

int RunStats(const config::Settings& settings, bool json, bool watch) {
    return WithBucket(
        settings,
        [&](bucket::Bucket& bucket,
            redis::Connection& connection) -> asio::awaitable<int> {
            if (watch) {
                co_return co_await WatchStats(settings.queue, bucket,
                                              connection, json);
            }
            auto stats = co_await bucket.Stats();
            if (!stats) {
                fmt::print(stderr, "drip: stats failed: {}\n",
                           stats.error().detail);
                co_return kExitFailure;
            }
            if (json) {
                fmt::print("{}\n",
                           RenderStatsJson(settings.queue, stats.value()));
            } else {
                fmt::print("{}", RenderStatsTable(settings.queue, stats.value(),
                                                  std::nullopt));
            }
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
        settings,
        [&](bucket::Bucket& bucket,
            redis::Connection&) -> asio::awaitable<int> {
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
        {Setting::kRedisUrl, Setting::kRedisCaFile, Setting::kQueue,
         Setting::kCapacity, Setting::kLeakRate, Setting::kHost, Setting::kPort,
         Setting::kApiToken, Setting::kMaxBodyBytes, Setting::kThreads,
         Setting::kMaxConnections, Setting::kRequestTimeout,
         Setting::kIdleTimeout, Setting::kLogLevel, Setting::kLogFormat});

    auto* consume = app.add_subcommand(
        "consume", "leak messages at the leak rate and process them");
    settings_parser.AddOptions(
        *consume,
        {Setting::kRedisUrl, Setting::kRedisCaFile, Setting::kQueue,
         Setting::kCapacity, Setting::kLeakRate, Setting::kLogFile,
         Setting::kDeliverUrl, Setting::kMaxAttempts,
         Setting::kVisibilityTimeout, Setting::kConsumerId,
         Setting::kDeliverTimeout, Setting::kDeliverConcurrency,
         Setting::kLogMaxBytes, Setting::kRetryBackoff, Setting::kDeliverCaFile,
         Setting::kLogKeep, Setting::kLogLevel, Setting::kLogFormat});

    auto* enqueue = app.add_subcommand(
        "enqueue",
        "queue messages straight into Redis: one JSON object as an "
        "argument, or JSON Lines on stdin");
    std::optional<std::string> message;
    enqueue->add_option("message", message, "one message as a JSON object");
    settings_parser.AddOptions(
        *enqueue, {Setting::kRedisUrl, Setting::kRedisCaFile, Setting::kQueue,
                   Setting::kCapacity, Setting::kLeakRate, Setting::kLogLevel});

    auto* stats = app.add_subcommand("stats", "print the bucket's state");
    bool json = false;
    stats->add_flag("--json", json, "print one JSON object");
    bool watch = false;
    stats->add_flag("--watch", watch,
                    "refresh every second, with the counters' changes, "
                    "until Ctrl-C or SIGTERM; with --json, one line a "
                    "second");
    settings_parser.AddOptions(
        *stats, {Setting::kRedisUrl, Setting::kRedisCaFile, Setting::kQueue,
                 Setting::kCapacity, Setting::kLeakRate, Setting::kLogLevel});

    auto* configure = app.add_subcommand(
        "configure",
        "change a live bucket's capacity or leak rate; its serve and "
        "consume processes follow without a restart");
    settings_parser.AddOptions(
        *configure,
        {Setting::kRedisUrl, Setting::kRedisCaFile, Setting::kQueue,
         Setting::kCapacity, Setting::kLeakRate, Setting::kLogLevel});

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
    return RunStats(settings.value(), json, watch);
}

}  // namespace drip::cli
