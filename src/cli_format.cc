// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "cli_format.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/json_writer.h"

namespace drip::cli {
namespace {

constexpr int kDepthBarWidth = 20;
constexpr int kProgressBarWidth = 20;

// Commas between groups of three in a run of digits.
std::string GroupDigits(std::string_view digits) {
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

// A per-second change with its sign: "+12", "+0.5", "-3"; one decimal is
// kept only where it says something.
std::string SignedRate(double per_second) {
    const double rounded = std::abs(per_second) >= 100
                               ? std::round(per_second)
                               : std::round(per_second * 10) / 10;
    if (rounded == 0) return "+0/s";
    return fmt::format("{}{}/s", rounded > 0 ? "+" : "",
                       FormatDecimal(rounded));
}

double RatePerSecond(int64_t count, Seconds elapsed) {
    if (elapsed.count() <= 0) return 0;
    return static_cast<double>(count) / elapsed.count();
}

Cell Right(std::string text) { return Cell{std::move(text), Align::kRight}; }

Cell Left(std::string text) { return Cell{std::move(text), Align::kLeft}; }

std::vector<Cell> CounterRow(std::string label, int64_t value,
                             const std::optional<double>& rate) {
    std::vector<Cell> row{Left(std::move(label)), Right(GroupThousands(value))};
    if (rate) row.push_back(Left(SignedRate(*rate)));
    return row;
}

std::string JoinParts(const std::vector<std::string>& parts, size_t from) {
    std::string out;
    for (size_t i = from; i < parts.size(); ++i) {
        if (!out.empty()) out += "  ";
        out += parts[i];
    }
    return out;
}

}  // namespace

std::string GroupThousands(int64_t value) {
    // The magnitude as unsigned, so that the lowest int64_t has one too.
    const uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value)
                                         : static_cast<uint64_t>(value);
    const std::string grouped = GroupDigits(fmt::format("{}", magnitude));
    return value < 0 ? "-" + grouped : grouped;
}

std::string FormatDecimal(double value) {
    if (std::isfinite(value) && value == std::trunc(value) &&
        std::abs(value) < 1e15) {
        return GroupThousands(static_cast<int64_t>(value));
    }
    std::string text = fmt::format("{}", value);
    if (text.find_first_of("eEn") != std::string::npos) return text;
    const size_t sign = text[0] == '-' ? 1 : 0;
    const size_t point = std::min(text.find('.'), text.size());
    return text.substr(0, sign) +
           GroupDigits(std::string_view(text).substr(sign, point - sign)) +
           text.substr(point);
}

std::string FormatDuration(Seconds span) {
    const double seconds = std::max(span.count(), 0.0);
    if (seconds < 9.95) return fmt::format("{:.1f} s", seconds);
    const auto whole = static_cast<int64_t>(std::llround(seconds));
    if (whole < 60) return fmt::format("{} s", whole);
    if (whole < 3600) return fmt::format("{}m {:02}s", whole / 60, whole % 60);
    return fmt::format("{}h {:02}m", whole / 3600, whole % 3600 / 60);
}

std::string TextBar(double fraction, int width) {
    if (!(fraction > 0)) fraction = 0;  // NaN too
    fraction = std::min(fraction, 1.0);
    width = std::max(width, 0);
    const int filled = static_cast<int>(std::lround(fraction * width));
    return "[" + std::string(filled, '#') + std::string(width - filled, '-') +
           "]";
}

std::string RenderTable(const std::vector<std::vector<Cell>>& rows) {
    std::vector<size_t> widths;
    for (const auto& row : rows) {
        if (widths.size() < row.size()) widths.resize(row.size());
        for (size_t i = 0; i < row.size(); ++i) {
            if (row[i].overflows) continue;
            widths[i] = std::max(widths[i], row[i].text.size());
        }
    }

    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
            const Cell& cell = row[i];
            if (i > 0) line += "  ";
            const size_t pad = cell.overflows || cell.text.size() >= widths[i]
                                   ? 0
                                   : widths[i] - cell.text.size();
            if (cell.align == Align::kRight) line.append(pad, ' ');
            line += cell.text;
            if (cell.align == Align::kLeft) line.append(pad, ' ');
        }
        line.erase(line.find_last_not_of(' ') + 1);
        out += line;
        out += '\n';
    }
    return out;
}

