#include "config/canonical.hpp"
#include "config/load.hpp"
#include "core/error.hpp"
#include "sweep/planner.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <set>

using namespace moexp;

namespace {

struct Planner {
  test::TempDir dir;
  std::filesystem::path base = test::write_file(dir / "base.toml", test::tiny_experiment_toml());
  sweep::Plan plan(const std::string& body) {
    auto file = test::write_file(dir / "s.toml", "base = \"base.toml\"\n" + body);
    return sweep::plan_sweep(config::load_sweep_spec(file));
  }
};

std::vector<std::string> labels(const sweep::Plan& plan) {
  std::vector<std::string> out;
  for (const auto& run : plan.runs) {
    out.push_back(run.label);
  }
  return out;
}

}  // namespace

TEST_CASE("planner: a grid is the cartesian product in order, with seeds last") {
  Planner p;
  auto plan =
      p.plan("seeds = [0, 1]\n[grid]\n\"moe.num_experts\" = [4, 8]\n\"constraint.kind\" = [\"kl\", \"none\"]\n");
  CHECK(labels(plan) == std::vector<std::string>{
                            "moe.num_experts=4 constraint.kind=kl train.seed=0",
                            "moe.num_experts=4 constraint.kind=kl train.seed=1",
                            "moe.num_experts=4 constraint.kind=none train.seed=0",
                            "moe.num_experts=4 constraint.kind=none train.seed=1",
                            "moe.num_experts=8 constraint.kind=kl train.seed=0",
                            "moe.num_experts=8 constraint.kind=kl train.seed=1",
                            "moe.num_experts=8 constraint.kind=none train.seed=0",
                            "moe.num_experts=8 constraint.kind=none train.seed=1",
                        });
  CHECK(plan.runs[7].config.moe.num_experts == 8);
  CHECK(plan.runs[7].config.train.seed == 1);
  CHECK(plan.runs[7].config.constraint.kind == Constraint::none);
}

TEST_CASE("planner: zip groups pair values, explicit runs add points, fixed values apply everywhere") {
  Planner p;
  auto plan = p.plan(
      "[fixed]\n\"train.epochs\" = 5\n[[zip]]\n\"moe.num_experts\" = [2, 6]\n\"moe.k\" = [1, 3]\n"
      "[[runs]]\n\"moe.enabled\" = false\n");
  CHECK(labels(plan) ==
        std::vector<std::string>{"moe.num_experts=2 moe.k=1", "moe.num_experts=6 moe.k=3", "moe.enabled=false"});
  for (const auto& run : plan.runs) {
    CHECK(run.config.train.epochs == 5);
  }
  CHECK_FALSE(plan.runs[2].config.moe.enabled);
}

TEST_CASE("planner: conditional blocks apply only where their key matches") {
  Planner p;
  auto plan = p.plan(
      "[grid]\n\"constraint.kind\" = [\"importance\", \"relative\"]\n"
      "[[when]]\nkey = \"constraint.kind\"\nequals = \"relative\"\n"
      "[when.grid]\n\"constraint.threshold\" = [0.3, 0.5]\n");
  CHECK(labels(plan) == std::vector<std::string>{"constraint.kind=importance",
                                                 "constraint.kind=relative constraint.threshold=0.3",
                                                 "constraint.kind=relative constraint.threshold=0.5"});
  CHECK(plan.runs[1].config.constraint.threshold == 0.3);
}

TEST_CASE("planner: configs that resolve to the same hash are planned once") {
  Planner p;
  // A threshold has no effect under a soft constraint: both values give one config.
  auto plan = p.plan("[grid]\n\"constraint.threshold\" = [0.3, 0.5]\n");
  CHECK(plan.runs.size() == 1);
  CHECK(plan.duplicates == 1);
}

TEST_CASE("planner: hashes are stable and equal to loading the same overrides by hand") {
  Planner p;
  auto a = p.plan("[grid]\n\"moe.num_experts\" = [4, 8]\n");
  auto b = p.plan("[grid]\n\"moe.num_experts\" = [4, 8]\n");
  REQUIRE(a.runs.size() == 2);
  CHECK(a.runs[1].config_hash == b.runs[1].config_hash);
  auto by_hand = config::load_experiment_file(p.base, {"moe.num_experts=8"}).config;
  CHECK(a.runs[1].config_hash == config::config_hash(by_hand));
}

