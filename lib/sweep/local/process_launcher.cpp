#include "core/error.hpp"
#include "sweep/local/launcher.hpp"

#include <fmt/format.h>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <thread>

namespace bp = boost::process;

namespace moexp::sweep {
namespace {

// In the child, before exec: ask the kernel to send SIGTERM when the parent dies, so an orphaned run stops cleanly
// (status `interrupted`) instead of running unsupervised.
struct DieWithParent : bp::extend::handler {
  pid_t parent = ::getpid();
  template <typename Executor>
  void on_exec_setup(Executor&) const {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) {
      ::raise(SIGTERM);
    }
  }
};

}  // namespace

struct ProcessLauncher::Impl {
  std::map<std::int64_t, std::unique_ptr<bp::child>> children;
  std::int64_t next_id = 1;
};

ProcessLauncher::ProcessLauncher() : m_impl(std::make_unique<Impl>()) {}

ProcessLauncher::~ProcessLauncher() {
  for (auto& [id, child] : m_impl->children) {
    std::error_code ec;
    if (child->running(ec)) {
      ::kill(child->id(), SIGTERM);
    }
    child->wait(ec);
  }
}

std::int64_t ProcessLauncher::start(const LaunchRequest& request) {
  auto env = boost::this_process::environment();
  bp::environment child_env = env;
  for (const auto& [key, value] : request.env) {
    child_env[key] = value;
  }
  std::vector<std::string> args(request.argv.begin() + 1, request.argv.end());
  std::error_code ec;
  auto child = std::make_unique<bp::child>(
      bp::exe = request.argv.front(), bp::args = args, bp::std_out > request.stdout_path.string(),
      bp::std_err > request.stderr_path.string(), bp::std_in < bp::null, child_env, DieWithParent{}, ec);
  if (ec) {
    throw Error(fmt::format("cannot start {}: {}", request.argv.front(), ec.message()));
  }
  const auto id = m_impl->next_id++;
  m_impl->children.emplace(id, std::move(child));
  return id;
}

std::optional<JobExit> ProcessLauncher::wait_any(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (auto it = m_impl->children.begin(); it != m_impl->children.end(); ++it) {
      std::error_code ec;
      if (it->second->running(ec)) {
        continue;
      }
      JobExit exit;
      exit.job = it->first;
      const int status = it->second->native_exit_code();
      if (WIFSIGNALED(status)) {
        exit.signal = WTERMSIG(status);
      } else {
        exit.exit_code = WEXITSTATUS(status);
      }
      m_impl->children.erase(it);
      return exit;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ProcessLauncher::signal(std::int64_t job, int sig) {
  auto it = m_impl->children.find(job);
  if (it != m_impl->children.end()) {
    ::kill(it->second->id(), sig);
  }
}

}  // namespace moexp::sweep
