// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Reads .env files: KEY=VALUE lines as docker compose and most dotenv
// libraries write them, without variable expansion or multi-line values.

#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/errc.h"

namespace drip::config {

// Parses .env text, one KEY=VALUE per line ("\n" or "\r\n"):
// - blank lines and lines starting with '#' are skipped;
// - an optional "export " prefix is dropped;
// - KEY is [A-Za-z_][A-Za-z0-9_]*, with optional whitespace around '=';
// - a value in single quotes is taken literally; one in double quotes
//   understands \n \t \r \" and \\; either may be followed by a
//   "# comment" and nothing else;
// - an unquoted value ends at " #" (whitespace, then '#'), and surrounding
//   whitespace is trimmed; a '#' inside a word ("a#b") is kept.
// A later line wins over an earlier one with the same key. Values are not
// expanded ($VAR stays as written).
// Returns kInvalidArgument whose detail names the line, e.g.
// "line 3: expected KEY=VALUE". Never throws on bad input.
Result<std::map<std::string, std::string>> ParseDotenv(std::string_view text);

// Reads and parses the file at `path`. A missing file gives an empty map
// when !required; any other failure (a missing required file, an
// unreadable file, a syntax error) gives kInvalidArgument with a detail
// that starts with the path: "conf/.env: line 3: expected KEY=VALUE".
Result<std::map<std::string, std::string>> ReadDotenvFile(
    const std::string& path, bool required);

}  // namespace drip::config
