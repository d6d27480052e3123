// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "common/time_format.h"

#include <gtest/gtest.h>

namespace drip {
namespace {

TEST(TimeFormatTest, WritesUtcWithMicroseconds) {
    // 2026-12-03T10:00:00Z is 1796292000 s after the epoch.
    EXPECT_EQ(IsoTime(Micros(1'796'292'000'123'456)),
              "2026-12-03T10:00:00.123456Z");
}

TEST(TimeFormatTest, PadsSmallFields) {
    EXPECT_EQ(IsoTime(Micros(0)), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(IsoTime(Micros(1)), "1970-01-01T00:00:00.000001Z");
}

TEST(TimeFormatTest, HandlesLeapDays) {
    // 2024-02-29T23:59:59.999999Z
    EXPECT_EQ(IsoTime(Micros(1'709'251'199'999'999)),
              "2024-02-29T23:59:59.999999Z");
}

}  // namespace
}  // namespace drip
