// MoE stage cost: forward + backward time of an MoE layer of narrow experts against the dense stage it replaces,
// for E in {4, 10, 16} and k in {1, 2}, next to the ideal: the dense time scaled by the MoE's FLOP share (k narrow
// experts per sample over the dense stage's FLOPs; the gate is counted too). ratio = MoE time / ideal; goal <= 1.3
// (issue 17). Two more references split the ratio into what the experts cost and what the dispatch adds:
//   one expert: a single narrow expert on all k x B rows at once (no routing, no small batches): the expert's own
//               efficiency per FLOP against the dense stage's;
//   even split: every expert on an equal slice of the k x B rows (no gate, no routing): adds small-batch cost.
// dispatch = MoE time / one-expert time: what the gate, routing, sub-batching and the gather / scatter add.
// grouped = the same layer with its experts run as one grouped computation (moe.dispatch = "grouped"), as a ratio to
// the per-expert MoE time: < 1 means grouping pays.
// Usage: build/bench/moexp_bench_moe_stage [threads] [repeats] [case name substring, e.g. "ResNet-18 stage 1"]
// Environment: MOEXP_CHANNELS_LAST=1 runs inputs and modules in channels-last.
#include "core/host.hpp"
#include "interleaved.hpp"
#include "models/blocks.hpp"
#include "models/resnet.hpp"
#include "moe/layer.hpp"
#include "train/device.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using namespace moexp;

namespace {

struct Case {
  std::string name;
  config::Arch arch;
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

// FLOPs of narrow_expert: the first block narrows to `planes`, middle blocks stay at `planes`, and the last block
// widens back (BasicBlock(planes, width): its own inner width is the stage's width, as in the reference's experts).
double expert_flops(std::int64_t in, std::int64_t planes, const models::StageSpec& s, std::int64_t size) {
  if (s.blocks == 1) {
    return block_flops(in, s.width, s.stride, planes, size);
  }
  const auto o = size / s.stride;
  return block_flops(in, planes, s.stride, planes, size) + (s.blocks - 2) * block_flops(planes, planes, 1, planes, o) +
         block_flops(planes, s.width, 1, s.width, o);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 9;
  const std::string only = argc > 3 ? argv[3] : "";
  const bool channels_last = std::getenv("MOEXP_CHANNELS_LAST") != nullptr;
  const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  core::keep_freed_memory();  // as moexp's main
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  const std::vector<Case> cases{{"ResNet-8 stage 1, 28x28x16, batch 128", config::Arch::resnet8, 1, 16, 28, 128},
                                {"ResNet-18 stage 1, 32x32x64, batch 128", config::Arch::resnet18, 1, 64, 32, 128},
                                {"ResNet-18 stage 3, 16x16x128, batch 64", config::Arch::resnet18, 3, 128, 16, 64}};
  fmt::print("{:<40} {:>3} {:>2} {:>9} {:>9} {:>10} {:>9} {:>7} {:>10} {:>10} {:>9} {:>8}\n", "stage", "E", "k",
             "dense ms", "MoE ms", "FLOP share", "ideal ms", "ratio", "one expert", "even split", "dispatch",
             "grouped");
  double worst = 0, worst_dispatch = 0;
  for (const auto& c : cases) {
    if (c.name.find(only) == std::string::npos) {
      continue;
    }
    const auto stage = models::arch_spec(c.arch).stages.at(static_cast<std::size_t>(c.position - 1));
    const auto planes = models::narrow_expert_planes(c.arch, c.position, c.in);
    // A stage inside the network: its input needs a gradient too (the backward pass of the dispatch includes it).
    auto x = torch::randn({c.batch, c.in, c.size, c.size}).contiguous(format).requires_grad_();
    auto dense = dense_stage(c.in, stage);
    models::init_weights(*dense);
    if (channels_last) {
      train::to_channels_last(*dense);
    }
    dense->train();
    auto dense_step = [&] {
      dense->zero_grad();
      dense->forward(x).sum().backward();
    };
    for (std::int64_t experts : {4, 10, 16}) {
      for (std::int64_t k : {1, 2}) {
        moe::MoeLayerOptions o;
        o.in_channels = c.in;
        o.num_experts = experts;
        o.k = k;
        o.dispatch = moe::Dispatch::per_expert;
        moe::MoeLayer layer(
            o, [&](std::int64_t) { return narrow_expert(c.in, planes, stage); }, torch::nn::AnyModule());
        models::init_weights(*layer);
        layer->train();
        o.dispatch = moe::Dispatch::grouped;
        moe::MoeLayer grouped(
            o, [&](std::int64_t) { return narrow_expert(c.in, planes, stage); }, torch::nn::AnyModule());
        models::init_weights(*grouped);
        grouped->train();
        if (channels_last) {
          train::to_channels_last(*layer);
          train::to_channels_last(*grouped);
        }
        auto grouped_step = [&] {
          grouped->zero_grad();
          auto out = grouped->forward(x);
          (out.y_bchw.sum() + out.aux_loss).backward();
        };
        auto moe_step = [&] {
          layer->zero_grad();
          auto out = layer->forward(x);
          (out.y_bchw.sum() + out.aux_loss).backward();
        };
        auto expert = [&](std::int64_t e) {
          return layer->named_modules()[fmt::format("experts.{}", e)]->as<torch::nn::Sequential>();
        };
        const auto x_k = x.detach().repeat({k, 1, 1, 1}).contiguous(format).requires_grad_();
        auto one_expert_step = [&] {
          layer->zero_grad();
          expert(0)->forward(x_k).sum().backward();
        };
        auto even_split_step = [&] {
          layer->zero_grad();
          const auto slices = x_k.chunk(experts);
          torch::Tensor total = torch::zeros({});
          for (std::size_t e = 0; e < slices.size(); ++e) {
            total = total + expert(static_cast<std::int64_t>(e))->forward(slices[e]).sum();
          }
          total.backward();
        };
        const auto t =
            bench::interleaved_medians(repeats, {dense_step, moe_step, one_expert_step, even_split_step, grouped_step});
        const double t_dense = t[0], t_moe = t[1];
        const double gate = 2.0 * static_cast<double>(c.in * experts * 2);
        const double share = (static_cast<double>(k) * expert_flops(c.in, planes, stage, c.size) + gate) /
                             dense_flops(c.in, stage, c.size);
        const double ideal = t_dense * share;
        worst = std::max(worst, t_moe / ideal);
        worst_dispatch = std::max(worst_dispatch, t_moe / t[2]);
        fmt::print(
            "{:<40} {:>3} {:>2} {:>9.2f} {:>9.2f} {:>10.3f} {:>9.2f} {:>7.2f} {:>10.2f} {:>10.2f} {:>9.2f} {:>8.2f}\n",
            c.name, experts, k, 1e3 * t_dense, 1e3 * t_moe, share, 1e3 * ideal, t_moe / ideal, t[2] / ideal,
            t[3] / ideal, t_moe / t[2], t[4] / t_moe);
      }
    }
  }
  fmt::print(
      "(forward + backward, {}, median of {} interleaved rounds after 3 warm-up rounds, {} threads; one expert and "
      "even split as ratios to ideal; worst ratio {:.2f}, goal <= 1.3; worst dispatch {:.2f})\n",
      channels_last ? "channels-last" : "contiguous", repeats, threads, worst, worst_dispatch);
  return 0;
}
