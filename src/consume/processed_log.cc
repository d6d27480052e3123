// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "consume/processed_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "common/json_writer.h"

namespace drip::consume {
namespace {

constexpr std::string_view kSeqField = "\"seq\": ";
constexpr std::string_view kAttemptField = "\"attempt\": ";
constexpr std::string_view kStatusField = "\"status\": \"";
constexpr std::string_view kResponseStatusField = "\"response_status\": ";
// How much of a downstream's answer a record keeps.
constexpr size_t kResponseExcerptBytes = 256;

Error IoError(std::string_view what, const std::string& path) {
    return MakeError(Errc::kUnavailable, fmt::format("{} {}: {}", what, path,
                                                     std::strerror(errno)));
}

std::string_view OutcomeName(Outcome outcome) {
    switch (outcome) {
        case Outcome::kProcessed:
            return "processed";
        case Outcome::kFailed:
            return "failed";
        case Outcome::kDead:
            return "dead";
    }
    return "processed";
}

// The integer after the first `field` in `line`.
std::optional<int64_t> IntegerAfter(std::string_view line,
                                    std::string_view field) {
    const auto at = line.find(field);
    if (at == std::string_view::npos) return std::nullopt;
    const char* begin = line.data() + at + field.size();
    int64_t value = 0;
    const auto [end, ec] =
        std::from_chars(begin, line.data() + line.size(), value);
    if (ec != std::errc()) return std::nullopt;
    return value;
}

// The complete lines at the end of the file open as `fd`, at most `count`,
// oldest first.
Result<std::vector<std::string>> TailLines(int fd, const std::string& path,
                                           size_t count) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) return IoError("cannot stat", path);

    // Read backwards a chunk at a time until `count` lines are complete.
    std::string tail;
    off_t offset = info.st_size;
    size_t newlines = 0;
    std::vector<char> chunk(size_t{64} * 1024);
    while (offset > 0 && newlines <= count) {
        const auto size = static_cast<size_t>(
            std::min<off_t>(offset, static_cast<off_t>(chunk.size())));
        offset -= static_cast<off_t>(size);
        if (::pread(fd, chunk.data(), size, offset) !=
            static_cast<ssize_t>(size)) {
            return IoError("cannot read log file", path);
        }
        tail.insert(0, chunk.data(), size);
        newlines =
            static_cast<size_t>(std::count(tail.begin(), tail.end(), '\n'));
    }

    std::vector<std::string> lines;
    std::string_view rest(tail);
    while (!rest.empty() && lines.size() < count) {
        if (rest.back() == '\n') rest.remove_suffix(1);
        const auto start = rest.rfind('\n');
        lines.emplace_back(
            start == std::string_view::npos ? rest : rest.substr(start + 1));
        if (start == std::string_view::npos) break;
        rest = rest.substr(0, start + 1);
    }
    std::reverse(lines.begin(), lines.end());
    return lines;
}

}  // namespace

void AppendRecord(std::string& out, std::string_view queue_json,
                  const bucket::StoredMessage& message, Micros started,
                  Outcome outcome, const DeliveryAnswer* answer) {
    const double waited_ms =
        static_cast<double>(started.count() - message.enqueued_us) / 1000.0;
    out += R"({"ts": ")";
    AppendIsoTime(out, started);
    // Compiled formats: the runner formats every record between two slots.
    fmt::format_to(std::back_inserter(out),
                   FMT_COMPILE(R"(", "queue": {}, "seq": {}, "id": {}, )"
                               R"("job_priority": {}, "job_type": {}, )"
                               R"("job_publisher": {}, "data": {}, )"
                               R"("enqueued_at": ")"),
                   queue_json, message.seq, message.id, message.job_priority,
                   message.job_type, message.publisher_json, message.data_json);
    AppendIsoTime(out, Micros(message.enqueued_us));
    fmt::format_to(std::back_inserter(out),
                   FMT_COMPILE(R"(", "waited_ms": {:.1f}, "attempt": {}, )"
                               R"("status": "{}")"),
                   waited_ms, message.attempt, OutcomeName(outcome));
    if (answer != nullptr) {
        if (answer->status == 0) {
            out += R"(, "response_status": null, "response": )";
        } else {
            fmt::format_to(std::back_inserter(out),
                           R"(, "response_status": {}, "response": )",
                           answer->status);
        }
        AppendJsonString(out,
                         Utf8Excerpt(answer->excerpt, kResponseExcerptBytes));
    }
    out += "}\n";
}

