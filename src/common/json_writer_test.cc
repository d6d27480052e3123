// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "common/json_writer.h"

#include <gtest/gtest.h>

namespace drip {
namespace {

TEST(JsonWriterTest, QuotesPlainText) {
    EXPECT_EQ(JsonString("mobile_app"), "\"mobile_app\"");
}

TEST(JsonWriterTest, EscapesQuotesAndBackslashes) {
    EXPECT_EQ(JsonString(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
}

TEST(JsonWriterTest, EscapesEveryControlCharacterSoARecordStaysOneLine) {
    std::string all_controls;
    for (char c = 0; c < 0x20; ++c) all_controls.push_back(c);
    all_controls.push_back('\x7f');
    const std::string escaped = JsonString(all_controls);
    for (const char c : escaped) {
        EXPECT_GE(static_cast<unsigned char>(c), 0x20);
        EXPECT_NE(c, '\x7f');
    }
    EXPECT_NE(escaped.find("\\u0000"), std::string::npos);
    EXPECT_NE(escaped.find("\\n"), std::string::npos);
    EXPECT_NE(escaped.find("\\u001f"), std::string::npos);
}

TEST(JsonWriterTest, KeepsMultibyteUtf8AsIs) {
    EXPECT_EQ(JsonString("caf\xc3\xa9 \xf0\x9f\x92\xa7"),
              "\"caf\xc3\xa9 \xf0\x9f\x92\xa7\"");
}

TEST(JsonWriterTest, EscapesAtTheEdgesAndSideBySide) {
    EXPECT_EQ(JsonString("\"a\""), R"("\"a\"")");
    EXPECT_EQ(JsonString("\n\n"), R"("\n\n")");
    EXPECT_EQ(JsonString("x\ty\\"), R"("x\ty\\")");
    EXPECT_EQ(JsonString(""), R"("")");
    const std::string long_run(20000, 'z');
    EXPECT_EQ(JsonString(long_run + "\t" + long_run),
              "\"" + long_run + "\\t" + long_run + "\"");
}

TEST(JsonWriterTest, AppendsToWhatIsThere) {
    std::string out = "{\"a\": ";
    AppendJsonString(out, "b");
    EXPECT_EQ(out, "{\"a\": \"b\"");
}

}  // namespace
}  // namespace drip
