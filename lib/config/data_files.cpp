#include "config/data_files.hpp"

#include "fetch/catalog.hpp"

#include "core/dataset_kinds.hpp"
#include "core/error.hpp"

#include <fmt/format.h>

#include <optional>

namespace moexp::config {
namespace fs = std::filesystem;
namespace {

// `dir/name`, or `dir/name.gz` when only the compressed file exists; nullopt when neither does.
std::optional<fs::path> idx_file(const fs::path& dir, const std::string& name) {
  for (const auto& candidate : {dir / name, dir / (name + ".gz")}) {
    std::error_code ec;  // a path the system refuses (too long, a loop) counts as missing
    if (fs::is_regular_file(candidate, ec)) {
      return candidate;
    }
  }
  return std::nullopt;
}

[[noreturn]] void missing(const std::string& where, const fs::path& dir, const std::string& what,
                          const std::string& hint) {
  throw ConfigError(fmt::format("{}data.path: {} not found in '{}'{}", where, what, dir.string(), hint));
}

// How to get the files of `data.dataset` into `data.path`.
std::string fetch_hint(const DataConfig& data) {
  const fs::path dir = data.path;
  if (data.dataset == Dataset::fashion_mnist && data.path == kFashionMnistDefaultPath) {
    return " (install the Debian package dataset-fashion-mnist: make deps; or moexp data fetch fashion_mnist)";
  }
  if (data.path == default_data_path(data.dataset)) {
    return fmt::format(" (fetch it: moexp data fetch {})", data.dataset);
  }
  if (dir.filename() == name_of(data.dataset)) {
    return fmt::format(" (fetch it there: moexp data fetch {} --to {})", data.dataset, dir.parent_path().string());
  }
  return fmt::format(" (moexp data fetch {} --to DIR puts it in DIR/{})", data.dataset, data.dataset);
}

}  // namespace

std::string default_data_path(Dataset dataset) {
  const std::string name(name_of(dataset));
  if (fetch::find_dataset(fetch::official_catalog(), name) == nullptr) {
    return "";
  }
  std::error_code ec;
  if (dataset == Dataset::fashion_mnist && fs::is_directory(kFashionMnistDefaultPath, ec)) {
    return kFashionMnistDefaultPath;  // Debian's dataset-fashion-mnist, installed by make deps
  }
  return (fetch::default_data_root() / name).string();
}

SplitFiles locate_split_files(const DataConfig& data, const std::string& split, const std::string& where) {
  const fs::path dir = data.path;
  SplitFiles files;
  if (dataset_format(data.dataset) == DatasetFormat::idx) {
    const std::string prefix = split == "train" ? "train" : "t10k";
    const std::string hint = fetch_hint(data);
    auto images = idx_file(dir, prefix + "-images-idx3-ubyte");
    if (!images) {
      missing(where, dir, prefix + "-images-idx3-ubyte[.gz]", hint);
    }
    auto labels = idx_file(dir, prefix + "-labels-idx1-ubyte");
    if (!labels) {
      missing(where, dir, prefix + "-labels-idx1-ubyte[.gz]", hint);
    }
    files.images = {*images};
    files.labels = *labels;
    return files;
  }
  const bool cifar10 = data.dataset == Dataset::cifar10;
  const fs::path inner = dir / (cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary");
  std::error_code ec;
  const fs::path root = fs::is_directory(inner, ec) ? inner : dir;
  std::vector<std::string> names;
  if (cifar10) {
    if (split == "train") {
      for (int i = 1; i <= 5; ++i) {
        names.push_back(fmt::format("data_batch_{}.bin", i));
      }
    } else {
      names.push_back("test_batch.bin");
    }
  } else {
    names.push_back(split == "train" ? "train.bin" : "test.bin");
  }
  for (const auto& name : names) {
    if (!fs::is_regular_file(root / name, ec)) {
      missing(where, dir, name, fetch_hint(data));
    }
    files.images.push_back(root / name);
  }
  return files;
}

DetectionFiles locate_detection_files(const DataConfig& data, const std::string& split, const std::string& where) {
  const bool train = split == "train";
  const std::string year =
      data.dataset == Dataset::coco ? "2017" : "";  // coco: COCO 2017's names; shapes: moexp data shapes'
  const fs::path dir = data.path;
  auto under = [&](const std::string& set, const fs::path& layout) { return set.empty() ? dir / layout : dir / set; };
  DetectionFiles files;
  const std::string& annotations = train ? data.train_annotations : data.val_annotations;
  const std::string& images = train ? data.train_images : data.val_images;
  files.annotations = under(annotations, fs::path("annotations") / ("instances_" + split + year + ".json"));
  files.images = under(images, split + year);
  const std::string hint = data.dataset == Dataset::shapes ? " (generate it: moexp data shapes --out DIR)" : "";
  std::error_code ec;
  if (!fs::is_regular_file(files.annotations, ec)) {
    throw ConfigError(fmt::format("{}{}: annotation file '{}' not found{}", where,
                                  annotations.empty() ? "data.path" : "data." + split + "_annotations",
                                  files.annotations.string(), hint));
  }
  if (!fs::is_directory(files.images, ec)) {
    throw ConfigError(fmt::format("{}{}: image folder '{}' not found{}", where,
                                  images.empty() ? "data.path" : "data." + split + "_images", files.images.string(),
                                  hint));
  }
  return files;
}

}  // namespace moexp::config