std::optional<std::pair<int64_t, RecordedAttempt>> ParseRecordTail(
    std::string_view line) {
    // The string fields before "attempt" are JSON literals, whose quotes
    // are escaped: the first match of each field name is the field.
    const auto seq = IntegerAfter(line, kSeqField);
    const auto attempt = IntegerAfter(line, kAttemptField);
    const auto status_at = line.find(kStatusField);
    if (!seq || !attempt || status_at == std::string_view::npos) {
        return std::nullopt;
    }
    const auto status = line.substr(status_at + kStatusField.size());
    RecordedAttempt recorded;
    recorded.attempt = static_cast<int>(*attempt);
    if (status.starts_with("processed\"")) {
        recorded.outcome = Outcome::kProcessed;
    } else if (status.starts_with("failed\"")) {
        recorded.outcome = Outcome::kFailed;
    } else if (status.starts_with("dead\"")) {
        recorded.outcome = Outcome::kDead;
    } else {
        return std::nullopt;
    }
    recorded.response_status = static_cast<int>(
        IntegerAfter(status, kResponseStatusField).value_or(0));
    return std::make_pair(*seq, recorded);
}

ProcessedLog::~ProcessedLog() {
    if (fd_ >= 0) ::close(fd_);
}

Result<int> ProcessedLog::OpenLocked() const {
    const int fd =
        ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return IoError("cannot open log file", path_);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return MakeError(
            Errc::kInvalidArgument,
            fmt::format("log file {} is in use by another consumer", path_));
    }

    // Cut a record that a crash left without its newline.
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        ::close(fd);
        return IoError("cannot stat", path_);
    }
    off_t end = info.st_size;
    char last = '\n';
    while (end > 0 && ::pread(fd, &last, 1, end - 1) == 1 && last != '\n') {
        --end;
    }
    if (end != info.st_size && ::ftruncate(fd, end) != 0) {
        ::close(fd);
        return IoError("cannot repair", path_);
    }
    return fd;
}

Result<void> ProcessedLog::Open(const std::string& path, int64_t max_bytes,
                                int keep) {
    path_ = path;
    max_bytes_ = max_bytes;
    keep_ = std::max(keep, 1);
    auto fd = OpenLocked();
    if (!fd) return fd.error();
    fd_ = fd.value();
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return IoError("cannot stat", path_);
    size_ = info.st_size;
    return outcome_v2::success();
}

Result<void> ProcessedLog::Append(std::string_view records) {
    if (max_bytes_ > 0 && size_ > 0 &&
        size_ + static_cast<int64_t>(records.size()) > max_bytes_) {
        if (auto rotated = Rotate(); !rotated) return rotated.error();
    }
    while (!records.empty()) {
        const ssize_t n = ::write(fd_, records.data(), records.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return IoError("cannot write log file", path_);
        }
        size_ += n;
        records.remove_prefix(static_cast<size_t>(n));
    }
    return outcome_v2::success();
}

Result<void> ProcessedLog::Rotate() {
    // Oldest first, so that no name is overwritten before it has moved on.
    // A failure here leaves the files as they were, minus the oldest.
    for (int i = keep_ - 1; i >= 1; --i) {
        const auto from = fmt::format("{}.{}", path_, i);
        const auto to = fmt::format("{}.{}", path_, i + 1);
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
            return IoError("cannot rotate", from);
        }
    }
    const auto first = path_ + ".1";
    if (::rename(path_.c_str(), first.c_str()) != 0) {
        return IoError("cannot rotate", path_);
    }
    return Reopen();
}

Result<void> ProcessedLog::Reopen() {
    // Nothing renamed it (a SIGHUP for some other reason): keep writing.
    // Opening it again would find it locked, by this very process.
    struct stat open_file {};
    struct stat named_file {};
    if (::fstat(fd_, &open_file) == 0 &&
        ::stat(path_.c_str(), &named_file) == 0 &&
        open_file.st_dev == named_file.st_dev &&
        open_file.st_ino == named_file.st_ino) {
        return outcome_v2::success();
    }
    // The new file is locked before the old one is let go, so that another
    // consumer started meanwhile cannot take this log over.
    auto fd = OpenLocked();
    if (!fd) return fd.error();
    ::close(fd_);
    fd_ = fd.value();
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return IoError("cannot stat", path_);
    size_ = info.st_size;
    return outcome_v2::success();
}

Result<std::unordered_map<int64_t, RecordedAttempt>> ProcessedLog::LastRecords(
    size_t count) const {
    auto lines = TailLines(fd_, path_, count);
    if (!lines) return lines.error();
    // Just rotated, perhaps several times while Redis was slow to settle:
    // the rest of the tail is in PATH.1, PATH.2, ...
    for (int i = 1; i <= keep_ && lines.value().size() < count; ++i) {
        const auto older_path = fmt::format("{}.{}", path_, i);
        const int older = ::open(older_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (older < 0) break;
        auto older_lines =
            TailLines(older, older_path, count - lines.value().size());
        ::close(older);
        if (!older_lines) return older_lines.error();
        lines.value().insert(lines.value().begin(), older_lines.value().begin(),
                             older_lines.value().end());
    }
    // Oldest first, so that a later attempt's record replaces an earlier
    // one's.
    std::unordered_map<int64_t, RecordedAttempt> records;
    for (const auto& line : lines.value()) {
        if (auto record = ParseRecordTail(line)) {
            records[record->first] = record->second;
        }
    }
    return records;
}

}  // namespace drip::consume
