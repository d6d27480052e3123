// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// What consumers observe about the leak, gathered in memory and added to
// the bucket's histograms in Redis (see prometheus::HistogramLayout), so
// that every serve process reports the bucket's figures on /metrics:
// drip_wait_seconds and drip_leak_gap_seconds.

#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "common/prometheus.h"
#include "common/time_format.h"
#include "redis/connection.h"

namespace drip::consume {

// Observations not yet flushed. Not thread-safe; move-only, and a
// moved-from object is empty, so that handing a batch to another thread
// (`std::move(observations)`) cannot count it twice.
class LeakObservations {
  public:
    LeakObservations() = default;
    LeakObservations(LeakObservations&& other) noexcept;
    LeakObservations& operator=(LeakObservations&& other) noexcept;
    LeakObservations(const LeakObservations&) = delete;
    LeakObservations& operator=(const LeakObservations&) = delete;

    // Records one message started: `wait` from its admission to the start
    // of its processing, and `gap` since the start of the message before
    // it, when there was one. Negative times (clock steps) count as 0.
    // A few additions and two binary searches; never allocates.
    void Add(Micros wait, std::optional<Micros> gap);

    bool Empty() const { return counts_.wait_count == 0; }

    void Clear() { counts_ = {}; }

    // The script a flush runs. KEYS[1] the bucket's base key; ARGV pairs
    // of (field of "BASE:hist", increment).
    static const redis::Script& FlushScript();

    // Moves the observations into the keys and arguments of
    // FlushScript(), for `connection.Eval(FlushScript(), 1, command)`,
    // and clears them. Only fields that changed are sent.
    redis::Command TakeFlush(std::string_view base_key);

    // Per bucket of prometheus::kWaitBounds / kGapBounds; for tests.
    int64_t WaitCount(size_t bucket) const { return counts_.wait[bucket]; }
    int64_t GapCount(size_t bucket) const { return counts_.gap[bucket]; }

  private:
    struct Counts {
        std::array<int64_t, prometheus::kWaitBounds.size() + 1> wait{};
        std::array<int64_t, prometheus::kGapBounds.size() + 1> gap{};
        int64_t wait_sum_us = 0;
        int64_t gap_sum_us = 0;
        int64_t wait_count = 0;
    };

    Counts counts_;
};

// Adds `observations` to the histograms of the bucket at `base_key` in
// one script call. Best effort, like all metrics: a failure (Redis down)
// drops this batch and is not reported, since a consumer must not slow
// down or stop for its figures. Takes its arguments by value, so that it
// can be co_spawn'ed detached.
boost::asio::awaitable<void> FlushLeakObservations(
    redis::Connection& connection, std::string base_key,
    LeakObservations observations);

}  // namespace drip::consume
