// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "redis/reply.h"

#include <charconv>

#include <hiredis/hiredis.h>

namespace drip::redis {

namespace {

// "<marker><n>\r\n" into `out`, which has room for 24 characters; returns
// the end. By hand rather than through fmt: it runs for every argument of
// every command, and a format string is parsed at each call.
char* WriteHeader(char* out, char marker, size_t n) {
    *out++ = marker;
    out = std::to_chars(out, out + 21, n).ptr;
    *out++ = '\r';
    *out++ = '\n';
    return out;
}

}  // namespace

// The encoder is written here rather than taken from hiredis's
// redisFormatCommandArgv because that one mallocs a fresh buffer per
// command; appending to our own buffer lets a pipelined batch of commands
// go out in one write with no allocation per request.
Command& Command::Arg(std::string_view value) {
    char header[24];
    const char* end = WriteHeader(header, '$', value.size());
    args_.append(header, static_cast<size_t>(end - header));
    args_.append(value);
    args_.append("\r\n");
    ++argc_;
    return *this;
}

Command& Command::Arg(int64_t value) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    return Arg(std::string_view(digits, static_cast<size_t>(end - digits)));
}

Command& Command::Append(const Command& arguments) {
    args_.append(arguments.args_);
    argc_ += arguments.argc_;
    return *this;
}

void Command::AppendTo(std::string& out) const {
    char header[24];
    const char* end = WriteHeader(header, '*', static_cast<size_t>(argc_));
    out.append(header, static_cast<size_t>(end - header));
    out.append(args_);
}

bool ReplyView::IsError() const {
    return reply_ != nullptr && reply_->type == REDIS_REPLY_ERROR;
}

bool ReplyView::IsNil() const {
    return reply_ == nullptr || reply_->type == REDIS_REPLY_NIL;
}

bool ReplyView::IsArray() const {
    return reply_ != nullptr && reply_->type == REDIS_REPLY_ARRAY;
}

bool ReplyView::IsInteger() const {
    return reply_ != nullptr && reply_->type == REDIS_REPLY_INTEGER;
}

std::string_view ReplyView::Text() const {
    if (reply_ == nullptr) return {};
    switch (reply_->type) {
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_ERROR:
            return {reply_->str, reply_->len};
        default:
            return {};
    }
}

std::optional<int64_t> ReplyView::Integer() const {
    if (reply_ == nullptr) return std::nullopt;
    if (reply_->type == REDIS_REPLY_INTEGER) return reply_->integer;
    if (reply_->type != REDIS_REPLY_STRING) return std::nullopt;
    int64_t value = 0;
    const char* end = reply_->str + reply_->len;
    const auto [ptr, ec] = std::from_chars(reply_->str, end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

size_t ReplyView::Size() const { return IsArray() ? reply_->elements : 0; }

ReplyView ReplyView::operator[](size_t i) const {
    if (i >= Size()) return ReplyView(nullptr);
    return ReplyView(reply_->element[i]);
}

Reply::Reply(redisReply* reply) : root_(reply) {}

void Reply::Free::operator()(redisReply* reply) const {
    freeReplyObject(reply);
}

}  // namespace drip::redis
