// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// libFuzzer target for message validation: MessageParser::ParseOne and
// ParseBatch on arbitrary bytes, checking what their contracts promise
// rather than only that they do not crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "bucket/message.h"

namespace drip::bucket {
namespace {

// serve's batch limit (PRODUCT.md), and a small one that bites often.
constexpr size_t kMaxBatch = 10000;
constexpr size_t kSmallBatch = 3;
// Wrapping a body in [] adds a level; simdjson stops at 1024.
constexpr size_t kMaxWrappableNesting = 1000;

void Require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

// A byte JSON does not allow raw in a string, or that AppendJsonString
// escapes anyway (DEL).
bool HasRawControl(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return true;
        }
    }
    return false;
}

bool IsValidUtf8(std::string_view text) {
    return simdjson::validate_utf8(text.data(), text.size());
}

size_t CountCodePoints(std::string_view text) {
    size_t count = 0;
    for (const char c : text) {
        count += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    }
    return count;
}

// A parser of the harness's own, for reading back what drip wrote.
simdjson::dom::parser& Checker() {
    static simdjson::dom::parser parser;
    return parser;
}

// `literal` is a JSON string literal, without raw control characters, that
// decodes to `expected`.
void RequireLiteral(std::string_view literal, std::string_view expected,
                    const char* what) {
    Require(!HasRawControl(literal), what);
    const simdjson::padded_string padded(literal);
    std::string_view decoded;
    Require(Checker().parse(padded).get_string().get(decoded) ==
                    simdjson::SUCCESS &&
                decoded == expected,
            what);
}

// A message the parser accepted obeys the field rules and survives the
// trip through its stored form.
void CheckAccepted(const Message& message) {
    Require(message.job_priority >= 0 && message.job_priority <= 9,
            "job_priority is 0..9");
    Require(message.job_type >= 0, "job_type is >= 0");
    Require(IsValidUtf8(message.job_publisher), "job_publisher is UTF-8");
    const size_t chars = CountCodePoints(message.job_publisher);
    Require(chars >= 1 && chars <= 128, "job_publisher has 1..128 chars");
    Require(IsValidUtf8(message.data), "data is UTF-8");

    std::string stored = "1\t2\t1\t";
    AppendPayload(stored, message);
    const std::optional<StoredMessage> read = ParseStored(stored);
    Require(read.has_value(), "ParseStored reads what AppendPayload wrote");
    Require(read->seq == 1 && read->enqueued_us == 2 && read->attempt == 1,
            "ParseStored keeps the bucket's fields");
    Require(read->id == message.id, "stored id round-trips");
    Require(read->job_priority == message.job_priority,
            "stored job_priority round-trips");
    Require(read->job_type == message.job_type, "stored job_type round-trips");
    RequireLiteral(read->publisher_json, message.job_publisher,
                   "publisher_json is a JSON literal of job_publisher");
    RequireLiteral(read->data_json, message.data,
                   "data_json is a JSON literal of data");
}

bool IsKnownKind(std::string_view type) {
    for (const std::string_view kind :
         {"missing", "int_type", "string_type", "less_than_equal",
          "greater_than_equal", "string_too_short", "string_too_long",
          "json_invalid", "model_attributes_type", "list_type", "too_short",
          "too_long"}) {
        if (type == kind) {
            return true;
        }
    }
    return false;
}

bool IsKnownField(std::string_view field) {
    return field.empty() || field == "id" || field == "job_priority" ||
           field == "job_type" || field == "job_publisher" || field == "data";
}

// A rejection names at least one problem, each well formed, and renders
// as a 422 body that is valid JSON with one entry per violation.
// `max_index`: the bound on a batch element's index; nullopt for ParseOne,
// whose violations carry none.
void CheckRejected(const std::vector<Violation>& violations,
                   std::optional<size_t> max_index) {
    Require(!violations.empty(), "a rejection has a violation");
    for (const Violation& violation : violations) {
        Require(IsKnownKind(violation.type), "violation type is documented");
        Require(IsKnownField(violation.field), "violation field is known");
        Require(!violation.msg.empty(), "violation has a msg");
        if (violation.index) {
            Require(max_index && *violation.index < *max_index,
                    "violation index is within the batch");
        }
    }

    const std::string body = RenderViolations(violations);
    Require(IsValidUtf8(body), "RenderViolations writes UTF-8");
    Require(!HasRawControl(body), "RenderViolations writes no raw control");
    const simdjson::padded_string padded(body);
    simdjson::dom::array detail;
    Require(Checker().parse(padded)["detail"].get_array().get(detail) ==
                    simdjson::SUCCESS &&
                detail.size() == violations.size(),
            "RenderViolations writes {\"detail\": [one per violation]}");
}

bool SameMessage(const Message& a, const Message& b) {
    return a.id == b.id && a.job_priority == b.job_priority &&
           a.job_type == b.job_type && a.job_publisher == b.job_publisher &&
           a.data == b.data;
}

bool SameViolation(const Violation& a, const Violation& b) {
    return a.index == b.index && a.field == b.field && a.msg == b.msg &&
           a.type == b.type;
}

