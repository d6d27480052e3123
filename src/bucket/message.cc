// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/message.h"

#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include <simdjson.h>

#include "common/json_writer.h"

namespace drip::bucket {
namespace {

namespace dom = simdjson::dom;
namespace ondemand = simdjson::ondemand;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

// The limits PRODUCT.md "The message" puts on each field.
struct IntegerRule {
    std::string_view field;
    int64_t min;
    int64_t max;
};

struct StringRule {
    std::string_view field;
    size_t min_chars;  // code points, not bytes
    size_t max_chars;
};

constexpr IntegerRule kIdRule{"id", kInt64Min, kInt64Max};
constexpr IntegerRule kJobPriorityRule{"job_priority", 0, 9};
constexpr IntegerRule kJobTypeRule{"job_type", 0, kInt64Max};
constexpr StringRule kJobPublisherRule{"job_publisher", 1, 128};
// Only the body limit bounds `data`, and the HTTP layer enforces that.
constexpr StringRule kDataRule{"data", 0, kUnlimited};

// Appends the violations of one message, tagged with its batch index.
class ViolationSink {
  public:
    ViolationSink(std::vector<Violation>& violations,
                  std::optional<size_t> index)
        : violations_(violations), index_(index) {}

    void Add(std::string_view field, std::string msg, std::string_view type) {
        violations_.push_back(Violation{index_, std::string(field),
                                        std::move(msg), std::string(type)});
    }

  private:
    std::vector<Violation>& violations_;
    std::optional<size_t> index_;
};

// "1 item", "2 items".
std::string Counted(size_t count, std::string_view noun) {
    std::string text = std::to_string(count);
    text += ' ';
    text += noun;
    if (count != 1) {
        text += 's';
    }
    return text;
}

// The text after "Invalid JSON: " for a simdjson parse error.
std::string_view InvalidJsonReason(simdjson::error_code error) {
    switch (error) {
        case simdjson::EMPTY:
            return "the body is empty";
        case simdjson::UTF8_ERROR:
            return "the input is not valid UTF-8";
        case simdjson::STRING_ERROR:
            return "a string has a bad escape or a lone surrogate";
        case simdjson::UNESCAPED_CHARS:
            return "a string holds an unescaped control character";
        case simdjson::UNCLOSED_STRING:
            return "a string is not closed";
        case simdjson::NUMBER_ERROR:
            return "a number is malformed";
        case simdjson::DEPTH_ERROR:
            return "the document is nested too deeply";
        default:
            return simdjson::error_message(error);
    }
}

// What validation needs of one field's value, whichever parser read it.
struct FieldValue {
    // kMissing: no such field. kOther: neither an integer nor a string
    // (1.5, 1e400, true, null, an array or an object).
    enum class Kind { kMissing, kOther, kInteger, kString };
    Kind kind = Kind::kMissing;
    // kInteger: the value, clamped to the int64 range.
    int64_t integer = 0;
    // kInteger: -1 when the value lies below INT64_MIN, 1 when it lies
    // above INT64_MAX, else 0.
    int overflow = 0;
    // kString: the decoded text, in the parser's buffers.
    std::string_view text;
};

FieldValue OtherValue() {
    return FieldValue{FieldValue::Kind::kOther, 0, 0, {}};
}

FieldValue IntegerValue(int64_t integer, int overflow) {
    return FieldValue{FieldValue::Kind::kInteger, integer, overflow, {}};
}

FieldValue StringValue(std::string_view text) {
    return FieldValue{FieldValue::Kind::kString, 0, 0, text};
}

// The values found for the five fields.
struct FoundFields {
    // The slot for the field named `key`, or nullptr for an unknown field.
    FieldValue* SlotFor(std::string_view key) {
        if (key == kIdRule.field) {
            return &id;
        }
        if (key == kJobPriorityRule.field) {
            return &job_priority;
        }
        if (key == kJobTypeRule.field) {
            return &job_type;
        }
        if (key == kJobPublisherRule.field) {
            return &job_publisher;
        }
        if (key == kDataRule.field) {
            return &data;
        }
        return nullptr;
    }

