// Fuzz target: a sweep spec, loaded and planned. The input is the spec's text, written as spec.toml beside a small
// base experiment (base.toml, a synthetic dataset, so planning needs no data files). Checks: only one-line
// InputErrors escape loading or planning, and every planned run has a distinct config hash.
#include "config/sweep_spec.hpp"
#include "core/atomic_file.hpp"
#include "fuzz_support.hpp"
#include "sweep/planner.hpp"

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path& spec_folder() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("moexp-fuzz-sweep-" + std::to_string(::getpid()));
    fs::create_directories(d);
    moexp::core::write_file_atomic(d / "base.toml",
                                   "[model]\narch = \"resnet8\"\n[moe]\nnum_experts = 4\nk = 2\n"
                                   "[data]\ndataset = \"synthetic\"\n[train]\nepochs = 1\n");
    std::atexit([] { fs::remove_all(spec_folder()); });
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto spec_file = spec_folder() / "spec.toml";
  moexp::core::write_file_atomic(spec_file, std::string(reinterpret_cast<const char*>(data), size));
  moexp::fuzz::expect_clean([&] {
    const auto spec = moexp::config::load_sweep_spec(spec_file);
    // A limit of 64 runs instead of 10,000 keeps each input fast (planning resolves every run); the limit's own
    // path is exercised the same way.
    const auto plan = moexp::sweep::plan_sweep(spec, moexp::sweep::MissingData::refuse, 64);
    std::set<std::string> hashes;
    for (const auto& run : plan.runs) {
      if (!hashes.insert(run.config_hash).second) {
        moexp::fuzz::finding("two planned runs share a config hash", run.label);
      }
    }
  });
  return 0;
}
