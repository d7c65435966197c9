#include "models/resnet.hpp"

#include "core/constraint_kinds.hpp"
#include "core/error.hpp"
#include "models/blocks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace moexp::models {
namespace {

torch::nn::Sequential make_stage(std::int64_t in, const StageSpec& stage) {
  torch::nn::Sequential seq;
  for (std::int64_t b = 0; b < stage.blocks; ++b) {
    seq->push_back(BasicBlock(b == 0 ? in : stage.width, stage.width, b == 0 ? stage.stride : 1));
  }
  return seq;
}

// Narrow expert (docs/algorithm.md §1.3): BasicBlock(in -> planes, stride), (n-2) x BasicBlock(planes -> planes),
// BasicBlock(planes -> out) for a stage of n >= 2 blocks; one BasicBlock(in -> out) with inner width planes for a
// one-block stage.
torch::nn::Sequential make_narrow_expert(std::int64_t in, std::int64_t planes, const StageSpec& stage) {
  torch::nn::Sequential seq;
  if (stage.blocks == 1) {
    seq->push_back(BasicBlock(in, stage.width, stage.stride, planes));
    return seq;
  }
  seq->push_back(BasicBlock(in, planes, stage.stride));
  for (std::int64_t b = 0; b < stage.blocks - 2; ++b) {
    seq->push_back(BasicBlock(planes, planes, 1));
  }
  seq->push_back(BasicBlock(planes, stage.width, 1));
  return seq;
}

}  // namespace

moe::MoeLayerOptions moe_layer_options(const config::ExperimentConfig& cfg, std::int64_t in_channels) {
  moe::MoeLayerOptions o;
  o.in_channels = in_channels;
  o.num_experts = cfg.moe.num_experts;
  o.k = cfg.moe.k;
  o.gate = cfg.moe.gate;
  o.noise = cfg.moe.noise;
  o.noise_from_input = cfg.moe.noise_input == config::NoiseInput::input;
  o.constraint = cfg.constraint.kind;
  o.weight = cfg.constraint.weight;
  o.threshold = config::effective_threshold(cfg.constraint);
  o.dispatch = cfg.moe.dispatch;
  o.capacity_factor = cfg.moe.capacity_factor;
  return o;
}

ArchSpec arch_spec(config::Arch arch) {
  switch (arch) {
    case config::Arch::resnet18:
      return {64, {{64, 2, 1}, {128, 2, 2}, {256, 2, 2}, {512, 2, 2}}};
    case config::Arch::resnet20:
      return {16, {{16, 3, 1}, {32, 3, 2}, {64, 3, 2}}};
    case config::Arch::resnet8:
      return {16, {{16, 1, 1}, {32, 1, 2}, {64, 1, 2}}};
    case config::Arch::retinanet:
      break;
  }
  throw Error(fmt::format("'{}' is not a CIFAR-style ResNet", arch));
}

std::int64_t narrow_expert_params(std::int64_t in, std::int64_t planes, const StageSpec& stage) {
  if (stage.blocks == 1) {
    return basic_block_params(in, stage.width, stage.stride, planes);
  }
  return basic_block_params(in, planes, stage.stride) + (stage.blocks - 2) * basic_block_params(planes, planes, 1) +
         basic_block_params(planes, stage.width, 1);
}

std::int64_t stage_params(std::int64_t in, const StageSpec& stage) {
  std::int64_t n = basic_block_params(in, stage.width, stage.stride);
  n += (stage.blocks - 1) * basic_block_params(stage.width, stage.width, 1);
  return n;
}

