// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "config/redis_url.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace drip::config {
namespace {

using Scheme = RedisUrl::Scheme;

RedisUrl ParseOk(std::string_view text) {
    auto url = ParseRedisUrl(text);
    EXPECT_TRUE(url) << text << ": " << url.error().detail;
    return url ? url.assume_value() : RedisUrl{};
}

std::string ParseError(std::string_view text) {
    auto url = ParseRedisUrl(text);
    EXPECT_FALSE(url) << text << " parsed";
    if (url) return {};
    EXPECT_EQ(ErrcOf(url.error()), Errc::kInvalidArgument);
    return url.error().detail;
}

TEST(RedisUrlTest, ParsesHostPortAndDb) {
    const RedisUrl url = ParseOk("redis://cache.internal:6380/3");
    EXPECT_EQ(url.scheme, Scheme::kTcp);
    EXPECT_EQ(url.host, "cache.internal");
    EXPECT_EQ(url.port, 6380);
    EXPECT_EQ(url.db, 3);
    EXPECT_TRUE(url.user.empty());
    EXPECT_TRUE(url.password.empty());
}

TEST(RedisUrlTest, DefaultsPortAndDb) {
    for (const char* text : {"redis://cache", "redis://cache/"}) {
        const RedisUrl url = ParseOk(text);
        EXPECT_EQ(url.host, "cache");
        EXPECT_EQ(url.port, 6379);
        EXPECT_EQ(url.db, 0);
    }
}

TEST(RedisUrlTest, DefaultUrlEqualsDefaultStruct) {
    EXPECT_EQ(ParseOk("redis://127.0.0.1:6379/0"), RedisUrl{});
}

TEST(RedisUrlTest, ParsesUserAndPassword) {
    const RedisUrl url = ParseOk("redis://app:s3cret@cache:6379/1");
    EXPECT_EQ(url.user, "app");
    EXPECT_EQ(url.password, "s3cret");
    EXPECT_EQ(url.host, "cache");
    EXPECT_EQ(url.db, 1);
}

TEST(RedisUrlTest, ParsesPasswordWithoutUser) {
    const RedisUrl url = ParseOk("redis://:s3cret@cache");
    EXPECT_TRUE(url.user.empty());
    EXPECT_EQ(url.password, "s3cret");
}

TEST(RedisUrlTest, ReadsLoneUserinfoAsPasswordLikeRedisCli) {
    const RedisUrl url = ParseOk("redis://s3cret@cache");
    EXPECT_TRUE(url.user.empty());
    EXPECT_EQ(url.password, "s3cret");
}

TEST(RedisUrlTest, EmptyUserinfoMeansNoAuth) {
    const RedisUrl url = ParseOk("redis://:@cache");
    EXPECT_TRUE(url.user.empty());
    EXPECT_TRUE(url.password.empty());
}

TEST(RedisUrlTest, PercentDecodesUserAndPassword) {
    const RedisUrl url = ParseOk("redis://us%65r%3A1:p%40ss%2Fw%3a@cache");
    EXPECT_EQ(url.user, "user:1");
    EXPECT_EQ(url.password, "p@ss/w:");
}

TEST(RedisUrlTest, PasswordMayHoldUnescapedAtAndSlash) {
    const RedisUrl url = ParseOk("redis://:p@ss/w?rd#@cache:7000/2");
    EXPECT_EQ(url.password, "p@ss/w?rd#");
    EXPECT_EQ(url.host, "cache");
    EXPECT_EQ(url.port, 7000);
    EXPECT_EQ(url.db, 2);
}

TEST(RedisUrlTest, ParsesTls) {
    const RedisUrl url = ParseOk("rediss://:pw@secure.example.com:6390/4");
    EXPECT_EQ(url.scheme, Scheme::kTls);
    EXPECT_EQ(url.host, "secure.example.com");
    EXPECT_EQ(url.port, 6390);
    EXPECT_EQ(url.db, 4);
    EXPECT_EQ(url.password, "pw");
}

TEST(RedisUrlTest, SchemeIsCaseInsensitive) {
    EXPECT_EQ(ParseOk("REDIS://cache").scheme, Scheme::kTcp);
    EXPECT_EQ(ParseOk("Rediss://cache").scheme, Scheme::kTls);
    EXPECT_EQ(ParseOk("UNIX:///tmp/r.sock").scheme, Scheme::kUnix);
}

TEST(RedisUrlTest, ParsesBracketedIpv6) {
    RedisUrl url = ParseOk("redis://[::1]:6380/5");
    EXPECT_EQ(url.host, "::1");
    EXPECT_EQ(url.port, 6380);
    EXPECT_EQ(url.db, 5);

    url = ParseOk("redis://[2001:db8::7]");
    EXPECT_EQ(url.host, "2001:db8::7");
    EXPECT_EQ(url.port, 6379);
}

TEST(RedisUrlTest, ParsesUnixSocket) {
    const RedisUrl url = ParseOk("unix:///run/redis/redis.sock");
    EXPECT_EQ(url.scheme, Scheme::kUnix);
    EXPECT_EQ(url.path, "/run/redis/redis.sock");
    EXPECT_EQ(url.db, 0);
    EXPECT_TRUE(url.host.empty());
    EXPECT_EQ(url.port, 0);
}

TEST(RedisUrlTest, ParsesUnixSocketDbQuery) {
    const RedisUrl url = ParseOk("unix:///tmp/redis.sock?db=7");
    EXPECT_EQ(url.path, "/tmp/redis.sock");
    EXPECT_EQ(url.db, 7);
}

TEST(RedisUrlTest, AcceptsLargestDb) {
    EXPECT_EQ(ParseOk("redis://cache/2147483647").db, 2147483647);
}

TEST(RedisUrlTest, RejectsUnknownScheme) {
    EXPECT_EQ(ParseError("http://cache:6379"), "unknown scheme 'http'");
}

TEST(RedisUrlTest, RejectsMissingScheme) {
    EXPECT_EQ(ParseError("cache:6379"),
              "missing scheme (expected redis://, rediss:// or unix://)");
    EXPECT_EQ(ParseError(""), "empty URL");
}

TEST(RedisUrlTest, UnknownSchemeErrorNeverEchoesOddText) {
    EXPECT_EQ(ParseError("user:secret@x://host"), "unknown scheme");
}

TEST(RedisUrlTest, RejectsEmptyHost) {
    EXPECT_EQ(ParseError("redis://"), "empty host");
    EXPECT_EQ(ParseError("redis://:6379"), "empty host");
    EXPECT_EQ(ParseError("redis://:pw@/0"), "empty host");
}

TEST(RedisUrlTest, RejectsBadHostCharacters) {
    EXPECT_EQ(ParseError("redis://ca che"), "invalid character in host");
    EXPECT_EQ(ParseError("redis://cache?db=1"), "invalid character in host");
}

TEST(RedisUrlTest, RejectsPortOutOfRange) {
    EXPECT_EQ(ParseError("redis://cache:0"), "port out of range");
    EXPECT_EQ(ParseError("redis://cache:65536"), "port out of range");
    EXPECT_EQ(ParseError("redis://cache:99999999999999999999999"),
              "port out of range");
}

TEST(RedisUrlTest, RejectsNonNumericPort) {
    EXPECT_EQ(ParseError("redis://cache:abc"), "port must be numeric");
    EXPECT_EQ(ParseError("redis://cache:+80"), "port must be numeric");
    EXPECT_EQ(ParseError("redis://cache:6379x"), "port must be numeric");
    EXPECT_EQ(ParseError("redis://cache:"), "empty port");
}

TEST(RedisUrlTest, RejectsBadDb) {
    const std::string kDbError = "db must be an integer from 0 to 2147483647";
    EXPECT_EQ(ParseError("redis://cache/x"), kDbError);
    EXPECT_EQ(ParseError("redis://cache/-1"), kDbError);
    EXPECT_EQ(ParseError("redis://cache/2147483648"), kDbError);
    EXPECT_EQ(ParseError("redis://cache/1/2"), kDbError);
    EXPECT_EQ(ParseError("redis://cache/1?x"), kDbError);
    EXPECT_EQ(ParseError("unix:///tmp/r.sock?db=16x"), kDbError);
    EXPECT_EQ(ParseError("unix:///tmp/r.sock?db"), kDbError);
}

TEST(RedisUrlTest, RejectsTrailingJunk) {
    EXPECT_FALSE(ParseRedisUrl("redis://cache:6379/0 "));
    EXPECT_FALSE(ParseRedisUrl("redis://cache:6379/0#frag"));
    EXPECT_FALSE(ParseRedisUrl("redis://[::1]x"));
}

TEST(RedisUrlTest, RejectsBadIpv6) {
    EXPECT_EQ(ParseError("redis://[::1"), "unclosed '[' in host");
    EXPECT_EQ(ParseError("redis://[]:6379"), "bad IPv6 address");
    EXPECT_EQ(ParseError("redis://[cache]:6379"), "bad IPv6 address");
    EXPECT_EQ(ParseError("redis://[::1]6379"), "unexpected text after ']'");
}

TEST(RedisUrlTest, RejectsBadPercentEscape) {
    EXPECT_EQ(ParseError("redis://:pw%4@cache"),
              "bad percent-escape in password");
    EXPECT_EQ(ParseError("redis://us%zzer:pw@cache"),
              "bad percent-escape in user");
    EXPECT_EQ(ParseError("redis://:pw%@cache"),
              "bad percent-escape in password");
}

TEST(RedisUrlTest, RejectsUserWithoutPassword) {
    EXPECT_EQ(ParseError("redis://app:@cache"), "a user needs a password");
}

TEST(RedisUrlTest, RejectsRelativeOrEmptyUnixPath) {
    const std::string kRelative =
        "unix socket path must be absolute (unix:///path/to/socket)";
    EXPECT_EQ(ParseError("unix://tmp/redis.sock"), kRelative);
    EXPECT_EQ(ParseError("unix://"), kRelative);
    EXPECT_EQ(ParseError("unix://:pw@/tmp/redis.sock"), kRelative);
    EXPECT_EQ(ParseError("unix:///"), "empty socket path");
}

TEST(RedisUrlTest, RejectsUnknownUnixQueryParameter) {
    EXPECT_EQ(ParseError("unix:///tmp/r.sock?timeout=5"),
              "unknown query parameter 'timeout' (only db is read)");
}

TEST(RedisUrlTest, ErrorsNeverContainThePassword) {
    for (const char* text :
         {"redis://app:hunter2@:0", "redis://:hunter2@cache:bad",
          "redis://:hunter2@cache/x", "redis://:hunter2%zz@cache",
          "redis://app:hunter2@[::1"}) {
        EXPECT_EQ(ParseError(text).find("hunter2"), std::string::npos) << text;
    }
}

TEST(RedisUrlTest, RedactedHidesPassword) {
    EXPECT_EQ(ParseOk("redis://app:s3cret@cache:6380/2").Redacted(),
              "redis://app:***@cache:6380/2");
    EXPECT_EQ(ParseOk("rediss://:s3cret@cache").Redacted(),
              "rediss://:***@cache:6379/0");
}

TEST(RedisUrlTest, RedactedIsCanonical) {
    EXPECT_EQ(ParseOk("redis://cache").Redacted(), "redis://cache:6379/0");
    EXPECT_EQ(ParseOk("redis://[::1]:7000").Redacted(), "redis://[::1]:7000/0");
    EXPECT_EQ(ParseOk("unix:///tmp/r.sock?db=3").Redacted(),
              "unix:///tmp/r.sock?db=3");
    EXPECT_EQ(ParseOk("redis://a%20b:pw@cache").Redacted(),
              "redis://a%20b:***@cache:6379/0");
}

TEST(RedisUrlTest, RedactedParsesBackToSameUrlWithoutPassword) {
    RedisUrl url = ParseOk("redis://us%3Aer:pw@[::1]:7000/9");
    RedisUrl round_trip = ParseOk(url.Redacted());
    EXPECT_EQ(round_trip.password, "***");
    round_trip.password = url.password;
    EXPECT_EQ(round_trip, url);
}

TEST(RedisUrlTest, RedactUrlTextMasksPasswordInUnparsableText) {
    EXPECT_EQ(RedactUrlText("redis://app:hunter2@cache:bad"),
              "redis://app:***@cache:bad");
    EXPECT_EQ(RedactUrlText("redis://hunter2@cache"), "redis://***@cache");
    EXPECT_EQ(RedactUrlText("https://u:p@w@hook/x"), "https://u:***@hook/x");
    EXPECT_EQ(RedactUrlText("redis://cache:6379"), "redis://cache:6379");
    EXPECT_EQ(RedactUrlText(":hunter2@cache"), ":***@cache");
}

// A cheap stand-in for the fuzz target: random bytes and random mixes of
// URL punctuation must neither crash nor throw.
TEST(RedisUrlTest, SurvivesArbitraryInput) {
    std::mt19937 random(12345);
    // Holds a NUL byte, so sizeof gives its length.
    constexpr char kAlphabet[] = "redis:/@[]%?=&#.0123456789abcfxu\0 ";
    std::uniform_int_distribution<size_t> length(0, 40);
    std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
    std::uniform_int_distribution<int> byte(0, 255);

    for (int round = 0; round < 20000; ++round) {
        std::string text = round % 2 ? "redis://" : "unix://";
        const size_t size = length(random);
        for (size_t i = 0; i < size; ++i) {
            text.push_back(round % 3 ? kAlphabet[pick(random)]
                                     : static_cast<char>(byte(random)));
        }

        EXPECT_NO_THROW({
            auto url = ParseRedisUrl(text);
            if (url) (void)url.assume_value().Redacted();
            (void)RedactUrlText(text);
        });
    }
}

}  // namespace
}  // namespace drip::config
