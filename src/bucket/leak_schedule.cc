// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/leak_schedule.h"

#include <algorithm>
#include <cmath>

namespace drip::bucket {

Micros SlotGrant::SlotOf(int64_t i) const {
    const double offset =
        std::floor(static_cast<double>(first_slot + i) * interval_us);
    return Micros(anchor_us + static_cast<int64_t>(offset));
}

bool SlotMissed(Micros slot, double interval_us, Micros now,
                Micros clock_error) {
    const double error =
        std::min(static_cast<double>(clock_error.count()), interval_us / 2);
    // Timestamps are whole microseconds: a start recorded in the same
    // microsecond as the next slot would already share a window with it.
    return static_cast<double>((now - slot).count()) >=
           interval_us - 1.0 - error;
}

Micros WakeMargin::Get(double interval_us) const {
    const double cap =
        std::max(interval_us, static_cast<double>(kFloor.count()));
    return Micros(static_cast<int64_t>(std::min(margin_us_, cap)));
}

void WakeMargin::Overslept(Micros late) {
    // Some headroom above the overshoot itself: the next one is rarely
    // exactly as long.
    const double wanted =
        std::min(static_cast<double>(late.count()) * 1.25 + 50.0,
                 static_cast<double>(kCeiling.count()));
    if (wanted > margin_us_) {
        margin_us_ = wanted;
        return;
    }
    // About 1/2048 of the way back per wake-up: after a millisecond-late
    // wake-up, a runner at 100 slots a second keeps most of its margin for
    // half a minute, where the next such wake-up is likely to come.
    margin_us_ -= (margin_us_ - static_cast<double>(kFloor.count())) / 2048;
}

int64_t RetryAfterSeconds(int64_t depth, int64_t capacity, int64_t wanted,
                          double leak_rate) {
    if (leak_rate <= 0) return 1;
    // `wanted` messages fit once depth + wanted - capacity of those waiting
    // have leaked.
    const int64_t must_leak = std::max<int64_t>(depth + wanted - capacity, 1);
    const double seconds = static_cast<double>(must_leak) / leak_rate;
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(seconds)));
}

}  // namespace drip::bucket
