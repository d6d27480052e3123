// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "common/prometheus.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace drip::prometheus {
namespace {

constexpr std::array<int64_t, 3> kSmall = {1'000, 10'000, 100'000};

std::string Seconds(int64_t micros) {
    std::string out;
    AppendSeconds(out, micros);
    return out;
}

TEST(PrometheusTest, SecondsAreExactDecimals) {
    EXPECT_EQ(Seconds(0), "0");
    EXPECT_EQ(Seconds(10), "0.00001");
    EXPECT_EQ(Seconds(1'500), "0.0015");
    EXPECT_EQ(Seconds(2'500'000), "2.5");
    EXPECT_EQ(Seconds(3'600'000'000), "3600");
    EXPECT_EQ(Seconds(-5), "-0.000005");
    EXPECT_EQ(Seconds(-1'000'001), "-1.000001");
}

TEST(PrometheusTest, BucketIndexIsFirstBoundAtOrAbove) {
    EXPECT_EQ(BucketIndex(kSmall, Micros(0)), 0u);
    EXPECT_EQ(BucketIndex(kSmall, Micros(1'000)), 0u);
    EXPECT_EQ(BucketIndex(kSmall, Micros(1'001)), 1u);
    EXPECT_EQ(BucketIndex(kSmall, Micros(100'000)), 2u);
    EXPECT_EQ(BucketIndex(kSmall, Micros(100'001)), 3u);
}

TEST(PrometheusTest, SampleLinesWithAndWithoutLabels) {
    std::string out;
    AppendHeader(out, "drip_rejected_total", MetricType::kCounter,
                 "Messages refused.");
    AppendSample(out, "drip_rejected_total", R"(reason="full")", int64_t{7});
    AppendSample(out, "drip_leak_rate", "", 0.5);
    EXPECT_EQ(out,
              "# HELP drip_rejected_total Messages refused.\n"
              "# TYPE drip_rejected_total counter\n"
              "drip_rejected_total{reason=\"full\"} 7\n"
              "drip_leak_rate 0.5\n");
}

TEST(PrometheusTest, HistogramIsCumulativeAndEndsWithInf) {
    HistogramCounts counts(kSmall);
    counts.counts = {1, 0, 2, 3};
    counts.sum_us = 1'234'500;
    std::string out;
    AppendHistogram(out, "x_seconds", "Help.", kSmall, counts);
    EXPECT_EQ(out,
              "# HELP x_seconds Help.\n"
              "# TYPE x_seconds histogram\n"
              "x_seconds_bucket{le=\"0.001\"} 1\n"
              "x_seconds_bucket{le=\"0.01\"} 1\n"
              "x_seconds_bucket{le=\"0.1\"} 3\n"
              "x_seconds_bucket{le=\"+Inf\"} 6\n"
              "x_seconds_sum 1.2345\n"
              "x_seconds_count 6\n");
}

TEST(PrometheusTest, BoundsAscendAndCoverTheirRanges) {
    for (const Bounds bounds :
         {Bounds(kWaitBounds), Bounds(kGapBounds), Bounds(kEnqueueBounds)}) {
        EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
        EXPECT_EQ(std::adjacent_find(bounds.begin(), bounds.end()),
                  bounds.end());
    }
    EXPECT_EQ(kWaitBounds.front(), 1'000);
    EXPECT_EQ(kWaitBounds.back(), 3'600'000'000);
    EXPECT_EQ(kGapBounds.front(), 10);
    EXPECT_EQ(kGapBounds.back(), 63'000'000);
}

TEST(PrometheusTest, GapBoundsResolveEveryRateFromOnePerMinuteTo50k) {
    // At each rate's interval, the bucket around it is at most 30% wide.
    for (const double rate : {1.0 / 60, 0.5, 1.0, 10.0, 333.0, 50'000.0}) {
        const auto interval = Micros(static_cast<int64_t>(1e6 / rate));
        const size_t i = BucketIndex(kGapBounds, interval);
        ASSERT_LT(i, kGapBounds.size()) << rate;
        ASSERT_GT(i, 0u) << rate;
        EXPECT_LE(kGapBounds[i], kGapBounds[i - 1] * 1.3) << rate;
    }
}

TEST(PrometheusTest, HashFieldsRoundTrip) {
    HistogramCounts counts(kWaitLayout.bounds);
    EXPECT_TRUE(
        AddHashField(kWaitLayout, BucketField(kWaitLayout, 3), 4, counts));
    EXPECT_TRUE(AddHashField(kWaitLayout, SumField(kWaitLayout), 99, counts));
    EXPECT_FALSE(AddHashField(kWaitLayout, "gap:3", 1, counts));
    EXPECT_FALSE(AddHashField(kWaitLayout, "wait:", 1, counts));
    EXPECT_FALSE(AddHashField(kWaitLayout, "wait:x", 1, counts));
    EXPECT_FALSE(AddHashField(kWaitLayout, "waiting:1", 1, counts));
    EXPECT_EQ(counts.counts[3], 4);
    EXPECT_EQ(counts.sum_us, 99);
    EXPECT_EQ(counts.Count(), 4);
}

TEST(PrometheusTest, HashFieldPastTheLastBoundCountsAsInf) {
    HistogramCounts counts(kWaitLayout.bounds);
    EXPECT_TRUE(AddHashField(kWaitLayout, "wait:500", 2, counts));
    EXPECT_EQ(counts.counts.back(), 2);
}

}  // namespace
}  // namespace drip::prometheus
