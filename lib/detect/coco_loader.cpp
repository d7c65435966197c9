#include "detect/coco_loader.hpp"

#include "coco/image_decode.hpp"
#include "core/error.hpp"
#include "core/random.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>

namespace moexp::detect {
namespace {

// One image of the dataset with its usable annotations (boxes as x1, y1, x2, y2 in original pixels).
struct Entry {
  coco::Image image;
  std::vector<std::array<float, 4>> boxes;
  std::vector<std::int64_t> labels;
  std::vector<float> areas;
  std::vector<std::int64_t> annotation_ids;
  std::vector<std::array<float, 4>> crowd;
};

// A decoded image or the error decoding it.
struct Decoded {
  coco::DecodedImage image;
  std::exception_ptr error;
};

std::uint64_t mix(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  core::Random r(seed * 0x9e3779b97f4a7c15ULL ^ (epoch << 40) ^ index);
  return r.next_u64();
}

}  // namespace

struct DetectionLoader::State {
  std::filesystem::path folder;
  DetectionLoaderOptions options;
  std::vector<Entry> entries;
  std::vector<std::int64_t> category_ids;
  std::int64_t dropped = 0;

  // The running epoch.
  std::int64_t epoch = 0;
  std::vector<std::size_t> order;  // entry per position
  std::size_t consumed = 0;        // positions handed to the consumer
  std::atomic<std::size_t> next_position{0};
  std::map<std::size_t, Decoded> ready;  // decoded, not yet consumed, by position
  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  std::vector<std::thread> workers;

  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    changed.notify_all();
    for (auto& t : workers) {
      t.join();
    }
    workers.clear();
    ready.clear();
  }

  void work() {
    for (;;) {
      const std::size_t position = next_position.fetch_add(1);
      if (position >= order.size()) {
        return;
      }
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] {
          return stopping || position < consumed + static_cast<std::size_t>(std::max(1, options.prefetch));
        });
        if (stopping) {
          return;
        }
      }
      Decoded d;
      const Entry& e = entries[order[position]];
      try {
        d.image = coco::decode_image(folder / e.image.file_name);
        if (d.image.width != e.image.width || d.image.height != e.image.height) {
          throw DataError(fmt::format("{}: decoded {}x{}, but the annotations of image {} say {}x{}",
                                      (folder / e.image.file_name).string(), d.image.width, d.image.height, e.image.id,
                                      e.image.width, e.image.height));
        }
      } catch (...) {
        d.error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex);
        ready.emplace(position, std::move(d));
      }
      changed.notify_all();
    }
  }

  // The target size (h, w) of an image of h x w.
  std::pair<std::int64_t, std::int64_t> resized(std::int64_t h, std::int64_t w) const {
    if (options.fixed_size > 0) {
      return {options.fixed_size, options.fixed_size};
    }
    return resized_size(h, w, options.min_size, options.max_size);
  }
};

std::pair<std::int64_t, std::int64_t> resized_size(std::int64_t h, std::int64_t w, std::int64_t min_size,
                                                   std::int64_t max_size) {
  const float scale = std::min(static_cast<float>(min_size) / static_cast<float>(std::min(h, w)),
                               static_cast<float>(max_size) / static_cast<float>(std::max(h, w)));
  const auto side = [&](std::int64_t n) {
    return static_cast<std::int64_t>(std::floor(static_cast<double>(n) * static_cast<double>(scale)));
  };
  return {side(h), side(w)};
}

DetectionLoader::DetectionLoader(const coco::Dataset& dataset, std::filesystem::path images,
                                 DetectionLoaderOptions options)
    : m(std::make_unique<State>()) {
  m->folder = std::move(images);
  m->options = options;
  for (const auto& c : dataset.categories) {
    m->category_ids.push_back(c.id);
  }
  std::sort(m->category_ids.begin(), m->category_ids.end());
  std::unordered_map<std::int64_t, std::int64_t> label_of;
  for (std::size_t k = 0; k < m->category_ids.size(); ++k) {
    label_of.emplace(m->category_ids[k], static_cast<std::int64_t>(k));
  }
  std::unordered_map<std::int64_t, std::size_t> entry_of;
  for (const auto& im : dataset.images) {
    entry_of.emplace(im.id, m->entries.size());
    m->entries.push_back({im, {}, {}, {}, {}, {}});
  }
  for (const auto& a : dataset.annotations) {
    const auto e = entry_of.find(a.image_id);
    const auto label = label_of.find(a.category_id);
    if (e == entry_of.end() || label == label_of.end()) {
      continue;  // load_dataset refuses these; a hand-built dataset may have them
    }
    Entry& entry = m->entries[e->second];
    const std::array<float, 4> box{static_cast<float>(a.bbox.x), static_cast<float>(a.bbox.y),
                                   static_cast<float>(a.bbox.x + a.bbox.w), static_cast<float>(a.bbox.y + a.bbox.h)};
    if (a.iscrowd) {
      entry.crowd.push_back(box);
    } else if (a.bbox.w < 1 || a.bbox.h < 1) {
      ++m->dropped;
    } else {
      entry.boxes.push_back(box);
      entry.labels.push_back(label->second);
      entry.areas.push_back(static_cast<float>(a.area));
      entry.annotation_ids.push_back(a.id);
    }
  }
}

DetectionLoader::~DetectionLoader() {
  m->stop();
}

std::int64_t DetectionLoader::images() const {
  return static_cast<std::int64_t>(m->entries.size());
}
std::int64_t DetectionLoader::dropped_boxes() const {
  return m->dropped;
}
const std::vector<std::int64_t>& DetectionLoader::category_ids() const {
  return m->category_ids;
}

