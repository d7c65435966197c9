#include "models/blocks.hpp"
#include "models/resnet.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace moexp;
using namespace moexp::models;

namespace {
std::int64_t count_params(torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) {
    n += p.numel();
  }
  return n;
}

config::ExperimentConfig cfg_for(config::Arch arch, std::vector<std::int64_t> positions, bool moe = true) {
  config::ExperimentConfig cfg;
  cfg.model.arch = arch;
  cfg.moe.enabled = moe;
  cfg.moe.position = std::move(positions);
  cfg.constraint.kind = Constraint::importance;
  return cfg;
}
}  // namespace

TEST_CASE("resnet: ResNet-18 narrow experts have the reference widths and parameter counts (docs/algorithm.md §1.3)") {
  const auto spec = arch_spec(config::Arch::resnet18);
  const std::int64_t in_channels[] = {64, 64, 128, 256};
  const std::int64_t expected_planes[] = {25, 50, 90, 180};
  const std::int64_t expected_expert[] = {75023, 267024, 1010400, 4037448};
  const std::int64_t expected_stage[] = {147968, 525568, 2099712, 8393728};
  for (int p = 1; p <= 4; ++p) {
    const auto& stage = spec.stages[static_cast<std::size_t>(p - 1)];
    const auto planes = narrow_expert_planes(config::Arch::resnet18, p, in_channels[p - 1]);
    CHECK(planes == expected_planes[p - 1]);
    CHECK(narrow_expert_params(in_channels[p - 1], planes, stage) == expected_expert[p - 1]);
    CHECK(stage_params(in_channels[p - 1], stage) == expected_stage[p - 1]);
  }
}

TEST_CASE("resnet: the analytic parameter counts match the built modules") {
  BasicBlock block(16, 32, 2);
  CHECK(count_params(*block) == basic_block_params(16, 32, 2));
  auto dense = cfg_for(config::Arch::resnet18, {1}, false);
  ResNet plain(dense, 3, 100);
  CHECK(count_params(*plain->named_modules()["layer1"]) == 147968);
  CHECK(count_params(*plain) == 11220132);  // CIFAR ResNet-18 with 100 classes
}

TEST_CASE("resnet: narrow experts elsewhere have about half the stage's parameters") {
  for (const auto arch : {config::Arch::resnet8, config::Arch::resnet20}) {
    const auto spec = arch_spec(arch);
    std::int64_t in = spec.stem_width;
    for (std::size_t s = 0; s < spec.stages.size(); ++s) {
      const auto planes = narrow_expert_planes(arch, static_cast<std::int64_t>(s + 1), in);
      const double ratio = static_cast<double>(narrow_expert_params(in, planes, spec.stages[s])) /
                           static_cast<double>(stage_params(in, spec.stages[s]));
      INFO(config::name_of(arch) << " stage " << s + 1 << " planes " << planes);
      CHECK(ratio == doctest::Approx(0.5).epsilon(0.1));
      in = spec.stages[s].width;
    }
  }
}

TEST_CASE("resnet: every arch and MoE position gives logits of the right shape") {
  for (const auto arch : {config::Arch::resnet8, config::Arch::resnet20}) {
    for (std::int64_t p = 0; p <= 3; ++p) {
      auto cfg = cfg_for(arch, {p});
      ResNet net(cfg, 3, 7);
      net->eval();
      auto out = net->forward(torch::randn({2, 3, 16, 16}));
      CHECK(out.logits_bn.sizes() == std::vector<std::int64_t>{2, 7});
      CHECK(out.routing.size() == 1);
      CHECK(net->moe_positions() == std::vector<std::int64_t>{p});
    }
  }
  auto multi = cfg_for(config::Arch::resnet8, {0, 2, 3});
  ResNet net(multi, 1, 10);
  net->train();
  auto out = net->forward(torch::randn({4, 1, 12, 12}));
  CHECK(out.routing.size() == 3);
  CHECK(out.aux_loss.dim() == 0);
}
