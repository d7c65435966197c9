#include "detect/retinanet.hpp"

#include "core/error.hpp"
#include "models/blocks.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <set>

namespace moexp::detect {
namespace {

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(bias));
}

// torchvision's FPN and P6/P7 init: kaiming_uniform_(a=1), zero bias.
torch::nn::Conv2d fpn_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  auto c = conv(in, out, kernel, stride, true);
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(c->weight, 1.0);
  c->bias.zero_();
  return c;
}

std::int64_t scaled(std::int64_t channels, double width) {
  return std::max<std::int64_t>(8, static_cast<std::int64_t>(std::lround(static_cast<double>(channels) * width)));
}

// 4 x (conv3x3 + ReLU) + conv3x3, N(0, 0.01) weights, zero biases but the last (`last_bias`); with `pytorch_init`
// PyTorch's default conv init instead (kaiming_uniform(a = sqrt 5) weights and uniform biases). `sigmoid` appends a
// sigmoid (no parameters: the names of the weights stay).
torch::nn::Sequential subnet(std::int64_t channels, std::int64_t outputs, double last_bias, bool pytorch_init = false,
                             bool sigmoid = false) {
  torch::nn::Sequential seq;
  for (int i = 0; i < 4; ++i) {
    seq->push_back(conv(channels, channels, 3, 1, true));
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  }
  auto last = conv(channels, outputs, 3, 1, true);
  seq->push_back(last);
  if (sigmoid) {
    seq->push_back(torch::nn::Sigmoid());
  }
  if (pytorch_init) {
    return seq;
  }
  torch::NoGradGuard no_grad;
  for (auto& m : seq->modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::normal_(c->weight, 0.0, 0.01);
      c->bias.zero_();
    }
  }
  last->bias.fill_(last_bias);
  return seq;
}

// The dotted paths of the BatchNorm2d modules under `root`.
std::set<std::string> batch_norm_paths(torch::nn::Module& root) {
  std::set<std::string> paths;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    if (item.value()->as<torch::nn::BatchNorm2d>() != nullptr) {
      paths.insert(item.key());
    }
  }
  return paths;
}

}  // namespace

RetinaSubnetImpl::RetinaSubnetImpl(std::int64_t channels, std::int64_t outputs_per_anchor,
                                   std::int64_t anchors_per_cell, double last_bias, const moe::MoeLayerOptions* moe,
                                   bool gateless, config::ExpertInit expert_init, bool mix_probabilities)
    : m_outputs(outputs_per_anchor), m_anchors(anchors_per_cell) {
  const auto outputs = anchors_per_cell * outputs_per_anchor;
  if (moe != nullptr && moe->num_experts > 0) {
    auto options = *moe;
    options.in_channels = channels;
    options.has_gate = !gateless;
    m_mix_probabilities = mix_probabilities;
    const bool pytorch_init = expert_init == config::ExpertInit::pytorch;
    m_moe = register_module("moe", moe::MoeLayer(options, [&](std::int64_t) {
                              return subnet(channels, outputs, last_bias, pytorch_init, mix_probabilities);
                            }));
  } else {
    m_dense = register_module("tower", subnet(channels, outputs, last_bias));
  }
}

torch::Tensor RetinaSubnetImpl::to_anchor_rows(const torch::Tensor& y_bchw) const {
  const auto b = y_bchw.size(0), h = y_bchw.size(2), w = y_bchw.size(3);
  return y_bchw.view({b, m_anchors, m_outputs, h, w})
      .permute({0, 3, 4, 1, 2})
      .reshape({b, h * w * m_anchors, m_outputs});
}

