// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/delivery_policy.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <iterator>

#include <fmt/format.h>

namespace drip::consume {
namespace {

constexpr Micros kMaxPause = std::chrono::hours(1);
constexpr Micros kMaxRetryDelay = std::chrono::minutes(5);

// The length of the UTF-8 sequence starting at text[i], or 0 when it is
// not a valid one (overlong forms, surrogates and values past U+10FFFF
// included).
size_t SequenceLength(std::string_view text, size_t i) {
    const auto byte = [&](size_t k) {
        return static_cast<unsigned char>(text[k]);
    };
    const unsigned char lead = byte(i);
    if (lead < 0x80) return 1;
    size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (size_t k = 2; k < length; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    return length;
}

std::optional<int> MonthIndex(std::string_view name) {
    constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i) {
        if (kMonths[i] == name) return i;
    }
    return std::nullopt;
}

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

// The IMF-fixdate form only ("Sun, 06 Nov 1994 08:49:37 GMT"): RFC 9110
// makes senders use it; the two obsolete forms are not worth their code.
std::optional<Micros> ParseHttpDate(std::string_view value) {
    if (value.size() != 29 || value.substr(3, 2) != ", " ||
        value.substr(25) != " GMT") {
        return std::nullopt;
    }
    std::tm tm{};
    int day = 0;
    int year = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    const auto month = MonthIndex(value.substr(8, 3));
    if (!month || !ParseNumber(value.substr(5, 2), day) ||
        !ParseNumber(value.substr(12, 4), year) ||
        !ParseNumber(value.substr(17, 2), hour) ||
        !ParseNumber(value.substr(20, 2), minute) ||
        !ParseNumber(value.substr(23, 2), second) || value[16] != ' ' ||
        value[19] != ':' || value[22] != ':') {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = *month;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const time_t seconds = ::timegm(&tm);
    if (seconds == -1) return std::nullopt;
    return std::chrono::seconds(seconds);
}

}  // namespace

Verdict Classify(int status) {
    if (status >= 200 && status < 300) return Verdict::kDelivered;
    if (status == 0 || status == 429 || status >= 500) return Verdict::kRetry;
    return Verdict::kPermanent;
}

std::optional<Micros> ParseRetryAfter(std::string_view value, Micros now) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
        int64_t seconds = 0;
        // More digits than int64 holds is still "a long time".
        if (!ParseNumber(value, seconds)) return kMaxPause;
        if (seconds > kMaxPause.count() / 1'000'000) return kMaxPause;
        return std::chrono::seconds(seconds);
    }
    const auto date = ParseHttpDate(value);
    if (!date) return std::nullopt;
    return std::max(*date - now, Micros(0));
}

std::optional<Micros> PauseAsked(const DeliveryAnswer& answer, Micros now) {
    if (answer.status != 429 && answer.status != 503) return std::nullopt;
    const auto pause = ParseRetryAfter(answer.retry_after, now);
    if (!pause || *pause <= Micros(0)) return std::nullopt;
    return std::min(*pause, kMaxPause);
}

Micros RetryDelay(int next_attempt, Micros base, double unit_random) {
    double delay = static_cast<double>(base.count());
    for (int i = 2; i < next_attempt && delay < kMaxRetryDelay.count(); ++i) {
        delay *= 2;
    }
    delay = std::min(delay, static_cast<double>(kMaxRetryDelay.count()));
    const double scale = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
    return Micros(static_cast<int64_t>(std::llround(delay * scale)));
}

std::string Utf8Excerpt(std::string_view text, size_t max_bytes) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
        const size_t length = SequenceLength(text, i);
        const size_t needed = length == 0 ? 3 : length;  // U+FFFD is 3 bytes
        if (out.size() + needed > max_bytes) break;
        if (length == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    return out;
}

std::string LastError(const DeliveryAnswer& answer) {
    if (answer.status == 0) return answer.excerpt;
    if (answer.excerpt.empty()) return fmt::format("HTTP {}", answer.status);
    return fmt::format("HTTP {}: {}", answer.status, answer.excerpt);
}

}  // namespace drip::consume
