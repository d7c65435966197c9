// Wall-clock helpers.
#pragma once

#include <string>

namespace moexp::core {

// The current UTC time as ISO 8601 with seconds, e.g. "2026-11-28T19:04:05Z".
std::string now_iso8601();

// Seconds since the Unix epoch, as a double with sub-second precision.
double now_unix_seconds();

// Seconds from `iso8601` (as now_iso8601 writes it) until now; 0 when it cannot be parsed.
double seconds_since_iso8601(const std::string& iso8601);

// Format a duration in seconds as "1h02m", "3m05s" or "42s".
std::string format_duration(double seconds);

}  // namespace moexp::core
