// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "bucket/message.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/json_writer.h"

namespace drip::bucket {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kExample =
    R"({"id": 1, "job_priority": 1, "job_type": 2,)"
    R"( "job_publisher": "mobile_app",)"
    R"( "data": "this is my message from mobile app"})";

constexpr std::string_view kEmoji = "\xf0\x9f\x98\x80";  // U+1F600

// The example message with `field` set to the JSON text `value`, or left
// out when `value` is empty.
std::string ExampleWith(std::string_view field, std::string_view value) {
    std::vector<std::pair<std::string_view, std::string_view>> fields = {
        {"id", "1"},
        {"job_priority", "1"},
        {"job_type", "2"},
        {"job_publisher", R"("mobile_app")"},
        {"data", R"("this is my message from mobile app")"}};
    std::string body = "{";
    for (auto& [name, json] : fields) {
        if (name == field) {
            json = value;
        }
        if (json.empty()) {
            continue;
        }
        body += body.size() > 1 ? ", \"" : "\"";
        body += name;
        body += "\": ";
        body += json;
    }
    return body + "}";
}

std::string Repeat(std::string_view text, size_t times) {
    std::string out;
    for (size_t i = 0; i < times; ++i) {
        out += text;
    }
    return out;
}

// Each violation as "LOC TYPE", e.g. "body.0.id missing".
std::vector<std::string> Describe(const std::vector<Violation>& violations) {
    std::vector<std::string> out;
    for (const Violation& violation : violations) {
        std::string text = "body";
        if (violation.index) {
            text += "." + std::to_string(*violation.index);
        }
        if (!violation.field.empty()) {
            text += "." + violation.field;
        }
        out.push_back(text + " " + violation.type);
    }
    return out;
}

// The violations of `body` as one message, which must be rejected.
std::vector<Violation> ViolationsOf(std::string_view body) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseOne(body, message, violations)) << body;
    return violations;
}

// The same, described as "LOC TYPE".
std::vector<std::string> RejectionOf(std::string_view body) {
    return Describe(ViolationsOf(body));
}

// Parses `body` as one message, which must be accepted.
Message AcceptedOf(std::string_view body) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    EXPECT_TRUE(parser.ParseOne(body, message, violations)) << body;
    EXPECT_THAT(violations, IsEmpty());
    return message;
}

TEST(MessageParserTest, AcceptsProductExample) {
    const Message message = AcceptedOf(kExample);
    EXPECT_EQ(message.id, 1);
    EXPECT_EQ(message.job_priority, 1);
    EXPECT_EQ(message.job_type, 2);
    EXPECT_EQ(message.job_publisher, "mobile_app");
    EXPECT_EQ(message.data, "this is my message from mobile app");
}

TEST(MessageParserTest, IgnoresUnknownFields) {
    std::string with_extra(kExample);
    with_extra.insert(1, R"("extra": {"nested": [1, 2.5, null, "x"]}, )");
    EXPECT_EQ(AcceptedOf(with_extra).id, 1);
}

TEST(MessageParserTest, RejectsStringAsInteger) {
    EXPECT_THAT(RejectionOf(ExampleWith("id", R"("1")")),
                ElementsAre("body.id int_type"));
}

TEST(MessageParserTest, RejectsNonIntegerNumbersAndOtherTypes) {
    for (std::string_view value :
         {"1.5", "1.0", "1e2", "-0.0", "true", "null", "[1]", "{}"}) {
        EXPECT_THAT(RejectionOf(ExampleWith("job_type", value)),
                    ElementsAre("body.job_type int_type"))
            << value;
    }
}

TEST(MessageParserTest, AcceptsPriorityBounds) {
    EXPECT_EQ(AcceptedOf(ExampleWith("job_priority", "0")).job_priority, 0);
    EXPECT_EQ(AcceptedOf(ExampleWith("job_priority", "9")).job_priority, 9);
}

