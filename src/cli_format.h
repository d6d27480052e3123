// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// What the command line shows people: the `drip stats` table and JSON
// object, the progress and summary lines of `drip enqueue`, and the number
// formats they share. Pure functions of their arguments: no terminal, no
// clock, no Redis, so that every figure can be checked in a unit test.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bucket/bucket.h"

namespace drip::cli {

using Seconds = std::chrono::duration<double>;

// 1234567 -> "1,234,567", -1234 -> "-1,234".
std::string GroupThousands(int64_t value);

// The shortest text that reads back as `value`, with the integer part
// grouped: 2.5 -> "2.5", 12000 -> "12,000", 0.0166667 -> "0.0166667".
std::string FormatDecimal(double value);

// A span of time for people: "0.4 s", "12 s", "3m 05s", "2h 01m".
// Negative spans count as zero.
std::string FormatDuration(Seconds span);

// `fraction` of `width` cells filled, between brackets: TextBar(0.3, 10) is
// "[###-------]". The fraction is clamped to [0, 1] first.
std::string TextBar(double fraction, int width);

enum class Align { kLeft, kRight };

struct Cell {
    std::string text;
    Align align = Align::kLeft;
    // A row's last cell may overflow: it does not widen its column, so a
    // long queue name does not push every number to the right.
    bool overflows = false;
};

// Rows of cells as aligned text columns, two spaces apart, one line per
// row (each ending in '\n'), trailing spaces trimmed. Rows may have
// different numbers of cells; a column is as wide as its widest cell.
// Widths count bytes: cells are expected to be ASCII.
std::string RenderTable(const std::vector<std::vector<Cell>>& rows);

// Per-second changes of the counters between two reads of a bucket's
// stats, for `drip stats --watch`.
struct CounterRates {
    double accepted = 0;
    double processed = 0;
    double rejected = 0;
};

// The counters' changes from `before` to `after`, divided by `between`;
// all zero when `between` is not positive.
CounterRates RatesBetween(const bucket::BucketStats& before,
                          const bucket::BucketStats& after, Seconds between);

// The /stats object of PRODUCT.md on one line, without a newline.
std::string RenderStatsJson(std::string_view queue,
                            const bucket::BucketStats& stats);

// The `drip stats` table: the figures with thousands separators, the depth
// as a bar and a percentage of the capacity, the leak rate with its unit
// and, when `rates` is given, the counters' per-second changes.
std::string RenderStatsTable(std::string_view queue,
                             const bucket::BucketStats& stats,
                             const std::optional<CounterRates>& rates);

// Where `drip enqueue` stands while it reads JSON Lines.
struct EnqueueProgress {
    int64_t queued = 0;
    int64_t failed = 0;  // invalid lines, full bucket, Redis errors
    Seconds elapsed{0};
    uint64_t bytes_read = 0;
    // Known when stdin is a regular file: its size from where reading began.
    std::optional<uint64_t> bytes_total;
};

// The progress line, at most `width` columns and without control
// characters (the caller moves the cursor):
// "[######--------------]  31%  31,000 queued, 2 failed  52,118 msg/s  ETA 2 s"
// or, when the total is unknown, "31,000 queued, 2 failed  52,118 msg/s  0.6
// s". Parts are dropped from the front (the bar first) when `width` is short.
std::string RenderProgressLine(const EnqueueProgress& progress, int width);

// "queued 100,000, failed 3, in 1.9 s, 52,118 msg/s": the rate counts every
// line handled, queued or not.
std::string RenderEnqueueSummary(const EnqueueProgress& progress);

}  // namespace drip::cli