TEST_CASE("planner: a random subset is drawn without duplicates, deterministically") {
  Planner p;
  const std::string grid = "seeds = [0, 1, 2, 3, 4]\n[grid]\n\"moe.num_experts\" = [2, 3, 4, 5]\n";
  auto all = p.plan(grid);
  REQUIRE(all.runs.size() == 20);
  auto some = p.plan(grid + "[sample]\ncount = 7\nseed = 3\n");
  auto again = p.plan(grid + "[sample]\ncount = 7\nseed = 3\n");
  REQUIRE(some.runs.size() == 7);
  std::set<std::string> hashes;
  for (std::size_t i = 0; i < 7; ++i) {
    hashes.insert(some.runs[i].config_hash);
    CHECK(some.runs[i].config_hash == again.runs[i].config_hash);
  }
  CHECK(hashes.size() == 7);
}

TEST_CASE("planner: a run the schema rejects names the sweep axis") {
  Planner p;
  try {
    p.plan("[grid]\n\"moe.k\" = [2, 5]\n");
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("s.toml:3:1 (sweep axis): moe.k: k = 5 exceeds moe.num_experts = 4") != std::string::npos);
  }
}

TEST_CASE("planner: a spec that expands past kMaxPlannedRuns is refused at the axis that crosses it, quickly") {
  Planner p;
  // 10^6 grid points: without the limit this expands for minutes and gigabytes before failing or running.
  std::string grid = "[grid]\n";
  for (const char* key :
       {"train.epochs", "train.batch_size", "moe.num_experts", "train.seed", "data.limit_train", "data.limit_test"}) {
    grid += fmt::format("\"{}\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", key);
  }
  const auto error = test::message_of<ConfigError>([&] { p.plan(grid); });
  CHECK(
      error.find("s.toml:7:1: data.limit_train: the sweep expands to more than 10000 runs here (10000 x 10 values)") !=
      std::string::npos);
  // Seeds and [[when]] grids count too.
  std::string seeds = "seeds = [";
  for (int i = 0; i < 1000; ++i) {
    seeds += std::to_string(i) + ", ";
  }
  seeds += "1000]\n[grid]\n\"train.epochs\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\"train.batch_size\" = [";
  for (int i = 1; i <= 10; ++i) {
    seeds += std::to_string(i) + (i < 10 ? ", " : "]\n");
  }
  CHECK(test::message_of<ConfigError>([&] { p.plan(seeds); }).find("train.seed: the sweep expands to more than") !=
        std::string::npos);
}

TEST_CASE("planner: [[when]] blocks that each double the plan are counted against the limit (sweep fuzzer)") {
  Planner p;
  std::string spec = "seeds = [0, 1, 2]\n";
  for (int i = 0; i < 14; ++i) {  // 2^14 x 3 runs: planning them all took over 10 s under the sanitizers
    spec +=
        "[[when]]\nkey = \"constraint.kind\"\nequals = [\"importance\"]\n[when.grid]\n"
        "\"moe.variant\" = [\"default\", \"residual\"]\n";
  }
  CHECK(test::message_of<ConfigError>([&] { p.plan(spec); }).find("the sweep expands to more than 10000 runs") !=
        std::string::npos);
}

TEST_CASE("planner: a dry run plans without the data files and names each missing dataset once") {
  Planner p;
  test::TempDir empty;
  auto file = test::write_file(p.dir / "s.toml",
                               "base = \"base.toml\"\n[fixed]\n\"data.dataset\" = \"cifar10\"\n"
                               "\"data.path\" = \"" +
                                   empty.path().string() +
                                   "\"\n"
                                   "[grid]\n\"constraint.kind\" = [\"kl\", \"none\"]\n");
  const auto spec = config::load_sweep_spec(file);
  CHECK(test::message_of<ConfigError>([&] { sweep::plan_sweep(spec); }).find("data_batch_1.bin not found") !=
        std::string::npos);
  const auto plan = sweep::plan_sweep(spec, sweep::MissingData::warn);
  CHECK(plan.runs.size() == 2);
  REQUIRE(plan.missing_data.size() == 1);
  CHECK(plan.missing_data[0].find("(moexp data fetch cifar10 --to DIR puts it in DIR/cifar10)") != std::string::npos);
}
