// Small string helpers shared by config parsing and error messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::core {

// Levenshtein distance between `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name` when it is close enough to be a plausible misspelling, else nullopt.
std::optional<std::string> did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// "a, b or c" (with quotes around each item when `quote`).
std::string join_alternatives(const std::vector<std::string>& items, bool quote = true);

// Split `text` at `sep`; empty pieces are kept.
std::vector<std::string> split(std::string_view text, char sep);

} // namespace moexp::core
