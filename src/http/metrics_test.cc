// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "http/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace drip::http {
namespace {

using ::testing::HasSubstr;

BucketFigures SomeFigures() {
    BucketFigures b;
    b.capacity = 1000;
    b.leak_rate = 0.5;
    b.depth = 3;
    b.in_flight = 2;
    b.accepted = 10;
    b.rejected_full = 4;
    b.rejected_invalid = 5;
    b.rejected_too_large = 6;
    b.deduplicated = 7;
    b.processed = 8;
    b.failed = 9;
    b.dead_total = 11;
    b.dead_letters = 1;
    b.wait.counts[0] = 2;
    b.wait.counts.back() = 1;
    b.wait.sum_us = 3'600'002'000;
    return b;
}

TEST(MetricsTest, RendersEveryCounterAndGauge) {
    const auto text = RenderMetrics(
        SomeFigures(), prometheus::HistogramCounts(prometheus::kEnqueueBounds));
    for (const char* line : {
             "drip_accepted_total 10\n",
             "drip_rejected_total{reason=\"full\"} 4\n",
             "drip_rejected_total{reason=\"invalid\"} 5\n",
             "drip_rejected_total{reason=\"too_large\"} 6\n",
             "drip_deduplicated_total 7\n",
             "drip_processed_total 8\n",
             "drip_failed_total 9\n",
             "drip_dead_total 11\n",
             "drip_depth 3\n",
             "drip_in_flight 2\n",
             "drip_capacity 1000\n",
             "drip_leak_rate 0.5\n",
             "drip_dead_letters 1\n",
             "drip_wait_seconds_bucket{le=\"0.001\"} 2\n",
             "drip_wait_seconds_bucket{le=\"3600\"} 2\n",
             "drip_wait_seconds_bucket{le=\"+Inf\"} 3\n",
             "drip_wait_seconds_sum 3600.002\n",
             "drip_wait_seconds_count 3\n",
             "drip_leak_gap_seconds_bucket{le=\"0.00001\"} 0\n",
             "drip_leak_gap_seconds_count 0\n",
             "drip_enqueue_duration_seconds_count 0\n",
         }) {
        EXPECT_THAT(text, HasSubstr(line));
    }
}

// Every sample belongs to a family announced by one HELP and one TYPE
// line before it, and the page ends with a line break.
TEST(MetricsTest, EverySampleHasHelpAndType) {
    const auto text = RenderMetrics(
        SomeFigures(), prometheus::HistogramCounts(prometheus::kEnqueueBounds));
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    std::map<std::string, std::string> types;
    std::set<std::string> helps;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string first, name, type;
        words >> first;
        if (first == "#") {
            words >> type >> name;
            if (type == "HELP") {
                EXPECT_TRUE(helps.insert(name).second) << name;
            }
            if (type == "TYPE") {
                std::string kind;
                words >> kind;
                EXPECT_TRUE(types.emplace(name, kind).second) << name;
            }
            continue;
        }
        std::string family = first.substr(0, first.find('{'));
        if (!types.count(family)) {
            for (const char* suffix : {"_bucket", "_sum", "_count"}) {
                if (family.ends_with(suffix)) {
                    family.resize(family.size() - std::strlen(suffix));
                }
            }
            EXPECT_EQ(types[family], "histogram") << line;
        }
        EXPECT_TRUE(helps.count(family)) << line;
    }
}

TEST(MetricsTest, LatencyHistogramSnapshotsObservations) {
    LatencyHistogram histogram(prometheus::kEnqueueBounds);
    histogram.Observe(Micros(40));
    histogram.Observe(Micros(300));
    histogram.Observe(Micros(-1));
    const auto snapshot = histogram.Snapshot();
    EXPECT_EQ(snapshot.Count(), 3);
    EXPECT_EQ(snapshot.sum_us, 340);
    EXPECT_EQ(snapshot.counts[0], 2);
    EXPECT_EQ(snapshot.counts[prometheus::BucketIndex(
                  prometheus::kEnqueueBounds, Micros(300))],
              1);
}

TEST(MetricsTest, LatencyHistogramAddsUpEveryThreadsShard) {
    // More threads than shards, so that some share one.
    LatencyHistogram histogram(prometheus::kEnqueueBounds);
    constexpr int kThreads = 20;
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&histogram, t] {
            for (int i = 0; i < 1000; ++i) histogram.Observe(Micros(t));
        });
    }
    for (auto& thread : threads) thread.join();
    const auto snapshot = histogram.Snapshot();
    EXPECT_EQ(snapshot.Count(), 20'000);
    // 1000 * (0 + 1 + ... + 19)
    EXPECT_EQ(snapshot.sum_us, 190'000);
}

TEST(MetricsTest, EnqueueTargets) {
    EXPECT_TRUE(IsEnqueueTarget("/enqueue"));
    EXPECT_TRUE(IsEnqueueTarget("/enqueue/batch?x=1"));
    EXPECT_FALSE(IsEnqueueTarget("/dead/requeue"));
    EXPECT_FALSE(IsEnqueueTarget("/enqueue/"));
}

}  // namespace
}  // namespace drip::http
