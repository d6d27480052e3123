// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/consumer.h"

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bucket/bucket.h"
#include "bucket/leak_schedule.h"
#include "common/json_writer.h"
#include "consume/delivery.h"
#include "consume/leak_metrics.h"
#include "consume/processed_log.h"
#include "redis/durability.h"

namespace drip::consume {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;

// How far ahead of its slot a message is taken from the bucket. Longer
// means bigger batches (fewer round trips) and more slack for a taker that
// is slow to run on a busy machine, but a message of higher priority that
// arrives meanwhile waits behind up to this much of the leak.
constexpr Micros kLookahead{50'000};
constexpr int64_t kMaxBatch = 512;
// How often an empty bucket is asked again for work.
constexpr milliseconds kEmptyPoll{5};
// Records go to the writer at least this often, and whenever this many
// bytes are waiting. Each hand-off ends in one ack script; Redis's fixed
// cost per script call is what makes more frequent hand-offs expensive.
constexpr Micros kHandOffEvery{10'000};
constexpr size_t kHandOffBytes = size_t{64} * 1024;
// How often the waits and gaps seen go to the bucket's histograms.
constexpr Micros kObserveEvery{100'000};

// A message taken from the bucket, waiting for its slot.
struct Ready {
    Micros slot;  // Redis clock
    double interval_us;
    std::string stored;
};

// Two threads. The runner thread does nothing but wait for each message's
// slot, stamp it and format its record, so that its timing never waits on
// I/O. The io thread talks to Redis (taking batches ahead of time,
// acknowledging) and writes the records the runner hands it to the log.
class Consumer {
  public:
    explicit Consumer(const config::Settings& settings)
        : settings_(settings),
          consumer_id_(ConsumerId(settings)),
          queue_json_(JsonString(settings.queue)),
          redis_(std::make_shared<redis::Connection>(io_.get_executor(),
                                                     OptionsFor(settings))),
          bucket_(*redis_, settings.queue, settings.capacity,
                  settings.leak_rate),
          taker_wake_(io_),
          stop_signal_(io_),
          signals_(io_, SIGINT, SIGTERM),
          hangup_(io_, SIGHUP),
          jitter_(std::random_device{}()) {}

    int Run() {
        if (auto opened = log_.Open(settings_.log_file, settings_.log_max_bytes,
                                    settings_.log_keep);
            !opened) {
            spdlog::error("{}", opened.error().detail);
            return ErrcOf(opened.error()) == Errc::kInvalidArgument ? 2 : 1;
        }
        if (settings_.deliver_url && !PrepareDelivery()) return 2;
        WaitForHangup();
        redis_->OnStateChange([this](bool up, const std::string& why) {
            if (up) {
                // Only the first time: after a reconnect the bucket may
                // carry a rate set since by drip configure.
                if (was_up_) {
                    spdlog::info("redis connection regained");
                } else {
                    asio::co_spawn(io_, Configure(), asio::detached);
                }
                was_up_ = true;
            } else {
                spdlog::warn("redis connection lost err={}; retrying", why);
            }
        });
        redis_->Start();
        signals_.async_wait([this](const error_code& ec, int number) {
            if (ec) return;
            spdlog::info("stopping signal={}", number);
            Stop();
        });
        asio::co_spawn(io_, Main(), [this](const std::exception_ptr& e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& failure) {
                    spdlog::error("consumer failed err={}", failure.what());
                }
                exit_status_ = 1;
            }
            redis_->Stop();
            signals_.cancel();
            hangup_.cancel();
        });
        io_.run();
        if (runner_.joinable()) runner_.join();
        return exit_status_;
    }

  private:
    // With --deliver-url: the client that POSTs each message downstream.
    bool PrepareDelivery() {
        auto target = ParseDeliveryUrl(*settings_.deliver_url);
        if (!target) {
            spdlog::error("invalid DRIP_DELIVER_URL (--deliver-url): {}",
                          target.error().detail);
            return false;
        }
        DeliveryOptions options;
        options.timeout = settings_.deliver_timeout;
        options.ca_file = settings_.deliver_ca_file;
        options.max_idle = static_cast<size_t>(settings_.deliver_concurrency);
        delivery_ = std::make_unique<DeliveryClient>(
            io_.get_executor(), std::move(target).assume_value(), options);
        if (auto prepared = delivery_->Prepare(); !prepared) {
            spdlog::error(
                "invalid DRIP_DELIVER_CA_FILE (--deliver-ca-file): {}",
                prepared.error().detail);
            return false;
        }
        if (settings_.deliver_timeout >= settings_.visibility_timeout) {
            // A delivery still waiting when its lease runs out is taken
            // over and delivered a second time by another consumer.
            spdlog::warn(
                "deliver_timeout ({} ms) is not shorter than "
                "visibility_timeout ({} ms): slow deliveries will be "
                "repeated by other consumers",
                settings_.deliver_timeout.count(),
                settings_.visibility_timeout.count());
        }
        return true;
    }

    // SIGHUP: logrotate has renamed the log; records go to a fresh file.
    void WaitForHangup() {
        hangup_.async_wait([this](const error_code& ec, int) {
            if (ec) return;
            if (auto reopened = log_.Reopen(); !reopened) {
                spdlog::error(
                    "log reopen failed err={}; still writing to "
                    "the old file",
                    reopened.error().detail);
            } else {
                spdlog::info("log reopened log_file={}", settings_.log_file);
            }
            WaitForHangup();
        });
    }

    static redis::ConnectionOptions OptionsFor(
        const config::Settings& settings) {
        redis::ConnectionOptions options;
        options.url = settings.redis;
        options.ca_file = settings.redis_ca_file;
        options.command_timeout = milliseconds(2000);
        return options;
    }

    asio::awaitable<void> Configure() {
        // The leak rate is consume's to set: the bucket keeps it so that
        // every consumer of the bucket leaks at one rate.
        auto result =
            co_await bucket_.Configure(std::nullopt, settings_.leak_rate);
        if (!result) {
            spdlog::warn("bucket configure failed err={}",
                         result.error().detail);
        }
        for (const auto& risk : co_await redis::DurabilityRisks(*redis_)) {
            spdlog::warn("redis may lose accepted messages: {}", risk);
        }
    }

    asio::awaitable<void> Main() {
        auto up = co_await redis_->WaitUp(milliseconds(2500));
        if (!up) {
            spdlog::error("redis unreachable err={}", up.error().detail);
            exit_status_ = 1;
            co_return;
        }
        if (!co_await Recover()) {
            exit_status_ = 1;
            co_return;
        }
        spdlog::info(
            "consuming queue={} leak_rate={} consumer={} log_file={} "
            "deliver_url={}",
            settings_.queue, settings_.leak_rate, consumer_id_,
            settings_.log_file, settings_.deliver_url.value_or("none"));
        co_await MeasureOffset();
        asio::co_spawn(io_, Taker(), asio::detached);
        asio::co_spawn(io_, KeepClock(), asio::detached);
        runner_ = std::thread([this] { RunnerLoop(); });

        while (!stopping_) {
            stop_signal_.expires_after(std::chrono::hours(1));
            error_code ec;
            co_await stop_signal_.async_wait(
                asio::redirect_error(asio::use_awaitable, ec));
        }
        ready_cv_.notify_all();
        runner_.join();
        // Let the records the runner handed over last be written first.
        co_await asio::post(io_, asio::use_awaitable);
        co_await Finish();
    }

    // What this consumer held when it last stopped: a message whose
    // current attempt made it into the log is settled as its record says
    // (acknowledged, retried or dead); the rest go back to the front of the
    // bucket. Unsettled records are always the last ones in the log,
    // because outcomes reach Redis in the order they were written.
    asio::awaitable<bool> Recover() {
        auto held = co_await bucket_.Held(consumer_id_);
        if (!held) {
            spdlog::error("recovery failed err={}", held.error().detail);
            co_return false;
        }
        if (held.value().empty()) co_return true;
        auto recorded = log_.LastRecords(held.value().size());
        if (!recorded) {
            spdlog::error("recovery failed err={}", recorded.error().detail);
            co_return false;
        }
        bucket::Settlement settlement;
        std::vector<int64_t> undone;
        for (const auto& stored : held.value()) {
            const auto message = bucket::ParseStored(stored);
            if (!message) continue;
            const auto record = recorded.value().find(message->seq);
            if (record == recorded.value().end() ||
                record->second.attempt != message->attempt) {
                undone.push_back(message->seq);
                continue;
            }
            switch (record->second.outcome) {
                case Outcome::kProcessed:
                    settlement.acks.push_back(message->seq);
                    break;
                case Outcome::kFailed:
                    settlement.retries.push_back(
                        {message->seq,
                         WallNow() + NextRetryDelay(message->attempt)});
                    break;
                case Outcome::kDead:
                    settlement.dead.push_back(
                        {message->seq,
                         fmt::format("HTTP {} (settled at restart)",
                                     record->second.response_status)});
                    break;
            }
        }
        auto settled = co_await bucket_.Settle(settlement);
        auto released = co_await bucket_.Release(undone);
        if (!settled || !released) {
            spdlog::error("recovery failed err=redis unavailable");
            co_return false;
        }
        spdlog::info(
            "recovered held={} processed={} retried={} dead={} returned={}",
            held.value().size(), settlement.acks.size(),
            settlement.retries.size(), settlement.dead.size(), undone.size());
        co_return true;
    }

    // The backoff before the attempt after `attempt`.
    Micros NextRetryDelay(int attempt) {
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        return RetryDelay(attempt + 1, settings_.retry_backoff, unit(jitter_));
    }

    Micros LocalTime(Micros redis_time) const {
        return redis_time - Micros(offset_us_.load(std::memory_order_relaxed));
    }

    // The offset between Redis's clock and ours. Each round trip to Redis
    // gives an estimate, off by at most half the round trip; the target is
    // the estimate of the shortest round trip seen lately (the best round
    // trip ages by a microsecond a sample, so that a drifting clock is
    // followed). The offset moves toward it by at most 10 us a second:
    // every slot moves with the offset, and a jump would squeeze slots
    // together. Only a step of more than 50 ms, a clock being set, is
    // taken at once.
    void UpdateOffset(Micros redis_now, Micros sent, Micros received) {
        const Micros round_trip = received - sent;
        if (best_round_trip_ < Micros::max()) best_round_trip_ += Micros(1);
        if (round_trip <= best_round_trip_) {
            AdoptClockSample(redis_now, sent, round_trip);
        }
        const Micros offset(offset_us_.load());
        const Micros gap = target_offset_ - offset;
        const Micros max_step((received - last_offset_update_).count() /
                              100'000);
        last_offset_update_ = received;
        if (gap > Micros(50'000) || gap < Micros(-50'000)) {
            spdlog::warn("clock offset to redis jumped by {} us", gap.count());
            offset_us_ = target_offset_.count();
            return;
        }
        offset_us_ = (offset + std::clamp(gap, -max_step, max_step)).count();
    }

    // A TIME answer `redis_now` to a request sent at `sent` that came back
    // `round_trip` later becomes the best sample: the offset's target, and
    // the round trip its error is judged by.
    void AdoptClockSample(Micros redis_now, Micros sent, Micros round_trip) {
        best_round_trip_ = round_trip;
        target_round_trip_ = round_trip;
        target_offset_ = redis_now - (sent + round_trip / 2);
    }

    // The first estimate, before any slot is used: the best of a few TIME
    // round trips.
    asio::awaitable<void> MeasureOffset() {
        for (int i = 0; i < 8; ++i) {
            const Micros sent = WallNow();
            auto now = co_await bucket_.RedisTime();
            const Micros received = WallNow();
            if (!now) continue;
            const Micros round_trip = received - sent;
            if (round_trip < best_round_trip_) {
                AdoptClockSample(now.value(), sent, round_trip);
            }
        }
        offset_us_ = target_offset_.count();
        last_offset_update_ = WallNow();
    }

    // Every take is a sample of the clock offset too, but a take's round
    // trip includes its script and any other consumer's queued before it.
    // A few bare TIME round trips a second are shorter, so the estimate,
    // and the clock error other consumers must allow for, stay small.
    asio::awaitable<void> KeepClock() {
        while (!stopping_) {
            co_await SleepOn(clock_wake_, milliseconds(250));
            if (stopping_) break;
            const Micros sent = WallNow();
            auto now = co_await bucket_.RedisTime();
            const Micros received = WallNow();
            if (now) UpdateOffset(now.value(), sent, received);
        }
    }

    asio::awaitable<void> SleepOn(asio::steady_timer& timer, Micros delay) {
        timer.expires_after(delay);
        error_code ec;
        co_await timer.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
    }

    // The local time of the last slot handed to the runner, or nullopt
    // before the first. A slot in the past means none waits.
    std::optional<Micros> LastReadySlot() const {
        const int64_t last = last_ready_slot_us_.load();
        if (last == 0) return std::nullopt;
        return LocalTime(Micros(last));
    }

    asio::awaitable<void> Taker() {
        auto backoff = milliseconds(50);
        while (!stopping_) {
            const Micros now = WallNow();
            if (const auto last = LastReadySlot();
                last && *last > now + kLookahead / 2) {
                co_await SleepOn(taker_wake_,
                                 std::min<Micros>(*last - now - kLookahead / 2,
                                                  milliseconds(100)));
                continue;
            }
            taker_busy_ = true;
            if (reconcile_) co_await Reconcile();
            auto lease =
                co_await bucket_.Take(consumer_id_, kMaxBatch, kLookahead,
                                      settings_.visibility_timeout);
            taker_busy_ = false;
            const Micros received = WallNow();
            if (!lease) {
                reconcile_ = true;
                // The connection logs an outage once; here we only wait.
                // Anything else is a bug worth seeing.
                if (ErrcOf(lease.error()) == Errc::kInternal) {
                    spdlog::error("take failed err={}", lease.error().detail);
                }
                co_await SleepOn(taker_wake_, backoff);
                backoff = std::min(backoff * 2, milliseconds(1000));
                continue;
            }
            backoff = milliseconds(50);
            auto& taken = lease.value();
            UpdateOffset(taken.redis_now, now, received);
            if (taken.wait_until) {
                if (taken.paused) {
                    pause_until_us_ = taken.wait_until->count();
                }
                const Micros wake =
                    LocalTime(*taken.wait_until) - kLookahead / 2 - received;
                co_await SleepOn(
                    taker_wake_,
                    std::clamp<Micros>(wake, Micros(100), milliseconds(200)));
                continue;
            }
            if (taken.messages.empty()) {
                co_await SleepOn(taker_wake_, kEmptyPoll);
                continue;
            }
            for (const auto& stored : taken.messages) {
                if (const auto message = bucket::ParseStored(stored)) {
                    taken_.insert(message->seq);
                }
            }
            NoteSharing(taken.slots,
                        static_cast<int64_t>(taken.messages.size()), received);
            {
                std::lock_guard lock(mutex_);
                for (size_t i = 0; i < taken.messages.size(); ++i) {
                    ready_.push_back(
                        {taken.slots.SlotOf(static_cast<int64_t>(i)),
                         taken.slots.interval_us,
                         std::move(taken.messages[i])});
                }
                last_ready_slot_us_ = ready_.back().slot.count();
            }
            ready_cv_.notify_one();
        }
    }

    // Whether other consumers take slots of this bucket too: then a gap
    // shows between the slot numbers of two takes of the same schedule.
    // While they do, the runner allows less lateness after a slot, by as
    // much as two consumers' clock estimates can differ (see SlotMissed):
    // each estimate is off by at most half the round trip it came from
    // plus what the offset has yet to move toward it, and the other
    // consumers' are taken to be as good.
    void NoteSharing(const bucket::SlotGrant& grant, int64_t count,
                     Micros now) {
        if (grant.anchor_us == last_grant_anchor_us_ &&
            grant.first_slot != last_grant_end_) {
            shared_seen_at_ = now;
        }
        last_grant_anchor_us_ = grant.anchor_us;
        last_grant_end_ = grant.first_slot + count;
        const bool shared = shared_seen_at_.count() > 0 &&
                            now - shared_seen_at_ < std::chrono::seconds(2);
        const Micros lag = target_offset_ - Micros(offset_us_.load());
        const Micros error = target_round_trip_ / 2 + std::chrono::abs(lag);
        clock_error_us_ = shared ? 2 * error.count() : 0;
    }

    // What the runner has done since it last handed over to the io thread.
    struct Done {
        std::string records;
        bucket::Settlement recorded;  // the seqs of `records`, in order
        std::vector<int64_t> missed;  // to go back to the bucket
        // Messages started, freed on the io thread: a free on the runner
        // of memory the io thread allocated can wait for the io thread's
        // allocator lock, and a runner that waits misses slots.
        std::vector<std::string> spent;
        Micros handed_off_at{0};
        // Waits and gaps for /metrics, handed over less often than the
        // records: each hand-off of them costs Redis a script call.
        LeakObservations observed;
        Micros observed_since{0};
    };

    // The runner thread. It holds the lock only to take the next message,
    // never while it waits, so the taker can always add more.
    void RunnerLoop() {
        // Best effort: a runner that is descheduled misses slots, and a
        // higher weight makes that rarer on a busy machine. Needs
        // CAP_SYS_NICE; without it the runner runs at normal priority.
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -10);
        Done done;
        done.handed_off_at = WallNow();
        done.records = SpareBuffer();
        // The runner's share of ready_: taken over a whole batch at a time,
        // so that the lock is not taken for every message.
        std::vector<Ready> batch;
        size_t batch_next = 0;
        std::optional<Ready> next;
        bucket::WakeMargin wake_margin;
        while (!stopping_) {
            if (!next) {
                next = TakeReady(batch, batch_next);
                if (!next) {
                    HandOff(done);
                    continue;
                }
            }
            const Micros slot = LocalTime(next->slot);
            Micros now = WallNow();
            // Waits shorter than the margin are spun rather than slept
            // (see WakeMargin). The price is CPU: on a machine that wakes
            // threads late, a bucket's runners together spin up to a core.
            if (const Micros margin = wake_margin.Get(next->interval_us);
                slot - now > margin) {
                if (slot - now > Micros(1000)) HandOff(done);
                const Micros wake_at = slot - margin;
                bool stopped = false;
                {
                    std::unique_lock lock(mutex_);
                    stopped =
                        ready_cv_.wait_for(lock, wake_at - WallNow(),
                                           [this] { return stopping_.load(); });
                }
                // A wait cut short (by a stop) says nothing of how late
                // this machine wakes threads.
                if (const Micros late = WallNow() - wake_at;
                    !stopped && late >= Micros(0)) {
                    wake_margin.Overslept(late);
                }
                continue;
            }
            while (now < slot) now = WallNow();
            if (stopping_) break;

            const bool paused = next->slot.count() <
                                pause_until_us_.load(std::memory_order_relaxed);
            const bool missed =
                !paused &&
                bucket::SlotMissed(
                    slot, next->interval_us, now,
                    Micros(clock_error_us_.load(std::memory_order_relaxed)));
            // With every delivery connection busy, a slot cannot be used
            // without starting late: the message goes back for a later
            // slot, so a slow downstream lowers the rate rather than
            // bunching deliveries together.
            const bool busy =
                !paused && !missed && delivery_ &&
                deliveries_in_flight_.load() >= settings_.deliver_concurrency;
            if (paused || missed || busy) {
                if (const auto message = bucket::ParseStored(next->stored)) {
                    done.missed.push_back(message->seq);
                }
                if (missed) ++missed_;
                if (busy) ++busy_slots_;
            } else if (const auto message = bucket::ParseStored(next->stored);
                       !message) {
                // Only drip writes these lists; a malformed entry is a bug
                // or a foreign writer, and is dropped rather than retried
                // forever.
                spdlog::error("dropping malformed message stored={:.80}",
                              next->stored);
            } else {
                Observe(*next, *message, now, done);
                if (delivery_) {
                    StartDelivery(std::move(next->stored), now);
                } else {
                    Record(*message, now, done);
                }
            }
            // Empty when it went to a delivery, which frees it there.
            if (!next->stored.empty()) {
                done.spent.push_back(std::move(next->stored));
            }
            next.reset();
            if (done.records.size() >= kHandOffBytes ||
                now - done.handed_off_at >= kHandOffEvery) {
                HandOff(done);
            }
        }
        {
            // Not started: they go back with the rest, in slot order.
            std::vector<Ready> unstarted;
            if (next) unstarted.push_back(std::move(*next));
            for (; batch_next < batch.size(); ++batch_next) {
                unstarted.push_back(std::move(batch[batch_next]));
            }
            std::lock_guard lock(mutex_);
            ready_.insert(ready_.begin(),
                          std::make_move_iterator(unstarted.begin()),
                          std::make_move_iterator(unstarted.end()));
        }
        HandOff(done, /*last=*/true);
    }

    // The next message waiting, after at most a short wait; asks the taker
    // for more when little is left.
    std::optional<Ready> TakeReady(std::vector<Ready>& batch,
                                   size_t& batch_next) {
        if (batch_next == batch.size()) {
            std::unique_lock lock(mutex_);
            ready_cv_.wait_for(lock, milliseconds(50), [this] {
                return stopping_.load() || !ready_.empty();
            });
            if (ready_.empty() || stopping_) return std::nullopt;
            // What is left in `batch` was moved from; swapping gives its
            // room back to the taker, so neither side allocates.
            batch.clear();
            batch.swap(ready_);
            batch_next = 0;
        }
        Ready ready = std::move(batch[batch_next++]);
        const auto last = LastReadySlot();
        const bool running_low = !last || *last < WallNow() + kLookahead / 2;
        if (running_low && !taker_poked_.exchange(true)) {
            asio::post(io_, [this] {
                taker_poked_ = false;
                taker_wake_.cancel();
            });
        }
        return ready;
    }

    void Record(const bucket::StoredMessage& message, Micros started,
                Done& done) {
        AppendRecord(done.records, queue_json_, message, started,
                     Outcome::kProcessed);
        done.recorded.acks.push_back(message.seq);
    }

    // On the runner thread: the message's wait, and the gap since the
    // previous start when that one had the slot just before (with several
    // consumers, the slot before may have been another's).
    void Observe(const Ready& ready, const bucket::StoredMessage& message,
                 Micros started, Done& done) {
        std::optional<Micros> gap;
        const double slot_step =
            static_cast<double>((ready.slot - previous_slot_).count());
        if (previous_slot_.count() > 0 &&
            std::abs(slot_step - ready.interval_us) <= 1.0) {
            gap = started - previous_start_;
        }
        previous_slot_ = ready.slot;
        previous_start_ = started;
        done.observed.Add(started - Micros(message.enqueued_us), gap);
    }

    asio::awaitable<void> FlushObservations(LeakObservations observed) {
        co_await FlushLeakObservations(*redis_, base_key_, std::move(observed));
        --flushes_in_flight_;
    }

    // On the runner thread: hands the message to the io thread, which
    // POSTs it downstream. Its record is written when the answer comes.
    void StartDelivery(std::string stored, Micros started) {
        ++deliveries_in_flight_;
        asio::post(io_, [this, s = std::move(stored), started]() mutable {
            asio::co_spawn(io_, Deliver(std::move(s), started), asio::detached);
        });
    }

    // The message as the downstream receives it: PRODUCT.md's message
    // fields, and where it comes from.
    std::string DeliveryBody(const bucket::StoredMessage& message) const {
        std::string body = fmt::format(
            R"({{"queue": {}, "seq": {}, "attempt": {}, "id": {}, )"
            R"("job_priority": {}, "job_type": {}, "job_publisher": {}, )"
            R"("data": {}, "enqueued_at": ")",
            queue_json_, message.seq, message.attempt, message.id,
            message.job_priority, message.job_type, message.publisher_json,
            message.data_json);
        AppendIsoTime(body, Micros(message.enqueued_us));
        body += "\"}";
        return body;
    }

    // On the io thread: one delivery attempt, its record, and what
    // becomes of the message.
    asio::awaitable<void> Deliver(std::string stored, Micros started) {
        const auto message = bucket::ParseStored(stored);
        if (!message) {
            --deliveries_in_flight_;
            spdlog::error("dropping malformed message stored={:.80}", stored);
            co_return;
        }
        const DeliveryAnswer answer = co_await delivery_->Post(
            DeliveryBody(*message),
            fmt::format("{}:{}", settings_.queue, message->seq));
        --deliveries_in_flight_;

        const Verdict verdict = Classify(answer.status);
        Outcome outcome = Outcome::kProcessed;
        bucket::Settlement settlement;
        if (verdict == Verdict::kDelivered) {
            settlement.acks.push_back(message->seq);
        } else if (verdict == Verdict::kRetry &&
                   message->attempt < settings_.max_attempts) {
            outcome = Outcome::kFailed;
            settlement.retries.push_back(
                {message->seq, RedisNow() + NextRetryDelay(message->attempt)});
        } else {
            outcome = Outcome::kDead;
            settlement.dead.push_back({message->seq, LastError(answer)});
        }
        if (const auto pause = PauseAsked(answer, WallNow())) {
            asio::co_spawn(io_, PauseBucket(*pause), asio::detached);
        }
        std::string record;
        AppendRecord(record, queue_json_, *message, started, outcome, &answer);
        Write(record, std::move(settlement));
    }

    // The downstream asked for a pause: this consumer stops at once, the
    // others when they next take (within the lookahead).
    asio::awaitable<void> PauseBucket(Micros pause) {
        const int64_t local_end = (RedisNow() + pause).count();
        if (local_end > pause_until_us_.load()) pause_until_us_ = local_end;
        auto until = co_await bucket_.Pause(pause);
        if (!until) {
            spdlog::warn("pause not shared with other consumers err={}",
                         until.error().detail);
            co_return;
        }
        if (until.value().count() > pause_until_us_.load()) {
            pause_until_us_ = until.value().count();
        }
        spdlog::info(
            "downstream asked for a pause pause_ms={}; leak resumes "
            "at {}",
            pause.count() / 1000, IsoTime(until.value()));
    }

    Micros RedisNow() const {
        return WallNow() + Micros(offset_us_.load(std::memory_order_relaxed));
    }

    // Gives what the runner did to the io thread, to write, acknowledge
    // and return. On the runner thread.
    void HandOff(Done& done, bool last = false) {
        done.handed_off_at = WallNow();
        if (!done.observed.Empty() &&
            (last ||
             done.handed_off_at - done.observed_since >= kObserveEvery)) {
            done.observed_since = done.handed_off_at;
            ++flushes_in_flight_;
            asio::post(io_, [this, o = std::move(done.observed)]() mutable {
                asio::co_spawn(io_, FlushObservations(std::move(o)),
                               asio::detached);
            });
            done.observed = LeakObservations();
        }
        if (done.records.empty() && done.missed.empty() && done.spent.empty()) {
            return;
        }
        asio::post(
            io_, [this, r = std::move(done.records),
                  s = std::move(done.recorded), m = std::move(done.missed),
                  spent = std::move(done.spent)]() mutable {
                if (!r.empty()) Write(r, std::move(s));
                ReturnBuffer(std::move(r));
                if (!m.empty())
                    asio::co_spawn(io_, Return(std::move(m)), asio::detached);
            });
        done.records = SpareBuffer();
        done.recorded = {};
        done.missed.clear();
        done.spent.clear();
    }

    // Record buffers go back and forth between the threads rather than
    // being allocated afresh: a fresh buffer is fresh pages, and a page
    // fault on the runner is a late start.
    std::string SpareBuffer() {
        std::lock_guard lock(spare_mutex_);
        if (spare_buffers_.empty()) {
            std::string buffer;
            buffer.reserve(kHandOffBytes + 4096);
            return buffer;
        }
        std::string buffer = std::move(spare_buffers_.back());
        spare_buffers_.pop_back();
        return buffer;
    }

    void ReturnBuffer(std::string buffer) {
        buffer.clear();
        std::lock_guard lock(spare_mutex_);
        if (spare_buffers_.size() < 4) {
            spare_buffers_.push_back(std::move(buffer));
        }
    }

    // On the io thread: a record is done once it is in the log; only then
    // is its outcome settled in Redis.
    void Write(const std::string& records, bucket::Settlement settlement) {
        if (write_failed_) return;
        if (auto written = log_.Append(records); !written) {
            // Without the log nothing can be recorded: stop, holding the
            // messages so that a restart processes them.
            spdlog::error("{}; stopping", written.error().detail);
            write_failed_ = true;
            exit_status_ = 1;
            Stop();
            return;
        }
        unsettled_.Append(std::move(settlement));
        if (!ack_in_flight_) {
            asio::co_spawn(io_, SettleUnsettled(), asio::detached);
        }
    }

    // Gives messages back to the front of the bucket. A failure leaves
    // them held by this consumer: reconciliation returns them later.
    asio::awaitable<void> Return(std::vector<int64_t> seqs) {
        ++returns_in_flight_;
        auto released = co_await bucket_.Release(seqs);
        --returns_in_flight_;
        if (!released) {
            reconcile_ = true;
            co_return;
        }
        for (const int64_t seq : seqs) taken_.erase(seq);
    }

    // After a take failed, its reply may have been lost although Redis ran
    // it: messages held under this consumer's name that it never received.
    // They go back to the bucket rather than waiting for their lease.
    asio::awaitable<void> Reconcile() {
        auto held = co_await bucket_.Held(consumer_id_);
        if (!held) co_return;
        std::vector<int64_t> lost;
        for (const auto& stored : held.value()) {
            const auto message = bucket::ParseStored(stored);
            if (message && !taken_.contains(message->seq)) {
                lost.push_back(message->seq);
            }
        }
        if (!lost.empty()) {
            auto released = co_await bucket_.Release(lost);
            if (!released) co_return;
            spdlog::info("returned messages lost in transit count={}",
                         lost.size());
        }
        reconcile_ = false;
    }

    asio::awaitable<void> SettleUnsettled() {
        ack_in_flight_ = true;
        while (!unsettled_.Empty()) {
            bucket::Settlement batch;
            std::swap(batch, unsettled_);
            auto settled = co_await bucket_.Settle(batch);
            if (!settled) {
                // Kept, in order: outcomes must reach Redis in the order
                // of the log for recovery to hold. Retried soon, not only
                // with the next record: a lease that runs out on a
                // recorded message would have it processed again.
                batch.Append(std::move(unsettled_));
                unsettled_ = std::move(batch);
                asio::steady_timer pause(io_, milliseconds(100));
                error_code ec;
                co_await pause.async_wait(
                    asio::redirect_error(asio::use_awaitable, ec));
                if (stopping_ && !redis_->IsUp()) break;
                continue;
            }
            for (const int64_t seq : batch.acks) taken_.erase(seq);
            for (const auto& retry : batch.retries) taken_.erase(retry.seq);
            for (const auto& dead : batch.dead) taken_.erase(dead.seq);
        }
        ack_in_flight_ = false;
    }

    // After a stop: acknowledge what was written, and give the messages
    // not yet started back to the bucket.
    asio::awaitable<void> Finish() {
        asio::steady_timer timer(io_);
        // Deliveries in hand are finished (or time out) first.
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::seconds(2) +
            (delivery_ ? settings_.deliver_timeout : milliseconds(0));
        // A take still on its way brings messages that must go back too.
        while ((taker_busy_ || ack_in_flight_ || !unsettled_.Empty() ||
                returns_in_flight_ > 0 || deliveries_in_flight_ > 0 ||
                flushes_in_flight_ > 0) &&
               std::chrono::steady_clock::now() < deadline) {
            if (!ack_in_flight_ && !unsettled_.Empty()) {
                asio::co_spawn(io_, SettleUnsettled(), asio::detached);
            }
            co_await SleepOn(timer, milliseconds(5));
        }
        std::vector<int64_t> unstarted;
        for (const auto& ready : ready_) {
            if (const auto message = bucket::ParseStored(ready.stored)) {
                unstarted.push_back(message->seq);
            }
        }
        if (!unstarted.empty()) {
            auto released = co_await bucket_.Release(unstarted);
            if (!released) {
                spdlog::warn(
                    "could not return {} messages err={}; they come back "
                    "when this consumer restarts or its lease runs out",
                    unstarted.size(), released.error().detail);
            }
        }
        spdlog::info(
            "stopped returned={} unsettled={} missed_slots={} busy_slots={} "
            "clock_error_us={}",
            unstarted.size(),
            unsettled_.acks.size() + unsettled_.retries.size() +
                unsettled_.dead.size(),
            missed_.load(), busy_slots_.load(), clock_error_us_.load());
    }

    // On the io thread.
    void Stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ready_cv_.notify_all();
        taker_wake_.cancel();
        clock_wake_.cancel();
        stop_signal_.cancel();
    }

