#include "data/readers.hpp"

#include <cstdint>

namespace moexp::data {

Dataset make_synthetic(std::int64_t samples, std::int64_t classes, std::int64_t channels, std::int64_t image_size,
                       std::uint64_t split_seed) {
  // Templates depend only on the class layout; samples on the split seed too.
  auto template_gen = at::make_generator<at::CPUGeneratorImpl>(0x5eed0000ULL + static_cast<std::uint64_t>(classes));
  auto coarse_cc = torch::rand({classes, channels, 4, 4}, template_gen);
  auto templates_cchw =
      torch::nn::functional::interpolate(coarse_cc, torch::nn::functional::InterpolateFuncOptions()
                                                        .size(std::vector<std::int64_t>{image_size, image_size})
                                                        .mode(torch::kBilinear)
                                                        .align_corners(false));

  auto gen = at::make_generator<at::CPUGeneratorImpl>(split_seed);
  auto labels_n = torch::randint(0, classes, {samples}, gen, torch::kLong);
  auto images = templates_cchw.index_select(0, labels_n);
  // A random circular shift of up to 2 pixels and Gaussian noise make the task non-trivial.
  auto shifts = torch::randint(-2, 3, {samples, 2}, gen, torch::kLong);
  auto shifts_a = shifts.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < samples; ++i) {
    images[i] = images[i].roll({shifts_a[i][0], shifts_a[i][1]}, {1, 2});
  }
  images = images * 0.7 + 0.15 + 0.12 * torch::randn(images.sizes(), gen);
  Dataset ds;
  ds.images_nchw = (images.clamp(0, 1) * 255).round().to(torch::kUInt8);
  ds.labels_n = labels_n;
  ds.coarse_n = (labels_n >= (classes + 1) / 2).to(torch::kLong);
  return ds;
}

}  // namespace moexp::data
