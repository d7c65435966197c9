#include "e2e/process.hpp"

#include "testutil.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace moexp::test {
namespace {

// The environment of a child: this process's, except that under AddressSanitizer (ASAN_OPTIONS set: make test-asan)
// the child's exit-time leak check is off. LeakSanitizer's stop-the-world tracer crashes now and then at a child's
// exit ("Tracer caught signal 11 ... LeakSanitizer has encountered a fatal error", google/sanitizers#1353; seen in
// this project's CI on the full-disk drills), which rewrites the child's output and exit code. ASan's and UBSan's
// checks stay on in children, and the in-process suites (moexp_core_tests, moexp_ml_tests) keep the leak check.
struct ChildEnvironment {
  std::vector<std::string> entries;
  std::vector<char*> pointers;
  ChildEnvironment() {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry = *e;
      if (entry.rfind("ASAN_OPTIONS=", 0) == 0) {
        entry += ":detect_leaks=0";
      }
      entries.push_back(std::move(entry));
    }
    for (auto& entry : entries) {
      pointers.push_back(entry.data());
    }
    pointers.push_back(nullptr);
  }
};

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& out_file,
            const std::filesystem::path& err_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  ChildEnvironment env;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn failed for " + argv[0]);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 128 + WTERMSIG(status);
}

ProcessResult run(const std::vector<std::string>& argv, const std::filesystem::path& dir, double limit_s) {
  const auto out = dir / "stdout.txt";
  const auto err = dir / "stderr.txt";
  ProcessResult r;
  const pid_t pid = spawn(argv, out, err);
  if (limit_s > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(limit_s);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        r.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!r.timed_out) {
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else {
      r.exit_code = wait_for(pid);
    }
  } else {
    r.exit_code = wait_for(pid);
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace moexp::test
