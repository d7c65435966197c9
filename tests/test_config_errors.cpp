// One test per kind of config error: each is a ConfigError whose one-line message names the place and the key.
#include "config/load.hpp"
#include "config/schema.hpp"
#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using namespace moexp;
using namespace moexp::config;

namespace {

// The message of the ConfigError that loading `text` (with `overrides`) throws; "" when it loads.
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    load_experiment_text(text, "exp.toml", overrides);
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    CHECK(msg.find('\n') == std::string::npos);
    return msg;
  }
  return "";
}

const std::string kSynthetic = "[data]\ndataset = \"synthetic\"\n";

}  // namespace

TEST_CASE("config error: unknown key, with did-you-mean and line:column") {
  auto msg = error_of("[moe]\nnum_expert = 4\n" + kSynthetic);
  CHECK(msg == "exp.toml:2:1: unknown key 'moe.num_expert' (did you mean 'moe.num_experts'?)");
}

TEST_CASE("config error: unknown section") {
  auto msg = error_of("[trian]\nepochs = 3\n");
  CHECK(msg.find("exp.toml:1:2: unknown section [trian]") == 0);
  CHECK(msg.find("did you mean [train]?") != std::string::npos);
}

TEST_CASE("config error: wrong type") {
  auto msg = error_of("[moe]\nk = \"two\"\n" + kSynthetic);
  CHECK(msg == "exp.toml:2:1: moe.k: expected an integer, got a string");
}

TEST_CASE("config error: value not among the choices") {
  auto msg = error_of("[constraint]\nkind = \"relativ\"\n[moe]\n" + kSynthetic);
  CHECK(msg.find("exp.toml:2:1: constraint.kind: 'relativ' is not allowed; use 'none',") == 0);
  CHECK(msg.find("(did you mean 'relative'?)") != std::string::npos);
}

TEST_CASE("config error: negative threshold") {
  auto msg = error_of("[moe]\n[constraint]\nkind = \"relative\"\nthreshold = -0.5\n" + kSynthetic);
  CHECK(msg == "exp.toml:4:1: constraint.threshold: -0.5 is out of range; must be >= 0");
}

TEST_CASE("config error: k greater than the number of experts") {
  auto msg = error_of("[moe]\nnum_experts = 4\nk = 5\n" + kSynthetic);
  CHECK(msg == "exp.toml:3:1: moe.k: k = 5 exceeds moe.num_experts = 4; k must be in 1..4");
}

TEST_CASE("config error: a position the architecture does not have") {
  auto msg = error_of("[model]\narch = \"resnet20\"\n[moe]\nposition = 4\n" + kSynthetic);
  CHECK(msg == "exp.toml:4:1: moe.position: resnet20 has no position 4; positions are 0 (stem) to 3");
  CHECK(error_of("[moe]\nposition = [1, 1]\n" + kSynthetic).find("position 1 is listed twice") != std::string::npos);
}

TEST_CASE("config error: missing data files") {
  test::TempDir dir;
  auto msg = error_of("[data]\ndataset = \"mnist\"\npath = \"" + dir.path().string() + "\"\n");
  CHECK(msg.find("exp.toml:3:1: data.path: train-images-idx3-ubyte[.gz] not found in") == 0);
  auto cifar = error_of("[data]\ndataset = \"cifar100\"\npath = \"" + dir.path().string() + "\"\n");
  CHECK(cifar.find("data.path: train.bin not found") != std::string::npos);
  CHECK(cifar.find("(moexp data fetch cifar100 --to DIR puts it in DIR/cifar100)") != std::string::npos);
  // Without data.path: the fetch folder ($MOEXP_DATA/<dataset>), and the exact command that fills it.
  test::TempDir root;
  ::setenv("MOEXP_DATA", root.path().c_str(), 1);
  auto no_path = error_of("[data]\ndataset = \"cifar10\"\n");
  ::unsetenv("MOEXP_DATA");
  CHECK(no_path == "exp.toml: data.path: data_batch_1.bin not found in '" + (root / "cifar10").string() +
                       "' (fetch it: moexp data fetch cifar10)");
}

TEST_CASE("config error: malformed TOML") {
  auto msg = error_of("[moe\nk = 2\n");
  CHECK(msg.find("exp.toml:1:") == 0);
}

