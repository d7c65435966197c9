#include "journal/record_file.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/file.h>
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

// The file's header and its bytes from `offset` on (offset 0: all of it), as one string whose first
// kRecordFileHeaderBytes bytes are the header; `skipped` is set to the bytes left out between them.
std::string read_from(const fs::path& path, std::uint64_t offset, std::uint64_t& skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("journal {}: cannot read it: {}", path.string(), std::strerror(errno)));
  }
  std::string bytes(kRecordFileHeaderBytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  skipped = 0;
  if (offset > bytes.size() && bytes.size() == kRecordFileHeaderBytes) {
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::uint64_t>(in.tellg());
    if (offset > size) {
      throw InputError(fmt::format("journal {}: {} bytes, shorter than the {} already read (was it replaced?)",
                                   path.string(), size, offset));
    }
    in.seekg(static_cast<std::streamoff>(offset));
    skipped = offset - bytes.size();
  }
  bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return bytes;
}

// The whole records of `bytes` (a file's header and its bytes from `skipped` + the header on) from file offset
// `offset`.
RecordRead parse(const fs::path& path, const std::string& bytes, std::uint64_t offset, std::uint64_t skipped) {
  if (bytes.compare(0, kRecordFileHeader.size(), kRecordFileHeader) != 0 || bytes.size() < kRecordFileHeaderBytes ||
      bytes[kRecordFileHeaderBytes - 1] != '\n') {
    throw InputError(fmt::format("journal {}: not a moexp journal (no '{}' header)", path.string(),
                                 kRecordFileHeader.substr(0, kRecordFileHeader.size() - 1)));
  }
  offset = std::max<std::uint64_t>(offset, kRecordFileHeaderBytes);
  if (offset - skipped > bytes.size()) {
    throw InputError(fmt::format("journal {}: {} bytes, shorter than the {} already read (was it replaced?)",
                                 path.string(), bytes.size() + skipped, offset));
  }
  RecordRead read;
  read.file_id = bytes.substr(kRecordFileHeader.size(), kRecordFileHeaderBytes - kRecordFileHeader.size() - 1);
  std::uint64_t at = offset - skipped;  // in `bytes`
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
  read.end_offset = at + skipped;
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
  std::uint64_t skipped = 0;
  const auto bytes = read_from(path, offset, skipped);
  return parse(path, bytes, offset, skipped);
}

RecordWriter::RecordWriter(const fs::path& path) : m_path(path) {
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
  }
  m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0) {
    fail_write(path, errno);
  }
  // One writer at a time: a process that takes the run up again waits here for one still ending (flock; NFS clients
  // map it to the server's byte-range locks). Released when the descriptor closes, a killed process's included.
  while (::flock(m_fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      const int err = errno;
      ::close(m_fd);
      throw Error(fmt::format("journal {}: cannot lock it: {}", path.string(), std::strerror(err)));
    }
  }
  // Empty, or a header cut short (the first sync was interrupted): a new file. Anything else shorter than a header is
  // not a journal, and read_records refuses it untouched.
  const auto size = fs::file_size(path, ec);
  bool fresh = size == 0;
  if (size > 0 && size < kRecordFileHeaderBytes) {
    std::ifstream in(path, std::ios::binary);
    std::string head(std::min<std::size_t>(size, kRecordFileHeader.size()), '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    fresh = in && kRecordFileHeader.substr(0, head.size()) == head;
  }
  try {
    if (!fresh) {
      auto read = read_records(path);
      m_existing = std::move(read.records);
      m_size = read.end_offset;
    }
    if (fresh) {
      if (::ftruncate(m_fd, 0) != 0) {
        fail_write(path, errno);
      }
      m_buffer = std::string(kRecordFileHeader) + core::random_token() + "\n";
    } else if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0) {  // cut a torn tail
      fail_write(path, errno);
    }
    if (::lseek(m_fd, static_cast<off_t>(m_size), SEEK_SET) < 0) {
      fail_write(path, errno);
    }
  } catch (...) {
    ::close(m_fd);
    throw;
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
