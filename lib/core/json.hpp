// Minimal JSON text helpers (moexp writes JSON; it never parses it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::core {

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s);

// A finite number as JSON (shortest round-trip form); NaN and infinities become null.
std::string json_number(double v);

// "[a, b, ...]" of numbers.
std::string json_array(const std::vector<double>& values);
std::string json_array(const std::vector<std::int64_t>& values);

}  // namespace moexp::core
