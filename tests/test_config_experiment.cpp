#include "config/canonical.hpp"
#include "config/load.hpp"
#include "config/schema.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>

using namespace moexp;
using namespace moexp::config;

namespace {
ExperimentConfig load(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return load_experiment_text(text, "x.toml", overrides).config;
}
}  // namespace

TEST_CASE("config: a tiny experiment loads with its values and the spec's defaults") {
  auto cfg = load(test::tiny_experiment_toml());
  CHECK(cfg.name == "tiny");
  CHECK(cfg.model.arch == config::Arch::resnet8);
  CHECK(cfg.moe.enabled);
  CHECK(cfg.moe.num_experts == 4);
  CHECK(cfg.moe.position == std::vector<std::int64_t>{1});
  CHECK(cfg.moe.variant == config::Variant::residual);
  CHECK(cfg.moe.gate == config::GateKind::gap_fc);
  CHECK(cfg.constraint.kind == Constraint::importance);
  CHECK(cfg.constraint.weight == 0.5);
  CHECK(cfg.train.optimizer == config::Optimizer::adam);
  CHECK(cfg.train.lr == 1e-3);
  CHECK(cfg.data.path.empty());  // synthetic has no files
}

TEST_CASE("config: no [moe] section means the dense baseline") {
  auto cfg = load("[model]\narch = \"resnet8\"\n[data]\ndataset = \"synthetic\"\n");
  CHECK_FALSE(cfg.moe.enabled);
  auto text = canonical_toml(cfg);
  CHECK(text.find("[moe]") == std::string::npos);
  CHECK(text.find("[constraint]") == std::string::npos);
}

TEST_CASE("config: hard kinds get their default threshold and soft kinds drop it from the canonical form") {
  auto relative = load(test::tiny_experiment_toml(), {"constraint.kind=relative"});
  CHECK(relative.constraint.threshold == 0.5);
  auto absolute = load(test::tiny_experiment_toml(), {"constraint.kind=absolute"});
  CHECK(absolute.constraint.threshold == 0.3);
  auto text = canonical_toml(absolute);
  CHECK(text.find("threshold = 0.3") != std::string::npos);
  CHECK(text.find("\nweight = ") == std::string::npos);
  CHECK(text.find("noise") == std::string::npos);  // hard gates have no noise
  auto soft = canonical_toml(load(test::tiny_experiment_toml()));
  CHECK(soft.find("threshold") == std::string::npos);
  CHECK(soft.find("weight = 0.5") != std::string::npos);
}

TEST_CASE("config: --set overrides take TOML values or bare strings and can turn MoE on") {
  auto cfg =
      load("[data]\ndataset = \"synthetic\"\n", {"moe.num_experts=10", "moe.position=[1, 2]", "constraint.kind=kl",
                                                 "train.lr=0.01", "data.augment=false", "name=override"});
  CHECK(cfg.moe.enabled);
  CHECK(cfg.moe.num_experts == 10);
  CHECK(cfg.moe.position == std::vector<std::int64_t>{1, 2});
  CHECK(cfg.constraint.kind == Constraint::kl);
  CHECK(cfg.train.lr == 0.01);
  CHECK_FALSE(cfg.data.augment);
  CHECK(cfg.name == "override");
  auto dense = load(test::tiny_experiment_toml(), {"moe.enabled=false"});
  CHECK_FALSE(dense.moe.enabled);
}

TEST_CASE("config: the canonical record form loads back to the same config") {
  for (const char* kind : {"none", "importance", "kl", "load", "relative", "absolute"}) {
    auto cfg = load(test::tiny_experiment_toml(), {std::string("constraint.kind=") + kind, "moe.position=[0, 2]",
                                                   "train.optimizer=sgd", "train.schedule=step"});
    auto text = canonical_toml(cfg);
    auto again = load(text);
    CHECK(canonical_toml(again) == text);
    CHECK(config_hash(again) == config_hash(cfg));
  }
}

TEST_CASE("config: the hash covers what changes results, not names or resources") {
  auto base = load(test::tiny_experiment_toml());
  CHECK(config_hash(base).size() == 16);
  CHECK(config_hash(load(test::tiny_experiment_toml(), {"name=other", "train.threads=2", "train.eval_batch_size=7"})) ==
        config_hash(base));
  CHECK(config_hash(load(test::tiny_experiment_toml(), {"moe.num_experts=10"})) != config_hash(base));
  CHECK(config_hash(load(test::tiny_experiment_toml(), {"train.seed=1"})) != config_hash(base));
  // A key that does not apply (threshold under a soft kind) does not change identity.
  CHECK(config_hash(load(test::tiny_experiment_toml(), {"constraint.threshold=0.9"})) == config_hash(base));
}

TEST_CASE("config: settings without effect are reported as warnings") {
  auto result = load_experiment_text(test::tiny_experiment_toml(), "x.toml", {"constraint.threshold=0.9"});
  REQUIRE(result.warnings.size() == 1);
  CHECK(result.warnings[0].find("constraint.threshold has no effect") != std::string::npos);
  auto dense = load_experiment_text("[constraint]\nkind = \"kl\"\n[data]\ndataset = \"synthetic\"\n", "d.toml");
  REQUIRE(dense.warnings.size() == 1);
  CHECK(dense.warnings[0].find("d.toml:1:2") != std::string::npos);
}

TEST_CASE("config: the Fashion-MNIST default path is the Debian package's") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: dataset-fashion-mnist is not installed");
    return;
  }
  auto cfg = load("[data]\ndataset = \"fashion_mnist\"\n");
  CHECK(cfg.data.path == "/usr/share/datasets/fashion-mnist");
}

TEST_CASE("config: load_experiment_file names the run after the file") {
  test::TempDir dir;
  auto file = test::write_file(dir / "my_exp.toml", "[data]\ndataset = \"synthetic\"\n");
  CHECK(load_experiment_file(file).config.name == "my_exp");
}

TEST_CASE("config: every key is documented in docs/config.md") {
  std::ifstream in(std::filesystem::path(MOEXP_SOURCE_DIR) / "docs/config.md");
  REQUIRE(in.good());
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& spec : experiment_keys()) {
    INFO(spec.key);
    CHECK(doc.find("`" + spec.key + "`") != std::string::npos);
  }
}

TEST_CASE("config: precision and memory format are left out of the hash when auto") {
  auto base = config::load_experiment_text(test::tiny_experiment_toml(), "tiny.toml").config;
  auto bf16 = config::load_experiment_text(test::tiny_experiment_toml(), "tiny.toml", {"train.precision=bf16"}).config;
  auto autos = config::load_experiment_text(test::tiny_experiment_toml(), "tiny.toml",
                                            {"train.precision=auto", "train.memory_format=auto"})
                   .config;
  CHECK(config::config_hash(base) == config::config_hash(autos));
  CHECK(config::config_hash(base) != config::config_hash(bf16));
  CHECK(config::canonical_toml(base).find("precision") == std::string::npos);
  CHECK(config::canonical_toml(bf16).find("precision = \"bf16\"") != std::string::npos);
}
