// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// `drip serve`: the HTTP API on Boost.Beast. Each worker thread runs its own
// io_context with its own listening socket (SO_REUSEPORT spreads new
// connections across them), its own pipelined Redis connection and its own
// message parser, so that a request never waits on a lock or another thread.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/settings.h"

namespace drip::http {

struct ServerOptions {
    config::Settings settings;
    // Messages accepted in one POST /enqueue/batch.
    size_t max_batch = 10000;
    // Time allowed to finish requests in flight after SIGTERM or SIGINT.
    std::chrono::milliseconds drain_timeout{1500};
};

// Runs the server until SIGTERM or SIGINT, then drains and returns 0.
// Returns 1 when it cannot listen (the reason is logged).
int RunServer(const ServerOptions& options);

}  // namespace drip::http
