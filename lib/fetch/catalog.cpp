#include "fetch/catalog.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace moexp::fetch {
namespace {

std::vector<RemoteFile> idx_files(const std::string& base, const std::vector<std::pair<std::string, std::string>>& md5s,
                                  const std::vector<std::int64_t>& sizes) {
  std::vector<RemoteFile> files;
  for (std::size_t i = 0; i < md5s.size(); ++i) {
    files.push_back({base + md5s[i].first, md5s[i].second, sizes[i], false});
  }
  return files;
}

const std::vector<std::string> kIdxNames{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

}  // namespace

const std::vector<DatasetEntry>& official_catalog() {
  static const std::vector<DatasetEntry> catalog = [] {
    std::vector<DatasetEntry> c;
    c.push_back({"cifar10",
                 "https://www.cs.toronto.edu/~kriz/cifar.html (binary version)",
                 {{"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530",
                   170052171, true}},
                 {"cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin",
                  "cifar-10-batches-bin/data_batch_3.bin", "cifar-10-batches-bin/data_batch_4.bin",
                  "cifar-10-batches-bin/data_batch_5.bin", "cifar-10-batches-bin/test_batch.bin"}});
    c.push_back(
        {"cifar100",
         "https://www.cs.toronto.edu/~kriz/cifar.html (binary version)",
         {{"https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8", 0, true}},
         {"cifar-100-binary/train.bin", "cifar-100-binary/test.bin"}});
    c.push_back({"mnist", "the torchvision mirror of http://yann.lecun.com/exdb/mnist/",
                 idx_files("https://ossci-datasets.s3.amazonaws.com/mnist/",
                           {{kIdxNames[0], "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
                            {kIdxNames[1], "d53e105ee54ea40749a09fcbcd1e9432"},
                            {kIdxNames[2], "9fb629c4189551a2d022fa330f9573f3"},
                            {kIdxNames[3], "ec29112dd5afa0611ce80d1b7f02629c"}},
                           {9912422, 28881, 1648877, 4542}),
                 kIdxNames});
    c.push_back({"fashion_mnist", "https://github.com/zalandoresearch/fashion-mnist",
                 idx_files("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                           {{kIdxNames[0], "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
                            {kIdxNames[1], "25c81989df183df01b3e8a0aad5dffbe"},
                            {kIdxNames[2], "bef4ecab320f06d8554ea6380940ec79"},
                            {kIdxNames[3], "bb300cfdad3c16e7a12a480ee83cd310"}},
                           {26421880, 29515, 4422102, 5148}),
                 kIdxNames});
    return c;
  }();
  return catalog;
}

const DatasetEntry* find_dataset(const std::vector<DatasetEntry>& catalog, const std::string& dataset) {
  auto it = std::find_if(catalog.begin(), catalog.end(), [&](const auto& e) { return e.dataset == dataset; });
  return it == catalog.end() ? nullptr : &*it;
}

std::vector<std::string> dataset_names(const std::vector<DatasetEntry>& catalog) {
  std::vector<std::string> names;
  for (const auto& e : catalog) {
    names.push_back(e.dataset);
  }
  return names;
}

std::filesystem::path default_data_root() {
  const char* env = std::getenv("MOEXP_DATA");
  const std::filesystem::path root = env != nullptr && *env != '\0' ? std::filesystem::path(env) : "results/data";
  return std::filesystem::absolute(root);
}

}  // namespace moexp::fetch
