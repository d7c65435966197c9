#include "data/device_split.hpp"

#include <vector>

namespace moexp::data {

DeviceSplit::DeviceSplit(const Dataset& ds, const DataSplits& data, const torch::Device& device)
    : m_images_nchw(ds.images_nchw.contiguous().to(device)), m_labels_n(ds.labels_n.to(device)) {
  std::tie(m_mean_1c11, m_std_1c11) = normalisation(data, device);
}

std::int64_t DeviceSplit::bytes_of(const Dataset& ds) {
  return ds.images_nchw.numel() * static_cast<std::int64_t>(ds.images_nchw.element_size()) +
         ds.labels_n.numel() * static_cast<std::int64_t>(ds.labels_n.element_size());
}

void DeviceSplit::plan_epoch(const torch::Tensor& order_n, std::int64_t batch_size, const Augmentation& aug,
                             at::Generator& gen) {
  m_aug = aug;
  m_batch_size = batch_size;
  m_samples = order_n.size(0);
  m_batches = (m_samples + batch_size - 1) / batch_size;
  std::vector<AugmentDraws> parts;
  for (std::int64_t b = 0; b < m_batches; ++b) {
    parts.push_back(draw_augmentation(std::min(batch_size, m_samples - b * batch_size), aug, gen));
  }
  const auto cat = [&](torch::Tensor AugmentDraws::*field) {
    std::vector<torch::Tensor> pieces;
    for (const auto& p : parts) {
      if ((p.*field).defined()) {
        pieces.push_back(p.*field);
      }
    }
    return pieces.empty() ? torch::Tensor() : torch::cat(pieces, 0);
  };
  // One host buffer per dtype, then one copy each: int64 [order | offsets], float [flip | jitters].
  const auto n = m_samples;
  const auto offsets = cat(&AugmentDraws::offsets_b2);
  const auto longs =
      torch::cat({order_n.to(torch::kLong), offsets.defined() ? offsets.view({-1}) : torch::empty({0}, torch::kLong)})
          .to(m_images_nchw.device());
  m_order_n = longs.narrow(0, 0, n);
  m_draws = {};
  if (offsets.defined()) {
    m_draws.offsets_b2 = longs.narrow(0, n, 2 * n).view({n, 2});
  }
  std::vector<torch::Tensor> floats;
  const auto flips = cat(&AugmentDraws::flip_b);
  const std::array<torch::Tensor AugmentDraws::*, 3> jitters{&AugmentDraws::brightness_b, &AugmentDraws::contrast_b,
                                                             &AugmentDraws::saturation_b};
  if (flips.defined()) {
    floats.push_back(flips.to(torch::kFloat));
  }
  for (auto field : jitters) {
    if (auto t = cat(field); t.defined()) {
      floats.push_back(t);
    }
  }
  if (floats.empty()) {
    return;
  }
  const auto uploaded = torch::cat(floats, 0).to(m_images_nchw.device());
  std::int64_t at = 0;
  if (flips.defined()) {
    m_draws.flip_b = uploaded.narrow(0, at, n) > 0.5F;  // on the device: exact for 0 and 1
    at += n;
  }
  for (auto field : jitters) {
    if ((parts.front().*field).defined()) {
      m_draws.*field = uploaded.narrow(0, at, n);
      at += n;
    }
  }
}

std::pair<torch::Tensor, torch::Tensor> DeviceSplit::batch(std::int64_t b) const {
  const auto start = b * m_batch_size;
  const auto length = std::min(m_batch_size, m_samples - start);
  const auto idx_b = m_order_n.narrow(0, start, length);
  auto x_bchw = augment_batch(m_images_nchw.index_select(0, idx_b), m_draws.narrow(start, length), m_aug, m_mean_1c11,
                              m_std_1c11);
  return {std::move(x_bchw), m_labels_n.index_select(0, idx_b)};
}

}  // namespace moexp::data
