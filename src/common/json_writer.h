// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Writing JSON text: string escaping for answers and log records. Parsing is
// simdjson's job; this is only the small output side that simdjson 3.0 lacks.

#pragma once

#include <string>
#include <string_view>

namespace drip {

// Appends `text` to `out` as a quoted JSON string (RFC 8259 section 7):
// quotes, backslashes and every control character are escaped, so that a
// record stays on one line whatever the text holds. `text` must be valid
// UTF-8 (the message validator guarantees it); bytes are copied otherwise.
void AppendJsonString(std::string& out, std::string_view text);

// Returns `text` as a quoted JSON string.
std::string JsonString(std::string_view text);

}  // namespace drip
