#include "config/sweep_spec.hpp"
#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>

using namespace moexp;
using namespace moexp::config;

namespace {

struct SpecFiles {
  test::TempDir dir;
  std::filesystem::path base = test::write_file(dir / "base.toml", test::tiny_experiment_toml());
  std::filesystem::path write(const std::string& text) { return test::write_file(dir / "s.toml", text); }
};

std::string error_of(SpecFiles& f, const std::string& text) {
  try {
    load_sweep_spec(f.write(text));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("sweep spec: every section is read with its values and locations") {
  SpecFiles f;
  auto spec = load_sweep_spec(f.write(R"(name = "s1"
base = "base.toml"
seeds = [0, 1]
[executor]
jobs = 3
gpus = [0, 1]
per_gpu = 2
timeout = "30m"
retries = 2
[fixed]
"train.epochs" = 1
"train.lr_milestones" = [100]
[grid]
"moe.num_experts" = [4, 10]
moe.position = [1, 2]
[[zip]]
"moe.k" = [1, 2]
"constraint.weight" = [0.1, 0.5]
[[runs]]
"moe.enabled" = false
[[when]]
equals = ["relative", "absolute"]
key = "constraint.kind"
[when.grid]
"constraint.threshold" = [0.3, 0.5]
[sample]
count = 5
seed = 9
)"));
  CHECK(spec.name == "s1");
  CHECK(spec.base == f.dir / "base.toml");
  CHECK(spec.seeds == std::vector<std::int64_t>{0, 1});
  CHECK(spec.executor.jobs == 3);
  CHECK(spec.executor.gpus == std::vector<std::int64_t>{0, 1});
  CHECK(spec.executor.timeout_s == 1800);
  CHECK(spec.executor.retries == 2);
  REQUIRE(spec.fixed.size() == 2);
  CHECK(std::get<std::int64_t>(spec.fixed[0].values[0]) == 1);
  CHECK(std::get<std::vector<std::int64_t>>(spec.fixed[1].values[0]) == std::vector<std::int64_t>{100});
  REQUIRE(spec.grid.size() == 2);
  CHECK(spec.grid[0].key == "moe.num_experts");
  CHECK(spec.grid[0].values.size() == 2);
  CHECK(spec.grid[1].key == "moe.position");  // an unquoted dotted key works too
  CHECK(std::get<std::vector<std::int64_t>>(spec.grid[1].values[1]) == std::vector<std::int64_t>{2});
  CHECK(spec.grid[0].where == f.dir.path().string() + "/s.toml:14:1");
  CHECK(spec.zips[0][0].key == "moe.k");
  REQUIRE(spec.zips.size() == 1);
  CHECK(spec.zips[0].size() == 2);
  REQUIRE(spec.runs.size() == 1);
  REQUIRE(spec.when.size() == 1);
  CHECK(spec.when[0].equals.size() == 2);
  CHECK(spec.sample == 5);
  CHECK(spec.spec_hash.size() == 16);
}

TEST_CASE("sweep spec: errors name the file, line and key") {
  SpecFiles f;
  const std::string file = f.dir.path().string() + "/s.toml";
  CHECK(error_of(f, "base = \"base.toml\"\n[grid]\n\"moe.num_expert\" = [4]\n") ==
        file + ":3:1: unknown key 'moe.num_expert' (did you mean 'moe.num_experts'?)");
  CHECK(error_of(f, "base = \"base.toml\"\n[grid]\n\"moe.k\" = [1, \"two\"]\n") ==
        file + ":3:15: moe.k: expected an integer, got a string");
  CHECK(error_of(f, "base = \"base.toml\"\n[grid]\n\"constraint.kind\" = [\"kll\"]\n").find("'kll' is not allowed") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\nseed = [1]\n").find("unknown key 'seed'; sweep keys are") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\nseed = [1]\n").find("(did you mean 'seeds'?)") != std::string::npos);
  CHECK(error_of(f, "base = \"missing.toml\"\n").find(":1:8: base: ") != std::string::npos);
  // A path the system refuses is an input error too, not a filesystem exception (found by the sweep fuzzer).
  CHECK(
      error_of(f, "base = \"" + std::string(300, 'G') + "base.toml\"\n").find("cannot be read (File name too long)") !=
      std::string::npos);
  CHECK(error_of(f, "[grid]\n\"moe.k\" = [1]\n") ==
        file + ": base: missing; name the experiment file the sweep varies");
  CHECK(error_of(f, "base = \"base.toml\"\n[[zip]]\n\"moe.k\" = [1, 2]\n\"moe.num_experts\" = [4]\n")
            .find("zipped axes need equal lengths") != std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[[zip]]\n[[when]]\nkey = \"moe.k\"\nequals = [2]\n")
            .find(":2:1: zip: an empty [[zip]] group") != std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[executor]\ntimeout = \"soon\"\n").find(":3:11: executor.timeout") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[executor]\njob = 2\n").find("(did you mean 'jobs'?)") != std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[[when]]\nkey = \"constraint.kind\"\n").find("needs 'key' and 'equals'") !=
        std::string::npos);
}

