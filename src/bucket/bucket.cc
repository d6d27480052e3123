// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/bucket.h"

#include <charconv>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bucket/scripts.h"
#include "common/json_writer.h"

namespace drip::bucket {
namespace {

namespace asio = boost::asio;

double ParseDouble(std::string_view text) {
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

int64_t IntegerAt(redis::ReplyView reply, size_t i) {
    return reply[i].Integer().value_or(0);
}

Error BadReply(std::string_view script, redis::ReplyView reply) {
    return MakeError(Errc::kInternal,
                     fmt::format("unexpected reply to {} script: {}", script,
                                 reply.IsError() ? reply.Text() : "shape"));
}

}  // namespace

std::string BaseKey(std::string_view queue) {
    return fmt::format("drip:{{{}}}", queue);
}

Bucket::Bucket(redis::Connection& connection, std::string queue,
               int64_t own_capacity, double own_leak_rate)
    : connection_(connection),
      queue_(std::move(queue)),
      own_capacity_(own_capacity),
      own_leak_rate_(own_leak_rate),
      base_key_(BaseKey(queue_)) {}

Bucket::~Bucket() = default;

redis::Command Bucket::Call() const {
    redis::Command call;
    call.Arg(base_key_);
    return call;
}

boost::asio::awaitable<Result<void>> Bucket::Configure(
    std::optional<int64_t> capacity, std::optional<double> leak_rate) {
    redis::Command command("HSET");
    command.Arg(base_key_);
    if (capacity) command.Arg("capacity").Arg(*capacity);
    if (leak_rate) command.Arg("leak_rate").Arg(fmt::format("{}", *leak_rate));
    if (command.ArgCount() == 2) co_return outcome_v2::success();
    auto reply = co_await connection_.Execute(command);
    if (!reply) co_return reply.error();
    if (reply.value().View().IsError()) {
        co_return BadReply("configure", reply.value().View());
    }
    co_return outcome_v2::success();
}

// One request waiting for the next admit script call.
struct Bucket::AdmitTicket {
    virtual ~AdmitTicket() = default;
    virtual void Complete(Result<AdmitResult> result) = 0;

    // What the admit script reads of this request: its header (the
    // idempotency key and first id when there is a key, then the message
    // count) and its messages as (priority, payload) pairs.
    redis::Command header;
    redis::Command messages;
    int64_t count = 0;
    int64_t id = 0;
    bool keyed = false;

    size_t Bytes() const { return header.Bytes() + messages.Bytes(); }
};

namespace {

// Most requests one script call carries; bounds the time Redis spends in
// one script, during which it serves nobody else.
constexpr size_t kMaxAdmitsPerCall = 256;
// And most bytes, unless one request alone is larger: a call is built as
// one buffer, so under a load of large messages the calls, not the
// messages, would set serve's memory (a few MiB a call at 64 KiB a
// message). Large messages gain nothing from sharing a call anyway: their
// cost in Redis is per byte.
constexpr size_t kMaxAdmitBytesPerCall = size_t{256} * 1024;

template <typename Handler>
struct AdmitTicketWith : Bucket::AdmitTicket {
    explicit AdmitTicketWith(Handler h) : handler(std::move(h)) {}

    void Complete(Result<AdmitResult> result) override {
        auto executor = asio::get_associated_executor(handler);
        asio::post(executor,
                   [h = std::move(handler), r = std::move(result)]() mutable {
                       h(std::move(r));
                   });
    }