TEST(MessageParserTest, RejectsPriorityAboveNine) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseOne(ExampleWith("job_priority", "10"), message,
                                 violations));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, "job_priority");
    EXPECT_EQ(violations[0].type, "less_than_equal");
    EXPECT_EQ(violations[0].msg, "Input should be less than or equal to 9");
    EXPECT_FALSE(violations[0].index.has_value());
}

TEST(MessageParserTest, RejectsNegativePriority) {
    EXPECT_THAT(RejectionOf(ExampleWith("job_priority", "-1")),
                ElementsAre("body.job_priority greater_than_equal"));
}

TEST(MessageParserTest, RejectsHugePriority) {
    EXPECT_THAT(RejectionOf(ExampleWith("job_priority", "9223372036854775808")),
                ElementsAre("body.job_priority less_than_equal"));
}

TEST(MessageParserTest, RejectsNegativeJobType) {
    EXPECT_THAT(RejectionOf(ExampleWith("job_type", "-1")),
                ElementsAre("body.job_type greater_than_equal"));
}

TEST(MessageParserTest, AcceptsAnyNonNegativeInt64JobType) {
    EXPECT_EQ(AcceptedOf(ExampleWith("job_type", "0")).job_type, 0);
    EXPECT_EQ(
        AcceptedOf(ExampleWith("job_type", "9223372036854775807")).job_type,
        INT64_MAX);
}

TEST(MessageParserTest, AcceptsInt64BoundsAsId) {
    EXPECT_EQ(AcceptedOf(ExampleWith("id", "-9223372036854775808")).id,
              INT64_MIN);
    EXPECT_EQ(AcceptedOf(ExampleWith("id", "9223372036854775807")).id,
              INT64_MAX);
    EXPECT_EQ(AcceptedOf(ExampleWith("id", "-5")).id, -5);
}

TEST(MessageParserTest, RejectsIdBeyondInt64) {
    // simdjson holds 2^63..2^64-1 as uint64: an integer, out of range.
    EXPECT_THAT(RejectionOf(ExampleWith("id", "9223372036854775808")),
                ElementsAre("body.id less_than_equal"));
    EXPECT_THAT(RejectionOf(ExampleWith("id", "18446744073709551615")),
                ElementsAre("body.id less_than_equal"));
}

// simdjson 3.0.1's DOM parser fails the whole document on these, though
// the JSON is well-formed.
TEST(MessageParserTest, NamesIdBeyondSixtyFourBits) {
    for (std::string_view id :
         {"18446744073709551616", "99999999999999999999999999999999"}) {
        const std::vector<Violation> violations =
            ViolationsOf(ExampleWith("id", id));
        ASSERT_THAT(Describe(violations),
                    ElementsAre("body.id less_than_equal"))
            << id;
        EXPECT_EQ(violations[0].msg,
                  "Input should be less than or equal to 9223372036854775807");
    }
    for (std::string_view id : {"-9223372036854775809", "-18446744073709551616",
                                "-99999999999999999999999999999999"}) {
        const std::vector<Violation> violations =
            ViolationsOf(ExampleWith("id", id));
        ASSERT_THAT(Describe(violations),
                    ElementsAre("body.id greater_than_equal"))
            << id;
        EXPECT_EQ(
            violations[0].msg,
            "Input should be greater than or equal to -9223372036854775808");
    }
}

TEST(MessageParserTest, NamesBigIdAndMissingJobType) {
    for (std::string_view id :
         {"18446744073709551616", "-9223372036854775809"}) {
        const std::string body =
            R"({"id": )" + std::string(id) +
            R"(, "job_priority": 1, "job_publisher": "app", "data": "x"})";
        EXPECT_THAT(RejectionOf(body),
                    ElementsAre(id[0] == '-' ? "body.id greater_than_equal"
                                             : "body.id less_than_equal",
                                "body.job_type missing"))
            << body;
    }
}