TEST_CASE("sweep spec: durations") {
  CHECK(parse_duration("90") == 90.0);
  CHECK(parse_duration("90s") == 90.0);
  CHECK(parse_duration("2m") == 120.0);
  CHECK(parse_duration("1.5h") == 5400.0);
  CHECK_FALSE(parse_duration("soon").has_value());
  CHECK_FALSE(parse_duration("").has_value());
}

TEST_CASE("sweep spec: the slurm backend and its [slurm] table") {
  SpecFiles f;
  auto spec = load_sweep_spec(f.write(R"(base = "base.toml"
[executor]
backend = "slurm"
[slurm]
partition = "gpu"
account = "lab"
gres = "gpu:1"
cpus_per_task = 8
mem = "32G"
time = "2h"
array_parallelism = 16
args = ["--constraint=h100", "--exclusive"]
poll = "5s"
)"));
  CHECK(spec.executor.backend == "slurm");
  CHECK(spec.slurm.partition == "gpu");
  CHECK(spec.slurm.account == "lab");
  CHECK(spec.slurm.gres == "gpu:1");
  CHECK(spec.slurm.cpus_per_task == 8);
  CHECK(spec.slurm.mem == "32G");
  CHECK(spec.slurm.time == "120");  // minutes
  CHECK(spec.slurm.array_parallelism == 16);
  CHECK(spec.slurm.args == std::vector<std::string>{"--constraint=h100", "--exclusive"});
  CHECK(spec.slurm.poll_s == 5);
  CHECK(load_sweep_spec(f.write("base = \"base.toml\"\n[slurm]\ntime = 90\n")).slurm.time == "90");
  CHECK(load_sweep_spec(f.write("base = \"base.toml\"\n[slurm]\ntime = \"1-00:00:00\"\n")).slurm.time == "1-00:00:00");

  CHECK(error_of(f, "base = \"base.toml\"\n[executor]\nbackend = \"k8s\"\n") ==
        fmt::format("{}:3:11: executor.backend: expected \"local\" or \"slurm\"", (f.dir / "s.toml").string()));
  CHECK(error_of(f, "base = \"base.toml\"\n[slurm]\npartiton = \"gpu\"\n")
            .find("s.toml:3:1: unknown slurm key 'partiton'") != std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[slurm]\npartiton = \"gpu\"\n").find("did you mean 'partition'?") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[slurm]\ntime = \"soon\"\n").find("s.toml:3:8: slurm.time") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[slurm]\ncpus_per_task = 0\n").find("expected an integer >= 1") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[slurm]\nargs = \"--exclusive\"\n").find("slurm.args") != std::string::npos);
}

TEST_CASE("sweep spec: non-finite numbers are rejected in axes and fixed values, naming the line") {
  SpecFiles f;
  CHECK(error_of(f, "base = \"base.toml\"\n[grid]\n\"train.lr\" = [0.1, nan]\n")
            .find("s.toml:3:20: train.lr: nan is not allowed; the value must be a finite number") != std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[fixed]\n\"constraint.weight\" = inf\n").find("must be a finite number") !=
        std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[[zip]]\n\"train.lr_gamma\" = [-inf]\n").find("must be a finite number") !=
        std::string::npos);
}

