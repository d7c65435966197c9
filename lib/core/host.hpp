// This machine and its processes.
#pragma once

#include <cstdint>
#include <string>

namespace moexp::core {

// This machine's host name.
std::string host_name();

// Whether process `pid` on `host` still runs (this host: a kill(pid, 0) probe; another host: assumed alive).
bool process_alive(const std::string& host, std::int64_t pid);

} // namespace moexp::core
