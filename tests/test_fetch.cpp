// moexp data fetch against a loopback HTTP server (tests/http_server.hpp): generated archives in the official
// layouts, a catalog entry pointing at the server (the test-only URL/checksum override), and every failure path.
#include "config/data_files.hpp"
#include "config/experiment.hpp"
#include "core/error.hpp"
#include "fetch/fetch.hpp"
#include "fetch/unpack.hpp"
#include "http_server.hpp"
#include "testutil.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

// A .tar.gz holding `members` (path, content), built with libarchive.
std::string tar_gz(const std::vector<std::pair<std::string, std::string>>& members) {
  TempDir dir;
  const auto file = dir / "a.tar.gz";
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, file.c_str());
  for (const auto& [path, content] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return read_file(file);
}

// The MD5 of `bytes`.
std::string md5_of(const std::string& bytes) {
  TempDir dir;
  return fetch::md5_of_file(write_file(dir / "f", bytes));
}

// Two CIFAR records of pseudo-random bytes (incompressible, so the archive is tens of kilobytes), the first byte
// `tag`.
std::string two_records(char tag) {
  std::string bytes(3073 * 2, tag);
  std::uint32_t x = static_cast<std::uint8_t>(tag);
  for (std::size_t i = 1; i < bytes.size(); ++i) {
    x = x * 1664525u + 1013904223u;
    bytes[i] = static_cast<char>(x >> 24);
  }
  return bytes;
}

// A CIFAR-10 binary archive in the official layout.
std::string cifar10_archive() {
  std::vector<std::pair<std::string, std::string>> members{{"cifar-10-batches-bin/batches.meta.txt", "airplane\n"}};
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin"}) {
    members.emplace_back(std::string("cifar-10-batches-bin/") + name, two_records(name[11]));
  }
  return tar_gz(members);
}

fetch::DatasetEntry cifar10_entry(const HttpServer& server, const std::string& archive) {
  fetch::DatasetEntry entry = *fetch::find_dataset(fetch::official_catalog(), "cifar10");
  entry.files = {{server.url("/cifar-10-binary.tar.gz"), md5_of(archive), 0, true}};
  return entry;
}

const fetch::HttpOptions kFast{3, 0.01, 5, 5};

}  // namespace

TEST_CASE("fetch: a CIFAR-10 archive is downloaded, verified and unpacked where the reader looks, once") {
  HttpServer server;
  const auto archive = cifar10_archive();
  server.serve("/cifar-10-binary.tar.gz", archive);
  TempDir root;
  std::int64_t last_done = 0;
  const auto entry = cifar10_entry(server, archive);
  CHECK(fetch::fetch_dataset(entry, root.path(), kFast, [&](const std::string& file, std::int64_t done, std::int64_t) {
          CHECK(file == "cifar-10-binary.tar.gz");
          last_done = done;
        }) == fetch::FetchOutcome::fetched);
  CHECK(last_done == static_cast<std::int64_t>(archive.size()));
  CHECK(archive.size() > 30000);
  CHECK(read_file(root / "cifar10/cifar-10-batches-bin/data_batch_3.bin") == two_records('3'));
  // Only the dataset: no staging folder, no archive, no lock file, no empty download folders.
  CHECK(file_names(root.path()) == std::vector<std::string>{"cifar10"});
  // The experiment's data files resolve in the fetched folder.
  config::DataConfig data;
  data.dataset = Dataset::cifar10;
  data.path = (root / "cifar10").string();
  CHECK(config::locate_split_files(data, "train", "").images.size() == 5);
  // Again: a no-op that says so, without a request.
  CHECK(fetch::fetch_dataset(entry, root.path(), kFast, {}) == fetch::FetchOutcome::already_present);
  CHECK(server.ranges("/cifar-10-binary.tar.gz").size() == 1);
  const auto state = fetch::inspect_dataset(entry, root.path(), true);
  CHECK(state.present);
  CHECK(state.fetched);
  CHECK(state.verified);
  CHECK(state.bytes == 6 * 3073 * 2);
  // A damaged file is what verification is for.
  write_file(root / "cifar10/cifar-10-batches-bin/test_batch.bin", "x");
  const auto damaged = fetch::inspect_dataset(entry, root.path(), true);
  CHECK_FALSE(damaged.verified);
  REQUIRE(damaged.problems.size() == 1);
  CHECK(damaged.problems[0] == "cifar-10-batches-bin/test_batch.bin does not match its recorded MD5");
}

