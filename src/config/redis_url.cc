// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "config/redis_url.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace drip::config {
namespace {

namespace outcome = boost::outcome_v2;

constexpr std::string_view kSchemeSeparator = "://";
constexpr int64_t kMaxDb = std::numeric_limits<int32_t>::max();
// Longest scheme echoed back in an error; anything longer is more likely a
// mangled URL (with a password in it) than a scheme.
constexpr size_t kMaxEchoedScheme = 16;

Error Invalid(std::string detail) {
    return MakeError(Errc::kInvalidArgument, std::move(detail));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char LowerAscii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
    }
    return true;
}

int HexValue(char c) {
    if (IsDigit(c)) return c - '0';
    const char lower = LowerAscii(c);
    if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
    return -1;
}

// Decodes %XX escapes; nullopt when an escape is cut short or not hex.
std::optional<std::string> PercentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }

        if (i + 2 >= text.size()) return std::nullopt;
        const int high = HexValue(text[i + 1]);
        const int low = HexValue(text[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

// RFC 3986 section 2.3: only unreserved characters go through unescaped.
std::string PercentEncode(std::string_view text) {
    constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        if (IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            out.push_back(c);
            continue;
        }

        const auto byte = static_cast<unsigned char>(c);
        out.push_back('%');
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xF]);
    }
    return out;
}

// All of `text` as a decimal number from `min` to `max`: digits only, no
// sign, no spaces.
std::optional<int64_t> ParseBounded(std::string_view text, int64_t min,
                                    int64_t max) {
    if (text.empty()) return std::nullopt;
    for (const char c : text) {
        if (!IsDigit(c)) return std::nullopt;
    }

    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    if (value < min || value > max) return std::nullopt;
    return value;
}

bool IsHostChar(char c) {
    return IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_';
}

bool IsIpv6Char(char c) { return HexValue(c) >= 0 || c == ':' || c == '.'; }

Result<void> ParseUserinfo(std::string_view userinfo, RedisUrl& url) {
    const size_t colon = userinfo.find(':');
    std::optional<std::string> user = std::string();
    std::optional<std::string> password;
    if (colon == std::string_view::npos) {
        // redis-cli reads a lone userinfo as the password.
        password = PercentDecode(userinfo);
    } else {
        user = PercentDecode(userinfo.substr(0, colon));
        password = PercentDecode(userinfo.substr(colon + 1));
    }

    if (!user) return Invalid("bad percent-escape in user");
    if (!password) return Invalid("bad percent-escape in password");
    if (password->empty() && !user->empty()) {
        return Invalid("a user needs a password");
    }

    url.user = std::move(*user);
    url.password = std::move(*password);
    return outcome::success();
}

Result<void> ParsePort(std::string_view text, RedisUrl& url) {
    if (text.empty()) return Invalid("empty port");
    for (const char c : text) {
        if (!IsDigit(c)) return Invalid("port must be numeric");
    }
    const auto port = ParseBounded(text, 1, 65535);
    if (!port) return Invalid("port out of range");
    url.port = static_cast<uint16_t>(*port);
    return outcome::success();
}

Result<void> ParseIpv6HostPort(std::string_view text, RedisUrl& url) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Invalid("unclosed '[' in host");
    const std::string_view host = text.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos) {
        return Invalid("bad IPv6 address");
    }
    for (const char c : host) {
        if (!IsIpv6Char(c)) return Invalid("bad IPv6 address");
    }
    url.host = std::string(host);

    const std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return outcome::success();
    if (rest[0] != ':') return Invalid("unexpected text after ']'");
    return ParsePort(rest.substr(1), url);
}

Result<void> ParseHostPort(std::string_view text, RedisUrl& url) {
    if (!text.empty() && text[0] == '[') return ParseIpv6HostPort(text, url);

    const size_t colon = text.find(':');
    const std::string_view host = text.substr(0, colon);
    if (host.empty()) return Invalid("empty host");
    for (const char c : host) {
        if (!IsHostChar(c)) return Invalid("invalid character in host");
    }
    url.host = std::string(host);
    if (colon == std::string_view::npos) return outcome::success();
    return ParsePort(text.substr(colon + 1), url);
}

Result<void> ParseDb(std::string_view text, RedisUrl& url) {
    const auto db = ParseBounded(text, 0, kMaxDb);
    if (!db) return Invalid("db must be an integer from 0 to 2147483647");
    url.db = static_cast<int>(*db);
    return outcome::success();
}

