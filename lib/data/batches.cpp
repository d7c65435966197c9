#include "data/batches.hpp"

#include <cstdint>

namespace moexp::data {
namespace {

std::uint64_t mix(std::uint64_t x) {
  // splitmix64 finaliser: decorrelates nearby (seed, epoch) pairs.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

torch::Tensor uniform(std::int64_t n, double lo, double hi, at::Generator& gen) {
  return torch::rand({n}, gen) * (hi - lo) + lo;
}

}  // namespace

at::Generator epoch_generator(std::int64_t seed, std::int64_t epoch, std::uint64_t stream) {
  return at::make_generator<at::CPUGeneratorImpl>(
      mix(mix(static_cast<std::uint64_t>(seed)) ^ mix(static_cast<std::uint64_t>(epoch) + (stream << 32))));
}

torch::Tensor epoch_permutation(std::int64_t n, std::int64_t seed, std::int64_t epoch) {
  auto gen = epoch_generator(seed, epoch, 1);
  return torch::randperm(n, gen, torch::kLong);
}

Augmentation training_augmentation(const DataSplits& data, bool enabled) {
  Augmentation aug;
  if (enabled) {
    aug.flip = data.flip;
    aug.crop_pad = 4;
    aug.jitter = data.jitter;
  }
  return aug;
}

AugmentDraws draw_augmentation(std::int64_t b, const Augmentation& aug, at::Generator& gen) {
  AugmentDraws d;
  if (aug.flip) {
    d.flip_b = torch::rand({b}, gen) < 0.5;
  }
  if (aug.crop_pad > 0) {
    d.offsets_b2 = torch::randint(0, 2 * aug.crop_pad + 1, {b, 2}, gen, torch::kLong);
  }
  if (aug.jitter) {
    d.brightness_b = uniform(b, 0.7, 1.3, gen);
    d.contrast_b = uniform(b, 0.7, 1.3, gen);
    d.saturation_b = uniform(b, 0.7, 1.3, gen);
  }
  return d;
}

AugmentDraws AugmentDraws::to(const torch::Device& device) const {
  const auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return {move(flip_b), move(offsets_b2), move(brightness_b), move(contrast_b), move(saturation_b)};
}

AugmentDraws AugmentDraws::narrow(std::int64_t start, std::int64_t length) const {
  const auto part = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, start, length) : t; };
  return {part(flip_b), part(offsets_b2), part(brightness_b), part(contrast_b), part(saturation_b)};
}

torch::Tensor augment_batch(torch::Tensor x_bchw, const AugmentDraws& draws, const Augmentation& aug,
                            const torch::Tensor& mean_1c11, const torch::Tensor& std_1c11) {
  using torch::indexing::Slice;
  const auto device = x_bchw.device();
  x_bchw = x_bchw.to(torch::kFloat).div_(255.0);
  const auto b = x_bchw.size(0), c = x_bchw.size(1), h = x_bchw.size(2), w = x_bchw.size(3);
  if (aug.flip) {
    x_bchw = torch::where(draws.flip_b.view({b, 1, 1, 1}), x_bchw.flip({3}), x_bchw);
  }
  if (aug.crop_pad > 0) {
    const auto p = aug.crop_pad;
    auto padded = torch::constant_pad_nd(x_bchw, {p, p, p, p}, 0.0);
    const auto& offsets_b2 = draws.offsets_b2;
    auto ar_h = torch::arange(h, torch::TensorOptions().dtype(torch::kLong).device(device));
    auto ar_w = torch::arange(w, torch::TensorOptions().dtype(torch::kLong).device(device));
    auto rows_bh = offsets_b2.select(1, 0).unsqueeze(1) + ar_h;
    auto cols_bw = offsets_b2.select(1, 1).unsqueeze(1) + ar_w;
    auto batch_idx = torch::arange(b, torch::TensorOptions().dtype(torch::kLong).device(device));
    // Advanced indices around a slice put their broadcast dims first: [B, H, W, C].
    x_bchw = padded.index({batch_idx.view({b, 1, 1}), Slice(), rows_bh.view({b, h, 1}), cols_bw.view({b, 1, w})})
                 .permute({0, 3, 1, 2})
                 .contiguous();
  }
  if (aug.jitter) {
    auto brightness = draws.brightness_b.view({b, 1, 1, 1});
    auto contrast = draws.contrast_b.view({b, 1, 1, 1});
    auto saturation = draws.saturation_b.view({b, 1, 1, 1});
    x_bchw = (x_bchw * brightness).clamp_(0, 1);
    auto gray_b111 = c == 3 ? (0.299 * x_bchw.select(1, 0) + 0.587 * x_bchw.select(1, 1) + 0.114 * x_bchw.select(1, 2))
                                  .mean({1, 2})
                                  .view({b, 1, 1, 1})
                            : x_bchw.mean({1, 2, 3}, true);
    x_bchw = ((x_bchw - gray_b111) * contrast + gray_b111).clamp_(0, 1);
    if (c == 3) {
      auto gray_b1hw =
          (0.299 * x_bchw.select(1, 0) + 0.587 * x_bchw.select(1, 1) + 0.114 * x_bchw.select(1, 2)).unsqueeze(1);
      x_bchw = ((x_bchw - gray_b1hw) * saturation + gray_b1hw).clamp_(0, 1);
    }
  }
  return (x_bchw - mean_1c11) / std_1c11;
}

std::pair<torch::Tensor, torch::Tensor> normalisation(const DataSplits& data, const torch::Device& device) {
  const auto c = static_cast<std::int64_t>(data.mean.size());
  auto mean = torch::tensor(data.mean, torch::kDouble).to(torch::kFloat).to(device).view({1, c, 1, 1});
  auto std = torch::tensor(data.std, torch::kDouble).to(torch::kFloat).to(device).view({1, c, 1, 1});
  return {mean, std};
}

torch::Tensor make_batch(const Dataset& ds, const torch::Tensor& indices_b, const DataSplits& data,
                         const Augmentation& aug, at::Generator& gen, const torch::Device& device) {
  auto x_bchw = ds.images_nchw.index_select(0, indices_b).to(device);
  const auto draws = draw_augmentation(x_bchw.size(0), aug, gen).to(device);
  const auto [mean, std] = normalisation(data, device);
  return augment_batch(x_bchw, draws, aug, mean, std);
}

}  // namespace moexp::data
