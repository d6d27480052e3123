// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// What a delivery's answer means for its message, as PRODUCT.md's
// Processing section gives it: delivered, tried again later, or dead. Pure
// functions, so that the rules are tested without a downstream.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/time_format.h"

namespace drip::consume {

// How one attempt ended, as the HTTP client saw it.
struct DeliveryAnswer {
    // The HTTP status; 0 when no answer came (refused, reset, timed out).
    int status = 0;
    // The first bytes of the body, or what went wrong when status is 0.
    std::string excerpt;
    // The Retry-After header, as sent; empty when absent.
    std::string retry_after;
};

enum class Verdict {
    kDelivered,  // 2xx
    kRetry,      // no answer, 429 or 5xx: a failed attempt
    kPermanent,  // any other status: dead at once
};

Verdict Classify(int status);

// Whether the answer asks the whole bucket to pause: a 429 or a 503 that
// says for how long. Returns the pause, at most one hour (a downstream
// asking for more is more likely wrong than right, and a bucket paused for
// a day looks dead), or nullopt.
std::optional<Micros> PauseAsked(const DeliveryAnswer& answer, Micros now);

// Retry-After as RFC 9110 gives it: a whole number of seconds, or an
// HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT"), taken relative to `now`.
// nullopt when it is neither; a date in the past is zero.
std::optional<Micros> ParseRetryAfter(std::string_view value, Micros now);

// The wait before attempt `next_attempt` (2 for the first retry): `base`
// doubled for each attempt after the second, capped at five minutes, then
// scaled into [0.5, 1.0] by `unit_random` (in [0, 1)) so that messages
// that failed together do not all come back in the same slot.
Micros RetryDelay(int next_attempt, Micros base, double unit_random);

// At most `max_bytes` of `text`, cut on a character boundary, as valid
// UTF-8: a downstream's body may be anything, and it ends up inside a JSON
// log line. Bytes that are not UTF-8 become U+FFFD.
std::string Utf8Excerpt(std::string_view text, size_t max_bytes);

// The dead letter's last_error for an answer: "HTTP 400: <excerpt>" or the
// transport error.
std::string LastError(const DeliveryAnswer& answer);

}  // namespace drip::consume
