#include "core/dataset_kinds.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("dataset kinds: one table names every dataset and the format it is read from") {
  CHECK(dataset_kind_names() ==
        std::vector<std::string>{"fashion_mnist", "mnist", "cifar10", "cifar100", "synthetic", "coco", "shapes"});
  for (const auto& d : kDatasets) {
    CHECK(find_dataset_kind(d.name) == &d);
  }
  CHECK(find_dataset_kind("cifar10")->format == DatasetFormat::cifar);
  CHECK(find_dataset_kind("mnist")->format == DatasetFormat::idx);
  CHECK(is_generated_dataset("synthetic"));
  CHECK_FALSE(is_generated_dataset("fashion_mnist"));
  CHECK_FALSE(is_generated_dataset("coco"));
  CHECK(find_dataset_kind("coco")->format == DatasetFormat::coco);
  CHECK(is_detection_dataset("coco"));
  CHECK(is_detection_dataset("shapes"));
  CHECK_FALSE(is_detection_dataset("cifar100"));
  CHECK(find_dataset_kind("imagenet") == nullptr);
}