    FieldValue id;
    FieldValue job_priority;
    FieldValue job_type;
    FieldValue job_publisher;
    FieldValue data;
};

FieldValue ReadValue(dom::element value) {
    switch (value.type()) {
        case dom::element_type::INT64:
            return IntegerValue(value.get_int64().value_unsafe(), 0);
        case dom::element_type::UINT64:
            // simdjson types an integer UINT64 only above INT64_MAX.
            return IntegerValue(kInt64Max, 1);
        case dom::element_type::STRING:
            return StringValue(value.get_string().value_unsafe());
        default:
            return OtherValue();
    }
}

FoundFields FindFields(dom::object object) {
    FoundFields found;
    // A duplicate key overwrites the earlier value: the last one wins.
    for (const dom::key_value_pair field : object) {
        if (FieldValue* slot = found.SlotFor(field.key)) {
            *slot = ReadValue(field.value);
        }
    }
    return found;
}

bool IsNumberChar(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
           c == 'e' || c == 'E';
}

// The length of the run of characters at the front of `text` that a JSON
// number may hold.
size_t NumberLength(std::string_view text) {
    size_t length = 0;
    while (length < text.size() && IsNumberChar(text[length])) {
        ++length;
    }
    return length;
}

// Drops the digits at the front of `text`; returns how many there were.
size_t SkipDigits(std::string_view& text) {
    size_t count = 0;
    while (count < text.size() && text[count] >= '0' && text[count] <= '9') {
        ++count;
    }
    text.remove_prefix(count);
    return count;
}

// Drops `c` from the front of `text` if it is there.
bool SkipChar(std::string_view& text, char c) {
    if (text.empty() || text.front() != c) {
        return false;
    }
    text.remove_prefix(1);
    return true;
}

// Whether all of `text` is a JSON number (RFC 8259 section 6):
//   -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
bool IsJsonNumber(std::string_view text) {
    SkipChar(text, '-');
    const bool leading_zero = !text.empty() && text.front() == '0';
    const size_t int_digits = SkipDigits(text);
    if (int_digits == 0 || (leading_zero && int_digits > 1)) {
        return false;
    }
    if (SkipChar(text, '.') && SkipDigits(text) == 0) {
        return false;
    }
    if (SkipChar(text, 'e') || SkipChar(text, 'E')) {
        SkipChar(text, '+') || SkipChar(text, '-');
        if (SkipDigits(text) == 0) {
            return false;
        }
    }
    return text.empty();
}

// Overwrites every well-formed number outside strings in `json` with a 0
// and spaces, which leaves the rest of the syntax for a parser to check.
// Malformed numbers stay as they are.
void BlankNumbers(char* json, size_t size) {
    bool in_string = false;
    for (size_t i = 0; i < size; ++i) {
        if (in_string) {
            if (json[i] == '\\') {
                ++i;  // the escaped character cannot end the string
            } else if (json[i] == '"') {
                in_string = false;
            }
        } else if (json[i] == '"') {
            in_string = true;
        } else if (IsNumberChar(json[i])) {
            const size_t length = NumberLength({json + i, size - i});
            if (IsJsonNumber({json + i, length})) {
                json[i] = '0';
                std::memset(json + i + 1, ' ', length - 1);
            }
            i += length - 1;
        }
    }
}

// Reads a well-formed JSON number from its text (which may be followed by
// whitespace), as an integer field sees it.
FieldValue ReadNumberText(std::string_view token) {
    token = token.substr(0, NumberLength(token));
    if (token.find_first_of(".eE") != std::string_view::npos) {
        // 1.0 and 1e2 are not integers.
        return OtherValue();
    }

    int64_t number = 0;
    const auto result =
        std::from_chars(token.data(), token.data() + token.size(), number);
    if (result.ec == std::errc()) {
        return IntegerValue(number, 0);
    }
    return token.front() == '-' ? IntegerValue(kInt64Min, -1)
                                : IntegerValue(kInt64Max, 1);
}

simdjson::simdjson_result<FieldValue> ReadValue(ondemand::value& value) {
    ondemand::json_type type;
    if (const auto error = value.type().get(type)) {
        return error;
    }
    std::string_view text;
    switch (type) {
        case ondemand::json_type::number:
            return ReadNumberText(value.raw_json_token());
        case ondemand::json_type::string:
            if (const auto error = value.get_string().get(text)) {
                return error;
            }
            return StringValue(text);
        default:
            return OtherValue();
    }
}

// The On-Demand form of FindFields. Returns an error only when reading
// fails.
simdjson::simdjson_result<FoundFields> FindFields(ondemand::object& object) {
    FoundFields found;
    for (auto result : object) {
        ondemand::field field;
        if (const auto error = std::move(result).get(field)) {
            return error;
        }
        std::string_view key;
        if (const auto error = field.unescaped_key().get(key)) {
            return error;
        }

        // An unknown field's value is skipped unread, however big a number
        // it holds. A duplicate key overwrites: the last one wins.
        FieldValue* slot = found.SlotFor(key);
        if (slot == nullptr) {
            continue;
        }
        if (const auto error = ReadValue(field.value()).get(*slot)) {
            return error;
        }
    }
    return found;
}

// Checks one integer field against `rule`. Returns true with `out` set, or
// adds the violation to `sink` and returns false.
bool CheckInteger(const FieldValue& value, const IntegerRule& rule,
                  ViolationSink& sink, int64_t& out) {
    if (value.kind == FieldValue::Kind::kMissing) {
        sink.Add(rule.field, "Field required", "missing");
        return false;
    }
    if (value.kind != FieldValue::Kind::kInteger) {
        sink.Add(rule.field, "Input should be a valid integer", "int_type");
        return false;
    }

    const int64_t number = value.integer;
    if (value.overflow < 0 || number < rule.min) {
        sink.Add(rule.field,
                 "Input should be greater than or equal to " +
                     std::to_string(rule.min),
                 "greater_than_equal");
        return false;
    }
    if (value.overflow > 0 || number > rule.max) {
        sink.Add(
            rule.field,
            "Input should be less than or equal to " + std::to_string(rule.max),
            "less_than_equal");
        return false;
    }
    out = number;
    return true;
}

// The number of code points in `text`, which must be valid UTF-8: every
// byte but a continuation byte (10xxxxxx) starts one.
size_t CountCodePoints(std::string_view text) {
    size_t count = 0;
    for (char c : text) {
        count += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    }
    return count;
}

// Checks one string field against `rule`. Returns true with `out` set, or
// adds the violation to `sink` and returns false.
bool CheckString(const FieldValue& value, const StringRule& rule,
                 ViolationSink& sink, std::string& out) {
    if (value.kind == FieldValue::Kind::kMissing) {
        sink.Add(rule.field, "Field required", "missing");
        return false;
    }
    if (value.kind != FieldValue::Kind::kString) {
        sink.Add(rule.field, "Input should be a valid string", "string_type");
        return false;
    }

    const std::string_view text = value.text;
    if (rule.min_chars > 0 || rule.max_chars != kUnlimited) {
        const size_t chars = CountCodePoints(text);
        if (chars < rule.min_chars) {
            sink.Add(rule.field,
                     "String should have at least " +
                         Counted(rule.min_chars, "character"),
                     "string_too_short");
            return false;
        }
        if (chars > rule.max_chars) {
            sink.Add(rule.field,
                     "String should have at most " +
                         Counted(rule.max_chars, "character"),
                     "string_too_long");
            return false;
        }
    }
    out.assign(text);
    return true;
}

// Validates the fields of one message object into `out`, adding every
// violation to `sink`.
bool ValidateFields(const FoundFields& found, ViolationSink& sink,
                    Message& out) {
    // Every check runs, so that every bad field is named, in field order.
    int64_t priority = 0;
    bool ok = CheckInteger(found.id, kIdRule, sink, out.id);
    ok = CheckInteger(found.job_priority, kJobPriorityRule, sink, priority) &&
         ok;
    ok = CheckInteger(found.job_type, kJobTypeRule, sink, out.job_type) && ok;
    ok = CheckString(found.job_publisher, kJobPublisherRule, sink,
                     out.job_publisher) &&
         ok;
    ok = CheckString(found.data, kDataRule, sink, out.data) && ok;
    out.job_priority = static_cast<int>(priority);
    return ok;
}

void AddNotAnObject(ViolationSink& sink) {
    sink.Add("",
             "Input should be a valid dictionary or object to extract fields "
             "from",
             "model_attributes_type");
}

void AddInvalidJson(ViolationSink& sink, simdjson::error_code error) {
    std::string msg = "Invalid JSON: ";
    msg += InvalidJsonReason(error);
    sink.Add("", std::move(msg), "json_invalid");
}

// Validates `root` as one message object into `out`, adding every
// violation to `sink`.
bool ValidateMessage(dom::element root, ViolationSink& sink, Message& out) {
    dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
        AddNotAnObject(sink);
        return false;
    }
    return ValidateFields(FindFields(object), sink, out);
}

// The On-Demand form of ValidateMessage, given what reading the element as
// an object gave. Returns an error only when reading fails.
simdjson::simdjson_result<bool> ValidateMessage(
    simdjson::simdjson_result<ondemand::object> element, ViolationSink& sink,
    Message& out) {
    if (element.error() == simdjson::INCORRECT_TYPE) {
        AddNotAnObject(sink);
        return false;
    }
    if (element.error() != simdjson::SUCCESS) {
        return element.error();
    }

    FoundFields found;
    const simdjson::error_code error =
        FindFields(element.value_unsafe()).get(found);
    if (error != simdjson::SUCCESS) {
        return error;
    }
    return ValidateFields(found, sink, out);
}

void AddNotAList(ViolationSink& sink) {
    sink.Add("", "Input should be a valid list", "list_type");
}

// Checks the length of a batch of `count` elements against `max_batch`.
bool CheckBatchSize(size_t count, size_t max_batch, ViolationSink& sink) {
    if (count == 0) {
        sink.Add("", "List should have at least 1 item after validation, not 0",
                 "too_short");
        return false;
    }
    if (count > max_batch) {
        sink.Add("",
                 "List should have at most " + Counted(max_batch, "item") +
                     " after validation, not " + std::to_string(count),
                 "too_long");
        return false;
    }
    return true;
}

// Validates `root` as a batch of 1..max_batch message objects into `out`,
// adding the violations of every bad element to `violations`.
bool ValidateBatch(dom::element root, size_t max_batch,
                   std::vector<Violation>& violations,
                   std::vector<Message>& out) {
    ViolationSink body_sink(violations, std::nullopt);
    dom::array array;
    if (root.get_array().get(array) != simdjson::SUCCESS) {
        AddNotAList(body_sink);
        return false;
    }
    const size_t count = array.size();
    if (!CheckBatchSize(count, max_batch, body_sink)) {
        return false;
    }

    // Every element is checked, so that one answer names all bad ones.
    out.resize(count);
    bool ok = true;
    size_t index = 0;
    for (const dom::element element : array) {
        ViolationSink sink(violations, index);
        ok = ValidateMessage(element, sink, out[index]) && ok;
        ++index;
    }
    return ok;
}

// The On-Demand form of ValidateBatch. Returns an error only when reading
// fails.
simdjson::simdjson_result<bool> ValidateBatch(
    ondemand::document& doc, size_t max_batch,
    std::vector<Violation>& violations, std::vector<Message>& out) {
    ViolationSink body_sink(violations, std::nullopt);
    ondemand::array array;
    const simdjson::error_code error = doc.get_array().get(array);
    if (error == simdjson::INCORRECT_TYPE) {
        AddNotAList(body_sink);
        return false;
    }
    if (error != simdjson::SUCCESS) {
        return error;
    }
    size_t count = 0;
    if (const auto count_error = array.count_elements().get(count)) {
        return count_error;
    }
    if (!CheckBatchSize(count, max_batch, body_sink)) {
        return false;
    }

    out.resize(count);
    bool ok = true;
    size_t index = 0;
    for (auto element : array) {
        ViolationSink sink(violations, index);
        bool valid = false;
        const auto element_error =
            ValidateMessage(element.get_object(), sink, out[index]).get(valid);
        if (element_error != simdjson::SUCCESS) {
            return element_error;
        }
        ok = valid && ok;
        ++index;
    }
    return ok;
}

// Appends the decimal digits of `value`.
void AppendInteger(std::string& out, int64_t value) {
    std::array<char, 24> digits;
    const auto result =
        std::to_chars(digits.data(), digits.data() + digits.size(), value);
    out.append(digits.data(), result.ptr);
}

// Reads all of `text` as a decimal integer within [min, max].
bool ReadInteger(std::string_view text, int64_t min, int64_t max,
                 int64_t& out) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end ||
        value < min || value > max) {
        return false;
    }
    out = value;
    return true;
}

