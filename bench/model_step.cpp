// Whole-model training step: dense ResNet vs the same ResNet with one MoE layer, forward + cross-entropy (+ aux) +
// backward + Adam, on one synthetic CIFAR-shaped batch: the MoE model per expert (fused row ops), per expert with
// the dispatch in LibTorch operations (moe::set_fused_row_ops(false)), and grouped. The models take turns within
// each round (this VM drifts by 10-40 % within minutes); medians of the rounds after 3 warm-up rounds.
// x dense = step time / the dense model's (issue 17's goal for ResNet-18, E=4, k=2, stage 1: <= 1.05). Without data
// loading, evaluation or records: what the model costs (bench/train_throughput.sh times whole runs).
// Usage: build/bench/moexp_bench_model_step [arch] [position] [E] [k] [threads] [rounds] [batch]
// Environment: MOEXP_CHANNELS_LAST=1 runs the models and images in channels-last;
// MOEXP_FORMATS=1 compares contiguous and channels-last, dense and MoE, in the same rounds; MOEXP_NORMS=1 the fused
// batch norm + ReLU (models/norm_relu.hpp) against LibTorch's operations; MOEXP_PROFILE=prefix writes LibTorch
// profiler traces (chrome://tracing) of `rounds` dense and MoE steps, taking turns, to prefix.{dense,moe}.<round>.json;
// MOEXP_ONLY=dense|moe|grouped runs only that model for `rounds` steps and prints nothing (for perf record).
#include "core/host.hpp"
#include "interleaved.hpp"
#include "models/norm_relu.hpp"
#include "models/resnet.hpp"
#include "moe/row_ops.hpp"
#include "train/device.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace moexp;