    const config::Settings& settings_;
    const std::string consumer_id_;
    const std::string queue_json_;
    const std::string base_key_ = bucket::BaseKey(settings_.queue);
    asio::io_context io_{1};
    std::shared_ptr<redis::Connection> redis_;
    bucket::Bucket bucket_;
    ProcessedLog log_;
    asio::steady_timer taker_wake_;
    asio::steady_timer clock_wake_{io_};
    asio::steady_timer stop_signal_;
    asio::signal_set signals_;
    asio::signal_set hangup_;
    std::thread runner_;
    // The runner thread's: the slot and start of the last message started.
    Micros previous_slot_{0};
    Micros previous_start_{0};
    // Set before the threads start, then only read; used on the io thread.
    std::unique_ptr<DeliveryClient> delivery_;

    std::mutex mutex_;
    std::condition_variable ready_cv_;
    std::vector<Ready> ready_;  // Guarded by mutex_
    // The Redis time of the last slot the taker added to ready_.
    std::atomic<int64_t> last_ready_slot_us_{0};
    std::mutex spare_mutex_;
    std::vector<std::string> spare_buffers_;  // Guarded by spare_mutex_
    std::atomic<bool> stopping_{false};
    std::atomic<bool> taker_poked_{false};
    std::atomic<int64_t> offset_us_{0};
    std::atomic<int64_t> missed_{0};
    std::atomic<int64_t> busy_slots_{0};
    std::atomic<int> deliveries_in_flight_{0};
    std::atomic<int> flushes_in_flight_{0};
    // The end of a pause the downstream asked for, Redis clock; slots
    // before it are not used.
    std::atomic<int64_t> pause_until_us_{0};
    // How far this consumer's clock estimate may be from other consumers'
    // while they share the bucket, else 0 (see NoteSharing).
    std::atomic<int64_t> clock_error_us_{0};

