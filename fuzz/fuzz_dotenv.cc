// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// libFuzzer target for the .env reader: config::ParseDotenv on arbitrary
// bytes. Checks that an error names a real line, that every key read is
// well formed, and that what was read, written back in double quotes,
// reads the same.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "config/dotenv.h"

namespace drip::config {
namespace {

using Env = std::map<std::string, std::string>;

void Require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

bool IsValidKey(std::string_view key) {
    if (key.empty() || (key[0] >= '0' && key[0] <= '9')) {
        return false;
    }
    for (const char c : key) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

size_t CountLines(std::string_view text) {
    size_t lines = 1;
    for (const char c : text) {
        lines += c == '\n';
    }
    return lines;
}

// The error detail is "line N: ..." with N a line of `text`.
void CheckError(const Error& error, std::string_view text) {
    Require(ErrcOf(error) == Errc::kInvalidArgument,
            "a bad .env gives kInvalidArgument");
    const std::string_view detail = error.detail;
    constexpr std::string_view kPrefix = "line ";
    Require(detail.substr(0, kPrefix.size()) == kPrefix,
            "the detail starts with 'line '");
    size_t line = 0;
    size_t i = kPrefix.size();
    while (i < detail.size() && detail[i] >= '0' && detail[i] <= '9') {
        line = line * 10 + static_cast<size_t>(detail[i] - '0');
        ++i;
    }
    Require(detail.substr(i, 2) == ": ", "the line number ends with ': '");
    Require(line >= 1 && line <= CountLines(text),
            "the detail names a line of the text");
}

// `env` as a .env text of KEY="VALUE" lines, escaped the way the reader
// reads double quotes.
std::string Render(const Env& env) {
    std::string out;
    for (const auto& [key, value] : env) {
        out += key;
        out += "=\"";
        for (const char c : value) {
            switch (c) {
                case '\\':
                    out += "\\\\";
                    break;
                case '"':
                    out += "\\\"";
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
                    out += c;
            }
        }
        out += "\"\n";
    }
    return out;
}

}  // namespace
}  // namespace drip::config

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace drip::config;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto env = ParseDotenv(text);
    if (!env) {
        CheckError(env.error(), text);
        return 0;
    }

    Require(env.value().size() <= CountLines(text),
            "at most one setting per line");
    for (const auto& entry : env.value()) {
        Require(IsValidKey(entry.first), "every key is [A-Za-z_][A-Za-z0-9_]*");
    }
    const std::string rendered = Render(env.value());
    const auto again = ParseDotenv(rendered);
    Require(again.has_value(), "the settings, written back, read again");
    Require(again.value() == env.value(),
            "the settings, written back, read the same");
    return 0;
}