TEST_CASE("sweep spec: a key set in two places is refused, naming both lines") {
  SpecFiles f;
  // A quoted and a dotted spelling of one key in one table.
  CHECK(
      error_of(f, "base = \"base.toml\"\n[grid]\n\"moe.k\" = [1, 2]\nmoe.k = [2]\n").find("moe.k is already set at") !=
      std::string::npos);
  // [grid] and [[zip]].
  auto msg = error_of(f,
                      "base = \"base.toml\"\n[grid]\n\"moe.k\" = [1, 2]\n[[zip]]\n\"moe.k\" = [1]\n"
                      "\"train.lr\" = [0.1]\n");
  CHECK(msg.find("s.toml:5:1: moe.k is already set at ") != std::string::npos);
  CHECK(msg.find("s.toml:3:1; a key may be set in one place of a sweep spec") != std::string::npos);
  // [grid] and [fixed].
  CHECK(error_of(f, "base = \"base.toml\"\n[fixed]\n\"moe.k\" = 1\n[grid]\n\"moe.k\" = [1, 2]\n")
            .find("s.toml:5:1: moe.k is already set at ") != std::string::npos);
  // seeds and a train.seed axis.
  CHECK(error_of(f, "base = \"base.toml\"\nseeds = [0, 1]\n[grid]\n\"train.seed\" = [3]\n")
            .find("s.toml:2:1: train.seed is already set at ") != std::string::npos);
  // A [[when]] block against the grid; a [[runs]] entry against [fixed].
  CHECK(error_of(f,
                 "base = \"base.toml\"\n[grid]\n\"moe.k\" = [1, 2]\n[[when]]\nkey = \"moe.k\"\nequals = 2\n"
                 "fixed = { \"moe.k\" = 1 }\n")
            .find("s.toml:7:11: moe.k is already set at ") != std::string::npos);
  CHECK(error_of(f, "base = \"base.toml\"\n[fixed]\n\"moe.k\" = 1\n[[runs]]\n\"moe.k\" = 2\n")
            .find("s.toml:5:1: moe.k is already set at ") != std::string::npos);
  // Different [[runs]] entries and different [[when]] blocks may set the same key.
  CHECK(error_of(f, "base = \"base.toml\"\n[[runs]]\n\"moe.k\" = 1\n[[runs]]\n\"moe.k\" = 2\n").empty());
}

TEST_CASE("sweep spec: seeds follow train.seed's rules, and a scalar axis is a warning") {
  SpecFiles f;
  CHECK(error_of(f, "base = \"base.toml\"\nseeds = [0, -1]\n").find("seeds: -1 is out of range; must be >= 0") !=
        std::string::npos);
  auto spec = load_sweep_spec(f.write("base = \"base.toml\"\n[grid]\n\"moe.k\" = 2\n"));
  REQUIRE(spec.warnings.size() == 1);
  CHECK(spec.warnings[0].find("s.toml:3:1: moe.k has a single value, not a list") != std::string::npos);
}

TEST_CASE("sweep spec: --set overrides fix a key for every run, replace a [fixed] value and refuse a varied key") {
  SpecFiles f;
  const std::string text = R"(name = "s"
base = "base.toml"
seeds = [0, 1]
[fixed]
"train.epochs" = 3
[grid]
"moe.num_experts" = [4, 10]
[[when]]
key = "constraint.kind"
equals = ["relative"]
[when.fixed]
"constraint.threshold" = 0.4
)";
  auto spec = load_sweep_spec(f.write(text));
  const auto hash_before = spec.spec_hash;
  apply_sweep_overrides(spec, {"train.epochs=1", "data.limit_train=256"});
  REQUIRE(spec.fixed.size() == 2);  // train.epochs replaced, data.limit_train added
  CHECK(spec.fixed[0].key == "train.epochs");
  CHECK(std::get<std::int64_t>(spec.fixed[0].values.at(0)) == 1);
  CHECK(spec.fixed[0].where == "--set train.epochs=1");
  CHECK(spec.fixed[1].key == "data.limit_train");
  CHECK(std::get<std::int64_t>(spec.fixed[1].values.at(0)) == 256);
  CHECK(spec.spec_hash != hash_before);  // the same spec with other overrides is another plan

  auto refused = [&](const std::string& override_text) {
    auto fresh = load_sweep_spec(f.write(text));
    try {
      apply_sweep_overrides(fresh, {override_text});
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(refused("moe.num_experts=4") ==
        fmt::format("--set moe.num_experts=4: the sweep varies moe.num_experts ({}:7:1); change the spec instead",
                    (f.dir / "s.toml").string()));
  CHECK(refused("train.seed=3").find("the sweep varies train.seed") != std::string::npos);
  CHECK(refused("constraint.threshold=0.2").find("the sweep varies constraint.threshold") != std::string::npos);
  CHECK(refused("train.epoch=1").find("--set train.epoch=1: unknown key 'train.epoch'") == 0);
  CHECK(refused("train.epochs=zero") == "--set train.epochs=zero: train.epochs: expected an integer, got 'zero'");
  CHECK(refused("train.epochs=0").find("--set train.epochs=0: train.epochs: ") == 0);
  CHECK(refused("train.epochs").find("--set train.epochs: expected key=value") == 0);
}
