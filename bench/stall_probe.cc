// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// drip_stall_probe: how exactly could any runner keep a leak rate on this
// machine, with nothing else to do?
//
// A consumer's runner thread starts each message at its slot, and a slot it
// reaches more than one interval late is lost (see SlotMissed). Some of that
// lateness is the machine's, not drip's: on a virtual machine the host takes
// the vCPU away for tens of microseconds hundreds of times a second, and
// wakes a sleeping thread late. This probe runs the runner's timing loop
// alone, with no Redis, no log and no other thread, over a schedule of
// slots at each rate given, and counts the slots it would have missed. The
// figure is the floor under drip's own: bench/leak-accuracy prints it next
// to drip's achieved rate.
//
// Usage: drip_stall_probe SECONDS RATE... ; prints one JSON object per rate.

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "bucket/leak_schedule.h"
#include "common/time_format.h"

namespace {

using drip::Micros;

struct Probe {
    int64_t slots = 0;
    int64_t missed = 0;
    int64_t sleeps = 0;
};

// The runner's loop (consume/consumer.cc, RunnerLoop) without the work:
// sleep while the slot is further than the wake margin, spin to it, and
// judge whether it was reached in time.
Probe Run(double rate, Micros duration) {
    const double interval_us = 1e6 / rate;
    drip::bucket::WakeMargin wake_margin;
    Probe probe;
    const Micros start = drip::WallNow() + Micros(10'000);
    const Micros end = start + duration;
    for (int64_t n = 0;; ++n) {
        const Micros slot =
            start +
            Micros(static_cast<int64_t>(static_cast<double>(n) * interval_us));
        if (slot >= end) break;
        Micros now = drip::WallNow();
        if (const Micros margin = wake_margin.Get(interval_us);
            slot - now > margin) {
            const Micros wake_at = slot - margin;
            std::this_thread::sleep_for(wake_at - now);
            ++probe.sleeps;
            if (const Micros late = drip::WallNow() - wake_at;
                late >= Micros(0)) {
                wake_margin.Overslept(late);
            }
        }
        while (now < slot) now = drip::WallNow();
        ++probe.slots;
        if (drip::bucket::SlotMissed(slot, interval_us, now)) ++probe.missed;
    }
    return probe;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s SECONDS RATE...\n", argv[0]);
        return 2;
    }
    const double seconds = std::strtod(argv[1], nullptr);
    if (!(seconds > 0)) {
        std::fprintf(stderr, "SECONDS must be a positive number\n");
        return 2;
    }
    // As the consumer does: no timer slack, and the runner's weight.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -10);
    for (int i = 2; i < argc; ++i) {
        const double rate = std::strtod(argv[i], nullptr);
        if (!(rate > 0)) {
            std::fprintf(stderr, "RATE must be a positive number: %s\n",
                         argv[i]);
            return 2;
        }
        const auto probe =
            Run(rate, Micros(static_cast<int64_t>(seconds * 1e6)));
        std::printf(
            "{\"rate\": %.17g, \"slots\": %lld, \"missed\": %lld, "
            "\"sleeps\": %lld}\n",
            rate, static_cast<long long>(probe.slots),
            static_cast<long long>(probe.missed),
            static_cast<long long>(probe.sleeps));
        std::fflush(stdout);
    }
    return 0;
}
