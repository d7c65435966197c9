// The fused batch norm + residual + ReLU of models/norm_relu.hpp against LibTorch's batch_norm, add and relu: outputs,
// the gradients of the input, the residual, the BN weight and bias, the running statistics and num_batches_tracked.
#include "models/norm_relu.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace moexp;

namespace {

bool close(const torch::Tensor& a, const torch::Tensor& b, double tolerance = 1e-5) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  const double scale = std::max(1.0, b.abs().max().item<double>());
  return a.sizes() == b.sizes() && (a - b).abs().max().item<double>() <= tolerance * scale;
}

struct Case {
  std::int64_t batch, channels, height, width;
  bool channels_last, residual;
  bool relu = true;  // false: models::batch_norm (no residual)
};

struct Result {
  torch::Tensor y, grad_x, grad_residual, grad_weight, grad_bias, running_mean, running_var, batches;
};

// Two training steps through one BN module (so the running statistics are updated twice), fused or not.
Result run(const Case& c, bool fused) {
  torch::manual_seed(c.batch * 1000 + c.channels * 10 + c.height);
  torch::nn::BatchNorm2d bn(c.channels);
  {
    torch::NoGradGuard no_grad;
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
  }
  bn->train();
  const auto format = c.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  Result r;
  for (int step = 0; step < 2; ++step) {
    // Per-channel offsets and scales, so statistics differ by channel and about half the values are clipped.
    auto x = (torch::randn({c.batch, c.channels, c.height, c.width}) * 3 + torch::randn({1, c.channels, 1, 1}) * 2)
                 .contiguous(format)
                 .requires_grad_();
    auto res = torch::randn({c.batch, c.channels, c.height, c.width}).contiguous(format).requires_grad_();
    const auto g = torch::randn({c.batch, c.channels, c.height, c.width});
    bn->zero_grad();
    models::set_fused_batch_norm_relu(fused ? models::FusedNorm::always : models::FusedNorm::never);
    // The input through an identity op first, as a conv output would be: a leaf would refuse in-place use.
    auto y = c.relu ? models::batch_norm_relu(*bn, x * 1, c.residual ? res * 1 : torch::Tensor())
                    : models::batch_norm(*bn, x * 1);
    models::set_fused_batch_norm_relu(models::FusedNorm::where_faster);
    // The fused node is the one under test (not a silent fallback to LibTorch's operations).
    // (A 1x1 map is channels-last and contiguous at once.)
    const bool expect_fused = fused && (c.channels_last || c.height * c.width == 1);
    CHECK((y.grad_fn()->name().find("BatchNormRelu") != std::string::npos) == expect_fused);
    (y * g).sum().backward();
    r.y = y.detach();
    r.grad_x = x.grad();
    r.grad_residual = c.residual ? res.grad() : torch::Tensor();
  }
  r.grad_weight = bn->weight.grad();
  r.grad_bias = bn->bias.grad();
  r.running_mean = bn->running_mean.clone();
  r.running_var = bn->running_var.clone();
  r.batches = bn->num_batches_tracked.clone();
  return r;
}

void check(const Case& c) {
  CAPTURE(c.batch);
  CAPTURE(c.channels);
  CAPTURE(c.height);
  CAPTURE(c.width);
  CAPTURE(c.channels_last);
  CAPTURE(c.residual);
  CAPTURE(c.relu);
  const auto fused = run(c, true);
  const auto reference = run(c, false);
  CHECK(close(fused.y, reference.y));
  CHECK(close(fused.grad_x, reference.grad_x, 1e-4));
  CHECK(close(fused.grad_weight, reference.grad_weight, 1e-4));
  CHECK(close(fused.grad_bias, reference.grad_bias, 1e-4));
  CHECK(close(fused.running_mean, reference.running_mean));
  CHECK(close(fused.running_var, reference.running_var));
  CHECK(fused.batches.item<std::int64_t>() == 2);
  CHECK(reference.batches.item<std::int64_t>() == 2);
  if (c.residual) {
    CHECK(close(fused.grad_residual, reference.grad_residual));
  }
  // The ReLU clipped something; without it, nothing is clipped (negative outputs are kept).
  CHECK(((fused.y == 0).sum().item<std::int64_t>() > 0) == c.relu);
  CHECK(((fused.y < 0).sum().item<std::int64_t>() > 0) == !c.relu);
}

}  // namespace

TEST_CASE("batch_norm_relu: fused passes equal batch_norm + add + relu (channels-last, contiguous falls back)") {
  for (bool channels_last : {false, true}) {
    for (bool residual : {false, true}) {
      check({8, 16, 6, 6, channels_last, residual});
      check({5, 25, 7, 3, channels_last, residual});  // odd channels and rows
      check({37, 5, 8, 8, channels_last, residual});  // rows not a multiple of the 16-row blocks
      check({40, 3, 1, 1, channels_last, residual});  // 1x1 spatial: one value per sample and channel
      check({2, 64, 9, 9, channels_last, residual});
    }
  }
}

TEST_CASE("batch_norm: fused passes without the ReLU equal batch_norm (a projection shortcut's norm)") {
  for (bool channels_last : {false, true}) {
    check({8, 16, 6, 6, channels_last, false, false});
    check({5, 25, 7, 3, channels_last, false, false});
    check({37, 5, 8, 8, channels_last, false, false});
    check({40, 3, 1, 1, channels_last, false, false});
  }
}

TEST_CASE("batch_norm_relu: the output keeps the input's memory format and mixed formats are accepted") {
  torch::nn::BatchNorm2d bn(4);
  bn->train();
  const auto x = torch::randn({3, 4, 5, 5}).contiguous(at::MemoryFormat::ChannelsLast);
  const auto residual = torch::randn({3, 4, 5, 5});  // contiguous
  const auto y = models::batch_norm_relu(*bn, x, residual);
  CHECK(y.is_contiguous(at::MemoryFormat::ChannelsLast));
  models::set_fused_batch_norm_relu(models::FusedNorm::never);
  torch::nn::BatchNorm2d reference(4);
  reference->train();
  const auto expected = models::batch_norm_relu(*reference, x, residual);
  models::set_fused_batch_norm_relu(models::FusedNorm::where_faster);
  CHECK(close(y, expected));
}

TEST_CASE("batch_norm_relu: by default the fused passes run for channel counts that are not multiples of 16") {
  for (const std::int64_t channels : {25, 90, 16, 64}) {
    CAPTURE(channels);
    torch::nn::BatchNorm2d bn(channels);
    bn->train();
    const auto x = torch::randn({4, channels, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_();
    const auto y = models::batch_norm_relu(*bn, x * 1);
    CHECK((y.grad_fn()->name().find("BatchNormRelu") != std::string::npos) == (channels % 16 != 0));
  }
}

TEST_CASE("batch_norm_relu: eval mode uses the running statistics (LibTorch's path)") {
  torch::nn::BatchNorm2d bn(4);
  {
    torch::NoGradGuard no_grad;
    bn->running_mean.fill_(1.0);
    bn->running_var.fill_(4.0);
  }
  bn->eval();
  const auto x = torch::full({2, 4, 3, 3}, 5.0);
  const auto y = models::batch_norm_relu(*bn, x, torch::full({2, 4, 3, 3}, -1.0));
  CHECK(y.allclose(torch::full({2, 4, 3, 3}, 1.0), 1e-5, 1e-5));  // (5 - 1) / sqrt(4) - 1
  CHECK(bn->num_batches_tracked.item<std::int64_t>() == 0);
}