// `rest` is what follows "redis://" or "rediss://".
Result<RedisUrl> ParseNetworkUrl(std::string_view rest, RedisUrl url) {
    // The userinfo runs to the last '@', so a password may hold '@', '/',
    // '?' or '#' unescaped; a host or db never holds '@'.
    const size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
        auto parsed = ParseUserinfo(rest.substr(0, at), url);
        if (!parsed) return parsed.error();
        rest.remove_prefix(at + 1);
    }

    const size_t slash = rest.find('/');
    auto parsed = ParseHostPort(rest.substr(0, slash), url);
    if (!parsed) return parsed.error();
    if (slash == std::string_view::npos || slash + 1 == rest.size()) {
        return url;
    }
    parsed = ParseDb(rest.substr(slash + 1), url);
    if (!parsed) return parsed.error();
    return url;
}

Result<void> ParseUnixQuery(std::string_view query, RedisUrl& url) {
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view()
                                              : query.substr(amp + 1);
        if (pair.empty()) continue;

        const size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        if (key != "db") {
            return Invalid("unknown query parameter '" + std::string(key) +
                           "' (only db is read)");
        }
        if (eq == std::string_view::npos) return ParseDb({}, url);
        auto parsed = ParseDb(pair.substr(eq + 1), url);
        if (!parsed) return parsed.error();
    }
    return outcome::success();
}

// `rest` is what follows "unix://".
Result<RedisUrl> ParseUnixUrl(std::string_view rest) {
    RedisUrl url;
    url.scheme = RedisUrl::Scheme::kUnix;
    url.host.clear();
    url.port = 0;
    if (rest.empty() || rest[0] != '/') {
        return Invalid(
            "unix socket path must be absolute (unix:///path/to/socket)");
    }

    const size_t question = rest.find('?');
    const std::string_view path = rest.substr(0, question);
    if (path == "/") return Invalid("empty socket path");
    if (path.find('\0') != std::string_view::npos) {
        return Invalid("socket path contains a NUL byte");
    }
    url.path = std::string(path);
    if (question == std::string_view::npos) return url;

    auto parsed = ParseUnixQuery(rest.substr(question + 1), url);
    if (!parsed) return parsed.error();
    return url;
}

std::string UnknownScheme(std::string_view scheme) {
    bool printable = scheme.size() <= kMaxEchoedScheme;
    for (const char c : scheme) {
        printable = printable && (IsAlpha(c) || IsDigit(c) || c == '+' ||
                                  c == '-' || c == '.');
    }
    if (!printable) return "unknown scheme";
    return "unknown scheme '" + std::string(scheme) + "'";
}

}  // namespace

std::string RedisUrl::Redacted() const {
    if (scheme == Scheme::kUnix) {
        return "unix://" + path + "?db=" + std::to_string(db);
    }

    std::string out = scheme == Scheme::kTls ? "rediss://" : "redis://";
    if (!password.empty()) out += PercentEncode(user) + ":***@";
    if (host.find(':') != std::string::npos) {
        out += "[" + host + "]";
    } else {
        out += host;
    }
    out += ":" + std::to_string(port) + "/" + std::to_string(db);
    return out;
}

Result<RedisUrl> ParseRedisUrl(std::string_view text) {
    if (text.empty()) return Invalid("empty URL");
    const size_t separator = text.find(kSchemeSeparator);
    if (separator == std::string_view::npos) {
        return Invalid(
            "missing scheme (expected redis://, rediss:// or unix://)");
    }

    const std::string_view scheme = text.substr(0, separator);
    const std::string_view rest =
        text.substr(separator + kSchemeSeparator.size());
    if (EqualsIgnoreCase(scheme, "unix")) return ParseUnixUrl(rest);

    RedisUrl url;
    if (EqualsIgnoreCase(scheme, "rediss")) {
        url.scheme = RedisUrl::Scheme::kTls;
    } else if (!EqualsIgnoreCase(scheme, "redis")) {
        return Invalid(UnknownScheme(scheme));
    }
    return ParseNetworkUrl(rest, std::move(url));
}

std::string RedactUrlText(std::string_view text) {
    const size_t separator = text.find(kSchemeSeparator);
    const size_t start = separator == std::string_view::npos
                             ? 0
                             : separator + kSchemeSeparator.size();
    const size_t at = text.rfind('@');
    if (at == std::string_view::npos || at < start) return std::string(text);

    const std::string_view userinfo = text.substr(start, at - start);
    const size_t colon = userinfo.find(':');
    const size_t secret_start =
        colon == std::string_view::npos ? start : start + colon + 1;
    return std::string(text.substr(0, secret_start)) + "***" +
           std::string(text.substr(at));
}

}  // namespace drip::config
