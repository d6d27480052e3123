// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Where Redis lives: the parsed form of a redis://, rediss:// or unix:// URL,
// and a redacted rendering of it that is safe to log.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/errc.h"

namespace drip::config {

struct RedisUrl {
    enum class Scheme { kTcp, kTls, kUnix };

    Scheme scheme = Scheme::kTcp;
    // kTcp and kTls only: a name or an address; an IPv6 address is kept
    // without its brackets ("::1"). Empty for kUnix.
    std::string host = "127.0.0.1";
    // kTcp and kTls only; 0 for kUnix.
    uint16_t port = 6379;
    // kUnix only: the absolute path of the socket.
    std::string path;
    // Empty: AUTH with the password alone (or no AUTH).
    std::string user;
    // Empty: no AUTH. Never log it; log Redacted() instead.
    std::string password;
    // The SELECT index, 0 to 2147483647.
    int db = 0;

    // The URL in canonical form with the password replaced by "***", for
    // logs: "redis://app:***@cache:6379/2", "unix:///run/redis.sock?db=1".
    std::string Redacted() const;

    bool operator==(const RedisUrl&) const = default;
};

// Parses one of
//   redis://[[user]:password@]host[:port][/db]
//   rediss://[[user]:password@]host[:port][/db]   (TLS)
//   unix:///path/to/socket[?db=N]
// The scheme is case-insensitive. User and password are percent-decoded; a
// userinfo without ':' is the password (as redis-cli reads it), and a user
// without a password is an error. An IPv6 host goes in brackets
// ("redis://[::1]:6379"). The port defaults to 6379 and db to 0.
// Returns kInvalidArgument with a short phrase ("port out of range",
// "unknown scheme 'http'") for anything malformed; the phrase never contains
// the password. Never throws on bad input.
Result<RedisUrl> ParseRedisUrl(std::string_view text);

// Best effort for text that may not parse: replaces the password in a
// "scheme://user:password@host..." string (or the whole userinfo when it has
// no ':') with "***" and leaves everything else as written. For echoing
// a rejected URL in an error message.
std::string RedactUrlText(std::string_view text);

}  // namespace drip::config