// Whether `text` is one quoted JSON string literal: it opens and closes
// with an unescaped quote, with no raw quote or control character between.
// Escapes themselves are not checked; AppendJsonString wrote them.
bool IsJsonStringLiteral(std::string_view text) {
    if (text.size() < 2 || text.front() != '"') {
        return false;
    }
    for (size_t i = 1; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte == '\\') {
            ++i;  // the escaped character cannot end the literal
        } else if (byte == '"') {
            return i + 1 == text.size();
        } else if (byte < 0x20) {
            return false;
        }
    }
    return false;
}

constexpr size_t kStoredFieldCount = 8;

// Splits `text` at tabs into exactly kStoredFieldCount fields.
bool SplitStored(std::string_view text,
                 std::array<std::string_view, kStoredFieldCount>& fields) {
    for (size_t i = 0; i < kStoredFieldCount; ++i) {
        const size_t tab = text.find('\t');
        const bool last = i + 1 == kStoredFieldCount;
        if (last != (tab == std::string_view::npos)) {
            return false;
        }
        fields[i] = text.substr(0, tab);
        text.remove_prefix(last ? text.size() : tab + 1);
    }
    return true;
}

void AppendViolation(std::string& out, const Violation& violation) {
    out += R"({"loc": ["body")";
    if (violation.index) {
        out += ", ";
        AppendInteger(out, static_cast<int64_t>(*violation.index));
    }
    if (!violation.field.empty()) {
        out += ", ";
        AppendJsonString(out, violation.field);
    }
    out += R"(], "msg": )";
    AppendJsonString(out, violation.msg);
    out += R"(, "type": )";
    AppendJsonString(out, violation.type);
    out += '}';
}

}  // namespace

