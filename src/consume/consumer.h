// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// `drip consume`: takes messages from the bucket at their slots of the leak
// schedule and records each in the processed log. One consumer is one
// thread: a taker fetches the next slots and messages from Redis ahead of
// time, a runner starts each message at its slot, writes its record, and
// acknowledges it once the record is on disk.

#pragma once

#include <string>

#include "config/settings.h"

namespace drip::consume {

// The name a consumer holds messages under: --consumer-id, or else this
// host's name and the log file's absolute path. A consumer restarted on
// the same log file gets the same name back, and so finds what it held.
std::string ConsumerId(const config::Settings& settings);

// Runs until SIGTERM or SIGINT. Returns the process exit status: 0 after a
// clean stop, 1 when Redis cannot be reached at start or the log cannot be
// written, 2 when the log file is in use by another consumer.
int RunConsumer(const config::Settings& settings);

}  // namespace drip::consume
