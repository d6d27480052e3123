// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// GET /metrics: the bucket's counters, gauges and leak histograms, read
// from Redis in one script call so that every serve process reports the
// same figures, and this process's enqueue latency histogram, rendered in
// Prometheus's text format. Also the counters serve adds for requests it
// refuses before they reach the bucket.

#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "common/errc.h"
#include "common/prometheus.h"
#include "redis/connection.h"

namespace drip::http {

// The Content-Type of a /metrics answer.
inline constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

// A histogram that many threads record into with relaxed atomics; a
// snapshot taken meanwhile may miss the latest observations, but its
// buckets always add up to its count.
//
// Every request on every worker records into it, so the counters are kept
// in shards, one per thread (up to kShards threads, then shared), each on
// cache lines of its own: with one set of counters, the lines holding them
// moved between the cores at every request. A snapshot adds the shards up.
class LatencyHistogram {
  public:
    explicit LatencyHistogram(prometheus::Bounds bounds);

    void Observe(Micros elapsed);

    prometheus::HistogramCounts Snapshot() const;

    prometheus::Bounds Bounds() const { return bounds_; }

  private:
    static constexpr size_t kShards = 16;
    static constexpr size_t kSlotsPerLine = 8;
    struct alignas(64) CacheLine {
        std::array<std::atomic<int64_t>, kSlotsPerLine> slots{};
    };

    // Slot `i` of `shard`: the bucket counts, then the sum in microseconds.
    std::atomic<int64_t>& Slot(size_t shard, size_t i) const;

    prometheus::Bounds bounds_;
    size_t lines_per_shard_;
    std::unique_ptr<CacheLine[]> lines_;
};

// This process's drip_enqueue_duration_seconds, which every worker
// thread records into.
LatencyHistogram& EnqueueLatency();

// The figures one scrape reads from the bucket. Counters missing from
// Redis (an older bucket, nothing counted yet) read 0.
struct BucketFigures {
    int64_t capacity = 0;
    double leak_rate = 0;  // messages per second
    int64_t depth = 0;
    int64_t in_flight = 0;
    int64_t accepted = 0;
    int64_t rejected_full = 0;       // messages
    int64_t rejected_invalid = 0;    // requests
    int64_t rejected_too_large = 0;  // requests
    int64_t deduplicated = 0;        // requests
    int64_t processed = 0;
    int64_t failed = 0;      // delivery attempts
    int64_t dead_total = 0;  // messages ever dead-lettered
    int64_t dead_letters = 0;
    prometheus::HistogramCounts wait{prometheus::kWaitBounds};
    prometheus::HistogramCounts gap{prometheus::kGapBounds};
};

// Reads the figures of the bucket at `base_key` in one script call. The
// bucket's stored capacity and leak rate win; `own_capacity` and
// `own_leak_rate` stand in while none are stored. Fails as
// Connection::Eval does.
boost::asio::awaitable<Result<BucketFigures>> ReadBucketFigures(
    redis::Connection& connection, std::string_view base_key,
    int64_t own_capacity, double own_leak_rate);

// The whole /metrics page: the bucket's figures and `enqueue`, this
// process's drip_enqueue_duration_seconds (bounds kEnqueueBounds).
std::string RenderMetrics(const BucketFigures& bucket,
                          const prometheus::HistogramCounts& enqueue);

// Why serve refused an enqueue request before it reached the bucket.
enum class Refusal {
    kInvalid,   // 422
    kTooLarge,  // 413
};

// Adds one to the bucket's count of `refusal`, without waiting: the
// command goes out on `connection`'s pipeline and its reply, or failure,
// is ignored (metrics are best effort). `connection` must outlive its
// executor's run, as the worker's does.
void CountRefusal(redis::Connection& connection, std::string_view queue,
                  Refusal refusal);

// Records one answered POST /enqueue or /enqueue/batch: its time in
// EnqueueLatency(), and a 422 with CountRefusal.
void RecordEnqueue(redis::Connection& connection, std::string_view queue,
                   unsigned status, std::chrono::steady_clock::duration took);

// Whether `target` (path and query) is POST /enqueue's or the batch's:
// a 413 of another route refuses no message.
bool IsEnqueueTarget(std::string_view target);

}  // namespace drip::http
