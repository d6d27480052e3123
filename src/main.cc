// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "cli.h"

int main(int argc, char** argv) { return drip::cli::Main(argc, argv); }