TEST(MessageParserTest, NamesPriorityAndJobTypeBeyondSixtyFourBits) {
    EXPECT_THAT(
        RejectionOf(ExampleWith("job_priority", "18446744073709551616")),
        ElementsAre("body.job_priority less_than_equal"));
    EXPECT_THAT(
        RejectionOf(ExampleWith("job_priority", "-18446744073709551616")),
        ElementsAre("body.job_priority greater_than_equal"));
    EXPECT_THAT(RejectionOf(ExampleWith("job_type", "18446744073709551616")),
                ElementsAre("body.job_type less_than_equal"));
    EXPECT_THAT(RejectionOf(ExampleWith("job_type", "-18446744073709551616")),
                ElementsAre("body.job_type greater_than_equal"));
}

TEST(MessageParserTest, NamesFloatBeyondDoubleAsNotAnInteger) {
    for (std::string_view value : {"1e400", "-1e400", "1.5e99999"}) {
        const std::vector<Violation> violations =
            ViolationsOf(ExampleWith("job_type", value));
        ASSERT_THAT(Describe(violations), ElementsAre("body.job_type int_type"))
            << value;
        EXPECT_EQ(violations[0].msg, "Input should be a valid integer");
    }
}

TEST(MessageParserTest, NamesEveryBadFieldBesideABigNumber) {
    const std::string body =
        R"({"id": 1e400, "job_priority": 18446744073709551616,)"
        R"( "job_publisher": "", "data": 7})";
    EXPECT_THAT(
        RejectionOf(body),
        ElementsAre("body.id int_type", "body.job_priority less_than_equal",
                    "body.job_type missing",
                    "body.job_publisher string_too_short",
                    "body.data string_type"));
}

TEST(MessageParserTest, IgnoresBigNumbersInUnknownFields) {
    std::string body(kExample);
    body.insert(1, R"("big": 18446744073709551616, "small": -1e400, )"
                   R"("nested": [1, {"x": 99999999999999999999999}, 1e999], )");
    const Message message = AcceptedOf(body);
    EXPECT_EQ(message.id, 1);
    EXPECT_EQ(message.job_priority, 1);
    EXPECT_EQ(message.job_type, 2);
    EXPECT_EQ(message.job_publisher, "mobile_app");
    EXPECT_EQ(message.data, "this is my message from mobile app");
}

TEST(MessageParserTest, ReadsStringsExactlyBesideABigNumber) {
    // Number-like text and escaped quotes inside strings are not numbers.
    std::string body =
        ExampleWith("data", R"("say \"18446744073709551616\" \\\" 1e400 \\")");
    body.insert(1, R"("big": 1e400, "\"x\\": "-1e400 \u00e9", )");
    EXPECT_EQ(AcceptedOf(body).data,
              R"(say "18446744073709551616" \" 1e400 \)");

    // Keys are compared unescaped, as on the DOM path.
    const std::string escaped_key =
        ExampleWith("id", "").insert(1, R"("\u0069d": 18446744073709551616, )");
    EXPECT_THAT(RejectionOf(escaped_key),
                ElementsAre("body.id less_than_equal"));
}

TEST(MessageParserTest, LastDuplicateKeyWinsBesideABigNumber) {
    std::string big_then_good(kExample);
    big_then_good.insert(1, R"("id": 18446744073709551616, )");
    std::string good_then_big(kExample);
    good_then_big.insert(good_then_big.size() - 1,
                         R"(, "id": -18446744073709551616)");

    EXPECT_EQ(AcceptedOf(big_then_good).id, 1);
    EXPECT_THAT(RejectionOf(good_then_big),
                ElementsAre("body.id greater_than_equal"));
}

