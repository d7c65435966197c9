#include "data/dataset.hpp"

#include "config/data_files.hpp"
#include "core/dataset_kinds.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "data/formats.hpp"
#include "data/readers.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace moexp::data {
namespace {

const char* const kCifar100Fine =
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can "
    "castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin "
    "elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster "
    "man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck "
    "pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk "
    "skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger "
    "tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm";

const char* const kCifar100Coarse =
    "aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
    "household_furniture insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes "
    "large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people reptiles small_mammals trees "
    "vehicles_1 vehicles_2";

// Class -> superclass of CIFAR-100, read off the data's own coarse labels.
std::vector<std::int64_t> superclasses_from_data(const Dataset& ds, std::int64_t classes) {
  std::vector<std::int64_t> table(static_cast<std::size_t>(classes), 0);
  auto fine = ds.labels_n.accessor<std::int64_t, 1>();
  auto coarse = ds.coarse_n.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    table[static_cast<std::size_t>(fine[i])] = coarse[i];
  }
  return table;
}

void check_labels(const Dataset& ds, std::int64_t classes, const std::string& what) {
  if (ds.size() == 0) {
    throw DataError(fmt::format("{}: the split has no samples", what));
  }
  const auto max_label = ds.labels_n.max().item<std::int64_t>();
  if (max_label >= classes) {
    throw DataError(fmt::format("{}: label {} out of range (expected 0..{})", what, max_label, classes - 1));
  }
}

}  // namespace

Dataset take_first(const Dataset& ds, std::int64_t limit) {
  if (limit <= 0 || limit >= ds.size()) {
    return ds;
  }
  return {ds.images_nchw.narrow(0, 0, limit).contiguous(), ds.labels_n.narrow(0, 0, limit).contiguous(),
          ds.coarse_n.narrow(0, 0, limit).contiguous()};
}

torch::Tensor map_superclasses(const torch::Tensor& labels_n, const std::vector<std::int64_t>& superclass_of) {
  auto table = torch::tensor(superclass_of, torch::kLong);
  return table.index_select(0, labels_n.to(torch::kLong));
}

namespace {

void read_idx_splits(const config::DataConfig& cfg, DataSplits& d) {
  auto train = config::locate_split_files(cfg, "train");
  auto test = config::locate_split_files(cfg, "test");
  d.train = read_idx(train.images.front(), train.labels, 10);
  d.test = read_idx(test.images.front(), test.labels, 10);
  check_same_image_shape(d.train.images_nchw.sizes().slice(1).vec(), d.test.images_nchw.sizes().slice(1).vec(),
                         train.images.front(), test.images.front());
  d.channels = 1;
  d.num_classes = 10;
}

void read_cifar_splits(const config::DataConfig& cfg, DataSplits& d, bool cifar100) {
  d.train = read_cifar(config::locate_split_files(cfg, "train").images, cifar100);
  d.test = read_cifar(config::locate_split_files(cfg, "test").images, cifar100);
  d.channels = 3;
  d.jitter = true;
}

}  // namespace

DataSplits load_data(const config::DataConfig& cfg) {
  DataSplits d;
  d.name = std::string(config::name_of(cfg.dataset));
  switch (cfg.dataset) {
    case moexp::Dataset::fashion_mnist:
      read_idx_splits(cfg, d);
      d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
      d.superclass_names = {"tops", "bottoms", "footwear", "bags"};
      d.superclass_of = {0, 1, 0, 0, 0, 2, 0, 2, 3, 2};
      d.mean = {0.2860};
      d.std = {0.3530};
      break;
    case moexp::Dataset::mnist:
      read_idx_splits(cfg, d);
      d.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
      d.superclass_names = {"even", "odd"};
      d.superclass_of = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
      d.mean = {0.1307};
      d.std = {0.3081};
      d.flip = false;
      break;
    case moexp::Dataset::cifar100:
      read_cifar_splits(cfg, d, true);
      d.num_classes = 100;
      d.class_names = core::split(kCifar100Fine, ' ');
      d.superclass_names = core::split(kCifar100Coarse, ' ');
      d.superclass_of = superclasses_from_data(d.train, 100);
      d.mean = {0.5071, 0.4865, 0.4409};
      d.std = {0.2009, 0.1984, 0.2023};
      break;
    case moexp::Dataset::cifar10:
      read_cifar_splits(cfg, d, false);
      d.num_classes = 10;
      d.class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
      d.superclass_names = {"animals", "vehicles"};
      d.superclass_of = {1, 1, 0, 0, 0, 0, 0, 0, 1, 1};
      d.mean = {0.4914, 0.4822, 0.4465};
      d.std = {0.2470, 0.2435, 0.2616};
      break;
    case moexp::Dataset::synthetic:
      d.train = make_synthetic(cfg.synthetic_train, cfg.synthetic_classes, cfg.synthetic_channels,
                               cfg.synthetic_image_size, 1);
      d.test = make_synthetic(cfg.synthetic_test, cfg.synthetic_classes, cfg.synthetic_channels,
                              cfg.synthetic_image_size, 2);
      d.channels = cfg.synthetic_channels;
      d.num_classes = cfg.synthetic_classes;
      for (std::int64_t c = 0; c < d.num_classes; ++c) {
        d.class_names.push_back(fmt::format("class{}", c));
        d.superclass_of.push_back(c >= (d.num_classes + 1) / 2 ? 1 : 0);
      }
      d.superclass_names = {"low", "high"};
      d.mean.assign(static_cast<std::size_t>(d.channels), 0.5);
      d.std.assign(static_cast<std::size_t>(d.channels), 0.25);
      break;
    case moexp::Dataset::coco:
    case moexp::Dataset::shapes:
      throw DataError(fmt::format("'{}' is a detection dataset (train::load_detection_data reads it)", cfg.dataset));
  }
  check_labels(d.train, d.num_classes, fmt::format("{} training split in {}", cfg.dataset, cfg.path));
  check_labels(d.test, d.num_classes, fmt::format("{} test split in {}", cfg.dataset, cfg.path));
  d.train = take_first(d.train, cfg.limit_train);
  d.test = take_first(d.test, cfg.limit_test);
  if (cfg.dataset != moexp::Dataset::cifar100) {  // CIFAR-100 ships its coarse labels
    d.train.coarse_n = map_superclasses(d.train.labels_n, d.superclass_of);
    d.test.coarse_n = map_superclasses(d.test.labels_n, d.superclass_of);
  }
  return d;
}

}  // namespace moexp::data