bool SameViolations(const std::vector<Violation>& a,
                    const std::vector<Violation>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (!SameViolation(a[i], b[i])) {
            return false;
        }
    }
    return true;
}

// Whether the violations say the body parsed as JSON.
bool ParsedAsJson(const std::vector<Violation>& violations) {
    for (const Violation& violation : violations) {
        if (violation.type == "json_invalid") {
            return false;
        }
    }
    return true;
}

// The index of the first non-whitespace byte (RFC 8259 section 2) at or
// after `i`.
size_t SkipJsonSpace(std::string_view text, size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' ||
                               text[i] == '\n' || text[i] == '\r')) {
        ++i;
    }
    return i;
}

// For a body that opens an object with a member, the same body with an
// unknown member holding 1e400 put first. That number does not fit 64
// bits, so it takes the parser down its slower On-Demand path, which must
// judge the rest exactly as the DOM path does. Empty for any other body.
std::string WithBigNumberFirst(std::string_view body) {
    const size_t open = SkipJsonSpace(body, 0);
    if (open == body.size() || body[open] != '{') {
        return {};
    }
    const size_t next = SkipJsonSpace(body, open + 1);
    if (next == body.size() || body[next] == '}') {
        return {};
    }
    std::string out(body.substr(0, open + 1));
    out += R"("\u0000big": 1e400, )";
    out += body.substr(open + 1);
    return out;
}

size_t CountOpenings(std::string_view text) {
    size_t count = 0;
    for (const char c : text) {
        count += c == '[' || c == '{';
    }
    return count;
}

// One parser for every input, as serve keeps one per thread, so that
// buffers reused from a bigger earlier body are exercised too.
MessageParser& Parser() {
    static MessageParser parser;
    return parser;
}

void FuzzParseOne(std::string_view body) {
    // A violation already there must stay: ParseOne appends.
    const Violation sentinel{7, "id", "sentinel", "missing"};
    std::vector<Violation> violations{sentinel};
    Message message;
    const bool ok = Parser().ParseOne(body, message, violations);
    Require(SameViolation(violations.front(), sentinel),
            "ParseOne keeps earlier violations");
    violations.erase(violations.begin());
    if (ok) {
        Require(violations.empty(), "an accepted message has no violation");
        CheckAccepted(message);
    } else {
        CheckRejected(violations, std::nullopt);
    }
    if (!ok && !ParsedAsJson(violations)) {
        return;
    }

    // Valid JSON from here on: the slow path must agree with the fast one.
    const std::string slow_body = WithBigNumberFirst(body);
    if (!slow_body.empty()) {
        std::vector<Violation> slow_violations;
        Message slow_message;
        const bool slow_ok =
            Parser().ParseOne(slow_body, slow_message, slow_violations);
        Require(slow_ok == ok, "a big unknown number changes no verdict");
        Require(!ok || SameMessage(slow_message, message),
                "a big unknown number changes no field");
        Require(ok || SameViolations(slow_violations, violations),
                "a big unknown number changes no violation");
    }

    // As the one element of a batch, the body gets the same verdict.
    if (CountOpenings(body) < kMaxWrappableNesting) {
        const std::string batch = "[" + std::string(body) + "]";
        std::vector<Violation> batch_violations;
        std::vector<Message> messages;
        const bool batch_ok =
            Parser().ParseBatch(batch, kMaxBatch, messages, batch_violations);
        Require(batch_ok == ok, "[body] gets the verdict of body");
        Require(!ok || (messages.size() == 1 &&
                        SameMessage(messages.front(), message)),
                "[body] holds the message of body");
        for (Violation& violation : violations) {
            violation.index = 0;
        }
        Require(ok || SameViolations(batch_violations, violations),
                "[body] gets the violations of body, at index 0");
    }
}

// Parses `body` as a batch of at most `max_batch`; checks the verdict.
bool FuzzParseBatch(std::string_view body, size_t max_batch,
                    std::vector<Message>& messages) {
    std::vector<Violation> violations;
    const bool ok = Parser().ParseBatch(body, max_batch, messages, violations);
    if (ok) {
        Require(violations.empty(), "an accepted batch has no violation");
        Require(!messages.empty() && messages.size() <= max_batch,
                "an accepted batch has 1..max_batch messages");
        for (const Message& message : messages) {
            CheckAccepted(message);
        }
    } else {
        CheckRejected(violations, max_batch);
    }
    return ok;
}

}  // namespace
}  // namespace drip::bucket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace drip::bucket;
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    FuzzParseOne(body);

    std::vector<Message> messages;
    const bool ok = FuzzParseBatch(body, kMaxBatch, messages);
    std::vector<Message> small_messages;
    const bool small_ok = FuzzParseBatch(body, kSmallBatch, small_messages);
    // A lower limit only adds the too_long check.
    Require(small_ok == (ok && messages.size() <= kSmallBatch),
            "a smaller max_batch only rejects longer batches");
    if (small_ok) {
        for (size_t i = 0; i < messages.size(); ++i) {
            Require(SameMessage(small_messages[i], messages[i]),
                    "max_batch changes no message");
        }
    }
    return 0;
}
