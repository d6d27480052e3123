// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Writing Prometheus's text exposition format (version 0.0.4), and the
// fixed bucket bounds of drip's histograms. The bounds live here, below
// both the consumer that records observations and the HTTP layer that
// renders them, so that the two cannot disagree.

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/time_format.h"

namespace drip::prometheus {

// A histogram's upper bounds in microseconds, ascending. An observation v
// counts in the first bucket whose bound is >= v (Prometheus's "le"), or,
// past the last bound, in the +Inf bucket at index bounds.size().
using Bounds = std::span<const int64_t>;

// The bucket `value` counts in: 0 .. bounds.size(). O(log n), no
// allocation.
size_t BucketIndex(Bounds bounds, Micros value);

// Observations per bucket, not cumulative: bounds.size() + 1 entries, the
// last for +Inf. Their total is the histogram's count.
struct HistogramCounts {
    HistogramCounts() = default;
    explicit HistogramCounts(Bounds bounds) : counts(bounds.size() + 1) {}

    int64_t Count() const;

    std::vector<int64_t> counts;
    int64_t sum_us = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// Appends the "# HELP" and "# TYPE" lines of a metric family. `help` is
// written as it is: it must hold no backslash and no line break.
void AppendHeader(std::string& out, std::string_view name, MetricType type,
                  std::string_view help);

// Appends one sample line. `labels` is written between braces as it is,
// such as `reason="full"`; empty means no braces.
void AppendSample(std::string& out, std::string_view name,
                  std::string_view labels, int64_t value);
void AppendSample(std::string& out, std::string_view name,
                  std::string_view labels, double value);

// Appends a whole histogram family with base unit seconds: the header,
// one cumulative `NAME_bucket{le="..."}` line per bound and one for
// "+Inf", then NAME_sum and NAME_count. Requires
// counts.counts.size() == bounds.size() + 1.
void AppendHistogram(std::string& out, std::string_view name,
                     std::string_view help, Bounds bounds,
                     const HistogramCounts& counts);

// Appends `micros` as decimal seconds, exactly and without an exponent:
// 1500 -> "0.0015", 3'600'000'000 -> "3600", -5 -> "-0.000005".
void AppendSeconds(std::string& out, int64_t micros);

// ---------------------------------------------------------------------
// drip's histograms

namespace detail {

// Ten steps a decade (ISO 3's R10 preferred numbers to two digits), at
// most 1.3 apart, with 1, 2 and 5 among them so that the gap of a round
// rate (10/s: 100 ms) sits on a bound.
inline constexpr std::array<int64_t, 10> kDecadeSteps = {10, 13, 16, 20, 25,
                                                         32, 40, 50, 63, 80};

constexpr std::array<int64_t, 69> GapBounds() {
    std::array<int64_t, 69> bounds{};
    int64_t unit = 1;
    for (size_t i = 0; i < bounds.size(); ++i) {
        if (i > 0 && i % kDecadeSteps.size() == 0) unit *= 10;
        bounds[i] = kDecadeSteps[i % kDecadeSteps.size()] * unit;
    }
    return bounds;
}

}  // namespace detail

// drip_wait_seconds: the time a message waited in the bucket, from its
// admission to the start of its processing. 1 ms to 1 h, 1-2-5 a decade.
inline constexpr std::array<int64_t, 21> kWaitBounds = {
    1'000,        2'000,       5'000,       10'000,        20'000,
    50'000,       100'000,     200'000,     500'000,       1'000'000,
    2'000'000,    5'000'000,   10'000'000,  20'000'000,    50'000'000,
    100'000'000,  200'000'000, 500'000'000, 1'000'000'000, 2'000'000'000,
    3'600'000'000};

// drip_leak_gap_seconds: the time between the starts of consecutive
// leaks, which is 1/leak_rate plus the jitter. 10 us to 63 s with ten
// bounds a decade (within 15% either side), so that 1/R stays resolvable
// for every rate from 1/60 to 50,000 per second.
inline constexpr std::array<int64_t, 69> kGapBounds = detail::GapBounds();

// drip_enqueue_duration_seconds: the time serve took to answer one
// POST /enqueue or /enqueue/batch. 50 us to 2.5 s, 1-2.5-5 a decade.
inline constexpr std::array<int64_t, 15> kEnqueueBounds = {
    50,     100,    250,     500,     1'000,   2'500,     5'000,    10'000,
    25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000};

// How consumers keep a histogram in the bucket's hash "drip:{Q}:hist",
// so that every serve process renders the same figures: field
// "PREFIX:I" holds bucket I's observations (not cumulative; I =
// bounds.size() is +Inf) and "PREFIX:sum_us" their sum in microseconds.
// Both are HINCRBY counters; a missing field reads 0.
struct HistogramLayout {
    std::string_view prefix;
    Bounds bounds;
};

inline constexpr HistogramLayout kWaitLayout{"wait", kWaitBounds};
inline constexpr HistogramLayout kGapLayout{"gap", kGapBounds};

// The hash field of bucket `index` of `layout`: "wait:3".
std::string BucketField(const HistogramLayout& layout, size_t index);

// The hash field of the sum of `layout`: "wait:sum_us".
std::string SumField(const HistogramLayout& layout);

// Adds `value` of hash field `field` to `counts` when the field belongs
// to `layout`; returns whether it did. A bucket index past the layout's
// last (left by a build with more bounds) counts as +Inf, so that the
// count stays right. Requires `counts` sized for layout.bounds.
bool AddHashField(const HistogramLayout& layout, std::string_view field,
                  int64_t value, HistogramCounts& counts);

}  // namespace drip::prometheus
