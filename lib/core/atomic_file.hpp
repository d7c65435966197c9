// Atomic file writes: write a sibling temp file, flush it to disk, then rename over the target.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace moexp::core {

// Write `content` to `path` atomically; readers see either the old file or the new one, never a partial one.
// Creates missing parent folders. Throws moexp::Error naming `path` on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Run `write_to(temp_path)` and rename the temp file over `path` when it returns. For writers that need a path
// (torch::save). On an exception the temp file is removed and the exception propagates.
void replace_file_atomic(const std::filesystem::path& path,
                         const std::function<void(const std::filesystem::path&)>& write_to);

} // namespace moexp::core
