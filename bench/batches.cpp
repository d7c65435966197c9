// Training batches on the CPU: make_batch (gather on the host, then augment) against a DeviceSplit (data.on_device:
// the split resident, the epoch planned once, each batch gathered and augmented from it), interleaved, for a
// CIFAR-like split (3 x 32 x 32, flip, crop, colour jitter) and a Fashion-MNIST-like one (1 x 28 x 28, crop).
// The planning of an epoch (every batch's draws, two copies) is timed separately, per epoch. On the CPU both paths
// do the same work, so the ratio says what data.on_device = "on" costs there (auto leaves it off on the CPU).
// Usage: build/bench/moexp_bench_batches [threads] [rounds]
#include "core/host.hpp"
#include "data/device_split.hpp"
#include "data/readers.hpp"
#include "interleaved.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdint>

using namespace moexp;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 9;
  core::keep_freed_memory();
  torch::set_num_threads(threads);
  constexpr std::int64_t kBatch = 128, kSamples = 10240;
  fmt::print("{:<28} {:>14} {:>16} {:>7} {:>18}\n", "split", "make_batch ms", "resident ms", "ratio", "plan epoch ms");
  struct Case {
    const char* name;
    std::int64_t channels, size;
    data::Augmentation aug;
  };
  for (const Case& c : {Case{"3x32x32 flip+crop+jitter", 3, 32, {.flip = true, .crop_pad = 4, .jitter = true}},
                        Case{"1x28x28 crop", 1, 28, {.flip = false, .crop_pad = 4, .jitter = false}}}) {
    data::DataSplits d;
    d.train = data::make_synthetic(kSamples, 10, c.channels, c.size, 1);
    d.mean = std::vector<double>(static_cast<std::size_t>(c.channels), 0.5);
    d.std = std::vector<double>(static_cast<std::size_t>(c.channels), 0.25);
    const auto order = data::epoch_permutation(kSamples, 1, 1);
    data::DeviceSplit split(d.train, d, torch::kCPU);
    auto plan_gen = data::epoch_generator(1, 1, 2);
    const auto plan_start = std::chrono::steady_clock::now();
    split.plan_epoch(order, kBatch, c.aug, plan_gen);
    const double plan_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - plan_start).count();
    auto gen = data::epoch_generator(1, 1, 2);
    std::int64_t host_b = 0, resident_b = 0;
    const auto batches = split.batches();
    const auto medians = bench::interleaved_medians(
        rounds, {[&] {
                   const auto b = host_b++ % batches;
                   const auto idx = order.narrow(0, b * kBatch, std::min(kBatch, kSamples - b * kBatch));
                   auto x = data::make_batch(d.train, idx, d, c.aug, gen, torch::kCPU);
                 },
                 [&] { auto xy = split.batch(resident_b++ % batches); }});
    fmt::print("{:<28} {:>14.3f} {:>16.3f} {:>7.2f} {:>18.2f}\n", c.name, medians[0] * 1e3, medians[1] * 1e3,
               medians[1] / medians[0], plan_ms);
  }
  return 0;
}