TEST(MessageParserTest, RejectsMalformedNumberBesideABigNumber) {
    for (std::string_view bad :
         {"01", "1.", "-", "1e", "1e+", ".5", "+1", "--1", "1.e5", "-01", "0x1",
          "1e400.5", "18446744073709551616x", "-1e400e1"}) {
        // The malformed number in a known field, with a big one elsewhere,
        // and in an unknown field.
        std::string in_known = ExampleWith("job_type", bad);
        in_known.insert(1, R"("big": 18446744073709551616, )");
        std::string in_unknown(kExample);
        in_unknown.insert(1, R"("big": [1e400, )" + std::string(bad) + "], ");
        for (const std::string& body : {in_known, in_unknown}) {
            const std::vector<Violation> violations = ViolationsOf(body);
            ASSERT_THAT(Describe(violations), ElementsAre("body json_invalid"))
                << body;
            EXPECT_THAT(violations[0].msg, StartsWith("Invalid JSON: "));
        }
    }
}

TEST(MessageParserTest, RejectsOtherMalformedJsonBesideABigNumber) {
    const std::string big = R"({"big": 18446744073709551616, )";
    for (const std::string& body :
         {big + R"("id": 1,})", big + R"("id" 1})", big + R"("d": "\q"})",
          big + R"("d": "\ud800"})", big + "\"d\": \"\xff\"}",
          big + R"("d": tru})", big + R"("d": 1}})", big + "\"d\": 1",
          big + R"("d": 1} {})", std::string("[1e400, x]"),
          big + "\"d\": " + std::string(5000, '[') + std::string(5000, ']') +
              "}"}) {
        EXPECT_THAT(RejectionOf(body), ElementsAre("body json_invalid"))
            << body;
    }
}

TEST(MessageParserTest, RejectsBigNumberAsBody) {
    EXPECT_THAT(RejectionOf("18446744073709551616"),
                ElementsAre("body model_attributes_type"));
    EXPECT_THAT(RejectionOf("[1e400]"),
                ElementsAre("body model_attributes_type"));
}

TEST(MessageParserTest, ReusedParserRecoversAfterABigNumber) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseOne(ExampleWith("id", "18446744073709551616"),
                                 message, violations));
    EXPECT_THAT(Describe(violations), ElementsAre("body.id less_than_equal"));

    violations.clear();
    ASSERT_TRUE(parser.ParseOne(kExample, message, violations));
    EXPECT_EQ(message.data, "this is my message from mobile app");

    std::string big_unknown(kExample);
    big_unknown.insert(1, R"("big": 1e400, )");
    ASSERT_TRUE(parser.ParseOne(big_unknown, message, violations));
    EXPECT_EQ(message.job_publisher, "mobile_app");
}

TEST(MessageParserTest, RejectsNonStringPublisherAndData) {
    EXPECT_THAT(RejectionOf(ExampleWith("job_publisher", "7")),
                ElementsAre("body.job_publisher string_type"));
    EXPECT_THAT(RejectionOf(ExampleWith("data", "null")),
                ElementsAre("body.data string_type"));
}

TEST(MessageParserTest, RejectsEmptyPublisher) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseOne(ExampleWith("job_publisher", R"("")"), message,
                                 violations));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].type, "string_too_short");
    EXPECT_EQ(violations[0].msg, "String should have at least 1 character");
}

TEST(MessageParserTest, AcceptsEmptyData) {
    EXPECT_EQ(AcceptedOf(ExampleWith("data", R"("")")).data, "");
}

TEST(MessageParserTest, RejectsPublisherOver128Characters) {
    const std::string ascii128 = "\"" + std::string(128, 'a') + "\"";
    const std::string ascii129 = "\"" + std::string(129, 'a') + "\"";
    EXPECT_EQ(
        AcceptedOf(ExampleWith("job_publisher", ascii128)).job_publisher.size(),
        128u);
    EXPECT_THAT(RejectionOf(ExampleWith("job_publisher", ascii129)),
                ElementsAre("body.job_publisher string_too_long"));
}

