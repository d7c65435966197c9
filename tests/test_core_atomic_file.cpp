#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

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
  CHECK_THROWS_AS(core::replace_file_atomic(target,
                                            [](const std::filesystem::path& temp) {
                                              test::write_file(temp, "partial");
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