SubnetOutput RetinaSubnetImpl::forward(const std::vector<torch::Tensor>& levels_bchw,
                                       const std::vector<moe::RouteStep>* shared_steps) {
  SubnetOutput out;
  std::vector<torch::Tensor> rows;
  if (!m_moe) {
    for (const auto& p : levels_bchw) {
      rows.push_back(to_anchor_rows(m_dense->forward(p)));
    }
    out.out_bao = torch::cat(rows, 1);
    out.aux_loss = torch::zeros({}, levels_bchw.front().options().dtype(torch::kFloat));
    return out;
  }
  for (std::size_t l = 0; l < levels_bchw.size(); ++l) {
    const auto& p = levels_bchw[l];
    out.steps.push_back(shared_steps != nullptr ? shared_steps->at(l) : m_moe->route_step(p));
    const auto& routing = out.steps.back().routing;
    auto mixed_bchw = m_moe->dispatch_combine(p, routing);
    if (m_mix_probabilities) {
      mixed_bchw = torch::logit(mixed_bchw, 1e-4);  // log(p / (1 - p)) of p clamped to [1e-4, 1 - 1e-4]
    }
    rows.push_back(to_anchor_rows(mixed_bchw));
    out.routing.weights_be.push_back(routing.weights_be.detach());
    out.routing.topk_idx_bk.push_back(routing.topk_idx_bk);
  }
  out.out_bao = torch::cat(rows, 1);
  out.aux_loss = shared_steps != nullptr ? torch::zeros({}, levels_bchw.front().options().dtype(torch::kFloat))
                                         : m_moe->aux_loss(out.steps);
  return out;
}

RetinaNetImpl::RetinaNetImpl(const RetinaNetOptions& options, std::int64_t in_channels) : m_options(options) {
  std::vector<std::int64_t> blocks;
  bool bottleneck = false;
  switch (options.backbone) {
    case config::Backbone::resnet18:
      blocks = {2, 2, 2, 2};
      break;
    case config::Backbone::resnet34:
      blocks = {3, 4, 6, 3};
      break;
    case config::Backbone::resnet50:
      blocks = {3, 4, 6, 3};
      bottleneck = true;
      break;
  }
  if (options.top_level < 5 || options.top_level > 7) {
    throw InputError(fmt::format("detection top level {}: the pyramid ends at P5, P6 or P7", options.top_level));
  }
  const auto stem_width = scaled(64, options.width);
  m_stem = register_module(
      "stem", torch::nn::Sequential(conv(in_channels, stem_width, 7, 2, false), torch::nn::BatchNorm2d(stem_width),
                                    torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)),
                                    torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1))));
  std::int64_t in = stem_width;
  std::vector<std::int64_t> widths;
  for (std::size_t s = 0; s < blocks.size(); ++s) {
    const auto width = scaled(64 << s, options.width);  // BasicBlock: its channels; Bottleneck: its inner width
    const auto out = bottleneck ? models::BottleneckImpl::kExpansion * width : width;
    torch::nn::Sequential stage;
    for (std::int64_t b = 0; b < blocks[s]; ++b) {
      const std::int64_t stride = b == 0 && s > 0 ? 2 : 1;
      if (bottleneck) {
        stage->push_back(models::Bottleneck(b == 0 ? in : out, width, stride));
      } else {
        stage->push_back(models::BasicBlock(b == 0 ? in : width, width, stride));
      }
    }
    m_stages.push_back(register_module(fmt::format("layer{}", s + 1), stage));
    widths.push_back(out);
    in = out;
  }
  models::init_weights(*this);  // backbone: Kaiming normal convs, BN 1 / 0
  const auto c = options.fpn_channels;
  m_lateral = register_module("fpn_lateral", torch::nn::ModuleList());
  m_output = register_module("fpn_output", torch::nn::ModuleList());
  for (std::size_t s = 1; s < widths.size(); ++s) {  // C3, C4, C5
    m_lateral->push_back(fpn_conv(widths[s], c, 1, 1));
    m_output->push_back(fpn_conv(c, c, 3, 1));
  }
  if (options.top_level >= 6) {
    m_p6 = register_module("p6", fpn_conv(options.p6_from_c5 ? widths.back() : c, c, 3, 2));
  }
  if (options.top_level >= 7) {
    m_p7 = register_module("p7", fpn_conv(c, c, 3, 2));
  }
  const double prior = options.prior_probability;
  m_cls = register_module(
      "cls_head", RetinaSubnet(c, options.num_classes, options.anchors_per_cell, -std::log((1 - prior) / prior),
                               options.moe_cls_head ? &options.moe : nullptr, /*gateless=*/false, options.expert_init,
                               options.combine == config::Combine::probabilities));
  m_box = register_module(
      "box_head", RetinaSubnet(c, 4, options.anchors_per_cell, 0.0, options.moe_box_head ? &options.moe : nullptr,
                               /*gateless=*/options.shared_gate && options.moe_cls_head && options.moe_box_head,
                               options.expert_init));
  const bool bn_fixed = options.frozen_bn || options.freeze_backbone;
  const auto batch_norms = batch_norm_paths(*this);
  for (auto& item : named_parameters()) {
    const auto& name = item.key();
    auto& p = item.value();
    const auto part = part_of(name);
    const auto owner = name.substr(0, name.rfind('.'));
    const bool batch_norm_affine = part == "backbone" && bn_fixed && batch_norms.count(owner) > 0;
    if ((part == "backbone" && options.freeze_backbone) || (part == "fpn" && options.freeze_fpn) || batch_norm_affine) {
      p.set_requires_grad(false);
    }
  }
}