struct MessageParser::State {
    // Parses `body` into `root`, valid until the next call.
    simdjson::error_code Parse(std::string_view body, dom::element& root);

    // For a body that Parse rejected with `error`. When that was a number's
    // error, every number is well-formed (so one just does not fit 64 bits)
    // and the rest of the body is valid JSON, iterates the body into `doc`
    // with the On-Demand parser, which reads a number's text rather than
    // its value. Otherwise returns the error that makes the body invalid
    // JSON. Requires: Parse(body) was the last call.
    simdjson::error_code Reparse(std::string_view body,
                                 simdjson::error_code error,
                                 ondemand::document& doc);

    // Validates a body that Parse rejected with `error`: runs `validate`
    // (which returns whether the body is valid, or an error when reading
    // fails) on the document Reparse gives. Without one, or on such an
    // error, the body is invalid JSON: the one violation added says why.
    template <typename Validate>
    bool Recover(std::string_view body, simdjson::error_code error,
                 std::vector<Violation>& violations, Validate validate);

    // Copies `body` into `padded`.
    void Pad(std::string_view body);

    dom::parser parser;
    ondemand::parser ondemand_parser;
    // A copy of the body followed by SIMDJSON_PADDING readable bytes, as
    // simdjson requires; it only grows, so parsing costs no allocation.
    std::vector<char> padded;
};

