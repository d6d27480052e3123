// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/leak_metrics.h"

#include <algorithm>
#include <span>

namespace drip::consume {
namespace {

// HINCRBY takes one field; the loop keeps a flush one round trip.
constexpr std::string_view kFlush = R"lua(
local hist = KEYS[1] .. ':hist'
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', hist, ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
)lua";

void AppendHistogram(redis::Command& command,
                     const prometheus::HistogramLayout& layout,
                     std::span<const int64_t> counts, int64_t sum_us) {
    for (size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] == 0) continue;
        command.Arg(prometheus::BucketField(layout, i)).Arg(counts[i]);
    }
    if (sum_us != 0) command.Arg(prometheus::SumField(layout)).Arg(sum_us);
}

}  // namespace

LeakObservations::LeakObservations(LeakObservations&& other) noexcept
    : counts_(std::exchange(other.counts_, {})) {}

LeakObservations& LeakObservations::operator=(
    LeakObservations&& other) noexcept {
    if (this != &other) counts_ = std::exchange(other.counts_, {});
    return *this;
}

void LeakObservations::Add(Micros wait, std::optional<Micros> gap) {
    wait = std::max(wait, Micros(0));
    ++counts_.wait[prometheus::BucketIndex(prometheus::kWaitBounds, wait)];
    counts_.wait_sum_us += wait.count();
    ++counts_.wait_count;
    if (!gap) return;
    const Micros g = std::max(*gap, Micros(0));
    ++counts_.gap[prometheus::BucketIndex(prometheus::kGapBounds, g)];
    counts_.gap_sum_us += g.count();
}

const redis::Script& LeakObservations::FlushScript() {
    static const redis::Script script(kFlush);
    return script;
}

redis::Command LeakObservations::TakeFlush(std::string_view base_key) {
    redis::Command command;
    command.Arg(base_key);
    AppendHistogram(command, prometheus::kWaitLayout, counts_.wait,
                    counts_.wait_sum_us);
    AppendHistogram(command, prometheus::kGapLayout, counts_.gap,
                    counts_.gap_sum_us);
    Clear();
    return command;
}

boost::asio::awaitable<void> FlushLeakObservations(
    redis::Connection& connection, std::string base_key,
    LeakObservations observations) {
    if (observations.Empty()) co_return;
    const redis::Command command = observations.TakeFlush(base_key);
    // Best effort: see the header.
    (void)co_await connection.Eval(LeakObservations::FlushScript(), 1, command);
}

}  // namespace drip::consume
