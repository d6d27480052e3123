// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers

#include "common/errc.h"

namespace drip {
namespace {

class Category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "drip"; }

    std::string message(int code) const override {
        switch (static_cast<Errc>(code)) {
            case Errc::kOk:
                return "ok";
            case Errc::kInvalidArgument:
                return "invalid argument";
            case Errc::kNotFound:
                return "not found";
            case Errc::kUnavailable:
                return "unavailable";
            case Errc::kDeadlineExceeded:
                return "deadline exceeded";
            case Errc::kResourceExhausted:
                return "resource exhausted";
            case Errc::kInternal:
                return "internal error";
        }
        return "unknown";
    }
};

}  // namespace

const std::error_category& ErrcCategory() {
    static const Category category;
    return category;
}

std::error_code make_error_code(Errc e) {
    return {static_cast<int>(e), ErrcCategory()};
}

Error MakeError(Errc e, std::string detail) {
    return Error{make_error_code(e), std::move(detail)};
}

}  // namespace drip
