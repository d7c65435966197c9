// This machine and its processes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace moexp::core {

// This machine's host name.
std::string host_name();

// The file this process runs (/proc/self/exe), or nullopt where it cannot be read. The sweep starts children with
// it; the binary finds its Torch plugin beside it.
std::optional<std::filesystem::path> self_executable();

// Whether process `pid` on `host` still runs (this host: a kill(pid, 0) probe; another host: assumed alive).
bool process_alive(const std::string& host, std::int64_t pid);

// An identity of process `pid`'s start on this host (its start time since boot, from /proc), "" when it is gone.
// (pid, start id) names one process even after the pid is reused.
std::string process_start_id(std::int64_t pid);

// Whether the process that was `pid` with start id `start_id` on `host` still runs (another host: assumed alive;
// an empty `start_id`: as process_alive).
bool process_alive_since(const std::string& host, std::int64_t pid, const std::string& start_id);

// Keep freed heap memory in this process instead of returning it to the system (glibc: large blocks from the heap
// rather than mmap, no trimming). A training step frees and re-allocates the same activations every step; without
// this each one is a fresh mapping whose pages the kernel zeroes again (bench/RESULTS.md). Called
// by moexp's main and by the Torch benches; a no-op where the C library is not glibc. Where the binary links jemalloc
// (CMake moexp_allocator) glibc's heap is unused and lib/core/jemalloc_conf.cpp sets the same policy.
void keep_freed_memory();

}  // namespace moexp::core
