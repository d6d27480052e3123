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
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace drip::consume {
namespace {

constexpr std::string_view kSeqField = "\"seq\": ";

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

}  // namespace

void AppendRecord(std::string& out, std::string_view queue_json,
                  const bucket::StoredMessage& message, Micros started,
                  Outcome outcome) {
    const double waited_ms =
        static_cast<double>(started.count() - message.enqueued_us) / 1000.0;
    out += R"({"ts": ")";
    AppendIsoTime(out, started);
    fmt::format_to(std::back_inserter(out),
                   R"(", "queue": {}, "seq": {}, "id": {}, )"
                   R"("job_priority": {}, "job_type": {}, )"
                   R"("job_publisher": {}, "data": {}, "enqueued_at": ")",
                   queue_json, message.seq, message.id, message.job_priority,
                   message.job_type, message.publisher_json, message.data_json);
    AppendIsoTime(out, Micros(message.enqueued_us));
    fmt::format_to(std::back_inserter(out),
                   R"(", "waited_ms": {:.1f}, "attempt": {}, "status": "{}"}})"
                   "\n",
                   waited_ms, message.attempt, OutcomeName(outcome));
}

int64_t RecordSeq(std::string_view line) {
    const auto at = line.find(kSeqField);
    if (at == std::string_view::npos) return -1;
    const char* begin = line.data() + at + kSeqField.size();
    int64_t seq = -1;
    const auto [end, ec] =
        std::from_chars(begin, line.data() + line.size(), seq);
    if (ec != std::errc()) return -1;
    return seq;
}

ProcessedLog::~ProcessedLog() {
    if (fd_ >= 0) ::close(fd_);
}

Result<void> ProcessedLog::Open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return IoError("cannot open log file", path);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        return MakeError(
            Errc::kInvalidArgument,
            fmt::format("log file {} is in use by another consumer", path));
    }

    // Cut a record that a crash left without its newline.
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return IoError("cannot stat", path);
    off_t end = info.st_size;
    char last = '\n';
    while (end > 0 && ::pread(fd_, &last, 1, end - 1) == 1 && last != '\n') {
        --end;
    }
    if (end != info.st_size && ::ftruncate(fd_, end) != 0) {
        return IoError("cannot repair", path);
    }
    return outcome_v2::success();
}

Result<void> ProcessedLog::Append(std::string_view records) {
    while (!records.empty()) {
        const ssize_t n = ::write(fd_, records.data(), records.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return IoError("cannot write log file", path_);
        }
        records.remove_prefix(static_cast<size_t>(n));
    }
    return outcome_v2::success();
}

Result<std::unordered_set<int64_t>> ProcessedLog::LastSeqs(size_t count) const {
    std::unordered_set<int64_t> seqs;
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return IoError("cannot stat", path_);

    // Read backwards a chunk at a time until `count` lines are complete.
    std::string tail;
    off_t offset = info.st_size;
    size_t newlines = 0;
    std::vector<char> chunk(size_t{64} * 1024);
    while (offset > 0 && newlines <= count) {
        const auto size = static_cast<size_t>(
            std::min<off_t>(offset, static_cast<off_t>(chunk.size())));
        offset -= static_cast<off_t>(size);
        if (::pread(fd_, chunk.data(), size, offset) !=
            static_cast<ssize_t>(size)) {
            return IoError("cannot read log file", path_);
        }
        tail.insert(0, chunk.data(), size);
        newlines =
            static_cast<size_t>(std::count(tail.begin(), tail.end(), '\n'));
    }

    std::string_view rest(tail);
    for (size_t lines = 0; !rest.empty() && lines < count; ++lines) {
        if (rest.back() == '\n') rest.remove_suffix(1);
        const auto start = rest.rfind('\n');
        const auto line =
            start == std::string_view::npos ? rest : rest.substr(start + 1);
        const int64_t seq = RecordSeq(line);
        if (seq >= 0) seqs.insert(seq);
        if (start == std::string_view::npos) break;
        rest = rest.substr(0, start + 1);
    }
    return seqs;
}

}  // namespace drip::consume
