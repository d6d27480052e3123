// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The few error codes drip's components return, each saying whether a retry
// can help, and the Result type that carries them. Errors are values here;
// exceptions are kept for startup failures and bugs.

#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <boost/outcome/basic_result.hpp>
#include <boost/outcome/policy/terminate.hpp>
#include <boost/outcome/success_failure.hpp>

namespace drip {

enum class Errc {
    kOk = 0,
    // The input is wrong; retrying the same input fails the same way.
    kInvalidArgument,
    // The thing asked for does not exist.
    kNotFound,
    // A dependency (Redis, a downstream) cannot be reached right now; retry
    // with backoff.
    kUnavailable,
    // The operation did not finish in time; its effect is unknown.
    kDeadlineExceeded,
    // A limit was hit (a full bucket, a rate limit); retry later.
    kResourceExhausted,
    // A bug or an answer that breaks an invariant.
    kInternal,
};

const std::error_category& ErrcCategory();

std::error_code make_error_code(Errc e);  // NOLINT: found by ADL

// An error code and a human-readable detail, such as the Redis error text.
struct Error {
    std::error_code code;
    std::string detail;
};

Error MakeError(Errc e, std::string detail);

namespace outcome_v2 = boost::outcome_v2;

// A value or an Error. [[nodiscard]] comes with the type: Outcome marks its
// result must-use. Reading the value of a failed Result is a bug and
// terminates.
template <typename T>
using Result =
    outcome_v2::basic_result<T, Error, outcome_v2::policy::terminate>;

// Exposed for readers who want the code of a failed Result.
inline Errc ErrcOf(const Error& e) {
    if (e.code.category() != ErrcCategory()) return Errc::kInternal;
    return static_cast<Errc>(e.code.value());
}

}  // namespace drip

template <>
struct std::is_error_code_enum<drip::Errc> : std::true_type {};
