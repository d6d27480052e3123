// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// libFuzzer target for the Redis URL parser: config::ParseRedisUrl on
// arbitrary bytes. Checks that a parsed URL's Redacted() form parses again
// to the same URL with the password as "***", and that neither Redacted()
// nor an error depends on what the password is.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/redis_url.h"

namespace drip::config {
namespace {

void Require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a')
                                          : c;
        };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

// For a redis:// or rediss:// text, what RedactUrlText hides: the password
// as written, or the whole userinfo without ':'. Empty otherwise.
std::string_view SecretOf(std::string_view text) {
    const size_t separator = text.find("://");
    if (separator == std::string_view::npos) {
        return {};
    }
    const std::string_view scheme = text.substr(0, separator);
    if (!EqualsIgnoreCase(scheme, "redis") &&
        !EqualsIgnoreCase(scheme, "rediss")) {
        return {};
    }
    const size_t start = separator + 3;
    const size_t at = text.rfind('@');
    if (at == std::string_view::npos || at < start) {
        return {};
    }
    const std::string_view userinfo = text.substr(start, at - start);
    const size_t colon = userinfo.find(':');
    return colon == std::string_view::npos ? userinfo
                                           : userinfo.substr(colon + 1);
}

void CheckParsed(const RedisUrl& url) {
    if (url.scheme == RedisUrl::Scheme::kUnix) {
        Require(url.host.empty() && url.port == 0,
                "a unix URL has no host or port");
        Require(!url.path.empty() && url.path[0] == '/',
                "a unix socket path is absolute");
    } else {
        Require(url.path.empty(), "a network URL has no path");
        Require(!url.host.empty() && url.port != 0,
                "a network URL has a host and a port");
    }
    Require(url.db >= 0, "db is 0..2147483647");
    Require(url.user.empty() || !url.password.empty(),
            "a user comes with a password");
}

// `text` with the case of every ASCII letter of `secret`, a part of it,
// swapped. That keeps percent-escapes valid and ':' and '@' in place, so
// the URL parses or fails as before; only a password that leaks shows.
std::string WithSecretCaseSwapped(std::string_view text,
                                  std::string_view secret) {
    std::string out(text);
    if (secret.empty()) {
        return out;
    }
    const auto start = static_cast<size_t>(secret.data() - text.data());
    for (size_t i = start; i < start + secret.size(); ++i) {
        const char c = out[i];
        if (c >= 'a' && c <= 'z') {
            out[i] = static_cast<char>(c - 'a' + 'A');
        } else if (c >= 'A' && c <= 'Z') {
            out[i] = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

}  // namespace
}  // namespace drip::config

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace drip::config;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto url = ParseRedisUrl(text);
    // Best effort on any text; it must only not crash.
    const std::string redacted_text = RedactUrlText(text);
    const std::string_view secret = SecretOf(text);
    const std::string swapped = WithSecretCaseSwapped(text, secret);
    const auto swapped_url = ParseRedisUrl(swapped);
    Require(swapped_url.has_value() == url.has_value(),
            "the password's case changes no verdict");
    if (!url) {
        Require(ErrcOf(url.error()) == drip::Errc::kInvalidArgument,
                "a bad URL gives kInvalidArgument");
        Require(!url.error().detail.empty(), "a bad URL says why");
        Require(swapped_url.error().detail == url.error().detail,
                "an error never repeats the password");
        return 0;
    }

    CheckParsed(url.value());
    const std::string redacted = url.value().Redacted();
    Require(swapped_url.value().Redacted() == redacted,
            "Redacted() never shows the password");
    const auto again = ParseRedisUrl(redacted);
    Require(again.has_value(), "ParseRedisUrl(url.Redacted()) succeeds");
    RedisUrl expected = url.value();
    if (!expected.password.empty()) {
        expected.password = "***";
    }
    Require(again.value() == expected,
            "Redacted() parses to the URL with the password as ***");
    Require(again.value().Redacted() == redacted,
            "Redacted() is a fixed point");
    return 0;
}
