#include "fetch/commands.hpp"

#include "core/dataset_kinds.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"
#include "fetch/fetch.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>

namespace moexp::fetch {
namespace fs = std::filesystem;
namespace {

std::string megabytes(std::int64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

fs::path root_of(const std::string& to) {
  return to.empty() ? default_data_root() : fs::absolute(to);
}

}  // namespace

int run_data_fetch(const DataFetchRequest& request) {
  const auto& catalog = official_catalog();
  const auto names = dataset_names(catalog);
  for (const auto& name : request.datasets) {  // every name checked before the first download
    if (find_dataset(catalog, name) != nullptr) {
      continue;
    }
    if (const auto* kind = find_dataset_kind(name)) {
      switch (kind->id) {
        case Dataset::fashion_mnist:
        case Dataset::mnist:
        case Dataset::cifar10:
        case Dataset::cifar100:
          throw std::logic_error(fmt::format("data fetch: '{}' is missing from the download catalog", name));
        case Dataset::synthetic:
          throw InputError(fmt::format("data fetch: '{}' is generated in memory and needs no files", name));
        case Dataset::shapes:
          throw InputError("data fetch: 'shapes' is generated, not downloaded: moexp data shapes --out DIR");
        case Dataset::coco:
          throw InputError(
              "data fetch: 'coco' is not downloaded by moexp (about 19 GB from cocodataset.org); put "
              "annotations/ and train2017/, val2017/ in one folder and set data.path to it");
      }
    }
    throw InputError(core::with_suggestion(
        fmt::format("data fetch: unknown dataset '{}'; datasets are {}", name, core::join_alternatives(names)), name,
        names));
  }
  const fs::path root = root_of(request.to);
  core::ProgressBar bar(stderr, core::is_terminal(stderr));
  for (const auto& name : request.datasets) {
    const DatasetEntry& entry = *find_dataset(catalog, name);
    std::string current;
    const auto outcome =
        fetch_dataset(entry, root, HttpOptions{}, [&](const std::string& file, std::int64_t done, std::int64_t total) {
          if (file != current) {
            if (!current.empty()) {
              bar.finish();
            }
            current = file;
            bar.start(fmt::format("{} {}", name, file), static_cast<long>(total > 0 ? total : 1));
          }
          bar.update(static_cast<long>(done),
                     total > 0 ? fmt::format("{} / {}", megabytes(done), megabytes(total)) : megabytes(done));
        });
    if (!current.empty()) {
      bar.finish();
    }
    const auto state = inspect_dataset(entry, root, false);
    if (outcome == FetchOutcome::already_present) {
      fmt::print("{}: already in {} ({}); nothing to do\n", name, state.folder.string(), megabytes(state.bytes));
    } else {
      fmt::print("{}: fetched into {} ({}, MD5 verified); use data.path = \"{}\" or leave data.path unset{}\n", name,
                 state.folder.string(), megabytes(state.bytes), state.folder.string(),
                 request.to.empty() ? "" : " with MOEXP_DATA=" + root.string());
    }
  }
  return 0;
}

int run_data_list(const DataListRequest& request) {
  const fs::path root = root_of(request.to);
  core::TextTable table({"dataset", "state", "size", "checksums", "folder"});
  for (const auto& entry : official_catalog()) {
    const auto s = inspect_dataset(entry, root, true);
    const std::string state = s.present ? "present" : (fs::exists(s.folder) ? "incomplete" : "missing");
    const std::string checks = !s.present   ? ""
                               : !s.fetched ? "not recorded (not fetched by moexp)"
                               : s.verified ? "verified"
                                            : "MISMATCH: " + s.problems.front();
    table.add_row({entry.dataset, state, s.present ? megabytes(s.bytes) : "", checks, s.folder.string()});
  }
  fmt::print("{}", table.render());
  fmt::print("fetch one with: moexp data fetch NAME{}\n", request.to.empty() ? "" : " --to " + root.string());
  return 0;
}

}  // namespace moexp::fetch