CounterRates RatesBetween(const bucket::BucketStats& before,
                          const bucket::BucketStats& after, Seconds between) {
    return CounterRates{
        .accepted = RatePerSecond(after.accepted - before.accepted, between),
        .processed = RatePerSecond(after.processed - before.processed, between),
        .rejected = RatePerSecond(after.rejected - before.rejected, between),
    };
}

std::string RenderStatsJson(std::string_view queue,
                            const bucket::BucketStats& stats) {
    return fmt::format(
        R"({{"queue": {}, "capacity": {}, "leak_rate": {}, "depth": {}, )"
        R"("in_flight": {}, "accepted": {}, "rejected": {}, )"
        R"("processed": {}, "dead": {}}})",
        JsonString(queue), stats.capacity, stats.leak_rate, stats.depth,
        stats.in_flight, stats.accepted, stats.rejected, stats.processed,
        stats.dead);
}

std::string RenderStatsTable(std::string_view queue,
                             const bucket::BucketStats& stats,
                             const std::optional<CounterRates>& rates) {
    std::vector<Cell> depth{Left("depth"), Right(GroupThousands(stats.depth))};
    if (stats.capacity > 0) {
        const double fill = static_cast<double>(stats.depth) /
                            static_cast<double>(stats.capacity);
        depth.push_back(
            Left(fmt::format("{}  {:.1f}% of capacity",
                             TextBar(fill, kDepthBarWidth), fill * 100)));
    }

    std::string unit = "msg/s";
    if (stats.leak_rate > 0 && stats.leak_rate < 1) {
        unit += fmt::format(" (1 every {})",
                            FormatDuration(Seconds(1 / stats.leak_rate)));
    }

    const auto rate_of = [&](double CounterRates::*field) {
        return rates ? std::optional<double>((*rates).*field) : std::nullopt;
    };
    return RenderTable({
        {Left("queue"), Cell{std::string(queue), Align::kLeft, true}},
        {Left("capacity"), Right(GroupThousands(stats.capacity))},
        {Left("leak_rate"), Right(FormatDecimal(stats.leak_rate)), Left(unit)},
        depth,
        {Left("in_flight"), Right(GroupThousands(stats.in_flight))},
        CounterRow("accepted", stats.accepted,
                   rate_of(&CounterRates::accepted)),
        CounterRow("rejected", stats.rejected,
                   rate_of(&CounterRates::rejected)),
        CounterRow("processed", stats.processed,
                   rate_of(&CounterRates::processed)),
        {Left("dead"), Right(GroupThousands(stats.dead))},
    });
}

std::string RenderProgressLine(const EnqueueProgress& progress, int width) {
    if (width <= 0) return "";
    const int64_t handled = progress.queued + progress.failed;
    std::vector<std::string> parts;
    if (progress.bytes_total) {
        const uint64_t total = *progress.bytes_total;
        const double done =
            total == 0
                ? 1.0
                : std::min(1.0, static_cast<double>(progress.bytes_read) /
                                    static_cast<double>(total));
        parts.push_back(TextBar(done, kProgressBarWidth));
        parts.push_back(fmt::format("{:3.0f}%", std::floor(done * 100)));
    }
    parts.push_back(fmt::format("{} queued, {} failed",
                                GroupThousands(progress.queued),
                                GroupThousands(progress.failed)));
    parts.push_back(
        fmt::format("{} msg/s", GroupThousands(std::llround(RatePerSecond(
                                    handled, progress.elapsed)))));
    if (!progress.bytes_total) {
        parts.push_back(FormatDuration(progress.elapsed));
    } else if (progress.bytes_read > 0 &&
               progress.bytes_read < *progress.bytes_total) {
        const double left =
            static_cast<double>(*progress.bytes_total - progress.bytes_read) /
            static_cast<double>(progress.bytes_read);
        parts.push_back("ETA " + FormatDuration(progress.elapsed * left));
    }

    for (size_t from = 0; from < parts.size(); ++from) {
        std::string line = JoinParts(parts, from);
        if (line.size() <= static_cast<size_t>(width)) return line;
    }
    return JoinParts(parts, parts.size() - 1).substr(0, width);
}

std::string RenderEnqueueSummary(const EnqueueProgress& progress) {
    const int64_t handled = progress.queued + progress.failed;
    return fmt::format(
        "queued {}, failed {}, in {}, {} msg/s",
        GroupThousands(progress.queued), GroupThousands(progress.failed),
        FormatDuration(progress.elapsed),
        GroupThousands(std::llround(RatePerSecond(handled, progress.elapsed))));
}

}  // namespace drip::cli
