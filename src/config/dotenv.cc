// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "config/dotenv.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

namespace drip::config {
namespace {

using Env = std::map<std::string, std::string>;

constexpr std::string_view kSpace = " \t\r\f\v";
constexpr std::string_view kExport = "export";
constexpr size_t kReadChunk = size_t{16} * 1024;

Error Invalid(std::string detail) {
    return MakeError(Errc::kInvalidArgument, std::move(detail));
}

bool IsSpace(char c) { return kSpace.find(c) != std::string_view::npos; }

std::string_view TrimLeft(std::string_view text) {
    const size_t start = text.find_first_not_of(kSpace);
    return start == std::string_view::npos ? std::string_view()
                                           : text.substr(start);
}

std::string_view Trim(std::string_view text) {
    text = TrimLeft(text);
    return text.substr(0, text.find_last_not_of(kSpace) + 1);
}

bool IsKeyStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool IsValidKey(std::string_view key) {
    if (key.empty() || !IsKeyStart(key[0])) return false;
    for (const char c : key) {
        if (!IsKeyStart(c) && !(c >= '0' && c <= '9')) return false;
    }
    return true;
}

// What may follow a closing quote: whitespace, then nothing or a comment.
bool OnlyCommentLeft(std::string_view rest) {
    rest = TrimLeft(rest);
    return rest.empty() || rest[0] == '#';
}

// `text` follows the opening quote.
Result<std::string> ParseSingleQuoted(std::string_view text) {
    const size_t close = text.find('\'');
    if (close == std::string_view::npos) {
        return Invalid("unterminated single quote");
    }
    if (!OnlyCommentLeft(text.substr(close + 1))) {
        return Invalid("unexpected text after closing quote");
    }
    return std::string(text.substr(0, close));
}

std::optional<char> Unescape(char c) {
    switch (c) {
        case 'n':
            return '\n';
        case 't':
            return '\t';
        case 'r':
            return '\r';
        case '"':
        case '\\':
            return c;
        default:
            return std::nullopt;
    }
}

// `text` follows the opening quote.
Result<std::string> ParseDoubleQuoted(std::string_view text) {
    std::string value;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '"') {
            if (!OnlyCommentLeft(text.substr(i + 1))) {
                return Invalid("unexpected text after closing quote");
            }
            return value;
        }

        if (text[i] != '\\') {
            value.push_back(text[i]);
            continue;
        }
        if (++i == text.size()) break;
        const auto unescaped = Unescape(text[i]);
        if (!unescaped) {
            return Invalid(
                "unknown escape in double quotes (use \\n \\t \\r \\\" or "
                "\\\\)");
        }
        value.push_back(*unescaped);
    }
    return Invalid("unterminated double quote");
}

// `text` is everything after '='. A comment starts at a '#' that follows
// whitespace, so "KEY=a#b" keeps its '#'.
std::string ParseUnquoted(std::string_view text) {
    for (size_t i = 1; i < text.size(); ++i) {
        if (text[i] == '#' && IsSpace(text[i - 1])) {
            text = text.substr(0, i);
            break;
        }
    }
    return std::string(Trim(text));
}

Result<std::string> ParseValue(std::string_view text) {
    const std::string_view trimmed = TrimLeft(text);
    if (!trimmed.empty() && trimmed[0] == '\'') {
        return ParseSingleQuoted(trimmed.substr(1));
    }
    if (!trimmed.empty() && trimmed[0] == '"') {
        return ParseDoubleQuoted(trimmed.substr(1));
    }
    return ParseUnquoted(text);
}

// `line` is trimmed, and neither blank nor a comment.
Result<std::pair<std::string, std::string>> ParseLine(std::string_view line) {
    if (line.substr(0, kExport.size()) == kExport &&
        line.size() > kExport.size() && IsSpace(line[kExport.size()])) {
        line = TrimLeft(line.substr(kExport.size()));
    }

    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Invalid("expected KEY=VALUE");
    const std::string_view key = Trim(line.substr(0, eq));
    if (!IsValidKey(key)) {
        return Invalid(
            "invalid key (use letters, digits and '_', not starting with a "
            "digit)");
    }

    auto value = ParseValue(line.substr(eq + 1));
    if (!value) return value.error();
    return std::pair(std::string(key), std::move(value).assume_value());
}

Result<std::string> ReadWholeFile(std::FILE* file) {
    std::string text;
    char chunk[kReadChunk];
    while (true) {
        const size_t got = std::fread(chunk, 1, sizeof(chunk), file);
        text.append(chunk, got);
        if (got < sizeof(chunk)) break;
    }

    if (std::ferror(file)) {
        return Invalid(std::generic_category().message(errno));
    }
    return text;
}

}  // namespace

Result<Env> ParseDotenv(std::string_view text) {
    Env env;
    size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const size_t newline = text.find('\n');
        const std::string_view line = Trim(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view()
                                                 : text.substr(newline + 1);
        if (line.empty() || line[0] == '#') continue;

        auto entry = ParseLine(line);
        if (!entry) {
            return Invalid("line " + std::to_string(line_number) + ": " +
                           entry.error().detail);
        }
        env.insert_or_assign(std::move(entry.assume_value().first),
                             std::move(entry.assume_value().second));
    }
    return env;
}

Result<Env> ReadDotenvFile(const std::string& path, bool required) {
    if (path.find('\0') != std::string::npos) {
        return Invalid("env file path contains a NUL byte");
    }
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
        std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) {
        const int error = errno;
        if (error == ENOENT && !required) return Env();
        return Invalid(path + ": " + std::generic_category().message(error));
    }

    auto text = ReadWholeFile(file.get());
    if (!text) return Invalid(path + ": " + text.error().detail);
    auto env = ParseDotenv(text.assume_value());
    if (!env) return Invalid(path + ": " + env.error().detail);
    return env;
}

}  // namespace drip::config
