// SPDX-License-Identifier: MIT
// Copyright 2026 The drip developers
//
// The pages `drip serve` answers besides its JSON API: the live dashboard
// (GET /), the docs page (GET /docs) and the OpenAPI document (GET
// /openapi.json). Their sources live in src/http/pages/ and are compiled
// into the executable (cmake/embed_file.cmake), so serve needs no files at
// run time and a page always matches the build that serves it.

#pragma once

#include <string_view>

namespace drip::http {

// The dashboard, one self-contained HTML file (its CSS and JS inline) that
// polls GET /stats and GET /metrics. Static storage: valid for the whole
// run of the program; thread-safe.
std::string_view DashboardPage();

// The docs page, one self-contained HTML file that renders GET
// /openapi.json and can try POST /enqueue. Same lifetime as above.
std::string_view DocsPage();

// The OpenAPI 3.1 document of the HTTP API, as JSON. Same lifetime as
// above.
std::string_view OpenApiDocument();

}  // namespace drip::http
