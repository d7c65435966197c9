#include "core/host.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdint>

#include <fstream>
#include <sstream>

namespace moexp::core {

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::optional<std::filesystem::path> self_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return std::nullopt;
  }
  return path;
}

bool process_alive(const std::string& host, std::int64_t pid) {
  if (pid <= 0) {
    return false;
  }
  if (host != host_name()) {
    return true;
  }
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::string process_start_id(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) {
    return "";
  }
  // Field 22 (starttime); fields after the parenthesised command name, which may itself hold spaces.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return "";
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  return field;
}

bool process_alive_since(const std::string& host, std::int64_t pid, const std::string& start_id) {
  if (!process_alive(host, pid)) {
    return false;
  }
  if (host != host_name() || start_id.empty()) {
    return true;
  }
  return process_start_id(pid) == start_id;
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // activations up to 256 MiB come from the heap
  mallopt(M_TRIM_THRESHOLD, -1);         // and the heap is never trimmed (mallopt(3): -1 disables trimming)
#endif
}

}  // namespace moexp::core
