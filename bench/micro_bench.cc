// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// Micro-benchmarks of the per-message hot path: a producer's parse,
// validate and encode step, and a consumer's read of the stored form.

#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "bucket/message.h"

namespace {

namespace bucket = drip::bucket;

// PRODUCT.md's example message.
constexpr std::string_view kExample =
    R"({"id": 1, "job_priority": 1, "job_type": 2,)"
    R"( "job_publisher": "mobile_app",)"
    R"( "data": "this is my message from mobile app"})";

// What a producer does per message: parse and validate the body, then
// encode its stored payload. Buffers are reused, as the server does.
void BM_ParseValidateEncode(benchmark::State& state) {
    bucket::MessageParser parser;
    bucket::Message message;
    std::vector<bucket::Violation> violations;
    std::string payload;
    for (auto _ : state) {
        violations.clear();
        payload.clear();
        if (!parser.ParseOne(kExample, message, violations)) {
            state.SkipWithError("the example message was rejected");
            break;
        }
        bucket::AppendPayload(payload, message);
        benchmark::DoNotOptimize(payload.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() *
                            static_cast<int64_t>(kExample.size()));
}
BENCHMARK(BM_ParseValidateEncode);

// What a consumer does per leaked message before writing its record.
void BM_ParseStored(benchmark::State& state) {
    bucket::MessageParser parser;
    bucket::Message message;
    std::vector<bucket::Violation> violations;
    if (!parser.ParseOne(kExample, message, violations)) {
        state.SkipWithError("the example message was rejected");
        return;
    }
    std::string stored = "17\t1733212345678901\t1\t";
    bucket::AppendPayload(stored, message);

    for (auto _ : state) {
        auto read = bucket::ParseStored(stored);
        benchmark::DoNotOptimize(read);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseStored);

}  // namespace

BENCHMARK_MAIN();
