// Checksums and unpacking for `moexp data fetch` (Torch-free): MD5 through OpenSSL's EVP interface, .tar.gz through
// libarchive (regular files and folders only; absolute paths and ".." are refused).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moexp::fetch {

// Lowercase hex MD5 of the file at `path`. Throws moexp::Error when it cannot be read.
std::string md5_of_file(const std::filesystem::path& path);

// A file written by unpack_tar: its path relative to the destination, size and MD5.
struct UnpackedFile {
  std::string path;
  std::int64_t bytes = 0;
  std::string md5;
};

// Unpack the .tar.gz `archive` into the existing folder `into`. Throws moexp::DataError naming the archive (and the
// member) when it is truncated, corrupt, or holds a link, device or a path outside `into`; moexp::Error on a write
// failure ("disk full writing ..."). Files already written are left for the caller to remove with the folder.
std::vector<UnpackedFile> unpack_tar(const std::filesystem::path& archive, const std::filesystem::path& into);

}  // namespace moexp::fetch