    // The io thread's.
    bucket::Settlement unsettled_;  // written, not yet settled in Redis
    std::mt19937_64 jitter_;
    // Every seq this consumer holds: taken, not yet acknowledged or
    // returned.
    std::unordered_set<int64_t> taken_;
    bool reconcile_ = false;
    int returns_in_flight_ = 0;
    bool ack_in_flight_ = false;
    bool taker_busy_ = false;
    bool write_failed_ = false;
    bool was_up_ = false;
    int exit_status_ = 0;
    Micros best_round_trip_ = Micros::max();
    Micros target_round_trip_{0};  // of the sample target_offset_ came from
    // For NoteSharing: where this consumer's last grant of slots ended.
    int64_t last_grant_anchor_us_ = 0;
    int64_t last_grant_end_ = 0;
    Micros shared_seen_at_{0};
    Micros target_offset_{0};
    Micros last_offset_update_{0};
};

}  // namespace

std::string ConsumerId(const config::Settings& settings) {
    if (settings.consumer_id) return *settings.consumer_id;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::error_code ec;
    auto path = std::filesystem::absolute(settings.log_file, ec);
    return fmt::format("{}:{}", host, ec ? settings.log_file : path.string());
}

int RunConsumer(const config::Settings& settings) {
    // Timer slack widens every sleep by 50 us by default.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    // Best effort, as for the runner (which asks for more): a taker that
    // waits for the CPU lets the runner run dry.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -5);
    Consumer consumer(settings);
    return consumer.Run();
}

}  // namespace drip::consume
