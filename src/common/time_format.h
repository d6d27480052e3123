// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Timestamps as drip writes them: microseconds since the Unix epoch, shown
// as ISO 8601 UTC with six fractional digits ("2026-12-03T10:00:00.123456Z").

#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace drip {

using Micros = std::chrono::microseconds;

// Appends the ISO 8601 UTC form of `since_epoch` to `out`.
void AppendIsoTime(std::string& out, Micros since_epoch);

std::string IsoTime(Micros since_epoch);

// The wall clock, in microseconds since the epoch.
Micros WallNow();

}  // namespace drip