TEST_CASE("config error: bad --set overrides") {
  CHECK(error_of(kSynthetic, {"moe.kk=2"}) == "--set moe.kk=2: unknown key 'moe.kk' (did you mean 'moe.k'?)");
  CHECK(error_of(kSynthetic, {"moe.k"}) == "--set moe.k: expected key=value");
  CHECK(error_of(kSynthetic, {"moe.k=two"}) == "--set moe.k=two: moe.k: expected an integer, got 'two'");
  CHECK(error_of(kSynthetic, {"moe.num_experts=2", "moe.k=3"}) ==
        "--set moe.k=3: moe.k: k = 3 exceeds moe.num_experts = 2; k must be in 1..2");
}

TEST_CASE("config error: learning-rate milestones out of order") {
  auto msg = error_of("[train]\nlr_milestones = [80, 40]\n" + kSynthetic);
  CHECK(msg == "exp.toml:2:1: train.lr_milestones: milestones must be strictly increasing");
}

TEST_CASE("config error: load loss needs gate noise") {
  auto msg = error_of("[moe]\nnoise = false\n[constraint]\nkind = \"load\"\n" + kSynthetic);
  CHECK(msg.find("constraint.kind: the load loss needs moe.noise = true") != std::string::npos);
}

TEST_CASE("config error: unreadable experiment files: missing, folders, devices, oversized") {
  CHECK_THROWS_WITH_AS(load_experiment_file("/nonexistent/exp.toml"),
                       "/nonexistent/exp.toml: cannot read the experiment file: no such file", InputError);
  CHECK_THROWS_WITH_AS(load_experiment_file("/tmp"), "/tmp: cannot read the experiment file: it is a folder",
                       InputError);
  // An endless device is refused before a single byte is read (it once grew the process to 3 GB).
  CHECK_THROWS_WITH_AS(load_experiment_file("/dev/zero"),
                       "/dev/zero: cannot read the experiment file: not a regular file", InputError);
  test::TempDir dir;
  auto big = test::write_file(dir / "big.toml", "# " + std::string(2 << 20, 'x') + "\n");
  CHECK_THROWS_WITH_AS(load_experiment_file(big),
                       doctest::Contains("cannot read the experiment file: larger than 1024 KiB"), InputError);
}

TEST_CASE("config error: every float key rejects NaN and infinities, from the file and from --set") {
  for (const auto& spec : experiment_keys()) {
    if (spec.type != ValueType::floating) {
      continue;
    }
    const auto dot = spec.key.find('.');
    const std::string section = spec.key.substr(0, dot), leaf = spec.key.substr(dot + 1);
    for (const std::string bad : {"nan", "inf", "-inf", "+nan"}) {
      CAPTURE(spec.key);
      CAPTURE(bad);
      // From the file: the key's own line and column.
      auto msg = error_of(kSynthetic + "[" + section + "]\n" + leaf + " = " + bad + "\n");
      CHECK(msg.find("exp.toml:4:1: " + spec.key + ": ") == 0);
      CHECK(msg.find("must be a finite number") != std::string::npos);
      // From --set.
      auto over = error_of(kSynthetic, {spec.key + "=" + bad});
      CHECK(over.find("--set " + spec.key + "=" + bad + ": " + spec.key + ": ") == 0);
      CHECK(over.find("must be a finite number") != std::string::npos);
    }
  }
  // The threshold's "unset" sentinel is not reachable through NaN: the default is never silently substituted.
  CHECK(error_of("[moe]\n[constraint]\nkind = \"relative\"\nthreshold = nan\n" + kSynthetic) != "");
}

TEST_CASE("config error: text that is not UTF-8 (found by the experiment fuzzer)") {
  // A bare-string --set value skips the TOML parser; it must still be a string TOML can hold, or the stored config
  // (and the run's config.toml) would not load back on --resume.
  CHECK(error_of(kSynthetic, {"name=st\xac\xac"}) ==
        "--set name=st\xac\xac: not valid UTF-8 (a config is TOML, which is UTF-8)");
  CHECK(error_of(kSynthetic, {"name=caf\xc3\xa9"}).empty());  // well-formed UTF-8 is fine
  test::TempDir dir;
  const auto file = test::write_file(dir / "bad\xff.toml", kSynthetic);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_file(file);
        }).find("the file name is not valid UTF-8; rename the file or set name") != std::string::npos);
  CHECK(load_experiment_file(file, {"name=fine"}).config.name == "fine");
}
