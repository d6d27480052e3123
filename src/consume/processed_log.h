// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The processed log: JSON Lines, one record per processing attempt. The
// file is the consumer's proof of what it has recorded: after a crash, the
// records at its end tell which of the messages it held were done.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "bucket/message.h"
#include "common/errc.h"
#include "common/time_format.h"

namespace drip::consume {

// One attempt's outcome, as the record's "status" field names it.
enum class Outcome { kProcessed, kFailed, kDead };

// Appends one record (and its newline) for `message` to `out`.
// `queue_json` is the queue's name as a JSON string literal.
void AppendRecord(std::string& out, std::string_view queue_json,
                  const bucket::StoredMessage& message, Micros started,
                  Outcome outcome);

// The seq of a record line, or -1 when the line is not a record.
int64_t RecordSeq(std::string_view line);

// Not thread-safe: one consumer writes one log.
class ProcessedLog {
  public:
    ProcessedLog() = default;
    ~ProcessedLog();
    ProcessedLog(const ProcessedLog&) = delete;
    ProcessedLog& operator=(const ProcessedLog&) = delete;

    // Opens `path` for appending and locks it, so that two consumers never
    // write one file (each one's recovery reads only its own records). A
    // last line cut short by a crash is removed: a reader never sees half
    // a record, and the message it belonged to is processed again.
    Result<void> Open(const std::string& path);

    // Writes `records` (whole lines) with as few write() calls as the
    // kernel allows. A record is recorded once this returns.
    Result<void> Append(std::string_view records);

    // The seqs of the last `count` records in the file.
    Result<std::unordered_set<int64_t>> LastSeqs(size_t count) const;

    const std::string& Path() const { return path_; }

  private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace drip::consume
