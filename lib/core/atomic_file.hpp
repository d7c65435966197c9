// Atomic file writes: write a sibling temp file, flush it to disk, then rename over the target. Every failure (a
// full disk included) is one Error line naming the target, the temp file is removed and the old file is untouched.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace moexp::core {

// The one-line message of a failed write of `path` with errno `err`: "disk full writing PATH (...)" for ENOSPC and
// EDQUOT, "cannot write PATH: ..." otherwise.
std::string write_failure(const std::filesystem::path& path, int err);

// The whole content of the file `path`. Throws InputError naming it when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

// Refuse a target that cannot be a file: an empty path or an existing folder, device or other non-regular file.
// Throws InputError naming `path` and `what` (e.g. "--out").
void check_output_path(const std::filesystem::path& path, std::string_view what);

// Write `content` to `path` atomically; readers see either the old file or the new one, never a partial one.
// Creates missing parent folders. Throws moexp::Error naming `path` on failure ("disk full writing ..." on ENOSPC).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Sink of a streaming writer: append `size` bytes. Never throws; a failure is reported when the stream ends.
using ByteSink = std::function<void(const void* data, std::size_t size)>;

// Call `produce(sink)` to stream the file's bytes into a temp file, then rename it over `path` atomically. For
// writers that must not see write errors mid-stream (torch's archive writer aborts when its destination fails):
// the first write error is remembered, later bytes are dropped, and it is thrown once `produce` returns.
void stream_file_atomic(const std::filesystem::path& path, const std::function<void(const ByteSink&)>& produce);

}  // namespace moexp::core