simdjson::error_code MessageParser::State::Parse(std::string_view body,
                                                 dom::element& root) {
    Pad(body);
    // The DOM parser validates the whole document, unknown fields and all
    // UTF-8 included, and rejects lone surrogate escapes (STRING_ERROR).
    return parser.parse(padded.data(), body.size(), false).get(root);
}

simdjson::error_code MessageParser::State::Reparse(std::string_view body,
                                                   simdjson::error_code error,
                                                   ondemand::document& doc) {
    // simdjson 3.0.1's DOM parser fails the whole document with
    // NUMBER_ERROR on a well-formed number it cannot hold in 64 bits
    // (18446744073709551616, -9223372036854775809, 1e400), just as on a
    // malformed one (01, 1., -). Later versions name a big integer
    // BIGINT_ERROR instead; NamesIdBeyondSixtyFourBits fails until an
    // upgrade adds it here.
    if (error != simdjson::NUMBER_ERROR) {
        return error;
    }

    // With the well-formed numbers blanked out, the DOM parser checks all
    // the rest, malformed numbers included.
    BlankNumbers(padded.data(), body.size());
    dom::element root;
    const simdjson::error_code syntax_error =
        parser.parse(padded.data(), body.size(), false).get(root);
    if (syntax_error != simdjson::SUCCESS) {
        return syntax_error;
    }

    Pad(body);
    return ondemand_parser.iterate(padded.data(), body.size(), padded.size())
        .get(doc);
}

