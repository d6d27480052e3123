// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "config/dotenv.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drip::config {
namespace {

using Env = std::map<std::string, std::string>;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Env ParseOk(std::string_view text) {
    auto env = ParseDotenv(text);
    EXPECT_TRUE(env) << env.error().detail;
    return env ? env.assume_value() : Env{};
}

std::string ParseError(std::string_view text) {
    auto env = ParseDotenv(text);
    EXPECT_FALSE(env) << "parsed: " << text;
    if (env) return {};
    EXPECT_EQ(ErrcOf(env.error()), Errc::kInvalidArgument);
    return env.error().detail;
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "drip_dotenv_XXXXXX")
                .string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    std::string Write(const std::string& name, const std::string& text) {
        std::string file = (path_ / name).string();
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }
    std::string PathOf(const std::string& name) const {
        return (path_ / name).string();
    }

  private:
    std::filesystem::path path_;
};

TEST(DotenvTest, ParsesKeyValueLines) {
    EXPECT_EQ(ParseOk("A=1\nB_2=two\n_C=three"),
              (Env{{"A", "1"}, {"B_2", "two"}, {"_C", "three"}}));
}

TEST(DotenvTest, EmptyTextGivesEmptyMap) {
    EXPECT_TRUE(ParseOk("").empty());
    EXPECT_TRUE(ParseOk("\n\n  \n\t\n").empty());
}

TEST(DotenvTest, SkipsCommentsAndBlankLines) {
    EXPECT_EQ(ParseOk("# header\n\n   # indented comment\nA=1\n\n"),
              (Env{{"A", "1"}}));
}

TEST(DotenvTest, AcceptsCrlfLineEnds) {
    EXPECT_EQ(ParseOk("A=1\r\nB=2\r\n"), (Env{{"A", "1"}, {"B", "2"}}));
}

TEST(DotenvTest, DropsExportPrefix) {
    EXPECT_EQ(ParseOk("export A=1\nexport\tB=2\n  export   C=3"),
              (Env{{"A", "1"}, {"B", "2"}, {"C", "3"}}));
}

TEST(DotenvTest, ExportAloneIsAKey) {
    EXPECT_EQ(ParseOk("export=1\nexporter=2"),
              (Env{{"export", "1"}, {"exporter", "2"}}));
}

TEST(DotenvTest, TrimsWhitespaceAroundKeyAndValue) {
    EXPECT_EQ(ParseOk("  A  =  spaced value  \n\tB\t=\tx\t"),
              (Env{{"A", "spaced value"}, {"B", "x"}}));
}

TEST(DotenvTest, EmptyValueIsEmptyString) {
    EXPECT_EQ(ParseOk("A=\nB=   \nC=''\nD=\"\""),
              (Env{{"A", ""}, {"B", ""}, {"C", ""}, {"D", ""}}));
}

TEST(DotenvTest, StripsTrailingCommentFromUnquotedValue) {
    EXPECT_EQ(ParseOk("A=10 # ten\nB=x\t# tab\nC= # only a comment"),
              (Env{{"A", "10"}, {"B", "x"}, {"C", ""}}));
}

TEST(DotenvTest, KeepsHashInsideUnquotedWord) {
    EXPECT_EQ(ParseOk("A=pass#word\nB=#hash"),
              (Env{{"A", "pass#word"}, {"B", "#hash"}}));
}

TEST(DotenvTest, KeepsEqualsSignsInValue) {
    EXPECT_EQ(ParseOk("URL=http://h/?a=1&b=2"),
              (Env{{"URL", "http://h/?a=1&b=2"}}));
}

TEST(DotenvTest, SingleQuotesAreLiteral) {
    EXPECT_EQ(ParseOk(R"(A='  a \n "b" # c  ')"),
              (Env{{"A", R"(  a \n "b" # c  )"}}));
}

TEST(DotenvTest, DoubleQuotesUnderstandEscapes) {
    EXPECT_EQ(ParseOk(R"(A="line1\nline2\t\"q\" back\\slash\r")"),
              (Env{{"A", "line1\nline2\t\"q\" back\\slash\r"}}));
}

