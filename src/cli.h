// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The drip command line: serve, consume, enqueue and stats, their flags and
// their exit statuses (0 success or clean stop, 1 failure, 2 bad usage).

#pragma once

namespace drip::cli {

// Parses the command line and runs the command; returns the exit status.
int Main(int argc, char** argv);

}  // namespace drip::cli
