// Small string helpers shared by config parsing and error messages.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::core {

// Levenshtein distance between `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name` when it is close enough to be a plausible misspelling, else nullopt.
std::optional<std::string> did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// `message` followed by " (did you mean 'x'?)" when did_you_mean finds x for `name`: the tail of every
// "unknown ..." error.
std::string with_suggestion(std::string message, std::string_view name, const std::vector<std::string>& candidates);

// "a, b or c" (with quotes around each item when `quote`).
std::string join_alternatives(const std::vector<std::string>& items, bool quote = true);

// Split `text` at `sep`; empty pieces are kept.
std::vector<std::string> split(std::string_view text, char sep);

// The whole of the regular file at `path`, at most `max_bytes` long; anything else (missing, a folder, a device or
// pipe such as /dev/zero, too large) throws InputError "PATH: cannot read the WHAT: ..." before reading more.
std::string read_small_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what);

// The last `lines` lines of the file at `path` ("" when it cannot be read), each ending in a newline.
std::string file_tail(const std::filesystem::path& path, std::size_t lines = 20);

// The last non-empty line of `text`, without its newline.
std::string last_line(const std::string& text);

// Whether `text` is 1 to 18 ASCII digits (so std::stoll takes it): how a run id (not a path) or a count is told apart
// on the command line.
bool is_unsigned_integer(std::string_view text);

// `text` without leading and trailing whitespace.
std::string_view trim(std::string_view text);

// `field` as one CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& field);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), as TOML
// requires of every document: a string moexp stores in a config must load back.
bool valid_utf8(std::string_view text);

// `text` safe to print on a terminal: control characters (C0, DEL) as \n, \t, \r or \xNN; UTF-8 kept.
std::string printable(std::string_view text);

}  // namespace moexp::core
