// filesystem_kind: which statfs types are network filesystems, and how the database opens on one (rollback journal
// instead of WAL).
#include "core/error.hpp"
#include "store/filesystem_kind.hpp"
#include "store/result_store.hpp"
#include "store_fixtures.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

using namespace moexp;
using namespace moexp::store;

namespace {

// Sets MOEXP_DB_FILESYSTEM for the life of the guard.
struct FilesystemOverride {
  explicit FilesystemOverride(const char* value) { ::setenv("MOEXP_DB_FILESYSTEM", value, 1); }
  ~FilesystemOverride() { ::unsetenv("MOEXP_DB_FILESYSTEM"); }
  FilesystemOverride(const FilesystemOverride&) = delete;
  FilesystemOverride& operator=(const FilesystemOverride&) = delete;
};

std::string journal_mode(Database& db) {
  return test::single_value(db, "PRAGMA journal_mode")->column_text(0);
}

}  // namespace

TEST_CASE("filesystem_kind: recorded statfs types of network and cluster filesystems are named, local ones are not") {
  // f_type values as statfs(2) reports them on the filesystems' hosts.
  CHECK(network_filesystem_name(0x6969) == "nfs");
  CHECK(network_filesystem_name(0xFF534D42) == "cifs");
  CHECK(network_filesystem_name(0xFFFFFFFFFF534D42ULL) == "cifs");  // sign-extended by a 32-bit f_type
  CHECK(network_filesystem_name(0xFE534D42) == "smb2");
  CHECK(network_filesystem_name(0x0BD00BD0) == "lustre");
  CHECK(network_filesystem_name(0x47504653) == "gpfs");
  CHECK(network_filesystem_name(0x65735546) == "fuse");
  CHECK(network_filesystem_name(0x01021997) == "9p");
  CHECK(network_filesystem_name(0x00C36400) == "ceph");
  CHECK(network_filesystem_name(0x19830326) == "beegfs");
  for (std::uint64_t local : {0xEF53ULL /* ext4 */, 0x58465342ULL /* xfs */, 0x9123683EULL /* btrfs */,
                              0x01021994ULL /* tmpfs */, 0x794C7630ULL /* overlayfs */, 0x2FC12FC1ULL /* zfs */}) {
    CAPTURE(local);
    CHECK_FALSE(network_filesystem_name(local).has_value());
  }
}

TEST_CASE("filesystem_kind: this machine's temporary folder is local, and the override names either kind") {
  test::TempDir dir;
  CHECK_FALSE(network_filesystem_of(dir / "not/yet/moexp.db").has_value());  // probes the nearest existing folder
  {
    FilesystemOverride network("network");
    CHECK(network_filesystem_of(dir / "moexp.db") == "network (MOEXP_DB_FILESYSTEM)");
  }
  {
    FilesystemOverride local("local");
    CHECK_FALSE(network_filesystem_of(dir / "moexp.db").has_value());
  }
  FilesystemOverride bad("nfs");
  CHECK_THROWS_WITH_AS(network_filesystem_of(dir / "moexp.db"), doctest::Contains("MOEXP_DB_FILESYSTEM=nfs: use"),
                       InputError);
}

TEST_CASE("filesystem_kind: on a network filesystem the database uses the rollback journal, never WAL") {
  test::TempDir dir;
  const auto path = (dir / "moexp.db").string();
  FilesystemOverride network("network");
  {
    ResultStore db(path);
    db.runs().create(test::sample_run());
    db.record_epoch(1, test::sample_epoch(1));
    CHECK_FALSE(std::filesystem::exists(path + "-wal"));
    CHECK_FALSE(std::filesystem::exists(path + "-shm"));
  }
  Database raw(path);
  CHECK(journal_mode(raw) == "delete");
  CHECK(test::single_value(raw, "PRAGMA synchronous")->column_int(0) == 2);  // FULL
  ResultStore again(path, OpenMode::read_only);
  CHECK(again.runs().find(1));
}

TEST_CASE("filesystem_kind: a WAL database found on a network filesystem leaves WAL, unless another process has it") {
  test::TempDir dir;
  const auto path = (dir / "moexp.db").string();
  {
    ResultStore local(path);  // made in WAL, as on a local disk
    local.runs().create(test::sample_run());
  }
  {
    Database holder(path);  // another connection in WAL mode keeps it open
    REQUIRE(journal_mode(holder) == "wal");
    test::single_value(holder, "SELECT count(*) FROM runs");
    FilesystemOverride network("network");
    CHECK_THROWS_WITH_AS(ResultStore{path}, doctest::Contains("is on a network filesystem (network"), StoreError);
  }
  FilesystemOverride network("network");
  ResultStore db(path);
  CHECK(db.runs().find(1));
  Database raw(path);
  CHECK(journal_mode(raw) == "delete");
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
}