TEST_CASE("fetch: a cut connection resumes with a Range request, within one fetch and across two") {
  HttpServer server;
  const auto archive = cifar10_archive();
  server.serve("/cifar-10-binary.tar.gz", archive);
  const auto entry = cifar10_entry(server, archive);
  SUBCASE("retried within the fetch") {
    TempDir root;
    server.cut_once_after("/cifar-10-binary.tar.gz", 1000);
    CHECK(fetch::fetch_dataset(entry, root.path(), kFast, {}) == fetch::FetchOutcome::fetched);
    CHECK(server.ranges("/cifar-10-binary.tar.gz") == std::vector<std::string>{"", "bytes=1000-"});
    CHECK(fetch::inspect_dataset(entry, root.path(), true).verified);
  }
  SUBCASE("the next run continues the partial file") {
    TempDir root;
    server.cut_once_after("/cifar-10-binary.tar.gz", 1500);
    const fetch::HttpOptions once{1, 0.01, 5, 5};
    const auto error = message_of<Error>([&] { fetch::fetch_dataset(entry, root.path(), once, {}); });
    CHECK(error.find("(after 1 tries); run the same command again to resume") != std::string::npos);
    CHECK(fs::file_size(root / ".downloads/cifar10/cifar-10-binary.tar.gz.part") == 1500);
    CHECK_FALSE(fs::exists(root / "cifar10"));
    CHECK(fetch::fetch_dataset(entry, root.path(), once, {}) == fetch::FetchOutcome::fetched);
    CHECK(server.ranges("/cifar-10-binary.tar.gz") == std::vector<std::string>{"", "bytes=1500-"});
  }
}

TEST_CASE("fetch: a checksum mismatch, HTTP errors and a truncated archive leave nothing behind") {
  HttpServer server;
  const auto archive = cifar10_archive();
  server.serve("/cifar-10-binary.tar.gz", archive);
  TempDir root;
  auto entry = cifar10_entry(server, archive);
  auto leaves_nothing = [&] { CHECK(file_names(root.path()).empty()); };  // no lock file, no empty folders either
  SUBCASE("checksum mismatch") {
    entry.files[0].md5 = std::string(32, '0');
    const auto error = message_of<DataError>([&] { fetch::fetch_dataset(entry, root.path(), kFast, {}); });
    CHECK(error.find("cifar-10-binary.tar.gz: checksum mismatch (MD5 " + md5_of(archive) + ", published 000") !=
          std::string::npos);
    CHECK(error.find("the download was deleted") != std::string::npos);
    leaves_nothing();
  }
  SUBCASE("404 is not retried") {
    server.fail_with("/cifar-10-binary.tar.gz", 404);
    CHECK(message_of<Error>([&] {
            fetch::fetch_dataset(entry, root.path(), kFast, {});
          }).find("the server answered HTTP 404") != std::string::npos);
    CHECK(server.ranges("/cifar-10-binary.tar.gz").size() == 1);
    leaves_nothing();
  }
  SUBCASE("500 is retried, then reported") {
    server.fail_with("/cifar-10-binary.tar.gz", 500);
    CHECK(message_of<Error>([&] { fetch::fetch_dataset(entry, root.path(), kFast, {}); }).find("(after 3 tries)") !=
          std::string::npos);
    CHECK(server.ranges("/cifar-10-binary.tar.gz").size() == 3);
    leaves_nothing();
  }
  SUBCASE("a truncated archive (whose checksum matches what was published)") {
    const auto cut = archive.substr(0, archive.size() * 6 / 10);
    server.serve("/cifar-10-binary.tar.gz", cut);
    entry.files[0].md5 = md5_of(cut);
    const auto error = message_of<DataError>([&] { fetch::fetch_dataset(entry, root.path(), kFast, {}); });
    CAPTURE(error);
    CHECK(error.find("cifar-10-binary.tar.gz: ") != std::string::npos);
    CHECK(error.find("delete it and fetch again") != std::string::npos);
    CHECK(file_names(root.path()) == std::vector<std::string>{".downloads"});  // no staging folder, no dataset
  }
}

