// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/processed_log.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <gtest/gtest.h>

namespace drip::consume {
namespace {

namespace fs = std::filesystem;

std::string Stored(int64_t seq, int attempt = 1) {
    return std::to_string(seq) + "\t1796292000000000\t" +
           std::to_string(attempt) + "\t7\t1\t2\t\"app\"\t\"hello\"";
}

std::string Record(int64_t seq, Outcome outcome, int attempt = 1,
                   const DeliveryAnswer* answer = nullptr) {
    const std::string stored = Stored(seq, attempt);
    const auto message = bucket::ParseStored(stored);
    std::string out;
    AppendRecord(out, "\"default\"", *message, Micros(1'796'292'001'000'000),
                 outcome, answer);
    return out;
}

std::string ReadFile(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::unordered_set<int64_t> RecordedSeqs(const ProcessedLog& log,
                                         size_t count) {
    std::unordered_set<int64_t> seqs;
    const auto records = log.LastRecords(count);
    EXPECT_TRUE(records);
    if (records) {
        for (const auto& [seq, attempt] : records.value()) seqs.insert(seq);
    }
    return seqs;
}

class ProcessedLogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern =
            (fs::temp_directory_path() / "drip-log-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        path_ = (dir_ / "processed.log").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::string path_;
};

TEST(AppendRecordTest, WritesTheFieldsPRODUCTmdNames) {
    const std::string line = Record(17, Outcome::kProcessed);
    EXPECT_EQ(line,
              R"({"ts": "2026-12-03T10:00:01.000000Z", "queue": "default", )"
              R"("seq": 17, "id": 7, "job_priority": 1, "job_type": 2, )"
              R"("job_publisher": "app", "data": "hello", )"
              R"("enqueued_at": "2026-12-03T10:00:00.000000Z", )"
              R"("waited_ms": 1000.0, "attempt": 1, "status": "processed"})"
              "\n");
}

TEST(AppendRecordTest, AddsTheResponseOfADelivery) {
    const DeliveryAnswer answer{503, "busy \"now\"\n\xFF", "2"};
    const std::string line = Record(3, Outcome::kFailed, 2, &answer);
    EXPECT_NE(line.find(R"("attempt": 2, "status": "failed", )"
                        R"("response_status": 503, )"
                        R"("response": "busy \"now\"\n)"
                        "\xEF\xBF\xBD"
                        R"("})"),
              std::string::npos)
        << line;
    const DeliveryAnswer refused{0, "connect: Connection refused", ""};
    EXPECT_NE(Record(3, Outcome::kDead, 5, &refused)
                  .find(R"("response_status": null, "response": "connect)"),
              std::string::npos);
}

TEST(ParseRecordTailTest, ReadsSeqAttemptAndStatus) {
    const DeliveryAnswer answer{500, R"("attempt": 9, "status": "dead")", ""};
    const auto tail = ParseRecordTail(Record(41, Outcome::kFailed, 3, &answer));
    ASSERT_TRUE(tail);
    EXPECT_EQ(tail->first, 41);
    EXPECT_EQ(tail->second.attempt, 3);
    EXPECT_EQ(tail->second.outcome, Outcome::kFailed);
    EXPECT_EQ(tail->second.response_status, 500);
    EXPECT_FALSE(ParseRecordTail("not a record"));
}

TEST_F(ProcessedLogTest, RemovesALineCutShortByACrash) {
    {
        std::ofstream out(path_);
        out << Record(1, Outcome::kProcessed) << R"({"ts": "2026-)";
    }
    ProcessedLog log;
    ASSERT_TRUE(log.Open(path_));
    EXPECT_EQ(ReadFile(path_), Record(1, Outcome::kProcessed));
}

TEST_F(ProcessedLogTest, ASecondConsumerCannotOpenTheSameLog) {
    ProcessedLog first;
    ASSERT_TRUE(first.Open(path_));
    ProcessedLog second;
    const auto opened = second.Open(path_);
    ASSERT_FALSE(opened);
    EXPECT_EQ(ErrcOf(opened.error()), Errc::kInvalidArgument);
}

TEST_F(ProcessedLogTest, LastRecordsKeepsTheLatestAttempt) {
    ProcessedLog log;
    ASSERT_TRUE(log.Open(path_));
    ASSERT_TRUE(log.Append(Record(1, Outcome::kProcessed) +
                           Record(2, Outcome::kFailed, 1) +
                           Record(2, Outcome::kDead, 2)));
    const auto records = log.LastRecords(3);
    ASSERT_TRUE(records);
    ASSERT_EQ(records.value().size(), 2u);
    EXPECT_EQ(records.value().at(2).attempt, 2);
    EXPECT_EQ(records.value().at(2).outcome, Outcome::kDead);
    const auto last_one = log.LastRecords(1);
    ASSERT_TRUE(last_one);
    EXPECT_EQ(last_one.value().size(), 1u);
}

TEST_F(ProcessedLogTest, RotatesBetweenAppendsAndKeepsKFiles) {
    const std::string one = Record(1, Outcome::kProcessed);
    ProcessedLog log;
    // Room for two records a file.
    ASSERT_TRUE(log.Open(path_, static_cast<int64_t>(2 * one.size()), 2));
    for (int64_t seq = 1; seq <= 7; ++seq) {
        ASSERT_TRUE(log.Append(Record(seq, Outcome::kProcessed)));
    }
    // 7 records, two a file: PATH holds 7, .1 holds 5-6, .2 holds 3-4, and
    // 1-2 went with the third rotation.
    EXPECT_EQ(ReadFile(path_), Record(7, Outcome::kProcessed));
    EXPECT_EQ(ReadFile(path_ + ".1"),
              Record(5, Outcome::kProcessed) + Record(6, Outcome::kProcessed));
    EXPECT_EQ(ReadFile(path_ + ".2"),
              Record(3, Outcome::kProcessed) + Record(4, Outcome::kProcessed));
    EXPECT_FALSE(fs::exists(path_ + ".3"));
}

TEST_F(ProcessedLogTest, RecoveryReadsAcrossARotation) {
    const std::string one = Record(1, Outcome::kProcessed);
    ProcessedLog log;
    ASSERT_TRUE(log.Open(path_, static_cast<int64_t>(2 * one.size()), 3));
    for (int64_t seq = 1; seq <= 3; ++seq) {
        ASSERT_TRUE(log.Append(Record(seq, Outcome::kProcessed)));
    }
    EXPECT_EQ(RecordedSeqs(log, 3), (std::unordered_set<int64_t>{1, 2, 3}));
}

TEST_F(ProcessedLogTest, ReopenFollowsARenameByLogrotate) {
    ProcessedLog log;
    ASSERT_TRUE(log.Open(path_));
    ASSERT_TRUE(log.Append(Record(1, Outcome::kProcessed)));
    fs::rename(path_, path_ + ".1");
    ASSERT_TRUE(log.Append(Record(2, Outcome::kProcessed)));
    ASSERT_TRUE(log.Reopen());
    ASSERT_TRUE(log.Append(Record(3, Outcome::kProcessed)));
    EXPECT_EQ(ReadFile(path_ + ".1"),
              Record(1, Outcome::kProcessed) + Record(2, Outcome::kProcessed));
    EXPECT_EQ(ReadFile(path_), Record(3, Outcome::kProcessed));
    // Still this consumer's: the new file is locked too.
    ProcessedLog other;
    EXPECT_FALSE(other.Open(path_));
}

TEST_F(ProcessedLogTest, ReopenWithoutARenameKeepsWriting) {
    ProcessedLog log;
    ASSERT_TRUE(log.Open(path_));
    ASSERT_TRUE(log.Append(Record(1, Outcome::kProcessed)));
    ASSERT_TRUE(log.Reopen());
    ASSERT_TRUE(log.Append(Record(2, Outcome::kProcessed)));
    EXPECT_EQ(ReadFile(path_),
              Record(1, Outcome::kProcessed) + Record(2, Outcome::kProcessed));
}

TEST_F(ProcessedLogTest, RecoveryReadsBackThroughSeveralRotations) {
    const std::string one = Record(1, Outcome::kProcessed);
    ProcessedLog log;
    // One record a file.
    ASSERT_TRUE(log.Open(path_, static_cast<int64_t>(one.size()), 10));
    for (int64_t seq = 1; seq <= 5; ++seq) {
        ASSERT_TRUE(log.Append(Record(seq, Outcome::kProcessed)));
    }
    ASSERT_TRUE(fs::exists(path_ + ".4"));
    EXPECT_EQ(RecordedSeqs(log, 4), (std::unordered_set<int64_t>{2, 3, 4, 5}));
}

}  // namespace
}  // namespace drip::consume
