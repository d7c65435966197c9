#include "core/atomic_file.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace moexp::core {
namespace fs = std::filesystem;
namespace {

fs::path temp_sibling(const fs::path& path) {
  return path.parent_path() / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid());
}

void ensure_parent(const fs::path& path) {
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      throw Error(fmt::format("cannot create folder {}: {}", path.parent_path().string(), ec.message()));
    }
  }
}

// An open temp file that writes all-or-error and is removed unless committed.
class TempFile {
 public:
  explicit TempFile(const fs::path& target) : m_target(target), m_temp(temp_sibling(target)) {
    m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m_fd < 0) {
      throw Error(write_failure(m_target, errno));
    }
  }
  ~TempFile() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    if (!m_committed) {
      std::error_code ignored;
      fs::remove(m_temp, ignored);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Append; remembers the first error instead of throwing.
  void write(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    while (m_error == 0 && size > 0) {
      const ssize_t n = ::write(m_fd, bytes, size);
      if (n < 0) {
        if (errno != EINTR) {
          m_error = errno;
        }
        continue;
      }
      bytes += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  // Flush, close and rename over the target; throws the first error seen.
  void commit() {
    if (m_error == 0 && ::fsync(m_fd) != 0) {
      m_error = errno;
    }
    if (::close(m_fd) != 0 && m_error == 0) {
      m_error = errno;
    }
    m_fd = -1;
    if (m_error != 0) {
      throw Error(write_failure(m_target, m_error));
    }
    std::error_code ec;
    fs::rename(m_temp, m_target, ec);
    if (ec) {
      throw Error(fmt::format("cannot rename {} to {}: {}", m_temp.string(), m_target.string(), ec.message()));
    }
    m_committed = true;
    if (m_target.has_parent_path()) {
      const int dir = ::open(m_target.parent_path().c_str(), O_RDONLY | O_CLOEXEC);
      if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
      }
    }
  }

 private:
  fs::path m_target, m_temp;
  int m_fd = -1;
  int m_error = 0;
  bool m_committed = false;
};

}  // namespace

std::string write_failure(const fs::path& path, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return fmt::format("disk full writing {} ({})", path.string(), std::strerror(err));
  }
  return fmt::format("cannot write {}: {}", path.string(), std::strerror(err));
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check_output_path(const fs::path& path, std::string_view what) {
  if (path.empty()) {
    throw InputError(fmt::format("{}: the path is empty", what));
  }
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (fs::is_directory(status)) {
    throw InputError(fmt::format("{} {}: is a folder; give a file name", what, path.string()));
  }
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    throw InputError(fmt::format("{} {}: not a regular file", what, path.string()));
  }
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  stream_file_atomic(path, [&](const ByteSink& sink) { sink(content.data(), content.size()); });
}

void stream_file_atomic(const fs::path& path, const std::function<void(const ByteSink&)>& produce) {
  check_output_path(path, "output");
  ensure_parent(path);
  TempFile temp(path);
  produce([&](const void* data, std::size_t size) { temp.write(data, size); });
  temp.commit();
}

}  // namespace moexp::core
