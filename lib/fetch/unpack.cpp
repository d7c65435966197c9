#include "fetch/unpack.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>

namespace moexp::fetch {
namespace fs = std::filesystem;
namespace {

// An MD5 being computed (OpenSSL 3's EVP interface; the MD5_* functions are deprecated).
class Md5 {
 public:
  Md5() : m_ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_md5(), nullptr) != 1) {
      throw Error("cannot compute MD5 checksums (OpenSSL)");
    }
  }
  void add(const void* data, std::size_t size) { EVP_DigestUpdate(m_ctx.get(), data, size); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_DigestFinal_ex(m_ctx.get(), digest.data(), &size);
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
      out += fmt::format("{:02x}", digest[i]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> m_ctx;
};

// Whether `member` stays inside the destination: relative, no "..".
bool safe_member(const fs::path& member) {
  if (member.empty() || member.is_absolute()) {
    return false;
  }
  for (const auto& part : member) {
    if (part == "..") {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string md5_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  Md5 md5;
  std::array<char, 1 << 16> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    md5.add(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    throw Error(fmt::format("cannot read {}", path.string()));
  }
  return md5.hex();
}

std::vector<UnpackedFile> unpack_tar(const fs::path& archive, const fs::path& into) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> reader(archive_read_new(), &archive_read_free);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  auto fail = [&](const std::string& what) -> DataError {
    return DataError(fmt::format("{}: {}; delete it and fetch again", archive.string(), what));
  };
  if (archive_read_open_filename(reader.get(), archive.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw fail(archive_error_string(reader.get()));
  }
  std::vector<UnpackedFile> files;
  archive_entry* entry = nullptr;
  while (true) {
    const int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) {
      break;
    }
    if (rc != ARCHIVE_OK) {
      throw fail(fmt::format("cannot read the archive ({})", archive_error_string(reader.get())));
    }
    const fs::path member = fs::path(archive_entry_pathname(entry)).lexically_normal();
    if (!safe_member(member)) {
      throw fail(fmt::format("member '{}' would land outside the dataset folder", member.string()));
    }
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      fs::create_directories(into / member);
      continue;
    }
    if (type != AE_IFREG) {
      throw fail(fmt::format("member '{}' is not a regular file or folder", member.string()));
    }
    Md5 md5;
    std::int64_t bytes = 0;
    std::string read_error;
    core::stream_file_atomic(into / member, [&](const core::ByteSink& sink) {
      const void* block = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      int r = ARCHIVE_OK;
      while ((r = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        sink(block, size);
        md5.add(block, size);
        bytes += static_cast<std::int64_t>(size);
      }
      if (r != ARCHIVE_EOF) {
        read_error = archive_error_string(reader.get()) != nullptr ? archive_error_string(reader.get()) : "read error";
      }
    });
    if (!read_error.empty()) {
      throw fail(fmt::format("member '{}' is cut short ({})", member.string(), read_error));
    }
    files.push_back({member.string(), bytes, md5.hex()});
  }
  return files;
}

}  // namespace moexp::fetch