template <typename Validate>
bool MessageParser::State::Recover(std::string_view body,
                                   simdjson::error_code error,
                                   std::vector<Violation>& violations,
                                   Validate validate) {
    const size_t kept = violations.size();
    ondemand::document doc;
    bool ok = false;
    error = Reparse(body, error, doc);
    if (error == simdjson::SUCCESS) {
        error = validate(doc).get(ok);
    }
    if (error != simdjson::SUCCESS) {
        violations.resize(kept);  // drop those of an unfinished walk
        ViolationSink sink(violations, std::nullopt);
        AddInvalidJson(sink, error);
    }
    return ok;
}

void MessageParser::State::Pad(std::string_view body) {
    const size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
    if (padded.size() < needed) {
        padded.resize(needed);
    }
    if (!body.empty()) {
        std::memcpy(padded.data(), body.data(), body.size());
    }
}

MessageParser::MessageParser() : state_(std::make_unique<State>()) {}

MessageParser::~MessageParser() = default;

MessageParser::MessageParser(MessageParser&&) noexcept = default;

MessageParser& MessageParser::operator=(MessageParser&&) noexcept = default;

bool MessageParser::ParseOne(std::string_view body, Message& out,
                             std::vector<Violation>& violations) {
    dom::element root;
    const simdjson::error_code error = state_->Parse(body, root);
    if (error != simdjson::SUCCESS) [[unlikely]] {
        auto validate = [&](ondemand::document& doc) {
            ViolationSink sink(violations, std::nullopt);
            return ValidateMessage(doc.get_object(), sink, out);
        };
        return state_->Recover(body, error, violations, validate);
    }
    ViolationSink sink(violations, std::nullopt);
    return ValidateMessage(root, sink, out);
}

