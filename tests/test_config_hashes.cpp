// Config hashes are run identities: a refactor of the config code must leave every one of them byte-identical, or
// sweeps would rerun finished work and resumes would refuse their checkpoints. This test recomputes the hash of every
// experiment in experiments/, every planned run of every spec in sweeps/ and every run of the schema-4 fixture
// database, and compares them with tests/data/config_hashes.txt (written by the code before closed sets became enums).
#include "config/canonical.hpp"
#include "config/load.hpp"
#include "config/sweep_spec.hpp"
#include "store/result_store.hpp"
#include "store/run_store.hpp"
#include "sweep/planner.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace moexp;

namespace {

const fs::path kSource = MOEXP_SOURCE_DIR;
// Every dataset path is pinned, so the hashes do not depend on where the repository or the data live; pretrained
// weights (a file that must exist, stored absolute) are left out for the same reason.
const std::string kDataPath = "data.path=/moexp-golden/data";
const std::string kNoWeights = "model.backbone_weights=\"\"";

std::vector<fs::path> tomls_in(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".toml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// One line per experiment file: "experiments/NAME.toml HASH". MoE heads train on a dense run's id.
std::string experiment_hashes() {
  std::string out;
  for (const auto& file : tomls_in(kSource / "experiments")) {
    std::vector<std::string> overrides{kDataPath, kNoWeights};
    if (file.filename().string().find("moe_heads") != std::string::npos) {
      overrides.push_back("model.init_from=1");
    }
    auto cfg = config::load_experiment_file(file, overrides, config::Resolve::no).config;
    std::vector<std::string> missing;
    config::resolve_and_validate(
        cfg, [&](const std::string&) { return file.string(); }, &missing);
    out += fmt::format("experiments/{} {}\n", file.filename().string(), config::config_hash(cfg));
  }
  return out;
}

// One line per planned run: "sweeps/NAME.toml#INDEX HASH". The detection studies plan on a dense run's id.
std::string sweep_hashes() {
  std::string out;
  for (const auto& file : tomls_in(kSource / "sweeps")) {
    auto spec = config::load_sweep_spec(file);
    std::vector<std::string> overrides{kDataPath, kNoWeights};
    const auto name = file.filename().string();
    if (name == "shapes_detection.toml" || name == "shapes_contiguous.toml" || name == "coco_paper_grid.toml") {
      overrides.push_back("model.init_from=1");
    }
    config::apply_sweep_overrides(spec, overrides);
    const auto plan = sweep::plan_sweep(spec, sweep::MissingData::warn);
    for (std::size_t i = 0; i < plan.runs.size(); ++i) {
      out += fmt::format("sweeps/{}#{} {}\n", name, i, plan.runs[i].config_hash);
    }
  }
  return out;
}

// One line per run of the schema-4 fixture: "schema4#ID STORED RECOMPUTED" (recomputed from its stored config).
std::string fixture_hashes() {
  test::TempDir dir;
  fs::copy_file(kSource / "tests/data/schema4/moexp-v4.db", dir / "moexp.db");
  store::ResultStore store((dir / "moexp.db").string());
  std::string out;
  for (std::int64_t id = 1;; ++id) {
    const auto row = store.runs().find(id);
    if (!row) {
      break;
    }
    const auto cfg =
        config::load_experiment_text(row->config_toml, fmt::format("run {}", id), {}, config::Resolve::no).config;
    out += fmt::format("schema4#{} {} {}\n", id, row->config_hash, config::config_hash(cfg));
  }
  return out;
}

}  // namespace

TEST_CASE("config hashes: every experiment, planned sweep run and schema-4 run keeps its hash") {
  const std::string now = experiment_hashes() + sweep_hashes() + fixture_hashes();
  const std::string golden = test::read_file(kSource / "tests/data/config_hashes.txt");
  // The fixture's stored hashes are the oldest record: the recomputed hash must equal the stored one too.
  std::istringstream lines(now);
  std::string line;
  int fixture_runs = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("schema4#", 0) == 0) {
      std::istringstream fields(line);
      std::string id, stored, recomputed;
      fields >> id >> stored >> recomputed;
      CHECK_MESSAGE(stored == recomputed, line);
      ++fixture_runs;
    }
  }
  CHECK(fixture_runs == 17);
  if (now != golden) {
    MESSAGE("recomputed hashes:\n" << now);
  }
  CHECK(now == golden);
}
