// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/leak_schedule.h"

#include <gtest/gtest.h>

namespace drip::bucket {
namespace {

TEST(SlotGrantTest, SpacesSlotsByTheInterval) {
    const SlotGrant grant{1'000'000, 0, 20.0};
    EXPECT_EQ(grant.SlotOf(0), Micros(1'000'000));
    EXPECT_EQ(grant.SlotOf(1), Micros(1'000'020));
    EXPECT_EQ(grant.SlotOf(50'000), Micros(2'000'000));
}

TEST(SlotGrantTest, FractionalIntervalDoesNotDrift) {
    // 3 per second: 333333.33 us. A million slots later the error is still
    // under a microsecond, because slots are anchor + n * interval rather
    // than a running sum.
    const SlotGrant grant{0, 0, 1e6 / 3};
    EXPECT_EQ(grant.SlotOf(3), Micros(1'000'000));
    EXPECT_EQ(grant.SlotOf(3'000'000), Micros(1'000'000'000'000));
}

TEST(SlotGrantTest, ContinuesFromTheFirstSlotNumber) {
    const SlotGrant grant{500, 10, 100.0};
    EXPECT_EQ(grant.SlotOf(0), Micros(1'500));
    EXPECT_EQ(grant.SlotOf(2), Micros(1'700));
}

TEST(SlotMissedTest, AClockErrorShortensTheTimeAllowed) {
    // 1,000/s with consumers whose clocks may differ by 60 us.
    EXPECT_FALSE(SlotMissed(Micros(1000), 1000.0, Micros(1938), Micros(60)));
    EXPECT_TRUE(SlotMissed(Micros(1000), 1000.0, Micros(1939), Micros(60)));
    // Never by more than half an interval: 50,000/s, 20 us apart.
    EXPECT_FALSE(SlotMissed(Micros(1000), 20.0, Micros(1008), Micros(500)));
    EXPECT_TRUE(SlotMissed(Micros(1000), 20.0, Micros(1009), Micros(500)));
}

TEST(SlotMissedTest, OnTimeAndSlightlyLateMessagesKeepTheirSlot) {
    EXPECT_FALSE(SlotMissed(Micros(1000), 1000.0, Micros(1000)));
    EXPECT_FALSE(SlotMissed(Micros(1000), 1000.0, Micros(1998)));
}

TEST(SlotMissedTest, AMessageOneIntervalLateHasMissedItsSlot) {
    // At 1 ms a slot, a start at 2 ms would share the next slot's instant.
    EXPECT_TRUE(SlotMissed(Micros(1000), 1000.0, Micros(1999)));
    EXPECT_TRUE(SlotMissed(Micros(1000), 1000.0, Micros(50'000)));
}

TEST(SlotMissedTest, HighRatesLeaveLittleRoom) {
    // 50,000/s: 20 us a slot.
    EXPECT_FALSE(SlotMissed(Micros(0), 20.0, Micros(18)));
    EXPECT_TRUE(SlotMissed(Micros(0), 20.0, Micros(19)));
}

TEST(RetryAfterTest, CountsTheMessagesThatMustLeakFirst) {
    // Full bucket of 1000 at 10/s: one place frees in 0.1 s, so 1 s.
    EXPECT_EQ(RetryAfterSeconds(1000, 1000, 1, 10.0), 1);
    // A batch of 100 into a full bucket at 10/s needs 10 s.
    EXPECT_EQ(RetryAfterSeconds(1000, 1000, 100, 10.0), 10);
    // Slow leak: one message a minute.
    EXPECT_EQ(RetryAfterSeconds(5, 5, 1, 1.0 / 60), 60);
    EXPECT_EQ(RetryAfterSeconds(5, 5, 1, 0.0), 1);
}

// Slots far enough apart that the cap on spinning is out of the way.
constexpr double kSlow = 1e6;

TEST(WakeMarginTest, StartsAtTheFloor) {
    EXPECT_EQ(WakeMargin().Get(kSlow), WakeMargin::kFloor);
}

TEST(WakeMarginTest, ShortOvershootsLeaveTheFloor) {
    WakeMargin margin;
    for (int i = 0; i < 1000; ++i) margin.Overslept(Micros(40));
    EXPECT_EQ(margin.Get(kSlow), WakeMargin::kFloor);
}

TEST(WakeMarginTest, CoversALateWakeUpAtOnce) {
    WakeMargin margin;
    margin.Overslept(Micros(2'000));
    EXPECT_GT(margin.Get(kSlow), Micros(2'000));
    EXPECT_LE(margin.Get(kSlow), WakeMargin::kCeiling);
}

TEST(WakeMarginTest, NeverAboveTheCeiling) {
    WakeMargin margin;
    margin.Overslept(Micros(60'000'000));
    EXPECT_EQ(margin.Get(kSlow), WakeMargin::kCeiling);
}

TEST(WakeMarginTest, SpinsAtMostOneIntervalAboveTheFloor) {
    WakeMargin margin;
    margin.Overslept(Micros(4'000));
    EXPECT_EQ(margin.Get(2'000.0), Micros(2'000));     // 500/s
    EXPECT_EQ(margin.Get(100.0), WakeMargin::kFloor);  // 10,000/s
    EXPECT_GT(margin.Get(kSlow), Micros(4'000));
}

TEST(WakeMarginTest, ShrinksSlowlyBackToTheFloor) {
    WakeMargin margin;
    margin.Overslept(Micros(3'000));
    const Micros high = margin.Get(kSlow);
    for (int i = 0; i < 100; ++i) margin.Overslept(Micros(10));
    // After a hundred quick wake-ups most of the margin is still there...
    EXPECT_GT(margin.Get(kSlow), high * 9 / 10);
    for (int i = 0; i < 50'000; ++i) margin.Overslept(Micros(10));
    // ...and after many it is back near the floor.
    EXPECT_LT(margin.Get(kSlow), WakeMargin::kFloor + Micros(20));
    EXPECT_GE(margin.Get(kSlow), WakeMargin::kFloor);
}

}  // namespace
}  // namespace drip::bucket
