#include "core/atomic_file.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace moexp::core {
namespace {

std::filesystem::path temp_sibling(const std::filesystem::path& path) {
  return path.parent_path() / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid());
}

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void ensure_parent(const std::filesystem::path& path) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      throw Error(fmt::format("cannot create folder {}: {}", path.parent_path().string(), ec.message()));
    }
  }
}

} // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  replace_file_atomic(path, [&](const std::filesystem::path& temp) {
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw Error(fmt::format("cannot write {}: {}", temp.string(), std::strerror(errno)));
    }
    size_t written = 0;
    while (written < content.size()) {
      ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        int err = errno;
        ::close(fd);
        throw Error(fmt::format("cannot write {}: {}", temp.string(), std::strerror(err)));
      }
      written += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
  });
}

void replace_file_atomic(const std::filesystem::path& path,
                         const std::function<void(const std::filesystem::path&)>& write_to) {
  ensure_parent(path);
  const auto temp = temp_sibling(path);
  try {
    write_to(temp);
    fsync_path(temp);
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) {
      throw Error(fmt::format("cannot rename {} to {}: {}", temp.string(), path.string(), ec.message()));
    }
    if (path.has_parent_path()) {
      fsync_path(path.parent_path());
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
}

} // namespace moexp::core