TEST_CASE("fetch: MNIST's files are kept as published (.gz), and a half-filled folder is never overwritten") {
  HttpServer server;
  fetch::DatasetEntry entry = *fetch::find_dataset(fetch::official_catalog(), "mnist");
  for (auto& file : entry.files) {
    const std::string name = file.url.substr(file.url.find_last_of('/'));
    server.serve(name, "bytes of " + name);
    file.url = server.url(name);
    file.md5 = md5_of("bytes of " + name);
  }
  TempDir root;
  fs::create_directories(root / "mnist");
  write_file(root / "mnist/train-images-idx3-ubyte.gz", "the user's own file");
  CHECK(message_of<InputError>([&] {
          fetch::fetch_dataset(entry, root.path(), kFast, {});
        }).find("exists but is not a complete mnist (train-labels-idx1-ubyte.gz is missing); move it away") !=
        std::string::npos);
  CHECK(read_file(root / "mnist/train-images-idx3-ubyte.gz") == "the user's own file");
  fs::remove_all(root / "mnist");
  CHECK(fetch::fetch_dataset(entry, root.path(), kFast, {}) == fetch::FetchOutcome::fetched);
  CHECK(read_file(root / "mnist/t10k-labels-idx1-ubyte.gz") == "bytes of /t10k-labels-idx1-ubyte.gz");
  config::DataConfig data;
  data.dataset = Dataset::mnist;
  data.path = (root / "mnist").string();
  CHECK(config::locate_split_files(data, "test", "").labels.filename() == "t10k-labels-idx1-ubyte.gz");
}

TEST_CASE("fetch: the catalog holds the four datasets with their published checksums") {
  const auto& catalog = fetch::official_catalog();
  CHECK(fetch::dataset_names(catalog) == std::vector<std::string>{"cifar10", "cifar100", "mnist", "fashion_mnist"});
  CHECK(fetch::find_dataset(catalog, "cifar100")->files[0].md5 == "03b5dce01913d631647c71ecec9e9cb8");
  CHECK(fetch::find_dataset(catalog, "imagenet") == nullptr);
  for (const auto& e : catalog) {
    for (const auto& f : e.files) {
      CHECK(f.md5.size() == 32);
      CHECK(f.url.rfind("http", 0) == 0);
    }
  }
}

TEST_CASE("fetch: a second fetch of the same dataset while one runs is refused and leaves the first one's lock") {
  HttpServer server;
  const auto archive = cifar10_archive();
  server.serve("/cifar-10-binary.tar.gz", archive);
  TempDir root;
  const auto entry = cifar10_entry(server, archive);
  fs::create_directories(root / ".downloads");
  const auto lock_file = root / ".downloads/cifar10.lock";
  const int held = ::open(lock_file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);  // "the first fetch"
  REQUIRE(held >= 0);
  REQUIRE(::flock(held, LOCK_EX | LOCK_NB) == 0);
  CHECK(message_of<InputError>([&] {
          fetch::fetch_dataset(entry, root.path(), kFast, {});
        }).find("another `moexp data fetch cifar10` is running") != std::string::npos);
  CHECK(fs::exists(lock_file));  // not the refused fetch's to remove
  CHECK(server.ranges("/cifar-10-binary.tar.gz").empty());
  ::close(held);
  CHECK(fetch::fetch_dataset(entry, root.path(), kFast, {}) == fetch::FetchOutcome::fetched);
  CHECK(file_names(root.path()) == std::vector<std::string>{"cifar10"});
}