std::int64_t narrow_expert_planes(config::Arch arch, std::int64_t position, std::int64_t in_channels) {
  if (arch == config::Arch::resnet18) {
    static const std::int64_t kReference[] = {25, 50, 90, 180};
    return kReference[position - 1];
  }
  const StageSpec stage = arch_spec(arch).stages.at(static_cast<std::size_t>(position - 1));
  const double target = 0.5 * static_cast<double>(stage_params(in_channels, stage));
  std::int64_t best = 1;
  double best_gap = INFINITY;
  for (std::int64_t planes = 1; planes <= stage.width; ++planes) {
    double gap = std::abs(static_cast<double>(narrow_expert_params(in_channels, planes, stage)) - target);
    if (gap < best_gap) {
      best_gap = gap;
      best = planes;
    }
  }
  return best;
}

ResNetImpl::ResNetImpl(const config::ExperimentConfig& cfg, std::int64_t in_channels, std::int64_t num_classes) {
  const ArchSpec spec = arch_spec(cfg.model.arch);
  const auto& positions = cfg.moe.position;
  auto is_moe = [&](std::int64_t p) {
    return cfg.moe.enabled && std::find(positions.begin(), positions.end(), p) != positions.end();
  };
  const bool residual = cfg.moe.variant == config::Variant::residual;
  const bool narrow = cfg.moe.expert_width == config::ExpertWidth::narrow;

  std::int64_t channels = in_channels;
  for (std::int64_t p = 0; p <= static_cast<std::int64_t>(spec.stages.size()); ++p) {
    const std::string name = p == 0 ? "stem" : fmt::format("layer{}", p);
    const std::int64_t in = channels;
    const std::int64_t out = p == 0 ? spec.stem_width : spec.stages[static_cast<std::size_t>(p - 1)].width;
    Slot slot{p};
    if (!is_moe(p)) {
      slot.plain = register_module(
          name, p == 0 ? make_stem(in, out) : make_stage(in, spec.stages[static_cast<std::size_t>(p - 1)]));
    } else {
      std::function<torch::nn::Sequential(std::int64_t)> make_expert;
      std::int64_t stride = 1;
      if (p == 0) {
        make_expert = [in, out](std::int64_t) { return make_stem(in, out); };
      } else {
        const StageSpec stage = spec.stages[static_cast<std::size_t>(p - 1)];
        stride = stage.stride;
        const std::int64_t planes = narrow ? narrow_expert_planes(cfg.model.arch, p, in) : 0;
        make_expert = [in, stage, planes, narrow](std::int64_t) {
          return narrow ? make_narrow_expert(in, planes, stage) : make_stage(in, stage);
        };
      }
      torch::nn::AnyModule shortcut;
      if (residual) {
        if (in == out && stride == 1) {
          shortcut = torch::nn::AnyModule(torch::nn::Identity());
        } else {
          shortcut = torch::nn::AnyModule(Projection(in, out, stride));
        }
      }
      slot.moe = register_module(name, moe::MoeLayer(moe_layer_options(cfg, in), make_expert, shortcut));
      m_moe_layers.push_back(slot.moe);
    }
    m_slots.push_back(slot);
    channels = out;
  }
  m_fc = register_module("fc", torch::nn::Linear(channels, num_classes));
  init_weights(*this);
}

ModelOutput ResNetImpl::forward(const torch::Tensor& x_bchw) {
  ModelOutput out;
  torch::Tensor h = x_bchw;
  for (auto& slot : m_slots) {
    if (slot.plain) {
      h = slot.plain->forward(h);
      continue;
    }
    moe::MoeOutput m = slot.moe->forward(h);
    h = m.y_bchw;
    out.aux_loss = out.aux_loss.defined() ? out.aux_loss + m.aux_loss : m.aux_loss;
    out.routing.push_back(std::move(m));
  }
  if (!out.aux_loss.defined()) {
    out.aux_loss = torch::zeros({}, h.options().dtype(torch::kFloat));
  }
  out.logits_bn = m_fc->forward(h.mean({2, 3}));
  return out;
}

std::vector<std::int64_t> ResNetImpl::moe_positions() const {
  std::vector<std::int64_t> positions;
  for (const auto& slot : m_slots) {
    if (slot.moe) {
      positions.push_back(slot.position);
    }
  }
  return positions;
}

}  // namespace moexp::models
