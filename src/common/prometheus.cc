// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "common/prometheus.h"

#include <algorithm>
#include <charconv>
#include <iterator>

#include <fmt/format.h>

namespace drip::prometheus {
namespace {

std::string_view TypeName(MetricType type) {
    switch (type) {
        case MetricType::kCounter:
            return "counter";
        case MetricType::kGauge:
            return "gauge";
        case MetricType::kHistogram:
            return "histogram";
    }
    return "untyped";
}

void AppendName(std::string& out, std::string_view name,
                std::string_view labels) {
    out.append(name);
    if (labels.empty()) return;
    out.push_back('{');
    out.append(labels);
    out.push_back('}');
}

}  // namespace

size_t BucketIndex(Bounds bounds, Micros value) {
    const auto it =
        std::lower_bound(bounds.begin(), bounds.end(), value.count());
    return static_cast<size_t>(it - bounds.begin());
}

int64_t HistogramCounts::Count() const {
    int64_t total = 0;
    for (const int64_t n : counts) total += n;
    return total;
}

void AppendHeader(std::string& out, std::string_view name, MetricType type,
                  std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n",
                   name, help, name, TypeName(type));
}

void AppendSample(std::string& out, std::string_view name,
                  std::string_view labels, int64_t value) {
    AppendName(out, name, labels);
    fmt::format_to(std::back_inserter(out), " {}\n", value);
}

void AppendSample(std::string& out, std::string_view name,
                  std::string_view labels, double value) {
    AppendName(out, name, labels);
    // The shortest form that reads back as the same double; Prometheus
    // parses it (and NaN, +Inf) with Go's ParseFloat.
    fmt::format_to(std::back_inserter(out), " {}\n", value);
}

void AppendHistogram(std::string& out, std::string_view name,
                     std::string_view help, Bounds bounds,
                     const HistogramCounts& counts) {
    AppendHeader(out, name, MetricType::kHistogram, help);
    int64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts.counts[i];
        fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"", name);
        AppendSeconds(out, bounds[i]);
        fmt::format_to(std::back_inserter(out), "\"}} {}\n", cumulative);
    }
    cumulative += counts.counts[bounds.size()];
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n",
                   name, cumulative);
    fmt::format_to(std::back_inserter(out), "{}_sum ", name);
    AppendSeconds(out, counts.sum_us);
    fmt::format_to(std::back_inserter(out), "\n{}_count {}\n", name,
                   cumulative);
}

void AppendSeconds(std::string& out, int64_t micros) {
    // Split without negating, which would overflow for INT64_MIN.
    int64_t whole = micros / 1'000'000;
    int64_t fraction = micros % 1'000'000;
    if (micros < 0) {
        out.push_back('-');
        whole = -whole;
        fraction = -fraction;
    }
    fmt::format_to(std::back_inserter(out), "{}", whole);
    if (fraction == 0) return;
    char digits[8];
    const auto written =
        fmt::format_to_n(digits, sizeof digits, ".{:06}", fraction);
    std::string_view text(digits, written.size);
    while (text.back() == '0') text.remove_suffix(1);
    out.append(text);
}

std::string BucketField(const HistogramLayout& layout, size_t index) {
    return fmt::format("{}:{}", layout.prefix, index);
}

std::string SumField(const HistogramLayout& layout) {
    return fmt::format("{}:sum_us", layout.prefix);
}

bool AddHashField(const HistogramLayout& layout, std::string_view field,
                  int64_t value, HistogramCounts& counts) {
    if (!field.starts_with(layout.prefix)) return false;
    field.remove_prefix(layout.prefix.size());
    if (!field.starts_with(':')) return false;
    field.remove_prefix(1);
    if (field == "sum_us") {
        counts.sum_us += value;
        return true;
    }
    size_t index = 0;
    const char* end = field.data() + field.size();
    const auto [ptr, ec] = std::from_chars(field.data(), end, index);
    if (ec != std::errc() || ptr != end || field.empty()) return false;
    counts.counts[std::min(index, layout.bounds.size())] += value;
    return true;
}

}  // namespace drip::prometheus