bool MessageParser::ParseBatch(std::string_view body, size_t max_batch,
                               std::vector<Message>& out,
                               std::vector<Violation>& violations) {
    dom::element root;
    const simdjson::error_code error = state_->Parse(body, root);
    if (error != simdjson::SUCCESS) [[unlikely]] {
        auto validate = [&](ondemand::document& doc) {
            return ValidateBatch(doc, max_batch, violations, out);
        };
        return state_->Recover(body, error, violations, validate);
    }
    return ValidateBatch(root, max_batch, violations, out);
}

std::string RenderViolations(const std::vector<Violation>& violations) {
    std::string out = R"({"detail": [)";
    for (size_t i = 0; i < violations.size(); ++i) {
        if (i > 0) {
            out += ", ";
        }
        AppendViolation(out, violations[i]);
    }
    out += "]}";
    return out;
}

void AppendPayload(std::string& out, const Message& message) {
    AppendInteger(out, message.id);
    out += '\t';
    AppendInteger(out, message.job_priority);
    out += '\t';
    AppendInteger(out, message.job_type);
    out += '\t';
    AppendJsonString(out, message.job_publisher);
    out += '\t';
    AppendJsonString(out, message.data);
}

std::optional<StoredMessage> ParseStored(std::string_view stored) {
    std::array<std::string_view, kStoredFieldCount> fields;
    if (!SplitStored(stored, fields)) {
        return std::nullopt;
    }

    StoredMessage message;
    int64_t attempt = 0;
    int64_t priority = 0;
    const bool ok =
        ReadInteger(fields[0], 0, kInt64Max, message.seq) &&
        ReadInteger(fields[1], 0, kInt64Max, message.enqueued_us) &&
        ReadInteger(fields[2], 1, std::numeric_limits<int>::max(), attempt) &&
        ReadInteger(fields[3], kIdRule.min, kIdRule.max, message.id) &&
        ReadInteger(fields[4], kJobPriorityRule.min, kJobPriorityRule.max,
                    priority) &&
        ReadInteger(fields[5], kJobTypeRule.min, kJobTypeRule.max,
                    message.job_type) &&
        IsJsonStringLiteral(fields[6]) && IsJsonStringLiteral(fields[7]);
    if (!ok) {
        return std::nullopt;
    }
    message.attempt = static_cast<int>(attempt);
    message.job_priority = static_cast<int>(priority);
    message.publisher_json = fields[6];
    message.data_json = fields[7];
    return message;
}

}  // namespace drip::bucket

namespace drip::bucket {

bool ParseSeqSelection(std::string_view body,
                       std::optional<std::vector<int64_t>>& seqs,
                       std::vector<Violation>& violations) {
    seqs.reset();
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return true;
    }
    // Rare and small: a parser of its own rather than the message parser's
    // reused buffers.
    dom::parser parser;
    dom::element root;
    if (const auto error = parser.parse(body).get(root);
        error != simdjson::SUCCESS) {
        violations.push_back({std::nullopt, "",
                              std::string(InvalidJsonReason(error)),
                              "json_invalid"});
        return false;
    }
    dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) {
        violations.push_back({std::nullopt, "", "Input should be an object",
                              "model_attributes_type"});
        return false;
    }
    dom::element list;
    if (object["seqs"].get(list) != simdjson::SUCCESS) return true;
    dom::array array;
    if (list.get_array().get(array) != simdjson::SUCCESS) {
        violations.push_back({std::nullopt, "seqs",
                              "Input should be a list of integers",
                              "list_type"});
        return false;
    }
    std::vector<int64_t> chosen;
    for (dom::element item : array) {
        int64_t seq = 0;
        if (!item.is_int64() ||
            item.get_int64().get(seq) != simdjson::SUCCESS || seq < 1) {
            violations.push_back({std::nullopt, "seqs",
                                  "Input should be a list of seqs (integers "
                                  "from 1)",
                                  "int_type"});
            return false;
        }
        chosen.push_back(seq);
    }
    seqs = std::move(chosen);
    return true;
}

}  // namespace drip::bucket