TEST(MessageParserTest, CountsEmojiAsOneCodePoint) {
    const std::string emoji128 = "\"" + Repeat(kEmoji, 128) + "\"";
    const std::string emoji129 = "\"" + Repeat(kEmoji, 129) + "\"";
    EXPECT_EQ(
        AcceptedOf(ExampleWith("job_publisher", emoji128)).job_publisher.size(),
        128u * 4);
    EXPECT_THAT(RejectionOf(ExampleWith("job_publisher", emoji129)),
                ElementsAre("body.job_publisher string_too_long"));

    // The same through escapes: a surrogate pair is one code point.
    const std::string escaped128 = "\"" + Repeat(R"(\ud83d\ude00)", 128) + "\"";
    EXPECT_EQ(
        AcceptedOf(ExampleWith("job_publisher", escaped128)).job_publisher,
        Repeat(kEmoji, 128));
}

TEST(MessageParserTest, NamesEveryBadFieldInFieldOrder) {
    // Keys out of order, two fields missing and one of the wrong type.
    const std::string body =
        R"({"job_publisher": "app", "job_type": "x", "id": 3})";
    EXPECT_THAT(RejectionOf(body),
                ElementsAre("body.job_priority missing",
                            "body.job_type int_type", "body.data missing"));
}

TEST(MessageParserTest, NamesAllFiveMissingFields) {
    EXPECT_THAT(RejectionOf("{}"),
                ElementsAre("body.id missing", "body.job_priority missing",
                            "body.job_type missing",
                            "body.job_publisher missing", "body.data missing"));
}

TEST(MessageParserTest, RejectsBodyThatIsNotAnObject) {
    for (std::string_view body : {"[]", "[{}]", "1", R"("x")", "null"}) {
        EXPECT_THAT(RejectionOf(body),
                    ElementsAre("body model_attributes_type"))
            << body;
    }
}

TEST(MessageParserTest, RejectsMalformedJson) {
    for (std::string_view body :
         {"", "   ", "{", "nope", R"({"id": 1,})", R"({"id" 1})",
          R"({"id": 01})", R"({"data": "\q"})", "{\"data\": \"a\tb\"}",
          R"({} {})", R"({"id": 1} x)"}) {
        MessageParser parser;
        Message message;
        std::vector<Violation> violations;
        EXPECT_FALSE(parser.ParseOne(body, message, violations)) << body;
        ASSERT_THAT(Describe(violations), ElementsAre("body json_invalid"))
            << body;
        EXPECT_THAT(violations[0].msg, StartsWith("Invalid JSON: "));
    }
}

