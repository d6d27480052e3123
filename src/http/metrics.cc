// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "http/metrics.h"

#include <charconv>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "bucket/bucket.h"

namespace drip::http {
namespace {

namespace asio = boost::asio;
using prometheus::AppendHeader;
using prometheus::AppendSample;
using prometheus::MetricType;

// KEYS[1] base. Returns {{capacity, leak_rate, depth, seq, rejected,
// rejected_invalid, rejected_too_large, deduplicated, processed, failed,
// dead_total}, in_flight, dead_letters, {field, value, ...} of BASE:hist}.
// The base hash's fields are in src/bucket/scripts.h; a missing one comes
// back nil.
constexpr std::string_view kScrape = R"lua(
local base = KEYS[1]
local h = redis.call('HMGET', base, 'capacity', 'leak_rate', 'depth', 'seq',
                     'rejected', 'rejected_invalid', 'rejected_too_large',
                     'deduplicated', 'processed', 'failed', 'dead_total')
-- Older data may keep the dead letters as a list; that reads 0.
local dead = redis.pcall('ZCARD', base .. ':dead')
if type(dead) ~= 'number' then dead = 0 end
return {h, redis.call('ZCARD', base .. ':lease'), dead,
        redis.call('HGETALL', base .. ':hist')}
)lua";

const redis::Script& ScrapeScript() {
    static const redis::Script script(kScrape);
    return script;
}

double ParseDouble(std::string_view text) {
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

std::string_view FieldOf(Refusal refusal) {
    switch (refusal) {
        case Refusal::kInvalid:
            return "rejected_invalid";
        case Refusal::kTooLarge:
            return "rejected_too_large";
    }
    return "rejected_other";
}

asio::awaitable<void> Increment(redis::Connection& connection,
                                std::string base_key, std::string_view field) {
    redis::Command command("HINCRBY");
    command.Arg(base_key).Arg(field).Arg(int64_t{1});
    // Best effort: see CountRefusal.
    (void)co_await connection.Execute(command);
}

void AppendCounter(std::string& out, std::string_view name,
                   std::string_view help, int64_t value) {
    AppendHeader(out, name, MetricType::kCounter, help);
    AppendSample(out, name, "", value);
}

void AppendGauge(std::string& out, std::string_view name, std::string_view help,
                 int64_t value) {
    AppendHeader(out, name, MetricType::kGauge, help);
    AppendSample(out, name, "", value);
}

void AppendCounters(std::string& out, const BucketFigures& b) {
    AppendCounter(out, "drip_accepted_total",
                  "Messages admitted into the bucket.", b.accepted);
    constexpr std::string_view kRejected = "drip_rejected_total";
    AppendHeader(out, kRejected, MetricType::kCounter,
                 "Enqueue refusals. reason=\"full\" counts messages (a "
                 "refused batch of N adds N); \"invalid\" (422) and "
                 "\"too_large\" (413) count requests.");
    AppendSample(out, kRejected, R"(reason="full")", b.rejected_full);
    AppendSample(out, kRejected, R"(reason="invalid")", b.rejected_invalid);
    AppendSample(out, kRejected, R"(reason="too_large")", b.rejected_too_large);
    AppendCounter(out, "drip_deduplicated_total",
                  "Enqueue requests answered from an earlier request with "
                  "the same Idempotency-Key, queueing nothing.",
                  b.deduplicated);
    AppendCounter(out, "drip_processed_total",
                  "Messages processed and recorded in the log.", b.processed);
    AppendCounter(out, "drip_failed_total", "Delivery attempts that failed.",
                  b.failed);
    AppendCounter(out, "drip_dead_total", "Messages moved to the dead letters.",
                  b.dead_total);
}

void AppendGauges(std::string& out, const BucketFigures& b) {
    AppendGauge(out, "drip_depth", "Messages waiting in the bucket.", b.depth);
    AppendGauge(out, "drip_in_flight",
                "Messages taken by a consumer and not yet recorded.",
                b.in_flight);
    AppendGauge(out, "drip_capacity", "Messages the bucket holds at most.",
                b.capacity);
    AppendHeader(out, "drip_leak_rate", MetricType::kGauge,
                 "Messages leaked per second.");
    AppendSample(out, "drip_leak_rate", "", b.leak_rate);
    AppendGauge(out, "drip_dead_letters", "Messages in the dead letters now.",
                b.dead_letters);
}

// This thread's shard of every LatencyHistogram: threads take the shards
// in turn as they first record.
size_t ThisThreadsShard(size_t shards) {
    static std::atomic<size_t> next{0};
    thread_local const size_t shard = next.fetch_add(1);
    return shard % shards;
}

}  // namespace

// Each shard holds bounds.size() + 1 bucket counts and the sum.
LatencyHistogram::LatencyHistogram(prometheus::Bounds bounds)
    : bounds_(bounds),
      lines_per_shard_((bounds.size() + 2 + kSlotsPerLine - 1) / kSlotsPerLine),
      lines_(std::make_unique<CacheLine[]>(kShards * lines_per_shard_)) {}

std::atomic<int64_t>& LatencyHistogram::Slot(size_t shard, size_t i) const {
    return lines_[shard * lines_per_shard_ + i / kSlotsPerLine]
        .slots[i % kSlotsPerLine];
}

void LatencyHistogram::Observe(Micros elapsed) {
    elapsed = std::max(elapsed, Micros(0));
    const size_t shard = ThisThreadsShard(kShards);
    Slot(shard, prometheus::BucketIndex(bounds_, elapsed))
        .fetch_add(1, std::memory_order_relaxed);
    Slot(shard, bounds_.size() + 1)
        .fetch_add(elapsed.count(), std::memory_order_relaxed);
}

prometheus::HistogramCounts LatencyHistogram::Snapshot() const {
    prometheus::HistogramCounts snapshot(bounds_);
    for (size_t shard = 0; shard < kShards; ++shard) {
        for (size_t i = 0; i < snapshot.counts.size(); ++i) {
            snapshot.counts[i] +=
                Slot(shard, i).load(std::memory_order_relaxed);
        }
        snapshot.sum_us +=
            Slot(shard, bounds_.size() + 1).load(std::memory_order_relaxed);
    }
    return snapshot;
}

LatencyHistogram& EnqueueLatency() {
    static LatencyHistogram histogram(prometheus::kEnqueueBounds);
    return histogram;
}

asio::awaitable<Result<BucketFigures>> ReadBucketFigures(
    redis::Connection& connection, std::string_view base_key,
    int64_t own_capacity, double own_leak_rate) {
    redis::Command call;
    call.Arg(base_key);
    auto reply = co_await connection.Eval(ScrapeScript(), 1, call);
    if (!reply) co_return reply.error();
    const auto view = reply.value().View();
    if (view.Size() != 4 || view[0].Size() != 11) {
        co_return MakeError(
            Errc::kInternal,
            fmt::format("unexpected reply to metrics script: {}",
                        view.IsError() ? view.Text() : "shape"));
    }

    const auto h = view[0];
    const auto at = [&h](size_t i) { return h[i].Integer().value_or(0); };
    BucketFigures figures;
    figures.capacity = h[0].Integer().value_or(own_capacity);
    figures.leak_rate = ParseDouble(h[1].Text());
    if (figures.leak_rate <= 0) figures.leak_rate = own_leak_rate;
    figures.depth = at(2);
    figures.accepted = at(3);
    figures.rejected_full = at(4);
    figures.rejected_invalid = at(5);
    figures.rejected_too_large = at(6);
    figures.deduplicated = at(7);
    figures.processed = at(8);
    figures.failed = at(9);
    figures.dead_total = at(10);
    figures.in_flight = view[1].Integer().value_or(0);
    figures.dead_letters = view[2].Integer().value_or(0);

    const auto hist = view[3];
    for (size_t i = 0; i + 1 < hist.Size(); i += 2) {
        const auto field = hist[i].Text();
        const int64_t value = hist[i + 1].Integer().value_or(0);
        if (!prometheus::AddHashField(prometheus::kWaitLayout, field, value,
                                      figures.wait)) {
            prometheus::AddHashField(prometheus::kGapLayout, field, value,
                                     figures.gap);
        }
    }
    co_return figures;
}

std::string RenderMetrics(const BucketFigures& bucket,
                          const prometheus::HistogramCounts& enqueue) {
    std::string out;
    out.reserve(size_t{16} * 1024);
    AppendCounters(out, bucket);
    AppendGauges(out, bucket);
    prometheus::AppendHistogram(
        out, "drip_enqueue_duration_seconds",
        "Time this serve process took to answer POST /enqueue and "
        "/enqueue/batch.",
        prometheus::kEnqueueBounds, enqueue);
    prometheus::AppendHistogram(
        out, "drip_wait_seconds",
        "Time messages waited in the bucket, from admission to the start "
        "of processing.",
        prometheus::kWaitBounds, bucket.wait);
    prometheus::AppendHistogram(
        out, "drip_leak_gap_seconds",
        "Time between the starts of consecutive leaked messages; its "
        "spread around 1/leak_rate is the leak's jitter.",
        prometheus::kGapBounds, bucket.gap);
    return out;
}

void CountRefusal(redis::Connection& connection, std::string_view queue,
                  Refusal refusal) {
    asio::co_spawn(
        connection.Executor(),
        Increment(connection, bucket::BaseKey(queue), FieldOf(refusal)),
        asio::detached);
}

void RecordEnqueue(redis::Connection& connection, std::string_view queue,
                   unsigned status, std::chrono::steady_clock::duration took) {
    EnqueueLatency().Observe(std::chrono::duration_cast<Micros>(took));
    if (status == 422) CountRefusal(connection, queue, Refusal::kInvalid);
}

bool IsEnqueueTarget(std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    return path == "/enqueue" || path == "/enqueue/batch";
}

}  // namespace drip::http
