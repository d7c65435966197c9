// Batch norm + (residual add) + ReLU, forward + backward in training mode: models/norm_relu.hpp's fused passes
// (forced on for every shape) against LibTorch's batch_norm, add_ and relu_, interleaved. Contiguous inputs take
// LibTorch's path either way (ratio 1); the default rule (fused where channels % 16 != 0) comes from this table.
// Usage: build/bench/moexp_bench_norm_relu [threads] [rounds]
#include "models/norm_relu.hpp"
#include "core/host.hpp"
#include "interleaved.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

using namespace moexp;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 9;
  core::keep_freed_memory();
  torch::set_num_threads(threads);
  struct Shape {
    std::int64_t b, c, hw;
  };
  fmt::print("{:<22} {:<14} {:<8} {:>10} {:>10} {:>7}\n", "shape", "format", "residual", "fused ms", "LibTorch",
             "ratio");
  for (const Shape s : {Shape{128, 64, 32}, Shape{256, 25, 32}, Shape{128, 16, 28}, Shape{128, 256, 8},
                        Shape{128, 90, 16}, Shape{128, 40, 32}, Shape{128, 24, 32}}) {
    for (const bool channels_last : {true, false}) {
      for (const bool residual : {false, true}) {
        const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
        torch::nn::BatchNorm2d bn(s.c);
        bn->train();
        const auto x = torch::randn({s.b, s.c, s.hw, s.hw}).contiguous(format).requires_grad_();
        const auto r = torch::randn({s.b, s.c, s.hw, s.hw}).contiguous(format);
        const auto g = torch::randn({s.b, s.c, s.hw, s.hw}).contiguous(format);
        auto step = [&](bool fused) {
          models::set_fused_batch_norm_relu(fused ? models::FusedNorm::always : models::FusedNorm::never);
          auto y = models::batch_norm_relu(*bn, x * 1, residual ? r : torch::Tensor());
          y.backward(g);
          models::set_fused_batch_norm_relu(models::FusedNorm::where_faster);
        };
        const auto t = bench::interleaved_medians(rounds, {[&] { step(true); }, [&] { step(false); }});
        fmt::print("{:<22} {:<14} {:<8} {:>10.2f} {:>10.2f} {:>7.2f}\n",
                   fmt::format("{}x{}x{}x{}", s.b, s.c, s.hw, s.hw), channels_last ? "channels-last" : "contiguous",
                   residual ? "yes" : "no", 1e3 * t[0], 1e3 * t[1], t[0] / t[1]);
      }
    }
  }
  fmt::print("(forward + backward incl. one input-sized multiply, median of {} interleaved rounds, {} threads)\n",
             rounds, threads);
  return 0;
}