TEST(MessageParserTest, RejectsInvalidUtf8Bytes) {
    for (std::string_view bytes :
         {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf0\x9f\x98", "\x80"}) {
        const std::string text = "\"a" + std::string(bytes) + "\"";
        EXPECT_THAT(RejectionOf(ExampleWith("data", text)),
                    ElementsAre("body json_invalid"));
        // Unknown fields and keys are validated too.
        std::string in_unknown(kExample);
        in_unknown.insert(1, "\"extra\": {\"k\": " + text + "}, ");
        EXPECT_THAT(RejectionOf(in_unknown), ElementsAre("body json_invalid"));
        std::string in_key(kExample);
        in_key.insert(1, text + ": 1, ");
        EXPECT_THAT(RejectionOf(in_key), ElementsAre("body json_invalid"));
    }
}

TEST(MessageParserTest, RejectsLoneSurrogateEscape) {
    for (std::string_view text :
         {R"("\ud800")", R"("x\ud800y")", R"("\udc00")", R"("\ud800\u0041")",
          R"("\ud800\ud800")", R"("\ude00\ud83d")"}) {
        EXPECT_THAT(RejectionOf(ExampleWith("data", text)),
                    ElementsAre("body json_invalid"))
            << text;
    }
    // Also where the value would otherwise be ignored.
    std::string unknown(kExample);
    unknown.insert(1, R"("extra": "\udbff", )");
    EXPECT_THAT(RejectionOf(unknown), ElementsAre("body json_invalid"));
}

TEST(MessageParserTest, KeepsEscapedControlCharacters) {
    const Message message =
        AcceptedOf(ExampleWith("data", R"("\u0000\u0001\n\t\"\\\u007f\/")"));
    EXPECT_EQ(message.data, std::string("\0\x01\n\t\"\\\x7f/", 8));
}

TEST(MessageParserTest, RejectsDeepNestingWithoutCrash) {
    std::string nested(kExample);
    nested.insert(1, "\"deep\": " + std::string(5000, '[') +
                         std::string(5000, ']') + ", ");
    EXPECT_THAT(RejectionOf(nested), ElementsAre("body json_invalid"));
    EXPECT_THAT(RejectionOf(std::string(100000, '[')),
                ElementsAre("body json_invalid"));
    EXPECT_THAT(RejectionOf(Repeat(R"({"a":)", 100000)),
                ElementsAre("body json_invalid"));
}

TEST(MessageParserTest, LastDuplicateKeyWins) {
    std::string later_good(kExample);
    later_good.insert(1, R"("id": "x", )");
    std::string good_then_bad(kExample);
    good_then_bad.insert(good_then_bad.size() - 1, R"(, "id": "x")");
    std::string twice(kExample);
    twice.insert(twice.size() - 1, R"(, "id": 7)");

    EXPECT_EQ(AcceptedOf(later_good).id, 1);
    EXPECT_THAT(RejectionOf(good_then_bad), ElementsAre("body.id int_type"));
    EXPECT_EQ(AcceptedOf(twice).id, 7);
}

TEST(MessageParserTest, ReusedParserReadsOnlyTheCurrentBody) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    const std::string long_body =
        ExampleWith("data", "\"" + std::string(10000, 'z') + "\"");
    ASSERT_TRUE(parser.ParseOne(long_body, message, violations));

    // A prefix of the last body must not be completed by its stale bytes.
    EXPECT_FALSE(parser.ParseOne(std::string_view(long_body).substr(0, 100),
                                 message, violations));
    EXPECT_THAT(Describe(violations), ElementsAre("body json_invalid"));

    violations.clear();
    ASSERT_TRUE(parser.ParseOne(kExample, message, violations));
    EXPECT_EQ(message.data, "this is my message from mobile app");
}

TEST(MessageParserTest, ParseBatchAcceptsValidBatch) {
    const std::string body = "[" + ExampleWith("id", "10") + ", " +
                             ExampleWith("id", "11") + ", " +
                             ExampleWith("job_priority", "0") + "]";
    MessageParser parser;
    std::vector<Message> messages(5);
    std::vector<Violation> violations;
    ASSERT_TRUE(parser.ParseBatch(body, 3, messages, violations));
    EXPECT_THAT(violations, IsEmpty());
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0].id, 10);
    EXPECT_EQ(messages[1].id, 11);
    EXPECT_EQ(messages[2].job_priority, 0);
    EXPECT_EQ(messages[2].job_publisher, "mobile_app");
}

TEST(MessageParserTest, ParseBatchNamesIndexOfBadElement) {
    const std::string body = "[" + std::string(kExample) + ", " +
                             ExampleWith("job_priority", "12") + ", 5, " +
                             ExampleWith("data", "") + "]";
    MessageParser parser;
    std::vector<Message> messages;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseBatch(body, 10, messages, violations));
    EXPECT_THAT(
        Describe(violations),
        ElementsAre("body.1.job_priority less_than_equal",
                    "body.2 model_attributes_type", "body.3.data missing"));
}

// The violations of `body` as a batch of at most `max_batch`.
std::vector<std::string> BatchRejectionOf(std::string_view body,
                                          size_t max_batch) {
    MessageParser parser;
    std::vector<Message> messages;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseBatch(body, max_batch, messages, violations));
    return Describe(violations);
}

