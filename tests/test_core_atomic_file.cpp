#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/resource.h>
#include <csignal>

using namespace moexp;

TEST_CASE("atomic_file: writes, replaces, and leaves no temp file") {
  test::TempDir dir;
  auto target = dir / "sub/file.txt";
  core::write_file_atomic(target, "one");
  CHECK(test::read_file(target) == "one");
  core::write_file_atomic(target, "two");
  CHECK(test::read_file(target) == "two");
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir / "sub")) {
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("atomic_file: a failing writer keeps the old file and removes its temp") {
  test::TempDir dir;
  auto target = dir / "keep.txt";
  core::write_file_atomic(target, "old");
  CHECK_THROWS_AS(core::stream_file_atomic(target,
                                           [](const core::ByteSink& sink) {
                                             sink("partial", 7);
                                             throw Error("writer failed");
                                           }),
                  Error);
  CHECK(test::read_file(target) == "old");
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 1);
}

namespace {

int entries_in(const std::filesystem::path& dir) {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("atomic_file: a write error mid-stream is one line after the stream, and nothing is left behind") {
  test::TempDir dir;
  auto target = dir / "ckpt.bin";
  core::write_file_atomic(target, "previous");
  // The file-size limit makes write() fail with EFBIG part-way, as a full disk fails it with ENOSPC.
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto* previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  int calls_after_error = 0;
  std::string message;
  try {
    core::stream_file_atomic(target, [&](const core::ByteSink& sink) {
      const std::string chunk(1000, 'x');
      for (int i = 0; i < 10; ++i) {
        sink(chunk.data(), chunk.size());  // never throws: the producer (torch's writer) must not see the error
        ++calls_after_error;
      }
    });
  } catch (const Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous_handler);
  CHECK(calls_after_error == 10);
  CHECK(message == fmt::format("cannot write {}: File too large", target.string()));
  CHECK(test::read_file(target) == "previous");
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("atomic_file: folders, devices and empty paths are refused before anything is written") {
  test::TempDir dir;
  CHECK_THROWS_WITH_AS(core::write_file_atomic(dir.path(), "x"), doctest::Contains("is a folder; give a file name"),
                       InputError);
  CHECK_THROWS_WITH_AS(core::check_output_path("/dev/null", "--db"), "--db /dev/null: not a regular file", InputError);
  CHECK_THROWS_WITH_AS(core::check_output_path("", "--out"), "--out: the path is empty", InputError);
  CHECK(entries_in(dir.path()) == 0);
}
