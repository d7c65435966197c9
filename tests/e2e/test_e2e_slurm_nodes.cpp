// The multi-node drill: moexp sweep --backend slurm on a real two-node Slurm whose nodes (slurmd n1 and n2) run in
// network, mount and UTS namespaces of their own (scripts/slurm_nodes_up.sh). The nodes share the run folders but
// see an empty decoy file where the database is, so a task that opened the database would write into the decoy.
// Skips with a message where the cluster cannot be made (not root, no namespaces).
#include "e2e/process.hpp"
#include "store/result_store.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <set>

using namespace moexp;
using namespace moexp::test;
namespace fs = std::filesystem;

namespace {

// The two-node cluster for one test: up in the constructor, down (by PID) in the destructor.
class TwoNodeSlurm {
 public:
  TwoNodeSlurm(const fs::path& state_dir, const fs::path& results, const std::string& db_name)
      : m_state_dir(state_dir) {
    auto r =
        run({"/bin/bash", MOEXP_SOURCE_DIR "/scripts/slurm_nodes_up.sh", state_dir.string(), results.string(), db_name},
            state_dir.parent_path(), 120);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    m_up = r.out.find("slurm nodes up:") != std::string::npos;
    if (!m_up) {
      MESSAGE(r.out);  // "slurm nodes: skipped, ..." says why
      return;
    }
    ::setenv("SLURM_CONF", (state_dir / "slurm.conf").c_str(), 1);
  }
  ~TwoNodeSlurm() {
    run({"/bin/bash", MOEXP_SOURCE_DIR "/scripts/slurm_nodes_down.sh", m_state_dir.string()}, m_state_dir.parent_path(),
        120);
    ::unsetenv("SLURM_CONF");
  }
  TwoNodeSlurm(const TwoNodeSlurm&) = delete;
  TwoNodeSlurm& operator=(const TwoNodeSlurm&) = delete;
  bool up() const { return m_up; }

 private:
  fs::path m_state_dir;
  bool m_up = false;
};

}  // namespace

TEST_CASE("e2e slurm nodes: eight runs over two namespaced nodes finish once each and never open the database") {
  TempDir dir;
  const fs::path results = dir / "results";
  const fs::path db_path = results / "moexp.db";
  fs::create_directories(results);
  TwoNodeSlurm cluster(dir / "cluster", results, "moexp.db");
  if (!cluster.up()) {
    return;
  }
  write_file(dir / "tiny.toml", tiny_experiment_toml());
  const auto spec = write_file(dir / "sweep.toml",
                               "name = \"nodes-e2e\"\nbase = \"tiny.toml\"\nseeds = [0, 1, 2, 3]\n"
                               "[executor]\nbackend = \"slurm\"\nretries = 0\n"
                               "[slurm]\npoll = \"0.5s\"\ncpus_per_task = 1\n"
                               "[fixed]\n\"train.epochs\" = 2\n"
                               "[grid]\n\"constraint.kind\" = [\"importance\", \"relative\"]\n");
  auto r = run({MOEXP_BIN, "sweep", spec.string(), "--db", db_path.string()}, dir.path(), 600);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("submitted Slurm array") != std::string::npos);
  CHECK(r.out.find("sweep 'nodes-e2e': 8 runs, 8 finished") != std::string::npos);

  // Every run finished exactly once, in the real database, on one of the two nodes; both nodes took runs.
  store::ResultStore db(db_path.string());
  std::set<std::string> hosts;
  for (std::int64_t id = 1; id <= 8; ++id) {
    INFO("run " << id);
    const auto row = db.runs().find(id);
    REQUIRE(row);
    CHECK(row->status == RunStatus::finished);
    CHECK(db.sweeps().attempt_count(id) == 1);
    CHECK(db.metrics().epochs(id).size() == 2);
    CHECK((row->host == "n1" || row->host == "n2"));
    hosts.insert(row->host);
  }
  CHECK_FALSE(db.runs().find(9));
  CHECK(hosts == std::set<std::string>{"n1", "n2"});
  CHECK(db.sweeps().open_slurm_tasks(std::nullopt).empty());

  // No task opened the database: the decoy the nodes saw in its place is still empty, with nothing beside it.
  const fs::path decoy = dir / "cluster/decoy/moexp.db";
  REQUIRE(fs::exists(decoy));
  CHECK(fs::file_size(decoy) == 0);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    INFO(suffix);
    CHECK_FALSE(fs::exists(decoy.string() + suffix));
  }
}