TEST(MessageParserTest, ParseBatchRejectsNonArray) {
    EXPECT_THAT(BatchRejectionOf(kExample, 10), ElementsAre("body list_type"));
    EXPECT_THAT(BatchRejectionOf("[", 10), ElementsAre("body json_invalid"));
}

TEST(MessageParserTest, ParseBatchRejectsEmptyArray) {
    EXPECT_THAT(BatchRejectionOf("[]", 10), ElementsAre("body too_short"));
}

TEST(MessageParserTest, ParseBatchRejectsOverMaxBatch) {
    const std::string two =
        "[" + std::string(kExample) + ", " + std::string(kExample) + "]";
    MessageParser parser;
    std::vector<Message> messages;
    std::vector<Violation> violations;
    EXPECT_FALSE(parser.ParseBatch(two, 1, messages, violations));
    ASSERT_THAT(Describe(violations), ElementsAre("body too_long"));
    EXPECT_EQ(violations[0].msg,
              "List should have at most 1 item after validation, not 2");

    violations.clear();
    EXPECT_TRUE(parser.ParseBatch(two, 2, messages, violations));
}

TEST(MessageParserTest, ParseBatchNamesBigNumbersByIndex) {
    // The last element has two bad fields: a job_type (the last of two
    // keys wins) and a missing data.
    std::string two_bad = ExampleWith("data", "");
    two_bad.insert(two_bad.size() - 1,
                   R"(, "job_type": -18446744073709551616)");
    const std::string body = "[" + std::string(kExample) + ", " +
                             ExampleWith("id", "18446744073709551616") + ", " +
                             ExampleWith("job_type", "-1e400") + ", " +
                             two_bad + ", 1e400]";
    EXPECT_THAT(
        BatchRejectionOf(body, 10),
        ElementsAre("body.1.id less_than_equal", "body.2.job_type int_type",
                    "body.3.job_type greater_than_equal", "body.3.data missing",
                    "body.4 model_attributes_type"));
}

TEST(MessageParserTest, ParseBatchAcceptsBigNumbersInUnknownFields) {
    std::string element(kExample);
    element.insert(1, R"("big": [18446744073709551616, -1e400], )");
    const std::string body =
        "[" + element + ", " + ExampleWith("id", "7") + "]";
    MessageParser parser;
    std::vector<Message> messages;
    std::vector<Violation> violations;
    ASSERT_TRUE(parser.ParseBatch(body, 2, messages, violations));
    EXPECT_THAT(violations, IsEmpty());
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_EQ(messages[0].id, 1);
    EXPECT_EQ(messages[0].data, "this is my message from mobile app");
    EXPECT_EQ(messages[1].id, 7);
}

TEST(MessageParserTest, ParseBatchChecksShapeBesideABigNumber) {
    const std::string big = ExampleWith("id", "18446744073709551616");
    EXPECT_THAT(BatchRejectionOf("18446744073709551616", 10),
                ElementsAre("body list_type"));
    EXPECT_THAT(BatchRejectionOf(big, 10), ElementsAre("body list_type"));
    EXPECT_THAT(BatchRejectionOf("[" + big + ", " + big + "]", 1),
                ElementsAre("body too_long"));
    EXPECT_THAT(BatchRejectionOf("[" + big + ", 01]", 10),
                ElementsAre("body json_invalid"));
}

