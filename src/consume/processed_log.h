// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The processed log: JSON Lines, one record per processing attempt. The
// file is the consumer's proof of what it has recorded: after a crash, the
// records at its end tell which of the messages it held were done.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "bucket/message.h"
#include "common/errc.h"
#include "common/time_format.h"
#include "consume/delivery_policy.h"

namespace drip::consume {

// One attempt's outcome, as the record's "status" field names it.
enum class Outcome { kProcessed, kFailed, kDead };

// Appends one record (and its newline) for `message` to `out`.
// `queue_json` is the queue's name as a JSON string literal. With
// `answer`, a delivery attempt: the record also has response_status (null
// when no answer came) and response.
void AppendRecord(std::string& out, std::string_view queue_json,
                  const bucket::StoredMessage& message, Micros started,
                  Outcome outcome, const DeliveryAnswer* answer = nullptr);

// What a record says about one attempt of its message.
struct RecordedAttempt {
    int attempt = 1;
    Outcome outcome = Outcome::kProcessed;
    // response_status, for a record of a delivery; 0 when none.
    int response_status = 0;
};

// Reads the seq, attempt and status of a record line; nullopt when the
// line is not a record.
std::optional<std::pair<int64_t, RecordedAttempt>> ParseRecordTail(
    std::string_view line);

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
    //
    // With `max_bytes` > 0 the log rotates once it holds that much: PATH
    // becomes PATH.1 (PATH.1 becomes PATH.2, and so on, keeping `keep`
    // files) and a new PATH is started. Rotation happens between whole
    // appends, so no record is ever split across two files.
    Result<void> Open(const std::string& path, int64_t max_bytes = 0,
                      int keep = 5);

    // Writes `records` (whole lines) with as few write() calls as the
    // kernel allows. A record is recorded once this returns.
    Result<void> Append(std::string_view records);

    // Starts writing to a fresh PATH, for logrotate: after it has renamed
    // the file, SIGHUP makes the consumer call this (a PATH still the open
    // file is left alone). Recovery reads PATH and then PATH.1, PATH.2...,
    // so a rotation that names the old file otherwise (dateext,
    // compression before the next rotation) can make a consumer restarted
    // right after it process its last messages again.
    Result<void> Reopen();

    // The last `count` records as seq -> the latest attempt recorded: in
    // PATH and, when PATH holds fewer, in PATH.1 and on, up to the files
    // kept.
    Result<std::unordered_map<int64_t, RecordedAttempt>> LastRecords(
        size_t count) const;

    const std::string& Path() const { return path_; }

  private:
    Result<void> Rotate();
    // Opens PATH, locked, with a cut last line removed.
    Result<int> OpenLocked() const;

    std::string path_;
    int fd_ = -1;
    int64_t size_ = 0;
    int64_t max_bytes_ = 0;
    int keep_ = 5;
};

}  // namespace drip::consume
