#include "models/blocks.hpp"

#include "models/norm_relu.hpp"

#include <cstdint>

namespace moexp::models {
namespace {

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t planes) {
  planes = planes > 0 ? planes : out;
  m_conv1 = register_module("conv1", conv(in, planes, 3, stride));
  m_bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  m_conv2 = register_module("conv2", conv(planes, out, 3, 1));
  m_bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (stride != 1 || in != out) {
    m_shortcut = register_module("shortcut", Projection(in, out, stride));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x_bchw) {
  // Batch norm, shortcut add and ReLU as one node each (models/norm_relu.hpp): fused passes in training on the CPU,
  // LibTorch's batch norm and in-place add / ReLU elsewhere (two fewer activation-sized tensors per block).
  auto y = batch_norm_relu(*m_bn1, m_conv1->forward(x_bchw));
  return batch_norm_relu(*m_bn2, m_conv2->forward(y), m_shortcut ? m_shortcut->forward(x_bchw) : x_bchw);
}

torch::Tensor BasicBlockImpl::forward_grouped(const std::vector<torch::nn::Module*>& peers,
                                              const moe::GroupedContext& ctx, const torch::Tensor& x_packed) {
  // The same computation as forward, each step once for all participating experts.
  std::vector<BasicBlockImpl*> blocks;
  for (auto* p : peers) {
    blocks.push_back(dynamic_cast<BasicBlockImpl*>(p));
  }
  auto gather = [&](auto member) {
    std::vector<std::remove_reference_t<decltype(*(blocks.front()->*member).get())>*> out;
    for (auto* b : blocks) {
      out.push_back((b->*member).get());
    }
    return out;
  };
  auto y = ctx.batch_norm(gather(&BasicBlockImpl::m_bn1), ctx.conv(gather(&BasicBlockImpl::m_conv1), x_packed)).relu_();
  y = ctx.batch_norm(gather(&BasicBlockImpl::m_bn2), ctx.conv(gather(&BasicBlockImpl::m_conv2), y));
  if (m_shortcut) {
    std::vector<torch::nn::Conv2dImpl*> convs;
    std::vector<torch::nn::BatchNorm2dImpl*> norms;
    for (auto* b : blocks) {
      convs.push_back(b->m_shortcut->conv_module());
      norms.push_back(b->m_shortcut->bn_module());
    }
    y.add_(ctx.batch_norm(norms, ctx.conv(convs, x_packed)));
  } else {
    y.add_(x_packed);
  }
  return y.relu_();
}

BottleneckImpl::BottleneckImpl(std::int64_t in, std::int64_t width, std::int64_t stride) {
  const std::int64_t out = kExpansion * width;
  m_conv1 = register_module("conv1", conv(in, width, 1, 1));
  m_bn1 = register_module("bn1", torch::nn::BatchNorm2d(width));
  m_conv2 = register_module("conv2", conv(width, width, 3, stride));
  m_bn2 = register_module("bn2", torch::nn::BatchNorm2d(width));
  m_conv3 = register_module("conv3", conv(width, out, 1, 1));
  m_bn3 = register_module("bn3", torch::nn::BatchNorm2d(out));
  if (stride != 1 || in != out) {
    m_shortcut = register_module("shortcut", Projection(in, out, stride));
  }
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x_bchw) {
  auto y = batch_norm_relu(*m_bn1, m_conv1->forward(x_bchw));
  y = batch_norm_relu(*m_bn2, m_conv2->forward(y));
  return batch_norm_relu(*m_bn3, m_conv3->forward(y), m_shortcut ? m_shortcut->forward(x_bchw) : x_bchw);
}

torch::nn::Sequential make_stem(std::int64_t in, std::int64_t out) {
  return torch::nn::Sequential(conv(in, out, 3, 1), torch::nn::BatchNorm2d(out), torch::nn::ReLU());
}

ProjectionImpl::ProjectionImpl(std::int64_t in, std::int64_t out, std::int64_t stride) {
  m_conv = register_module("conv", conv(in, out, 1, stride));
  m_bn = register_module("bn", torch::nn::BatchNorm2d(out));
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x_bchw) {
  return batch_norm(*m_bn, m_conv->forward(x_bchw));
}

std::int64_t basic_block_params(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t planes) {
  planes = planes > 0 ? planes : out;
  std::int64_t n = 9 * in * planes + 2 * planes + 9 * planes * out + 2 * out;
  if (stride != 1 || in != out) {
    n += in * out + 2 * out;
  }
  return n;
}

std::int64_t stem_params(std::int64_t in, std::int64_t out) {
  return 9 * in * out + 2 * out;
}

void init_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (c->bias.defined()) {
        c->bias.zero_();
      }
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1.0);
      bn->bias.zero_();
    }
  }
}

}  // namespace moexp::models
