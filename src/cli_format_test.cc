// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "cli_format.h"

#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drip::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

bucket::BucketStats SampleStats() {
    bucket::BucketStats stats;
    stats.capacity = 1000;
    stats.leak_rate = 10;
    stats.depth = 250;
    stats.in_flight = 3;
    stats.accepted = 1234567;
    stats.rejected = 42;
    stats.processed = 1234314;
    stats.dead = 0;
    return stats;
}

std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t end; (end = text.find('\n', start)) != std::string::npos;
         start = end + 1) {
        lines.push_back(text.substr(start, end - start));
    }
    return lines;
}

TEST(CliFormatTest, GroupsThousands) {
    EXPECT_EQ(GroupThousands(0), "0");
    EXPECT_EQ(GroupThousands(999), "999");
    EXPECT_EQ(GroupThousands(1000), "1,000");
    EXPECT_EQ(GroupThousands(1234567), "1,234,567");
    EXPECT_EQ(GroupThousands(-1234), "-1,234");
    EXPECT_EQ(GroupThousands(std::numeric_limits<int64_t>::min()),
              "-9,223,372,036,854,775,808");
}

TEST(CliFormatTest, FormatsDecimalsAsGivenWithGroupedIntegerPart) {
    EXPECT_EQ(FormatDecimal(10), "10");
    EXPECT_EQ(FormatDecimal(2.5), "2.5");
    EXPECT_EQ(FormatDecimal(12000), "12,000");
    EXPECT_EQ(FormatDecimal(0.0166667), "0.0166667");
    EXPECT_EQ(FormatDecimal(-1234.5), "-1,234.5");
}

TEST(CliFormatTest, FormatsDurationsForPeople) {
    EXPECT_EQ(FormatDuration(Seconds(0.42)), "0.4 s");
    EXPECT_EQ(FormatDuration(Seconds(-3)), "0.0 s");
    EXPECT_EQ(FormatDuration(Seconds(12.4)), "12 s");
    EXPECT_EQ(FormatDuration(Seconds(185)), "3m 05s");
    EXPECT_EQ(FormatDuration(Seconds(7265)), "2h 01m");
}

TEST(CliFormatTest, TextBarClampsItsFraction) {
    EXPECT_EQ(TextBar(0.3, 10), "[###-------]");
    EXPECT_EQ(TextBar(0, 4), "[----]");
    EXPECT_EQ(TextBar(1.7, 4), "[####]");
    EXPECT_EQ(TextBar(-1, 4), "[----]");
    EXPECT_EQ(TextBar(std::numeric_limits<double>::quiet_NaN(), 4), "[----]");
}

TEST(CliFormatTest, TableAlignsColumnsAndTrimsTrailingSpaces) {
    const std::string table = RenderTable({
        {Cell{"a"}, Cell{"1", Align::kRight}, Cell{"x"}},
        {Cell{"long"}, Cell{"1,000", Align::kRight}},
    });
    EXPECT_EQ(table,
              "a         1  x\n"
              "long  1,000\n");
}

TEST(CliFormatTest, OverflowingCellDoesNotWidenItsColumn) {
    const std::string table = RenderTable({
        {Cell{"queue"}, Cell{"a-very-long-queue-name", Align::kLeft, true}},
        {Cell{"depth"}, Cell{"12", Align::kRight}},
    });
    EXPECT_EQ(table,
              "queue  a-very-long-queue-name\n"
              "depth  12\n");
}

TEST(CliFormatTest, StatsJsonHasTheStatsFieldsOfTheProduct) {
    EXPECT_EQ(RenderStatsJson("q\"1", SampleStats()),
              R"({"queue": "q\"1", "capacity": 1000, "leak_rate": 10, )"
              R"("depth": 250, "in_flight": 3, "accepted": 1234567, )"
              R"("rejected": 42, "processed": 1234314, "dead": 0})");
}

TEST(CliFormatTest, StatsTableShowsFillLevelRateUnitAndGroupedCounters) {
    const std::string table =
        RenderStatsTable("default", SampleStats(), std::nullopt);
    const auto lines = Lines(table);
    ASSERT_EQ(lines.size(), 9u) << table;
    EXPECT_EQ(lines[0], "queue      default");
    EXPECT_EQ(lines[1], "capacity       1,000");
    EXPECT_EQ(lines[2], "leak_rate         10  msg/s");
    EXPECT_EQ(
        lines[3],
        "depth            250  [#####---------------]  25.0% of capacity");
    EXPECT_EQ(lines[5], "accepted   1,234,567");
    EXPECT_EQ(lines[6], "rejected          42");
    EXPECT_EQ(lines[8], "dead               0");
    EXPECT_THAT(table, Not(HasSubstr("+")));  // no rates without --watch
}