TEST(StoredMessageTest, PayloadRoundTripsThroughParseStored) {
    Message message;
    message.id = -42;
    message.job_priority = 9;
    message.job_type = INT64_MAX;
    message.job_publisher = "pub\tlisher " + std::string(kEmoji);
    message.data = std::string("a\0b\n\tc\"d\\e\x7f", 11);

    std::string stored = "17\t1733212345678901\t1\t";
    AppendPayload(stored, message);
    EXPECT_EQ(stored.find('\n'), std::string::npos);

    const std::optional<StoredMessage> read = ParseStored(stored);
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(read->seq, 17);
    EXPECT_EQ(read->enqueued_us, 1733212345678901);
    EXPECT_EQ(read->attempt, 1);
    EXPECT_EQ(read->id, -42);
    EXPECT_EQ(read->job_priority, 9);
    EXPECT_EQ(read->job_type, INT64_MAX);
    EXPECT_EQ(read->publisher_json, JsonString(message.job_publisher));
    EXPECT_EQ(read->data_json, JsonString(message.data));

    // The literals parse back to the very strings that went in.
    const std::string body =
        R"({"id": 0, "job_priority": 0, "job_type": 0, "job_publisher": )" +
        std::string(read->publisher_json) + R"(, "data": )" +
        std::string(read->data_json) + "}";
    const Message back = AcceptedOf(body);
    EXPECT_EQ(back.job_publisher, message.job_publisher);
    EXPECT_EQ(back.data, message.data);
}

TEST(StoredMessageTest, ParseStoredRejectsJunk) {
    const std::string good = "1\t2\t3\t4\t5\t6\t\"p\"\t\"d\"";
    ASSERT_TRUE(ParseStored(good).has_value());
    for (std::string_view junk : {
             "",
             "junk",
             "1\t2\t3\t4\t5\t6\t\"p\"",
             "1\t2\t3\t4\t5\t6\t\"p\"\t\"d\"\t",
             "1\t2\t3\t4\t5\t6\t\"p\"\t\"d\"\t\"e\"",
             "x\t2\t3\t4\t5\t6\t\"p\"\t\"d\"",
             "+1\t2\t3\t4\t5\t6\t\"p\"\t\"d\"",
             " 1\t2\t3\t4\t5\t6\t\"p\"\t\"d\"",
             "1\t\t3\t4\t5\t6\t\"p\"\t\"d\"",
             "1\t2\t0\t4\t5\t6\t\"p\"\t\"d\"",
             "1\t2\t3\t99999999999999999999\t5\t6\t\"p\"\t\"d\"",
             "1\t2\t3\t4\t10\t6\t\"p\"\t\"d\"",
             "1\t2\t3\t4\t5\t-6\t\"p\"\t\"d\"",
             "1\t2\t3\t4\t5\t6\tp\t\"d\"",
             "1\t2\t3\t4\t5\t6\t\"p\"\t\"d",
             "1\t2\t3\t4\t5\t6\t\"p\"\t\"d\\\"",
             "1\t2\t3\t4\t5\t6\t\"p\"\t\"d\"x\"",
             "1\t2\t3\t4\t5\t6\t\"p\"\t\"d\n\"",
             "1\t2\t3\t4\t5\t6\t\"\t\"d\"",
         }) {
        EXPECT_FALSE(ParseStored(junk).has_value()) << junk;
    }
}

TEST(RenderViolationsTest, RendersDetailList) {
    const std::vector<Violation> violations = {
        {0, "id", "Field required", "missing"},
        {std::nullopt, "", "Invalid JSON: \"x\"", "json_invalid"}};
    EXPECT_EQ(RenderViolations(violations),
              R"({"detail": [{"loc": ["body", 0, "id"], )"
              R"("msg": "Field required", "type": "missing"}, )"
              R"({"loc": ["body"], "msg": "Invalid JSON: \"x\"", )"
              R"("type": "json_invalid"}]})");
}

TEST(RenderViolationsTest, RendersParserViolation) {
    MessageParser parser;
    Message message;
    std::vector<Violation> violations;
    ASSERT_FALSE(parser.ParseOne(ExampleWith("job_priority", "10"), message,
                                 violations));
    EXPECT_EQ(RenderViolations(violations),
              R"({"detail": [{"loc": ["body", "job_priority"], )"
              R"("msg": "Input should be less than or equal to 9", )"
              R"("type": "less_than_equal"}]})");
}

}  // namespace
}  // namespace drip::bucket