TEST(DotenvTest, DoubleQuotesKeepHashAndSpaces) {
    EXPECT_EQ(ParseOk(R"(A="  # not a comment  ")"),
              (Env{{"A", "  # not a comment  "}}));
}

TEST(DotenvTest, AllowsCommentAfterClosingQuote) {
    EXPECT_EQ(ParseOk("A='x' # note\nB=\"y\"   #note"),
              (Env{{"A", "x"}, {"B", "y"}}));
}

TEST(DotenvTest, LaterLineWins) {
    EXPECT_EQ(ParseOk("A=1\nA=2"), (Env{{"A", "2"}}));
}

TEST(DotenvTest, DoesNotExpandVariables) {
    EXPECT_EQ(ParseOk("A=$HOME/${USER}"), (Env{{"A", "$HOME/${USER}"}}));
}

TEST(DotenvTest, RejectsLineWithoutEquals) {
    EXPECT_EQ(ParseError("A=1\n# c\nJUSTAWORD\n"),
              "line 3: expected KEY=VALUE");
    EXPECT_EQ(ParseError("export A"), "line 1: expected KEY=VALUE");
}

TEST(DotenvTest, RejectsInvalidKey) {
    EXPECT_THAT(ParseError("\n1A=x"), StartsWith("line 2: invalid key"));
    EXPECT_THAT(ParseError("A B=x"), StartsWith("line 1: invalid key"));
    EXPECT_THAT(ParseError("=x"), StartsWith("line 1: invalid key"));
    EXPECT_THAT(ParseError("A-B=x"), StartsWith("line 1: invalid key"));
}

TEST(DotenvTest, RejectsUnterminatedQuotes) {
    EXPECT_EQ(ParseError("A=1\nB='open"), "line 2: unterminated single quote");
    EXPECT_EQ(ParseError("A=\"open"), "line 1: unterminated double quote");
    EXPECT_EQ(ParseError("A=\"open\\\""), "line 1: unterminated double quote");
    EXPECT_EQ(ParseError("A=\"open\\"), "line 1: unterminated double quote");
}

TEST(DotenvTest, RejectsTextAfterClosingQuote) {
    EXPECT_EQ(ParseError("A='x'y"),
              "line 1: unexpected text after closing quote");
    EXPECT_EQ(ParseError("\n\nA=\"x\" y"),
              "line 3: unexpected text after closing quote");
}

TEST(DotenvTest, RejectsUnknownEscape) {
    EXPECT_THAT(ParseError(R"(A="C:\dir")"),
                StartsWith("line 1: unknown escape in double quotes"));
}

TEST(DotenvTest, CountsLinesAcrossCrlf) {
    EXPECT_EQ(ParseError("A=1\r\n\r\nB\r\n"), "line 3: expected KEY=VALUE");
}

TEST(DotenvTest, ReadsFile) {
    TempDir dir;
    const std::string path = dir.Write(".env", "export A=1\nB='two'\n");
    auto env = ReadDotenvFile(path, true);
    ASSERT_TRUE(env) << env.error().detail;
    EXPECT_EQ(env.assume_value(), (Env{{"A", "1"}, {"B", "two"}}));
}

TEST(DotenvTest, MissingOptionalFileIsEmpty) {
    TempDir dir;
    auto env = ReadDotenvFile(dir.PathOf("absent.env"), false);
    ASSERT_TRUE(env) << env.error().detail;
    EXPECT_TRUE(env.assume_value().empty());
}

TEST(DotenvTest, MissingRequiredFileNamesPath) {
    TempDir dir;
    const std::string path = dir.PathOf("absent.env");
    auto env = ReadDotenvFile(path, true);
    ASSERT_FALSE(env);
    EXPECT_EQ(ErrcOf(env.error()), Errc::kInvalidArgument);
    EXPECT_EQ(env.error().detail, path + ": No such file or directory");
}

TEST(DotenvTest, DirectoryIsAnErrorEvenWhenOptional) {
    TempDir dir;
    auto env = ReadDotenvFile(dir.PathOf(""), false);
    ASSERT_FALSE(env);
    EXPECT_THAT(env.error().detail, HasSubstr("Is a directory"));
}

TEST(DotenvTest, FileSyntaxErrorNamesPathAndLine) {
    TempDir dir;
    const std::string path = dir.Write("bad.env", "A=1\nnonsense\n");
    for (const bool required : {true, false}) {
        auto env = ReadDotenvFile(path, required);
        ASSERT_FALSE(env);
        EXPECT_EQ(env.error().detail, path + ": line 2: expected KEY=VALUE");
    }
}

TEST(DotenvTest, ReadsFileLargerThanOneChunk) {
    TempDir dir;
    std::string text;
    for (int i = 0; i < 5000; ++i) {
        text +=
            "KEY_" + std::to_string(i) + "=value_" + std::to_string(i) + "\n";
    }
    auto env = ReadDotenvFile(dir.Write("big.env", text), true);
    ASSERT_TRUE(env) << env.error().detail;
    EXPECT_EQ(env.assume_value().size(), 5000u);
    EXPECT_EQ(env.assume_value().at("KEY_4999"), "value_4999");
}

// A cheap stand-in for the fuzz target: .env punctuation in random order
// must neither crash nor throw.
TEST(DotenvTest, SurvivesArbitraryInput) {
    std::mt19937 random(4242);
    // Holds a NUL byte, so sizeof gives its length.
    constexpr char kAlphabet[] = "AB_1=#'\"\\ntr \t\r\nexport\0\xff";
    std::uniform_int_distribution<size_t> length(0, 60);
    std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);

    for (int round = 0; round < 20000; ++round) {
        std::string text;
        const size_t size = length(random);
        for (size_t i = 0; i < size; ++i)
            text.push_back(kAlphabet[pick(random)]);
        EXPECT_NO_THROW((void)ParseDotenv(text));
    }
}

}  // namespace
}  // namespace drip::config