TEST(CliFormatTest, StatsTableShowsPerSecondChangesWhenWatching) {
    const CounterRates rates{.accepted = 12.04, .processed = 10, .rejected = 0};
    const auto lines = Lines(RenderStatsTable("default", SampleStats(), rates));
    ASSERT_EQ(lines.size(), 9u);
    EXPECT_EQ(lines[5], "accepted   1,234,567  +12/s");
    EXPECT_EQ(lines[6], "rejected          42  +0/s");
    EXPECT_EQ(lines[7], "processed  1,234,314  +10/s");
}

TEST(CliFormatTest, StatsTableExplainsSlowLeakRates) {
    auto stats = SampleStats();
    stats.leak_rate = 0.5;
    EXPECT_THAT(RenderStatsTable("q", stats, std::nullopt),
                HasSubstr("leak_rate        0.5  msg/s (1 every 2.0 s)\n"));
}

TEST(CliFormatTest, StatsTableShowsOverfullBucketWithAFullBar) {
    auto stats = SampleStats();
    stats.depth = 1500;  // the capacity was lowered under a full bucket
    EXPECT_THAT(RenderStatsTable("q", stats, std::nullopt),
                HasSubstr("[####################]  150.0% of capacity"));
}

TEST(CliFormatTest, RatesBetweenDividesByTheTimeBetweenReads) {
    auto before = SampleStats();
    auto after = before;
    after.accepted += 30;
    after.processed += 15;
    after.rejected += 3;
    const auto rates = RatesBetween(before, after, Seconds(1.5));
    EXPECT_DOUBLE_EQ(rates.accepted, 20);
    EXPECT_DOUBLE_EQ(rates.processed, 10);
    EXPECT_DOUBLE_EQ(rates.rejected, 2);
    EXPECT_DOUBLE_EQ(RatesBetween(before, after, Seconds(0)).accepted, 0);
}

TEST(CliFormatTest, ProgressLineWithKnownTotalHasBarPercentAndEta) {
    EnqueueProgress progress;
    progress.queued = 31000;
    progress.failed = 2;
    progress.elapsed = Seconds(0.5);
    progress.bytes_read = 250;
    progress.bytes_total = 1000;
    EXPECT_EQ(RenderProgressLine(progress, 200),
              "[#####---------------]   25%  31,000 queued, 2 failed  "
              "62,004 msg/s  ETA 1.5 s");
}

TEST(CliFormatTest, ProgressLineWithoutTotalShowsElapsedTime) {
    EnqueueProgress progress;
    progress.queued = 5;
    progress.elapsed = Seconds(2);
    EXPECT_EQ(RenderProgressLine(progress, 200),
              "5 queued, 0 failed  3 msg/s  2.0 s");
}

TEST(CliFormatTest, ProgressLineFitsNarrowTerminalsAndHasNoControls) {
    EnqueueProgress progress;
    progress.queued = 123456;
    progress.elapsed = Seconds(3);
    progress.bytes_read = 10;
    progress.bytes_total = 100;
    for (int width = 1; width <= 120; ++width) {
        const std::string line = RenderProgressLine(progress, width);
        EXPECT_LE(line.size(), static_cast<size_t>(width));
        for (const char c : line) {
            EXPECT_GE(static_cast<unsigned char>(c), 0x20) << width;
        }
    }
    EXPECT_THAT(RenderProgressLine(progress, 56), StartsWith(" 10%  123,456"));
    EXPECT_EQ(RenderProgressLine(progress, 0), "");
}

TEST(CliFormatTest, ProgressLineOfAnEmptyFileIsComplete) {
    EnqueueProgress progress;
    progress.bytes_total = 0;
    EXPECT_THAT(RenderProgressLine(progress, 200), HasSubstr("100%"));
}

TEST(CliFormatTest, SummaryCountsEveryLineHandled) {
    EnqueueProgress progress;
    progress.queued = 100000;
    progress.failed = 3;
    progress.elapsed = Seconds(1.9);
    EXPECT_EQ(RenderEnqueueSummary(progress),
              "queued 100,000, failed 3, in 1.9 s, 52,633 msg/s");
}

}  // namespace
}  // namespace drip::cli
