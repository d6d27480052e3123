// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The arithmetic of the leak: which instant each message may start at.
// The bucket's schedule lives in Redis (see TakeScript): one "next free
// slot" per bucket, advanced by 1/leak_rate per message and never left
// behind the present, so that every consumer shares one rate and an idle
// bucket saves up no burst. This file holds the consumer's side of it.

#pragma once

#include <chrono>
#include <cstdint>

#include "common/time_format.h"

namespace drip::bucket {

// The slots of one batch taken from the bucket: message i (from 0) starts at
// anchor + floor((first_slot + i) * interval). Computed in double exactly as
// the Lua script computes it, so both sides agree to the microsecond.
struct SlotGrant {
    int64_t anchor_us = 0;
    int64_t first_slot = 0;
    double interval_us = 0;

    Micros SlotOf(int64_t i) const;
};

// Whether a consumer that gets to a message at `now` has missed its slot.
//
// A message starts at its slot, or later within one interval of it: then,
// as every slot of the bucket is one interval from the next, no window of
// any length can hold more starts than the rate allows, whichever
// consumers the slots went to. A consumer that gets to a message later than
// that (it was descheduled, its disk was slow) must not start it: starting
// the overdue messages then would be a burst, and starting them one
// interval apart would push them into slots that other consumers hold. The
// message goes back to the front of the bucket and takes a fresh slot; the
// slots missed stay empty, which is what the downstream saw anyway.
//
// That holds when every start is stamped by one clock. Consumers place
// slots on their own clocks by an estimate of the offset to Redis's, and
// two estimates can differ by up to `clock_error`: a start almost an
// interval late on one consumer's clock and a start on time on another's
// are then more than an interval apart in truth, and a window can hold one
// start too many. So while other consumers share the bucket, the time
// allowed after a slot shrinks by the clock error, up to half an interval
// (beyond that, at tens of thousands of messages a second with consumers
// on distant hosts, the bound holds only as well as the clocks agree).
bool SlotMissed(Micros slot, double interval_us, Micros now,
                Micros clock_error = Micros(0));

// How long before a slot the runner stops sleeping and starts spinning.
//
// A sleeping thread wakes up late, and how late depends on the machine: a
// few microseconds on an idle bare-metal core, but on a virtual machine
// whose idle vCPU the host has descheduled, one wake-up in a hundred can be
// a millisecond or more late. A wake-up later than the margin plus one
// interval misses its slot, which the rate never gets back. So the margin
// follows the wake-ups seen: it jumps to cover the latest overshoot at
// once, then shrinks slowly back toward the floor, spending CPU on
// spinning only where the machine makes it necessary.
//
// Spinning is also capped at one interval of the bucket: every slot of the
// bucket costs at most that much spinning, so all the consumers of a bucket
// together spin at most one core whatever their number. Without the cap,
// eight consumers on two cores each spin toward every one of their slots
// and take the cores from one another, missing more slots than the margin
// saves.
class WakeMargin {
  public:
    static constexpr Micros kFloor{250};
    static constexpr Micros kCeiling{5'000};

    // For a bucket whose slots are `interval_us` apart.
    Micros Get(double interval_us) const;

    // How late a timed wait returned, after its deadline.
    void Overslept(Micros late);

  private:
    // In fractions of a microsecond, so that the slow shrinking does not
    // stop short of the floor.
    double margin_us_ = static_cast<double>(kFloor.count());
};

// Whole seconds until a place frees up in a full bucket: the messages ahead
// of the one refused, beyond capacity, leak at `leak_rate` per second.
// At least 1, as Retry-After needs a positive delay.
int64_t RetryAfterSeconds(int64_t depth, int64_t capacity, int64_t wanted,
                          double leak_rate);

}  // namespace drip::bucket