std::vector<moe::MoeLayer> RetinaNetImpl::moe_layers() const {
  std::vector<moe::MoeLayer> layers;
  for (const auto* head : {&m_cls, &m_box}) {
    if ((*head)->is_moe()) {
      layers.push_back((*head)->moe_layer());
    }
  }
  return layers;
}

std::string RetinaNetImpl::part_of(const std::string& name) {
  auto starts = [&](std::string_view prefix) { return name.rfind(prefix, 0) == 0; };
  if (starts("stem.") || starts("layer")) {
    return "backbone";
  }
  if (starts("fpn_") || starts("p6.") || starts("p7.")) {
    return "fpn";
  }
  return "heads";
}

void RetinaNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (on && (m_options.frozen_bn || m_options.freeze_backbone)) {
    m_stem->apply([](torch::nn::Module& m) {
      if (m.as<torch::nn::BatchNorm2d>() != nullptr) {
        m.eval();
      }
    });
    for (auto& stage : m_stages) {
      stage->apply([](torch::nn::Module& m) {
        if (m.as<torch::nn::BatchNorm2d>() != nullptr) {
          m.eval();
        }
      });
    }
  }
}

std::vector<torch::Tensor> RetinaNetImpl::backbone(const torch::Tensor& x_bchw) {
  auto x = m_stem->forward(x_bchw);
  std::vector<torch::Tensor> c_levels;  // C2 .. C5
  for (auto& stage : m_stages) {
    x = stage->forward(x);
    c_levels.push_back(x);
  }
  return c_levels;
}

std::vector<torch::Tensor> RetinaNetImpl::features(const torch::Tensor& x_bchw) {
  const auto c_levels = backbone(x_bchw);
  // Top-down: P5 from C5, then each level's lateral plus the upsampled (nearest) level above.
  std::vector<torch::Tensor> p_levels(3);
  torch::Tensor inner;
  for (int l = 2; l >= 0; --l) {
    const auto lateral = m_lateral[static_cast<std::size_t>(l)]->as<torch::nn::Conv2d>()->forward(
        c_levels[static_cast<std::size_t>(l + 1)]);
    if (inner.defined()) {
      inner = lateral + torch::nn::functional::interpolate(
                            inner, torch::nn::functional::InterpolateFuncOptions()
                                       .size(std::vector<std::int64_t>{lateral.size(2), lateral.size(3)})
                                       .mode(torch::kNearest));
    } else {
      inner = lateral;
    }
    p_levels[static_cast<std::size_t>(l)] =
        m_output[static_cast<std::size_t>(l)]->as<torch::nn::Conv2d>()->forward(inner);
  }
  if (m_p6) {
    p_levels.push_back(m_p6->forward(m_options.p6_from_c5 ? c_levels.back() : p_levels[2]));
  }
  if (m_p7) {
    p_levels.push_back(m_p7->forward(torch::relu(p_levels.back())));
  }
  return p_levels;
}

RetinaHeadOutput RetinaNetImpl::forward(const torch::Tensor& x_bchw) {
  RetinaHeadOutput out;
  const auto levels = features(x_bchw);
  for (const auto& p : levels) {
    out.feature_sizes.push_back({p.size(2), p.size(3)});
    out.anchors_per_level.push_back(p.size(2) * p.size(3) * m_options.anchors_per_cell);
  }
  auto cls = m_cls->forward(levels);
  const bool follows_cls_gate = m_box->is_moe() && !m_box->moe_layer()->options().has_gate;  // built gateless
  auto box = m_box->forward(levels, follows_cls_gate ? &cls.steps : nullptr);
  out.cls_logits_bak = cls.out_bao;
  out.box_deltas_ba4 = box.out_bao;
  out.aux_loss = cls.aux_loss + box.aux_loss;
  out.cls_routing = std::move(cls.routing);
  out.box_routing = std::move(box.routing);
  return out;
}

}  // namespace moexp::detect
