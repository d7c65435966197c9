// Fuzz target: an experiment file plus --set overrides (input: TOML, then NUL-separated "key=value" overrides).
// Checks: only one-line InputErrors escape, and an accepted config survives the round trip through its canonical
// TOML with the same config hash (what the store and sweeps rely on).
#include "config/canonical.hpp"
#include "config/load.hpp"
#include "fuzz_support.hpp"

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parts = moexp::fuzz::split_at_nul(data, size, 8);
  const std::string text = parts.front();
  const std::vector<std::string> overrides(parts.begin() + 1, parts.end());
  moexp::fuzz::expect_clean([&] {
    auto loaded = moexp::config::load_experiment_text(text, "fuzz.toml", overrides);
    const std::string record = moexp::config::canonical_toml(loaded.config);
    std::string again_hash;
    try {
      again_hash = moexp::config::config_hash(moexp::config::load_experiment_text(record, "canonical.toml").config);
    } catch (const std::exception& e) {
      moexp::fuzz::finding("the canonical TOML of an accepted config does not load",
                           std::string(e.what()) + "\n" + record);
    }
    if (again_hash != moexp::config::config_hash(loaded.config)) {
      moexp::fuzz::finding("the canonical TOML loads as another config", record);
    }
  });
  return 0;
}
