// MoE stage cost: forward + backward time of an MoE layer of narrow experts against the dense stage it replaces,
// for E in {4, 10, 16} and k in {1, 2}, next to the ideal: the dense time scaled by the MoE's FLOP share (k narrow
// experts per sample over the dense stage's FLOPs; the gate is counted too). ratio = MoE time / ideal; goal <= 1.1.
// Usage: build/bench/moexp_bench_moe_stage [threads] [repeats]
#include "models/blocks.hpp"
#include "models/resnet.hpp"
#include "moe/layer.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace moexp;

namespace {

struct Case {
  std::string name;
  std::string arch;
  std::int64_t position;  // stage index (1-based)
  std::int64_t in;        // input channels
  std::int64_t size;      // input height = width
  std::int64_t batch;
};

// FLOPs (multiply-adds x 2) of a 3x3 / 1x1 convolution per sample.
double conv_flops(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t out_size) {
  return 2.0 * static_cast<double>(in * out * kernel * kernel * out_size * out_size);
}

double block_flops(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t planes, std::int64_t size) {
  const auto o = size / stride;
  double f = conv_flops(in, planes, 3, o) + conv_flops(planes, out, 3, o);
  if (stride != 1 || in != out) {
    f += conv_flops(in, out, 1, o);
  }
  return f;
}

torch::nn::Sequential dense_stage(std::int64_t in, const models::StageSpec& s) {
  torch::nn::Sequential seq;
  for (std::int64_t b = 0; b < s.blocks; ++b) {
    seq->push_back(models::BasicBlock(b == 0 ? in : s.width, s.width, b == 0 ? s.stride : 1));
  }
  return seq;
}

double dense_flops(std::int64_t in, const models::StageSpec& s, std::int64_t size) {
  double f = block_flops(in, s.width, s.stride, s.width, size);
  for (std::int64_t b = 1; b < s.blocks; ++b) {
    f += block_flops(s.width, s.width, 1, s.width, size / s.stride);
  }
  return f;
}

torch::nn::Sequential narrow_expert(std::int64_t in, std::int64_t planes, const models::StageSpec& s) {
  torch::nn::Sequential seq;
  if (s.blocks == 1) {
    seq->push_back(models::BasicBlock(in, s.width, s.stride, planes));
    return seq;
  }
  seq->push_back(models::BasicBlock(in, planes, s.stride));
  for (std::int64_t b = 0; b < s.blocks - 2; ++b) {
    seq->push_back(models::BasicBlock(planes, planes, 1));
  }
  seq->push_back(models::BasicBlock(planes, s.width, 1));
  return seq;
}

double expert_flops(std::int64_t in, std::int64_t planes, const models::StageSpec& s, std::int64_t size) {
  if (s.blocks == 1) {
    return block_flops(in, s.width, s.stride, planes, size);
  }
  const auto o = size / s.stride;
  return block_flops(in, planes, s.stride, planes, size) + (s.blocks - 2) * block_flops(planes, planes, 1, planes, o) +
         block_flops(planes, s.width, 1, planes, o);
}

// Median seconds of forward + backward over `repeats` after 3 warm-up rounds.
template <typename Step>
double median_seconds(int repeats, Step step) {
  std::vector<double> times;
  for (int i = 0; i < repeats + 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    step();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i >= 3) {
      times.push_back(s);
    }
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 15;
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  const std::vector<Case> cases{{"ResNet-8 stage 1, 28x28x16, batch 128", "resnet8", 1, 16, 28, 128},
                                {"ResNet-18 stage 3, 16x16x128, batch 64", "resnet18", 3, 128, 16, 64}};
  fmt::print("{:<40} {:>3} {:>2} {:>9} {:>9} {:>10} {:>9} {:>7}\n", "stage", "E", "k", "dense ms", "MoE ms",
             "FLOP share", "ideal ms", "ratio");
  double worst = 0;
  for (const auto& c : cases) {
    const auto stage = models::arch_spec(c.arch).stages.at(static_cast<std::size_t>(c.position - 1));
    const auto planes = models::narrow_expert_planes(c.arch, c.position, c.in);
    auto x = torch::randn({c.batch, c.in, c.size, c.size});
    auto dense = dense_stage(c.in, stage);
    models::init_weights(*dense);
    dense->train();
    const double t_dense = median_seconds(repeats, [&] {
      dense->zero_grad();
      dense->forward(x).sum().backward();
    });
    for (std::int64_t experts : {4, 10, 16}) {
      for (std::int64_t k : {1, 2}) {
        moe::MoeLayerOptions o;
        o.in_channels = c.in;
        o.num_experts = experts;
        o.k = k;
        moe::MoeLayer layer(o, [&](std::int64_t) { return narrow_expert(c.in, planes, stage); },
                            torch::nn::AnyModule());
        models::init_weights(*layer);
        layer->train();
        const double t_moe = median_seconds(repeats, [&] {
          layer->zero_grad();
          auto out = layer->forward(x);
          (out.y_bchw.sum() + out.aux_loss).backward();
        });
        const double gate = 2.0 * static_cast<double>(c.in * experts * 2);
        const double share = (static_cast<double>(k) * expert_flops(c.in, planes, stage, c.size) + gate) /
                             dense_flops(c.in, stage, c.size);
        const double ideal = t_dense * share;
        worst = std::max(worst, t_moe / ideal);
        fmt::print("{:<40} {:>3} {:>2} {:>9.2f} {:>9.2f} {:>10.3f} {:>9.2f} {:>7.2f}\n", c.name, experts, k,
                   1e3 * t_dense, 1e3 * t_moe, share, 1e3 * ideal, t_moe / ideal);
      }
    }
  }
  fmt::print("(forward + backward, median of {} after 3 warm-up rounds, {} threads; worst ratio {:.2f}, goal <= 1.1)\n",
             repeats, threads, worst);
  return 0;
}
