// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Whether the Redis server keeps what drip writes: drip promises that a
// message is lost only where Redis loses it, so a Redis set up to lose data
// is worth a warning at start.

#pragma once

#include <utility>  // Boost 1.74's asio/awaitable.hpp needs it first.

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "redis/connection.h"

namespace drip::redis {

// The ways the server's configuration can lose accepted messages, as
// sentences for a warning: no persistence at all, an AOF that is not
// fsynced on every write, or a maxmemory-policy that evicts keys. Empty
// when all is well, or when CONFIG is not allowed (a managed Redis); the
// check then says nothing rather than guess.
boost::asio::awaitable<std::vector<std::string>> DurabilityRisks(
    Connection& connection);

}  // namespace drip::redis