namespace {

struct Model {
  models::ResNet net{nullptr};
  std::unique_ptr<torch::optim::Adam> adam;
};

Model make_model(const std::string& arch, std::int64_t position, std::int64_t experts, std::int64_t k,
                 moe::Dispatch dispatch) {
  config::ExperimentConfig cfg;
  const auto parsed = config::parse_choice<config::Arch>(arch);
  if (!parsed) {
    throw std::invalid_argument("unknown arch '" + arch + "' (resnet8, resnet20 or resnet18)");
  }
  cfg.model.arch = *parsed;
  cfg.moe.enabled = experts > 0;
  cfg.moe.position = {position};
  cfg.moe.num_experts = experts > 0 ? experts : 4;
  cfg.moe.k = k;
  cfg.moe.dispatch = dispatch;
  cfg.constraint.kind = Constraint::importance;
  torch::manual_seed(0);
  Model m;
  m.net = models::ResNet(cfg, 3, 100);
  m.net->train();
  m.adam = std::make_unique<torch::optim::Adam>(m.net->parameters(), torch::optim::AdamOptions(1e-3));
  return m;
}

// The model in channels-last, as `train.memory_format = "channels_last"` runs it.
void to_channels_last(Model& m) {
  train::to_channels_last(*m.net);
}

// The bench's table: one line per model, step time, images/s and the ratio to the first model.
void print_table(const std::string& title, const std::vector<const char*>& names, const std::vector<double>& t,
                 std::int64_t batch) {
  std::size_t width = 5;
  for (const char* n : names) {
    width = std::max(width, std::string(n).size());
  }
  fmt::print("{}\n{:<{}} {:>9} {:>9} {:>8}\n", title, "model", width + 2, "step ms", "img/s", "x dense");
  for (std::size_t i = 0; i < t.size(); ++i) {
    fmt::print("{:<{}} {:>9.1f} {:>9.1f} {:>8.3f}\n", names[i], width + 2, 1e3 * t[i],
               static_cast<double>(batch) / t[i], t[i] / t[0]);
  }
}

void train_step(Model& m, const torch::Tensor& x_bchw, const torch::Tensor& y_b) {
  auto out = m.net->forward(x_bchw);
  auto loss = torch::nn::functional::cross_entropy(out.logits_bn, y_b) + out.aux_loss;
  m.adam->zero_grad();
  loss.backward();
  m.adam->step();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arch = argc > 1 ? argv[1] : "resnet18";
  const std::int64_t position = argc > 2 ? std::stoll(argv[2]) : 1;
  const std::int64_t experts = argc > 3 ? std::stoll(argv[3]) : 4;
  const std::int64_t k = argc > 4 ? std::stoll(argv[4]) : 2;
  const int threads = argc > 5 ? std::stoi(argv[5]) : 2;
  const int rounds = argc > 6 ? std::stoi(argv[6]) : 7;
  const std::int64_t batch = argc > 7 ? std::stoll(argv[7]) : 128;
  core::keep_freed_memory();  // as moexp's main
  torch::set_num_threads(threads);
  auto x_bchw = torch::randn({batch, 3, 32, 32});
  if (std::getenv("MOEXP_CHANNELS_LAST")) {
    x_bchw = x_bchw.contiguous(at::MemoryFormat::ChannelsLast);
  }
  const auto y_b = torch::randint(0, 100, {batch});
  auto dense = make_model(arch, position, 0, k, moe::Dispatch::per_expert);
  auto per_expert = make_model(arch, position, experts, k, moe::Dispatch::per_expert);
  auto grouped = make_model(arch, position, experts, k, moe::Dispatch::grouped);
  if (std::getenv("MOEXP_CHANNELS_LAST")) {
    for (Model* m : {&dense, &per_expert, &grouped}) {
      to_channels_last(*m);
    }
  }
  if (const char* trace = std::getenv("MOEXP_PROFILE")) {  // one trace per step, dense and MoE taking turns
    for (int i = 0; i < 3; ++i) {
      train_step(dense, x_bchw, y_b);
      train_step(per_expert, x_bchw, y_b);
    }
    for (int i = 0; i < rounds; ++i) {
      for (auto [name, model] : {std::pair{"dense", &dense}, std::pair{"moe", &per_expert}}) {
        torch::autograd::profiler::RecordProfile profile(fmt::format("{}.{}.{}.json", trace, name, i));
        train_step(*model, x_bchw, y_b);
      }
    }
    return 0;
  }
  if (std::getenv("MOEXP_FORMATS")) {  // contiguous vs channels-last, dense and MoE, in the same rounds
    auto dense_cl = make_model(arch, position, 0, k, moe::Dispatch::per_expert);
    auto moe_cl = make_model(arch, position, experts, k, moe::Dispatch::per_expert);
    to_channels_last(dense_cl);
    to_channels_last(moe_cl);
    const auto x_cl = x_bchw.contiguous(at::MemoryFormat::ChannelsLast);
    const auto x_plain = x_bchw.contiguous();
    const auto t = bench::interleaved_medians(
        rounds, {[&] { train_step(dense, x_plain, y_b); }, [&] { train_step(dense_cl, x_cl, y_b); },
                 [&] { train_step(per_expert, x_plain, y_b); }, [&] { train_step(moe_cl, x_cl, y_b); }});
    print_table(fmt::format("{} stage {} MoE, E={} k={}, batch {}, {} threads (median of {} interleaved rounds after 3 "
                            "warm-up)",
                            arch, position, experts, k, batch, threads, rounds),
                {"dense, contiguous", "dense, channels-last", "MoE, contiguous", "MoE, channels-last"}, t, batch);
    return 0;
  }
  if (std::getenv("MOEXP_NORMS")) {  // fused batch norm + ReLU against LibTorch's operations, in the same rounds
    auto unfused = [&](Model& m) {
      models::set_fused_batch_norm_relu(models::FusedNorm::never);
      train_step(m, x_bchw, y_b);
      models::set_fused_batch_norm_relu(models::FusedNorm::where_faster);
    };
    const auto t = bench::interleaved_medians(
        rounds, {[&] { train_step(dense, x_bchw, y_b); }, [&] { unfused(dense); },
                 [&] { train_step(per_expert, x_bchw, y_b); }, [&] { unfused(per_expert); }});
    print_table(fmt::format("{} stage {} MoE, E={} k={}, batch {}, {} threads, {} (median of {} interleaved rounds "
                            "after 3 warm-up)",
                            arch, position, experts, k, batch, threads,
                            std::getenv("MOEXP_CHANNELS_LAST") ? "channels-last" : "contiguous", rounds),
                {"dense, fused BN+ReLU (rule)", "dense, LibTorch BN, ReLU", "MoE, fused BN+ReLU (rule)",
                 "MoE, LibTorch BN, ReLU"},
                t, batch);
    return 0;
  }
  if (const char* only = std::getenv("MOEXP_ONLY")) {  // for perf: one model, `rounds` steps
    auto& m = std::string(only) == "dense" ? dense : std::string(only) == "grouped" ? grouped : per_expert;
    for (int i = 0; i < rounds; ++i)
      train_step(m, x_bchw, y_b);
    return 0;
  }
  const auto t = bench::interleaved_medians(
      rounds, {[&] { train_step(dense, x_bchw, y_b); }, [&] { train_step(per_expert, x_bchw, y_b); },
               [&] {
                 moe::set_fused_row_ops(false);
                 train_step(per_expert, x_bchw, y_b);
                 moe::set_fused_row_ops(true);
               },
               [&] { train_step(grouped, x_bchw, y_b); }});
  print_table(fmt::format("{} stage {} MoE, E={} k={}, batch {}, {} threads (median of {} interleaved rounds after 3 "
                          "warm-up)",
                          arch, position, experts, k, batch, threads, rounds),
              {"dense", "MoE per expert", "MoE, LibTorch ops", "MoE grouped"}, t, batch);
  return 0;
}
