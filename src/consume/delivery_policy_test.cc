// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/delivery_policy.h"

#include <gtest/gtest.h>

namespace drip::consume {
namespace {

using std::chrono::seconds;

// 2026-12-03T10:00:00Z.
constexpr Micros kNow = seconds(1'796'292'000);

TEST(ClassifyTest, FollowsTheProcessingRules) {
    EXPECT_EQ(Classify(200), Verdict::kDelivered);
    EXPECT_EQ(Classify(204), Verdict::kDelivered);
    EXPECT_EQ(Classify(299), Verdict::kDelivered);
    EXPECT_EQ(Classify(0), Verdict::kRetry);
    EXPECT_EQ(Classify(429), Verdict::kRetry);
    EXPECT_EQ(Classify(500), Verdict::kRetry);
    EXPECT_EQ(Classify(503), Verdict::kRetry);
    EXPECT_EQ(Classify(400), Verdict::kPermanent);
    EXPECT_EQ(Classify(404), Verdict::kPermanent);
    EXPECT_EQ(Classify(422), Verdict::kPermanent);
    // Redirects are not followed: the URL is the operator's to fix.
    EXPECT_EQ(Classify(301), Verdict::kPermanent);
}

TEST(RetryAfterTest, ReadsSeconds) {
    EXPECT_EQ(ParseRetryAfter("5", kNow), seconds(5));
    EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), seconds(0));
    EXPECT_EQ(ParseRetryAfter("99999999999999999999999", kNow),
              std::chrono::hours(1));
}

TEST(RetryAfterTest, ReadsAnHttpDate) {
    EXPECT_EQ(ParseRetryAfter("Thu, 03 Dec 2026 10:00:30 GMT", kNow),
              seconds(30));
    EXPECT_EQ(ParseRetryAfter("Thu, 03 Dec 2026 09:00:00 GMT", kNow),
              Micros(0));
}

TEST(RetryAfterTest, RefusesAnythingElse) {
    EXPECT_FALSE(ParseRetryAfter("", kNow));
    EXPECT_FALSE(ParseRetryAfter("-1", kNow));
    EXPECT_FALSE(ParseRetryAfter("1.5", kNow));
    EXPECT_FALSE(ParseRetryAfter("soon", kNow));
    EXPECT_FALSE(ParseRetryAfter("Thu, 03 Dec 2026 10:00:30 UTC", kNow));
    EXPECT_FALSE(ParseRetryAfter("Thu, 03 Foo 2026 10:00:30 GMT", kNow));
}

TEST(PauseAskedTest, OnlyFor429And503WithRetryAfter) {
    EXPECT_EQ(PauseAsked({429, "", "2"}, kNow), seconds(2));
    EXPECT_EQ(PauseAsked({503, "", "1"}, kNow), seconds(1));
    EXPECT_FALSE(PauseAsked({429, "", ""}, kNow));
    EXPECT_FALSE(PauseAsked({500, "", "2"}, kNow));
    EXPECT_FALSE(PauseAsked({429, "", "0"}, kNow));
    EXPECT_EQ(PauseAsked({429, "", "86400"}, kNow), std::chrono::hours(1));
}

TEST(RetryDelayTest, DoublesFromTheBaseWithJitter) {
    const Micros base = seconds(1);
    EXPECT_EQ(RetryDelay(2, base, 0.5), Micros(750'000));
    EXPECT_EQ(RetryDelay(2, base, 0.0), Micros(500'000));
    EXPECT_EQ(RetryDelay(3, base, 0.0), Micros(1'000'000));
    EXPECT_EQ(RetryDelay(4, base, 0.0), Micros(2'000'000));
    EXPECT_EQ(RetryDelay(100, base, 0.0), Micros(150'000'000));
    EXPECT_EQ(RetryDelay(100, base, 1.0), Micros(300'000'000));
}

TEST(Utf8ExcerptTest, CutsOnACharacterBoundary) {
    EXPECT_EQ(Utf8Excerpt("hello", 3), "hel");
    // "é" is two bytes: it does not fit in the last one.
    EXPECT_EQ(Utf8Excerpt("ab\xC3\xA9", 3), "ab");
    EXPECT_EQ(Utf8Excerpt("ab\xC3\xA9", 4), "ab\xC3\xA9");
}

TEST(Utf8ExcerptTest, ReplacesWhatIsNotUtf8) {
    EXPECT_EQ(Utf8Excerpt("a\xFF"
                          "b",
                          16),
              "a\xEF\xBF\xBD"
              "b");
    // A lone surrogate, encoded as CESU would.
    EXPECT_EQ(Utf8Excerpt("\xED\xA0\x80", 16),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    // Cut in the middle of a sequence at the end of the input.
    EXPECT_EQ(Utf8Excerpt("a\xE2\x82", 16), "a\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(LastErrorTest, NamesTheStatusOrTheTransportError) {
    EXPECT_EQ(LastError({400, "bad field", ""}), "HTTP 400: bad field");
    EXPECT_EQ(LastError({500, "", ""}), "HTTP 500");
    EXPECT_EQ(LastError({0, "connection refused", ""}), "connection refused");
}

}  // namespace
}  // namespace drip::consume
