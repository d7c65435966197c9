#include "journal/record_file.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace moexp::journal {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kFrameBytes = 8;

std::uint32_t crc_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
  }
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8U) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("journal {}: cannot read it: {}", path.string(), std::strerror(errno)));
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The whole records of `bytes` from `offset`.
RecordRead parse(const fs::path& path, const std::string& bytes, std::uint64_t offset) {
  if (bytes.compare(0, kRecordFileHeader.size(), kRecordFileHeader) != 0) {
    throw InputError(fmt::format("journal {}: not a moexp journal (no '{}' header)", path.string(),
                                 kRecordFileHeader.substr(0, kRecordFileHeader.size() - 1)));
  }
  offset = std::max<std::uint64_t>(offset, kRecordFileHeader.size());
  if (offset > bytes.size()) {
    throw InputError(fmt::format("journal {}: {} bytes, shorter than the {} already read (was it replaced?)",
                                 path.string(), bytes.size(), offset));
  }
  RecordRead read;
  std::uint64_t at = offset;
  while (bytes.size() - at >= kFrameBytes) {
    const std::uint32_t length = get_u32(bytes.data() + at);
    const std::uint32_t crc = get_u32(bytes.data() + at + 4);
    if (length > kMaxRecordBytes || bytes.size() - at - kFrameBytes < length) {
      break;
    }
    const std::string_view payload(bytes.data() + at + kFrameBytes, length);
    if (crc_of(payload) != crc) {
      break;
    }
    read.records.emplace_back(payload);
    at += kFrameBytes + length;
  }
  read.end_offset = at;
  read.trailing_bytes = bytes.size() - at;
  return read;
}

[[noreturn]] void fail_write(const fs::path& path, int err) {
  throw Error(core::write_failure(path, err));
}

void write_fully(int fd, const fs::path& path, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail_write(path, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

RecordRead read_records(const fs::path& path, std::uint64_t offset) {
  if (!fs::exists(path)) {
    throw InputError(fmt::format("journal {} does not exist", path.string()));
  }
  return parse(path, read_all(path), offset);
}

RecordWriter::RecordWriter(const fs::path& path) : m_path(path) {
  std::error_code ec;
  // Missing, or shorter than its header (the first sync was cut short): a new file.
  const bool fresh = !fs::exists(path, ec) || fs::file_size(path, ec) < kRecordFileHeader.size();
  if (!fresh) {
    auto read = read_records(path);
    m_existing = std::move(read.records);
    m_size = read.end_offset;
  }
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
  }
  m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0) {
    fail_write(path, errno);
  }
  if (fresh) {
    if (::ftruncate(m_fd, 0) != 0) {
      fail_write(path, errno);
    }
    m_buffer.assign(kRecordFileHeader);
  } else if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0) {  // cut a torn tail
    fail_write(path, errno);
  }
  if (::lseek(m_fd, static_cast<off_t>(m_size), SEEK_SET) < 0) {
    fail_write(path, errno);
  }
}

RecordWriter::~RecordWriter() {
  if (m_fd >= 0) {
    ::close(m_fd);  // unsynced records are dropped: they were never promised
  }
}

void RecordWriter::append(std::string_view payload) {
  if (payload.size() > kMaxRecordBytes) {
    throw Error(fmt::format("journal {}: a record of {} bytes is over the {} limit", m_path.string(), payload.size(),
                            kMaxRecordBytes));
  }
  put_u32(m_buffer, static_cast<std::uint32_t>(payload.size()));
  put_u32(m_buffer, crc_of(payload));
  m_buffer.append(payload);
}

void RecordWriter::sync() {
  const bool first = m_size == 0;
  try {
    write_fully(m_fd, m_path, m_buffer);
    if (::fsync(m_fd) != 0) {
      fail_write(m_path, errno);
    }
  } catch (const Error&) {
    // Whatever part of the buffer reached the file is a torn tail: cut it so the file keeps its whole records.
    if (::ftruncate(m_fd, static_cast<off_t>(m_size)) == 0) {
      ::lseek(m_fd, static_cast<off_t>(m_size), SEEK_SET);
    }
    m_buffer.clear();
    throw;
  }
  m_size += m_buffer.size();
  m_buffer.clear();
  if (first) {  // the file's name is durable too
    const int dir = ::open(m_path.has_parent_path() ? m_path.parent_path().c_str() : ".", O_RDONLY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }
}

}  // namespace moexp::journal
