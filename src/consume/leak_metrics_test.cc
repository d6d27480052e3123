// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/leak_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <charconv>
#include <vector>

namespace drip::consume {
namespace {

using prometheus::BucketIndex;
using prometheus::kGapBounds;
using prometheus::kWaitBounds;
using ::testing::ElementsAre;

// The arguments of a command, decoded back from its RESP form.
std::vector<std::string> Arguments(const redis::Command& command) {
    std::string resp;
    command.AppendTo(resp);
    std::vector<std::string> out;
    size_t at = resp.find("\r\n") + 2;  // past the array header
    while (at < resp.size()) {
        const size_t end = resp.find("\r\n", at);
        size_t length = 0;
        std::from_chars(resp.data() + at + 1, resp.data() + end, length);
        out.push_back(resp.substr(end + 2, length));
        at = end + 2 + length + 2;
    }
    return out;
}

TEST(LeakObservationsTest, StartsEmpty) {
    const LeakObservations observations;
    EXPECT_TRUE(observations.Empty());
}

TEST(LeakObservationsTest, CountsEachTimeInItsBucket) {
    LeakObservations observations;
    observations.Add(Micros(1'500), Micros(100'000));
    observations.Add(Micros(1'500), std::nullopt);
    EXPECT_FALSE(observations.Empty());
    EXPECT_EQ(observations.WaitCount(BucketIndex(kWaitBounds, Micros(1'500))),
              2);
    EXPECT_EQ(observations.GapCount(BucketIndex(kGapBounds, Micros(100'000))),
              1);
}

TEST(LeakObservationsTest, NegativeTimesCountAsZero) {
    LeakObservations observations;
    observations.Add(Micros(-7), Micros(-3));
    EXPECT_EQ(observations.WaitCount(0), 1);
    EXPECT_EQ(observations.GapCount(0), 1);
}

TEST(LeakObservationsTest, TimesPastTheLastBoundCountAsInf) {
    LeakObservations observations;
    observations.Add(Micros(10'000'000'000), Micros(100'000'000));
    EXPECT_EQ(observations.WaitCount(kWaitBounds.size()), 1);
    EXPECT_EQ(observations.GapCount(kGapBounds.size()), 1);
}

TEST(LeakObservationsTest, MovedFromIsEmpty) {
    LeakObservations observations;
    observations.Add(Micros(1), Micros(1));
    LeakObservations moved = std::move(observations);
    EXPECT_TRUE(observations.Empty());  // NOLINT(bugprone-use-after-move)
    EXPECT_FALSE(moved.Empty());
}

TEST(LeakObservationsTest, FlushSendsChangedFieldsAndClears) {
    LeakObservations observations;
    observations.Add(Micros(1'000), Micros(100'000));
    observations.Add(Micros(3'000), std::nullopt);
    const auto wait_low = std::to_string(BucketIndex(kWaitBounds, Micros(1)));
    const auto wait_high =
        std::to_string(BucketIndex(kWaitBounds, Micros(3'000)));
    const auto gap = std::to_string(BucketIndex(kGapBounds, Micros(100'000)));

    const auto command = observations.TakeFlush("drip:{q}");
    EXPECT_THAT(Arguments(command),
                ElementsAre("drip:{q}", "wait:" + wait_low, "1",
                            "wait:" + wait_high, "1", "wait:sum_us", "4000",
                            "gap:" + gap, "1", "gap:sum_us", "100000"));
    EXPECT_TRUE(observations.Empty());
    EXPECT_THAT(Arguments(observations.TakeFlush("drip:{q}")),
                ElementsAre("drip:{q}"));
}

}  // namespace
}  // namespace drip::consume
