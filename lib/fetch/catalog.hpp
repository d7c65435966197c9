// The datasets `moexp data fetch` downloads (Torch-free): for each, the official files with their published MD5s and
// sizes, how each is unpacked, and the files present once it is fetched. Defined once; the CLI, `data list`, the
// default data.path and the "missing data" hint all read it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace moexp::fetch {

// One file to download.
struct RemoteFile {
  std::string url;
  std::string md5;        // lowercase hex, as published
  std::int64_t size = 0;  // bytes as published (0: unknown): the progress bar's total when the server sends none
  bool untar = false;     // a .tar.gz to unpack (CIFAR); otherwise kept as downloaded (MNIST .gz files)
};

struct DatasetEntry {
  std::string dataset;  // data.dataset value: cifar10, cifar100, mnist, fashion_mnist
  std::string source;   // where the files come from, for `data list` and errors
  std::vector<RemoteFile> files;
  std::vector<std::string> contents;  // paths inside the dataset folder that a complete fetch holds
};

// The official datasets (torchvision's URLs and MD5s).
const std::vector<DatasetEntry>& official_catalog();

// The entry for `dataset`, or nullptr.
const DatasetEntry* find_dataset(const std::vector<DatasetEntry>& catalog, const std::string& dataset);

// The names in `catalog`, in order.
std::vector<std::string> dataset_names(const std::vector<DatasetEntry>& catalog);

// Where fetched datasets live by default: $MOEXP_DATA when set and non-empty, else results/data under the current
// folder (beside the default database, results/moexp.db). Absolute.
std::filesystem::path default_data_root();

}  // namespace moexp::fetch
