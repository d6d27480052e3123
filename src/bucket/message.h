// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// A producer's message: parsing and validating it from a request body (one
// object or a batch), the 422 body that names what was wrong, and the
// tab-separated form a message is stored in inside the bucket.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drip::bucket {

// One message, as PRODUCT.md "The message" defines it.
struct Message {
    int64_t id = 0;             // any int64; the client's own id, not unique
    int job_priority = 0;       // 0..9; 0 leaks first
    int64_t job_type = 0;       // >= 0
    std::string job_publisher;  // 1..128 code points of UTF-8
    std::string data;           // any valid UTF-8, decoded (escapes resolved)
};

// One problem with the input, in the shape of an element of the 422 body:
// {"loc": ["body", (INDEX,) FIELD], "msg": TEXT, "type": KIND}.
struct Violation {
    // Set for an element of a batch: its position in the array.
    std::optional<size_t> index;
    // The message field at fault; empty when the body (or the batch
    // element) as a whole is at fault.
    std::string field;
    // Human-readable text, e.g. "Field required".
    std::string msg;
    // Machine-readable kind: "missing", "int_type", "string_type",
    // "less_than_equal", "greater_than_equal", "string_too_short",
    // "string_too_long", "json_invalid", "model_attributes_type" (not an
    // object), "list_type" (a batch that is not an array), "too_short" (an
    // empty batch) or "too_long" (a batch over its limit).
    std::string type;
};

// Parses and validates messages.
//
// Types are strict: only a JSON integer is an integer ("1", 1.0, 1e2,
// 1e400 and true are not), and only a JSON string is a string. An integer
// beyond int64, however many digits it has, is out of range for its field
// (less_than_equal or greater_than_equal). Unknown fields are ignored,
// whatever numbers they hold, but the whole document must still be valid
// JSON and valid UTF-8 (a lone surrogate escape is not). Of duplicate keys
// the last one wins, as with Python's json module.
//
// The parser reuses its buffers between calls, so a message costs no
// allocation once they have grown to the largest body seen; a body with a
// number beyond 64 bits takes a slower path that parses it three times. Not
// thread-safe: use one parser per thread.
class MessageParser {
  public:
    MessageParser();
    ~MessageParser();
    MessageParser(MessageParser&&) noexcept;
    MessageParser& operator=(MessageParser&&) noexcept;

    // Parses `body` as one message object. Returns true when it is valid,
    // with `out` filled. Otherwise appends one violation per bad field (all
    // of them, in field order id, job_priority, job_type, job_publisher,
    // data), or one for the body as a whole, and returns false; `out` is
    // then unspecified.
    bool ParseOne(std::string_view body, Message& out,
                  std::vector<Violation>& violations);

    // Parses `body` as a JSON array of 1..max_batch message objects. All or
    // nothing: returns true only when every element is valid, with `out`
    // holding them in order (its old contents replaced). Otherwise appends
    // the violations of every bad element (each carrying its index), or one
    // for the body as a whole, and returns false; `out` is then unspecified.
    bool ParseBatch(std::string_view body, size_t max_batch,
                    std::vector<Message>& out,
                    std::vector<Violation>& violations);

  private:
    // simdjson's parsers and the padded copy of the body; kept out of this
    // header because simdjson.h is over a megabyte of code.
    struct State;
    std::unique_ptr<State> state_;
};

// Reads the body of POST /dead/requeue: empty or {} selects every dead
// letter (`seqs` left empty), {"seqs": [S, ...]} those seqs. Returns false
// with a violation (field "seqs", or none for the body) otherwise.
bool ParseSeqSelection(std::string_view body,
                       std::optional<std::vector<int64_t>>& seqs,
                       std::vector<Violation>& violations);

// Renders the 422 body for `violations`:
// {"detail": [{"loc": ["body", 0, "id"], "msg": "...", "type": "..."}]}.
std::string RenderViolations(const std::vector<Violation>& violations);

// Appends the producer-side part of a message's stored form to `out`:
//   ID \t PRIORITY \t TYPE \t "PUBLISHER" \t "DATA"
// PUBLISHER and DATA are JSON string literals (quoted and escaped), so they
// never hold a raw tab or newline. The bucket script prepends
// "SEQ\tENQUEUED_US\tATTEMPT\t" to make the full stored form.
void AppendPayload(std::string& out, const Message& message);

// A message as the consumer reads it back from the bucket. The string
// fields stay JSON literals, so a log record can embed them without
// unescaping and escaping again.
struct StoredMessage {
    int64_t seq = 0;
    int64_t enqueued_us = 0;  // microseconds since the epoch (Redis TIME)
    int attempt = 1;          // 1 for the first delivery attempt
    int64_t id = 0;
    int job_priority = 0;
    int64_t job_type = 0;
    std::string_view publisher_json;  // a JSON string literal, with quotes
    std::string_view data_json;       // a JSON string literal, with quotes
};

// Reads the full stored form
//   SEQ \t ENQUEUED_US \t ATTEMPT \t ID \t PRIORITY \t TYPE \t "PUB" \t "DATA"
// Returns std::nullopt when `stored` is not in that form (a field missing
// or extra, a number malformed or out of range, a string field not a
// quoted literal). The views in the result point into `stored`, which must
// outlive them.
std::optional<StoredMessage> ParseStored(std::string_view stored);

}  // namespace drip::bucket
