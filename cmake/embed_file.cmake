# SPDX-License-Identifier: MIT
# Copyright 2026 The drip developers
#
# Turns one file into a C++ source that defines
#   std::string_view drip::http::FUNCTION()
# returning the file's bytes (declared in src/http/pages.h). Run as a script:
#   cmake -DINPUT=page.html -DOUTPUT=page.cc -DFUNCTION=DashboardPage
#         -P cmake/embed_file.cmake
# Every byte becomes a \xNN escape, so no content (a quote, a backslash, a
# ")" that would end a raw string) can break the literal, and no
# character-set conversion touches it.

foreach(var INPUT OUTPUT FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake: -D${var}=... is required")
  endif()
endforeach()

# A comment "/* @include NAME */" stands for the file NAME beside INPUT:
# code that several pages share is kept once.
file(READ "${INPUT}" text)
get_filename_component(dir "${INPUT}" DIRECTORY)
string(REGEX MATCHALL "/\\* @include [A-Za-z0-9_.-]+ \\*/" markers "${text}")
foreach(marker IN LISTS markers)
  string(REGEX REPLACE "/\\* @include ([A-Za-z0-9_.-]+) \\*/" "\\1"
         included "${marker}")
  file(READ "${dir}/${included}" content)
  string(REPLACE "${marker}" "${content}" text "${text}")
endforeach()
file(WRITE "${OUTPUT}.expanded" "${text}")
file(READ "${OUTPUT}.expanded" hex HEX)
string(LENGTH "${hex}" hex_length)
if(hex_length EQUAL 0)
  message(FATAL_ERROR "embed_file.cmake: ${INPUT} is empty")
endif()

# 32 bytes to a line, as adjacent literals the compiler joins.
set(body "")
set(chunk 64)
foreach(offset RANGE 0 ${hex_length} ${chunk})
  if(offset LESS hex_length)
    string(SUBSTRING "${hex}" ${offset} ${chunk} piece)
    string(REGEX REPLACE "(..)" "\\\\x\\1" piece "${piece}")
    string(APPEND body "    \"${piece}\"\n")
  endif()
endforeach()

get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}"
"// Generated from ${name} by cmake/embed_file.cmake; do not edit.

#include \"http/pages.h\"

namespace drip::http {
namespace {

constexpr char kBytes[] =
${body};

}  // namespace

std::string_view ${FUNCTION}() { return {kBytes, sizeof(kBytes) - 1}; }

}  // namespace drip::http
")
