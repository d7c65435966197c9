#include "core/host.hpp"

#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace moexp::core {

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
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

} // namespace moexp::core
