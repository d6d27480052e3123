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

bool SlotMissed(Micros slot, double interval_us, Micros now) {
    // Timestamps are whole microseconds: a start recorded in the same
    // microsecond as the next slot would already share a window with it.
    return static_cast<double>((now - slot).count()) >= interval_us - 1.0;
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