    Handler handler;
};

}  // namespace

boost::asio::awaitable<Result<AdmitResult>> Bucket::Admit(
    const std::vector<Message>& messages, std::string_view idempotency_key) {
    return asio::async_initiate<decltype(asio::use_awaitable),
                                void(Result<AdmitResult>)>(
        [this, &messages, idempotency_key](auto handler) {
            auto ticket = std::make_unique<AdmitTicketWith<decltype(handler)>>(
                std::move(handler));
            ticket->count = static_cast<int64_t>(messages.size());
            ticket->id = messages.empty() ? 0 : messages[0].id;
            // The key and the id only matter to the script when there is
            // a key to record; nearly every request has none, and each
            // argument costs the script a Lua string.
            if (!idempotency_key.empty()) {
                ticket->keyed = true;
                ticket->header.Arg("K").Arg(idempotency_key).Arg(ticket->id);
            }
            ticket->header.Arg(ticket->count);
            // The payload is built on the calling thread, into a buffer of
            // that thread's: Admit may be called from any worker.
            thread_local std::string payload;
            for (const auto& message : messages) {
                payload.clear();
                AppendPayload(payload, message);
                // Most requests carry one message: one allocation for it.
                if (messages.size() == 1) {
                    ticket->messages.Reserve(payload.size() + 32);
                }
                ticket->messages.Arg(message.job_priority).Arg(payload);
            }
            bool start_flush = false;
            {
                const std::lock_guard lock(admit_mutex_);
                admits_waiting_.push_back(std::move(ticket));
                start_flush = !admit_in_flight_;
                admit_in_flight_ = true;
            }
            if (start_flush) {
                asio::co_spawn(connection_.Executor(), FlushAdmits(),
                               asio::detached);
            }
        },
        asio::use_awaitable);
}

namespace {

// The admit script's flat reply (see AdmitScript) as one result per
// ticket, or nullopt when its shape does not match the batch.
std::optional<std::vector<AdmitResult>> ParseAdmitReply(
    redis::ReplyView view,
    const std::vector<std::unique_ptr<Bucket::AdmitTicket>>& batch,
    double own_leak_rate) {
    if (view.Size() < 3) return std::nullopt;
    double leak_rate = ParseDouble(view[0].Text());
    if (leak_rate <= 0) leak_rate = own_leak_rate;
    const int64_t capacity = IntegerAt(view, 1);
    std::vector<AdmitResult> results(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
        results[i].capacity = capacity;
        results[i].leak_rate = leak_rate;
        results[i].count = batch[i]->count;
        results[i].id = batch[i]->id;
    }
    if (IntegerAt(view, 2) == 0) {
        // Everything was queued, in order, from where the bucket stood.
        if (view.Size() != 5) return std::nullopt;
        int64_t depth = IntegerAt(view, 3);
        int64_t seq = IntegerAt(view, 4);
        for (auto& result : results) {
            result.first_seq = seq + 1;
            seq += result.count;
            depth += result.count;
            result.depth = depth;
        }
        return results;
    }
    size_t at = 3;
    for (size_t i = 0; i < batch.size(); ++i) {
        if (at + 3 > view.Size()) return std::nullopt;
        AdmitResult& result = results[i];
        const int64_t kind = IntegerAt(view, at);
        result.depth = IntegerAt(view, at + 1);
        result.first_seq = IntegerAt(view, at + 2);
        at += 3;
        if (kind == 0) result.admission = Admission::kBucketFull;
        if (kind == 2) {
            if (at + 2 > view.Size()) return std::nullopt;
            result.admission = Admission::kDuplicate;
            result.count = IntegerAt(view, at);
            result.id = IntegerAt(view, at + 1);
            at += 2;
        }
    }
    if (at != view.Size()) return std::nullopt;
    return results;
}

}  // namespace

boost::asio::awaitable<void> Bucket::FlushAdmits() {
    for (;;) {
        std::vector<std::unique_ptr<AdmitTicket>> batch;
        size_t bytes = 0;
        {
            const std::lock_guard lock(admit_mutex_);
            if (admits_waiting_.empty()) {
                admit_in_flight_ = false;
                co_return;
            }
            while (!admits_waiting_.empty() &&
                   batch.size() < kMaxAdmitsPerCall) {
                const size_t next = admits_waiting_.front()->Bytes();
                if (!batch.empty() && bytes + next > kMaxAdmitBytesPerCall) {
                    break;
                }
                bytes += next;
                batch.push_back(std::move(admits_waiting_.front()));
                admits_waiting_.pop_front();
            }
        }
        int64_t messages = 0;
        int64_t keyed = 0;
        for (const auto& ticket : batch) {
            messages += ticket->count;
            keyed += ticket->keyed ? 1 : 0;
        }
        redis::Command call = Call();
        call.Reserve(bytes + 64);
        call.Arg(own_capacity_)
            .Arg(static_cast<int64_t>(batch.size()))
            .Arg(messages)
            .Arg(keyed);
        for (const auto& ticket : batch) call.Append(ticket->header);
        for (const auto& ticket : batch) call.Append(ticket->messages);

        auto reply = co_await connection_.Eval(AdmitScript(), 1, call);
        if (!reply) {
            for (auto& ticket : batch) ticket->Complete(reply.error());
            continue;
        }
        const auto view = reply.value().View();
        auto results = ParseAdmitReply(view, batch, own_leak_rate_);
        for (size_t i = 0; i < batch.size(); ++i) {
            if (results) {
                batch[i]->Complete((*results)[i]);
            } else {
                batch[i]->Complete(BadReply("admit", view));
            }
        }
    }
}

boost::asio::awaitable<Result<BucketStats>> Bucket::Stats() {
    const redis::Command call = Call();
    auto reply = co_await connection_.Eval(StatsScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    if (view.Size() < 8) co_return BadReply("stats", view);
    BucketStats stats;
    stats.capacity = view[0].Integer().value_or(own_capacity_);
    stats.leak_rate = ParseDouble(view[1].Text());
    if (stats.leak_rate <= 0) stats.leak_rate = own_leak_rate_;
    stats.depth = IntegerAt(view, 2);
    stats.in_flight = IntegerAt(view, 3);
    stats.accepted = IntegerAt(view, 4);
    stats.rejected = IntegerAt(view, 5);
    stats.processed = IntegerAt(view, 6);
    stats.dead = IntegerAt(view, 7);
    co_return stats;
}

boost::asio::awaitable<Result<Lease>> Bucket::Take(
    std::string_view consumer, int64_t max_messages, Micros lookahead,
    std::chrono::milliseconds lease) {
    redis::Command call = Call();
    call.Arg(consumer)
        .Arg(max_messages)
        .Arg(lookahead.count())
        .Arg(lease.count())
        .Arg(fmt::format("{}", own_leak_rate_));
    auto reply = co_await connection_.Eval(TakeScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    if (view.Size() < 2) co_return BadReply("take", view);

    Lease result;
    result.redis_now = Micros(IntegerAt(view, 1));
    const int64_t kind = IntegerAt(view, 0);
    if (kind == 0 || kind == 3) {
        result.wait_until = Micros(IntegerAt(view, 2));
        result.paused = kind == 3;
    } else if (kind == 2) {
        if (view.Size() < 6) co_return BadReply("take", view);
        result.slots.anchor_us = IntegerAt(view, 2);
        result.slots.first_slot = IntegerAt(view, 3);
        result.slots.interval_us = ParseDouble(view[4].Text());
        result.messages.reserve(view.Size() - 5);
        for (size_t i = 5; i < view.Size(); ++i) {
            result.messages.emplace_back(view[i].Text());
        }
    }
    co_return result;
}

void Settlement::Append(Settlement&& more) {
    acks.insert(acks.end(), more.acks.begin(), more.acks.end());
    retries.insert(retries.end(), more.retries.begin(), more.retries.end());
    for (auto& entry : more.dead) dead.push_back(std::move(entry));
}

boost::asio::awaitable<Result<void>> Bucket::Settle(
    const Settlement& settlement) {
    redis::Command call = Call();
    call.Arg(static_cast<int64_t>(settlement.acks.size()));
    for (const int64_t seq : settlement.acks) call.Arg(seq);
    call.Arg(static_cast<int64_t>(settlement.retries.size()));
    for (const auto& retry : settlement.retries) {
        call.Arg(retry.seq).Arg(retry.due.count() / 1000);
    }
    call.Arg(static_cast<int64_t>(settlement.dead.size()));
    for (const auto& dead : settlement.dead) {
        call.Arg(dead.seq).Arg(JsonString(dead.last_error));
    }
    auto reply = co_await connection_.Eval(SettleScript(), 1, call);
    if (!reply) co_return reply.error();
    if (reply.value().View().Size() != 3) {
        co_return BadReply("settle", reply.value().View());
    }
    co_return outcome_v2::success();
}

boost::asio::awaitable<Result<Micros>> Bucket::Pause(Micros pause) {
    redis::Command call = Call();
    call.Arg(pause.count());
    auto reply = co_await connection_.Eval(PauseScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto until = reply.value().View().Integer();
    if (!until) co_return BadReply("pause", reply.value().View());
    co_return Micros(*until);
}

boost::asio::awaitable<Result<std::vector<DeadLetter>>> Bucket::DeadLetters(
    std::optional<int64_t> cursor, int64_t limit) {
    redis::Command call = Call();
    if (cursor) {
        call.Arg(*cursor);
    } else {
        call.Arg("");
    }
    call.Arg(limit);
    auto reply = co_await connection_.Eval(DeadPageScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    if (view.IsError() || view.Size() % 2 != 0) {
        co_return BadReply("dead", view);
    }
    std::vector<DeadLetter> letters;
    for (size_t i = 0; i + 1 < view.Size(); i += 2) {
        DeadLetter letter;
        letter.order = view[i].Integer().value_or(0);
        // DEAD_AT_US \t LAST_ERROR_JSON \t STORED
        const std::string_view entry = view[i + 1].Text();
        const auto first = entry.find('\t');
        const auto second = entry.find('\t', first + 1);
        if (first == std::string_view::npos ||
            second == std::string_view::npos) {
            continue;
        }
        int64_t dead_at = 0;
        std::from_chars(entry.data(), entry.data() + first, dead_at);
        letter.dead_at = Micros(dead_at);
        letter.last_error =
            std::string(entry.substr(first + 1, second - first - 1));
        letter.stored = std::string(entry.substr(second + 1));
        letters.push_back(std::move(letter));
    }
    co_return letters;
}

boost::asio::awaitable<Result<RequeueResult>> Bucket::Requeue(
    const std::optional<std::vector<int64_t>>& seqs) {
    redis::Command call = Call();
    call.Arg(own_capacity_);
    if (seqs) {
        call.Arg("some");
        for (const int64_t seq : *seqs) call.Arg(seq);
    } else {
        call.Arg("all");
    }
    auto reply = co_await connection_.Eval(RequeueScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    if (view.Size() != 2) co_return BadReply("requeue", view);
    co_return RequeueResult{IntegerAt(view, 0), IntegerAt(view, 1)};
}

boost::asio::awaitable<Result<int64_t>> Bucket::Release(
    const std::vector<int64_t>& seqs) {
    redis::Command call = Call();
    for (const int64_t seq : seqs) call.Arg(seq);
    auto reply = co_await connection_.Eval(ReleaseScript(), 1, call);
    if (!reply) co_return reply.error();
    if (!reply.value().View().IsInteger()) {
        co_return BadReply("release", reply.value().View());
    }
    co_return *reply.value().View().Integer();
}

boost::asio::awaitable<Result<Micros>> Bucket::RedisTime() {
    auto reply = co_await connection_.Execute(redis::Command("TIME"));
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    const auto seconds = view[0].Integer();
    const auto micros = view[1].Integer();
    if (!seconds || !micros) co_return BadReply("time", view);
    co_return Micros(*seconds * 1'000'000 + *micros);
}

boost::asio::awaitable<Result<std::vector<std::string>>> Bucket::Held(
    std::string_view consumer) {
    redis::Command call = Call();
    call.Arg(consumer);
    auto reply = co_await connection_.Eval(HeldScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    if (view.IsError()) co_return BadReply("held", view);
    std::vector<std::string> messages;
    for (size_t i = 0; i < view.Size(); ++i) {
        messages.emplace_back(view[i].Text());
    }
    co_return messages;
}

}  // namespace drip::bucket
