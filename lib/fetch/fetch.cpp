#include "fetch/fetch.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "fetch/unpack.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

namespace moexp::fetch {
namespace fs = std::filesystem;
namespace {

constexpr const char* kRecordName = ".moexp-fetched";

std::string file_name_of(const std::string& url) {
  return url.substr(url.find_last_of('/') + 1);
}

// An exclusive lock on ROOT/.downloads/<dataset>.lock for one fetch; the file is removed as the lock is released (a
// fetch that opens it meanwhile fails its non-blocking lock and says another fetch is running).
class FetchLock {
 public:
  FetchLock(const fs::path& file, const std::string& dataset) : m_file(file) {
    m_fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (m_fd < 0) {
      throw Error(fmt::format("cannot create {}: {}", file.string(), std::strerror(errno)));
    }
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(m_fd);
      throw InputError(fmt::format("another `moexp data fetch {}` is running (it holds {})", dataset, file.string()));
    }
  }
  ~FetchLock() {
    ::unlink(m_file.c_str());
    ::close(m_fd);
  }
  FetchLock(const FetchLock&) = delete;
  FetchLock& operator=(const FetchLock&) = delete;

 private:
  fs::path m_file;
  int m_fd = -1;
};

// Removes its folders, innermost first, when they are empty as it goes out of scope: a fetch that ends, well or not,
// leaves no empty download folders behind (a partial download kept for resuming keeps its folder).
struct EmptyFoldersGuard {
  std::vector<fs::path> folders;
  ~EmptyFoldersGuard() {
    for (const auto& f : folders) {
      std::error_code ec;
      if (fs::is_empty(f, ec) && !ec) {
        fs::remove(f, ec);
      }
    }
  }
};

// Removes a folder when it goes out of scope, unless released.
struct FolderGuard {
  fs::path folder;
  ~FolderGuard() {
    if (!folder.empty()) {
      std::error_code ec;
      fs::remove_all(folder, ec);
    }
  }
};

// Download `file` into `downloads` (resuming a .part), verify its MD5, and return the verified file's path.
fs::path download_verified(const RemoteFile& file, const fs::path& downloads, const HttpOptions& options,
                           const FileProgress& progress) {
  const std::string name = file_name_of(file.url);
  const fs::path done = downloads / name;
  const fs::path part = downloads / (name + ".part");
  std::error_code ec;
  if (!fs::exists(done, ec)) {
    try {
      download(file.url, part, options, [&](std::int64_t bytes, std::int64_t total) {
        if (progress) {
          progress(name, bytes, total > 0 ? total : file.size);
        }
      });
    } catch (...) {
      if (fs::exists(part, ec) && fs::file_size(part, ec) == 0) {
        fs::remove(part, ec);  // nothing to resume from
      }
      throw;
    }
    fs::rename(part, done);
  }
  const std::string md5 = md5_of_file(done);
  if (md5 != file.md5) {
    fs::remove(done, ec);
    throw DataError(
        fmt::format("{}: checksum mismatch (MD5 {}, published {}); the download was deleted, run the "
                    "same command again",
                    file.url, md5, file.md5));
  }
  return done;
}

void remove_stale_staging(const fs::path& root, const std::string& dataset) {
  const std::string prefix = ".staging-" + dataset + "-";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) {
      fs::remove_all(e.path(), ec);  // we hold the dataset's lock: no other fetch is using it
    }
  }
}

}  // namespace

FetchOutcome fetch_dataset(const DatasetEntry& entry, const fs::path& root, const HttpOptions& options,
                           const FileProgress& progress) {
  const fs::path downloads = root / ".downloads" / entry.dataset;
  std::vector<fs::path> created{downloads, root / ".downloads"};
  if (!fs::exists(root)) {
    created.push_back(root);  // a --to folder this fetch made goes too when it ends empty
  }
  fs::create_directories(downloads);
  const EmptyFoldersGuard cleanup{created};  // runs after the lock is released
  FetchLock lock(root / ".downloads" / (entry.dataset + ".lock"), entry.dataset);
  remove_stale_staging(root, entry.dataset);
  const fs::path folder = root / entry.dataset;
  std::error_code ec;
  if (fs::exists(folder, ec)) {
    const auto state = inspect_dataset(entry, root, false);
    if (state.present) {
      return FetchOutcome::already_present;
    }
    throw InputError(fmt::format("{} exists but is not a complete {} ({}); move it away and run again", folder.string(),
                                 entry.dataset, state.problems.front()));
  }
  const fs::path staging = root / fmt::format(".staging-{}-{}", entry.dataset, ::getpid());
  fs::create_directories(staging);
  FolderGuard guard{staging};
  std::ostringstream record;
  record << "# " << entry.dataset << " fetched by moexp data fetch from " << entry.source << "\n"
         << "# md5 bytes path\n";
  std::vector<fs::path> archives;
  for (const auto& file : entry.files) {
    const fs::path verified = download_verified(file, downloads, options, progress);
    if (file.untar) {
      for (const auto& f : unpack_tar(verified, staging)) {
        record << f.md5 << " " << f.bytes << " " << f.path << "\n";
      }
      archives.push_back(verified);
    } else {
      const auto bytes = static_cast<std::int64_t>(fs::file_size(verified));
      fs::rename(verified, staging / verified.filename());
      record << file.md5 << " " << bytes << " " << verified.filename().string() << "\n";
    }
  }
  for (const auto& expected : entry.contents) {
    if (!fs::is_regular_file(staging / expected, ec)) {
      throw DataError(fmt::format("the {} download has no {}; is the URL right?", entry.dataset, expected));
    }
  }
  core::write_file_atomic(staging / kRecordName, record.str());
  fs::rename(staging, folder);  // the one step that makes the dataset appear, complete
  guard.folder.clear();
  for (const auto& a : archives) {
    fs::remove(a, ec);  // unpacked and recorded: the archive is no longer needed
  }
  return FetchOutcome::fetched;
}

DatasetState inspect_dataset(const DatasetEntry& entry, const fs::path& root, bool verify) {
  DatasetState s;
  s.dataset = entry.dataset;
  s.folder = root / entry.dataset;
  std::error_code ec;
  for (const auto& expected : entry.contents) {
    if (fs::is_regular_file(s.folder / expected, ec)) {
      s.bytes += static_cast<std::int64_t>(fs::file_size(s.folder / expected, ec));
    } else {
      s.problems.push_back(fmt::format("{} is missing", expected));
    }
  }
  s.present = s.problems.empty();
  std::ifstream record(s.folder / kRecordName);
  s.fetched = static_cast<bool>(record);
  if (!verify || !s.fetched) {
    return s;
  }
  std::string line;
  bool all_match = true;
  while (std::getline(record, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream fields(line);
    std::string md5, path;
    std::int64_t bytes = 0;
    fields >> md5 >> bytes;
    std::getline(fields >> std::ws, path);
    const fs::path file = s.folder / path;
    if (!fs::is_regular_file(file, ec)) {
      s.problems.push_back(fmt::format("{} is missing", path));
      all_match = false;
    } else if (md5_of_file(file) != md5) {
      s.problems.push_back(fmt::format("{} does not match its recorded MD5", path));
      all_match = false;
    }
  }
  s.verified = all_match;
  return s;
}

}  // namespace moexp::fetch
