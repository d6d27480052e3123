// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Redis commands going out and replies coming back. Commands are encoded
// straight into RESP (the Redis serialization protocol); replies are parsed
// by hiredis's reader and held here without copying.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct redisReply;

namespace drip::redis {

// One command: its arguments in RESP form, ready to be written.
// Example: Command("EVALSHA").Arg(sha).Arg(1).Arg(key). A Command made
// with no name is a list of arguments to Append to another.
class Command {
  public:
    Command() = default;
    explicit Command(std::string_view name) { Arg(name); }

    Command& Arg(std::string_view value);
    Command& Arg(int64_t value);
    Command& Append(const Command& arguments);
    // Makes room for `bytes` more of encoded arguments.
    void Reserve(size_t bytes) { args_.reserve(args_.size() + bytes); }

    // Appends the whole command, array header included, to `out`.
    void AppendTo(std::string& out) const;

    int ArgCount() const { return argc_; }
    // The encoded arguments' size in bytes.
    size_t Bytes() const { return args_.size(); }

  private:
    std::string args_;
    int argc_ = 0;
};

// A borrowed view of one reply (or one element of an array reply); valid as
// long as the Reply that owns it.
class ReplyView {
  public:
    explicit ReplyView(const redisReply* reply) : reply_(reply) {}

    bool IsError() const;
    bool IsNil() const;
    bool IsArray() const;
    bool IsInteger() const;
    // For strings, status and error replies; empty otherwise.
    std::string_view Text() const;
    // The integer of an integer reply, or a string reply parsed as a
    // decimal integer; std::nullopt otherwise.
    std::optional<int64_t> Integer() const;
    size_t Size() const;  // array elements; 0 for other kinds
    ReplyView operator[](size_t i) const;

  private:
    const redisReply* reply_;
};

// An owned reply tree, freed with hiredis's freeReplyObject.
class Reply {
  public:
    Reply() = default;
    explicit Reply(redisReply* reply);

    ReplyView View() const { return ReplyView(root_.get()); }

  private:
    struct Free {
        void operator()(redisReply* reply) const;
    };
    std::unique_ptr<redisReply, Free> root_;
};

}  // namespace drip::redis
