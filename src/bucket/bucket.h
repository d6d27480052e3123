// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// A bucket as its processes see it: admit messages (serve, enqueue), take
// them at their slots and acknowledge them (consume), and read its state.
// Each operation is one script, one round trip, atomic inside Redis.

#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bucket/leak_schedule.h"
#include "bucket/message.h"
#include "redis/connection.h"

namespace drip::bucket {

// The base key of a bucket: "drip:{QUEUE}". The braces are a Redis Cluster
// hash tag, so that every key of the bucket lands in one slot.
std::string BaseKey(std::string_view queue);

enum class Admission {
    kQueued,
    kBucketFull,
    // The Idempotency-Key was seen before; nothing was queued and the
    // fields describe the first answer.
    kDuplicate,
};

struct AdmitResult {
    Admission admission = Admission::kQueued;
    int64_t first_seq = 0;  // seqs are first_seq .. first_seq + count - 1
    int64_t count = 0;
    int64_t depth = 0;  // waiting messages after this step
    int64_t capacity = 0;
    int64_t id = 0;        // for kDuplicate: the id the first request carried
    double leak_rate = 0;  // as stored with the bucket; 0 when unset
};

struct BucketStats {
    int64_t capacity = 0;
    double leak_rate = 0;
    int64_t depth = 0;
    int64_t in_flight = 0;
    int64_t accepted = 0;
    int64_t rejected = 0;
    int64_t processed = 0;
    int64_t dead = 0;
};

// A batch handed to one consumer. Either `wait_until` is set (the next slot
// is further off than the lookahead asked for, or the bucket is paused
// until then: `paused`), or `messages` holds what was taken with `slots`
// giving each its start (empty: the bucket is empty).
struct Lease {
    Micros redis_now{0};
    std::optional<Micros> wait_until;
    bool paused = false;
    SlotGrant slots;
    std::vector<std::string> messages;  // the stored form, see ParseStored
};

// What became of messages a consumer held, settled in one step.
struct Settlement {
    std::vector<int64_t> acks;  // recorded as processed or delivered
    struct Retry {
        int64_t seq;
        Micros due;  // Redis clock
    };
    std::vector<Retry> retries;
    struct Dead {
        int64_t seq;
        std::string last_error;
    };
    std::vector<Dead> dead;

    bool Empty() const {
        return acks.empty() && retries.empty() && dead.empty();
    }
    void Append(Settlement&& more);
};

// One entry of the dead-letter list.
struct DeadLetter {
    int64_t order = 0;  // the paging cursor: higher is newer
    Micros dead_at{0};
    std::string last_error;
    std::string stored;  // the message's stored form, attempt = attempts
};

struct RequeueResult {
    int64_t requeued = 0;
    int64_t still_dead = 0;
};

class Bucket {
  public:
    // `connection` must outlive the bucket and be used on its own thread
    // (Admit excepted, see there).
    // The capacity and leak rate stored with the bucket win; this process's
    // own settings are used only while none are stored.
    Bucket(redis::Connection& connection, std::string queue,
           int64_t own_capacity, double own_leak_rate);
    ~Bucket();

    const std::string& Queue() const { return queue_; }

    // Writes the settings this process is the authority for into the
    // bucket: serve sets the capacity, consume the leak rate. Omitted
    // values are left alone.
    boost::asio::awaitable<Result<void>> Configure(
        std::optional<int64_t> capacity, std::optional<double> leak_rate);

    // Admits `messages` as a whole or not at all. `idempotency_key` empty
    // means none. Requests made while another is on its way to Redis wait
    // and go together in the next script call: each is still admitted or
    // refused as a whole, in order, but a busy worker pays Redis's
    // per-script cost once per batch of requests instead of per request.
    // Unlike the other operations, Admit may be called from any thread:
    // the script calls run on the connection's, and each request resumes
    // on its caller's executor.
    boost::asio::awaitable<Result<AdmitResult>> Admit(
        const std::vector<Message>& messages, std::string_view idempotency_key);

    boost::asio::awaitable<Result<BucketStats>> Stats();

    // Takes up to `max_messages` whose slots fall within `lookahead` of
    // Redis's clock, holding them for `consumer` for `lease`.
    boost::asio::awaitable<Result<Lease>> Take(std::string_view consumer,
                                               int64_t max_messages,
                                               Micros lookahead,
                                               std::chrono::milliseconds lease);

    // Acknowledges, retries and dead-letters held messages in one step.
    boost::asio::awaitable<Result<void>> Settle(const Settlement& settlement);

    // Pauses the leak of the whole bucket for `pause` from Redis's now
    // (unless a longer pause is on); returns the pause's end, Redis clock.
    boost::asio::awaitable<Result<Micros>> Pause(Micros pause);

    // Up to `limit` dead letters, newest first, older than `cursor`.
    boost::asio::awaitable<Result<std::vector<DeadLetter>>> DeadLetters(
        std::optional<int64_t> cursor, int64_t limit);

    // Puts dead letters back into the bucket as attempt 1: all of them
    // (nullopt), or those of `seqs`; only as many as the capacity allows.
    boost::asio::awaitable<Result<RequeueResult>> Requeue(
        const std::optional<std::vector<int64_t>>& seqs);

    // Puts held messages back at the front of the bucket, in order.
    boost::asio::awaitable<Result<int64_t>> Release(
        const std::vector<int64_t>& seqs);

    // The messages `consumer` holds, oldest first: what it had in hand when
    // it last stopped.
    boost::asio::awaitable<Result<std::vector<std::string>>> Held(
        std::string_view consumer);

    // A request waiting for the next admit script; defined in bucket.cc.
    struct AdmitTicket;

    // Redis's clock, the one the leak schedule runs on.
    boost::asio::awaitable<Result<Micros>> RedisTime();

  private:
    redis::Connection& connection_;
    std::string queue_;
    int64_t own_capacity_;
    double own_leak_rate_;
    // The script call's first argument: the base key, the only key
    // declared (every other key of the bucket shares its hash tag).
    redis::Command Call() const;

    boost::asio::awaitable<void> FlushAdmits();

    std::string base_key_;
    // Guards the two below, which every thread that admits touches.
    std::mutex admit_mutex_;
    std::deque<std::unique_ptr<AdmitTicket>> admits_waiting_;
    bool admit_in_flight_ = false;
};

}  // namespace drip::bucket
