// Fuzz target: the --where filter language. Checks: only one-line InputErrors escape compile_filter, and every filter
// it accepts is valid SQL that the store runs (against an empty database, with its bound parameters).
#include "fuzz_support.hpp"
#include "store/result_store.hpp"
#include "store/run_filter.hpp"

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace {

moexp::store::ResultStore& empty_store() {
  static std::unique_ptr<moexp::store::ResultStore> store = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("moexp-fuzz-filter-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto s = std::make_unique<moexp::store::ResultStore>((dir / "moexp.db").string());
    std::atexit([] {
      std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                  ("moexp-fuzz-filter-" + std::to_string(::getpid())));
    });
    return s;
  }();
  return *store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string filter(reinterpret_cast<const char*>(data), size);
  auto& store = empty_store();
  moexp::fuzz::expect_clean([&] {
    static const std::vector<std::string> metric_keys{"test_acc", "test_top5_acc", "aux_loss", "lr"};
    const auto compiled = moexp::store::compile_filter(filter, metric_keys);
    try {
      (void)store.run_summaries(compiled, std::nullopt);
    } catch (const std::exception& e) {
      moexp::fuzz::finding("an accepted filter is not valid SQL", std::string(e.what()) + " for: " + compiled.sql);
    }
  });
  return 0;
}