void DetectionLoader::begin_epoch(std::int64_t epoch) {
  std::vector<std::size_t> order(m->entries.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (m->options.train) {
    core::Random rng(mix(m->options.seed, static_cast<std::uint64_t>(epoch), ~0ULL));
    for (std::size_t i = order.size(); i-- > 1;) {
      std::swap(order[i], order[rng.below(i + 1)]);
    }
  }
  begin_epoch(epoch, std::move(order));
}

void DetectionLoader::begin_epoch(std::int64_t epoch, std::vector<std::size_t> order) {
  m->stop();
  for (auto i : order) {
    if (i >= m->entries.size()) {
      throw InputError(fmt::format("detection loader: image index {} out of range (the dataset has {} images)", i,
                                   m->entries.size()));
    }
  }
  m->epoch = epoch;
  m->order = std::move(order);
  m->consumed = 0;
  m->next_position = 0;
  m->stopping = false;
  for (int w = 0; w < std::max(1, m->options.workers); ++w) {
    m->workers.emplace_back([this] { m->work(); });
  }
}

std::optional<DetectionBatch> DetectionLoader::next() {
  const auto& o = m->options;
  std::vector<std::pair<std::size_t, coco::DecodedImage>> taken;
  while (static_cast<std::int64_t>(taken.size()) < o.batch_size && m->consumed < m->order.size()) {
    Decoded d;
    {
      std::unique_lock lock(m->mutex);
      m->changed.wait(lock, [&] { return m->ready.count(m->consumed) > 0; });
      auto it = m->ready.find(m->consumed);
      d = std::move(it->second);
      m->ready.erase(it);
      ++m->consumed;
    }
    m->changed.notify_all();
    if (d.error) {
      std::rethrow_exception(d.error);
    }
    taken.emplace_back(m->order[m->consumed - 1], std::move(d.image));
  }
  if (taken.empty()) {
    return std::nullopt;
  }
  DetectionBatch batch;
  std::vector<torch::Tensor> images;
  std::int64_t max_h = 0, max_w = 0;
  const auto mean_c11 = torch::tensor({o.mean[0], o.mean[1], o.mean[2]}).view({3, 1, 1});
  const auto std_c11 = torch::tensor({o.std[0], o.std[1], o.std[2]}).view({3, 1, 1});
  for (auto& [index, decoded] : taken) {
    const Entry& e = m->entries[index];
    const std::int64_t h = decoded.height, w = decoded.width;
    auto x_chw =
        torch::from_blob(decoded.rgb.data(), {h, w, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat).div_(255);
    const auto [nh, nw] = m->resized(h, w);
    if (nh != h || nw != w) {
      x_chw = torch::nn::functional::interpolate(x_chw.unsqueeze(0), torch::nn::functional::InterpolateFuncOptions()
                                                                         .size(std::vector<std::int64_t>{nh, nw})
                                                                         .mode(torch::kBilinear)
                                                                         .align_corners(false))
                  .squeeze(0);
    }
    DetectionTarget t;
    t.image_id = e.image.id;
    t.height = nh;
    t.width = nw;
    t.scale_y = static_cast<double>(nh) / static_cast<double>(h);
    t.scale_x = static_cast<double>(nw) / static_cast<double>(w);
    t.flipped = o.train && o.flip && (mix(o.seed, static_cast<std::uint64_t>(m->epoch), index) >> 63) != 0;
    if (t.flipped) {
      x_chw = x_chw.flip({2});
    }
    auto boxes_of = [&](const std::vector<std::array<float, 4>>& boxes) {
      auto out = torch::empty({static_cast<std::int64_t>(boxes.size()), 4});
      auto a = out.accessor<float, 2>();
      for (std::size_t i = 0; i < boxes.size(); ++i) {
        const auto n = static_cast<std::int64_t>(i);
        float x1 = boxes[i][0] * static_cast<float>(t.scale_x);
        float x2 = boxes[i][2] * static_cast<float>(t.scale_x);
        if (t.flipped) {
          const float f1 = static_cast<float>(nw) - x2;
          x2 = static_cast<float>(nw) - x1;
          x1 = f1;
        }
        a[n][0] = x1;
        a[n][1] = boxes[i][1] * static_cast<float>(t.scale_y);
        a[n][2] = x2;
        a[n][3] = boxes[i][3] * static_cast<float>(t.scale_y);
      }
      return out;
    };
    t.boxes_n4 = boxes_of(e.boxes);
    t.crowd_boxes_c4 = boxes_of(e.crowd);
    t.labels_n = torch::tensor(e.labels, torch::kLong).view({-1});
    t.areas_n = torch::tensor(e.areas, torch::kFloat).view({-1});
    t.annotation_ids_n = torch::tensor(e.annotation_ids, torch::kLong).view({-1});
    images.push_back((x_chw - mean_c11) / std_c11);
    max_h = std::max(max_h, nh);
    max_w = std::max(max_w, nw);
    batch.targets.push_back(std::move(t));
  }
  const auto div = std::max<std::int64_t>(1, o.size_divisor);
  const std::int64_t ph = (max_h + div - 1) / div * div;
  const std::int64_t pw = (max_w + div - 1) / div * div;
  batch.images_bchw = torch::zeros({static_cast<std::int64_t>(images.size()), 3, ph, pw});
  for (std::size_t i = 0; i < images.size(); ++i) {
    batch.images_bchw[static_cast<std::int64_t>(i)]
        .narrow(1, 0, images[i].size(1))
        .narrow(2, 0, images[i].size(2))
        .copy_(images[i]);
  }
  return batch;
}

}  // namespace moexp::detect
