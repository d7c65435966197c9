// `moexp data fetch` and `moexp data list` (Torch-free): download a catalog dataset, verify its published MD5s,
// unpack it and move it into place in one rename, so `ROOT/<dataset>/` is either complete or absent.
//   ROOT/.downloads/<dataset>/<file>.part   a download in progress (kept for resume after a cut or Ctrl-C)
//   ROOT/.staging-<dataset>-<pid>/          unpacking (removed on failure, and by the next fetch if left behind)
//   ROOT/<dataset>/.moexp-fetched           what was fetched: source, and each file's size and MD5
#pragma once

#include "fetch/catalog.hpp"
#include "fetch/http.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace moexp::fetch {

// Progress of one file: (file name, bytes so far, total or 0 when unknown).
using FileProgress = std::function<void(const std::string& file, std::int64_t done, std::int64_t total)>;

enum class FetchOutcome { fetched, already_present };

// Fetch `entry` into `root/<entry.dataset>`. A dataset already complete there is left alone (already_present; a
// folder with some of the expected files missing is refused rather than overwritten). Throws moexp::Error (download
// or disk failures; the partial download is kept for the next run) or DataError (a checksum mismatch: the download
// is deleted; a corrupt archive), leaving no half-unpacked folder behind. One fetch per dataset at a time (a lock
// file in ROOT/.downloads).
FetchOutcome fetch_dataset(const DatasetEntry& entry, const std::filesystem::path& root, const HttpOptions& options,
                           const FileProgress& progress);

// What `data list` shows for one dataset.
struct DatasetState {
  std::string dataset;
  std::filesystem::path folder;
  bool present = false;               // every expected file is there
  bool fetched = false;               // fetched by moexp (a record of its checksums exists)
  bool verified = false;              // every recorded checksum matched now (only when `verify`)
  std::int64_t bytes = 0;             // of the expected files
  std::vector<std::string> problems;  // missing files, checksum mismatches
};

// Inspect `root/<entry.dataset>`; with `verify`, recompute the MD5 of each recorded file.
DatasetState inspect_dataset(const DatasetEntry& entry, const std::filesystem::path& root, bool verify);

}  // namespace moexp::fetch
