// What every fuzz target checks: bad input ends in moexp::InputError with a non-empty message (what the user sees as
// "moexp: error: ...", one line because cmd/moexp_main.cpp escapes control characters when it prints); any other
// exception is an "internal error" for the user and a finding, so it aborts.
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::fuzz {

[[noreturn]] inline void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz finding: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Run `body`; an InputError must carry a message; anything else that escapes is a finding.
template <typename Body>
void expect_clean(Body&& body) {
  try {
    body();
  } catch (const InputError& e) {
    const std::string what = e.what();
    if (what.empty()) {
      finding("an input error without a message", what);
    }
  } catch (const std::exception& e) {
    finding("an exception other than InputError (an internal error for the user)", e.what());
  }
}

// Split `data` at NUL bytes: the first part and up to `max_rest` further parts.
inline std::vector<std::string> split_at_nul(const std::uint8_t* data, std::size_t size, std::size_t max_rest) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() <= max_rest) {
      parts.emplace_back();
    } else {
      parts.back().push_back(static_cast<char>(data[i]));
    }
  }
  return parts;
}

}  // namespace moexp::fuzz
