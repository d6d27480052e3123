// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "redis/durability.h"

#include <map>

namespace drip::redis {

boost::asio::awaitable<std::vector<std::string>> DurabilityRisks(
    Connection& connection) {
    std::vector<std::string> risks;
    std::map<std::string, std::string, std::less<>> config;
    for (const char* name :
         {"appendonly", "appendfsync", "save", "maxmemory-policy"}) {
        auto reply =
            co_await connection.Execute(Command("CONFIG").Arg("GET").Arg(name));
        if (!reply) co_return risks;
        const auto view = reply.value().View();
        if (view.IsError() || view.Size() != 2) co_return risks;
        config[name] = std::string(view[1].Text());
    }
    if (config["appendonly"] != "yes") {
        risks.push_back(config["save"].empty()
                            ? "no persistence: a Redis restart loses every "
                              "message (set appendonly yes)"
                            : "snapshots only: a Redis restart loses the "
                              "messages since the last save (set appendonly "
                              "yes)");
    } else if (config["appendfsync"] != "always") {
        risks.push_back("appendfsync is " + config["appendfsync"] +
                        ": a crash of the Redis host can lose the last "
                        "second of accepted messages (set appendfsync "
                        "always)");
    }
    const auto& policy = config["maxmemory-policy"];
    if (policy != "noeviction") {
        risks.push_back("maxmemory-policy is " + policy +
                        ": Redis may evict waiting messages when memory "
                        "runs out (set maxmemory-policy noeviction)");
    }
    co_return risks;
}

}  // namespace drip::redis
