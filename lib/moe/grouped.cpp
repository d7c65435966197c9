#include "moe/grouped.hpp"

#include "core/error.hpp"
#include "moe/host_read.hpp"

#include <algorithm>
#include <cstdint>
#include <variant>

namespace moexp::moe {

namespace {

// The explicit padding of a convolution that can run grouped (no groups, no bias, numeric padding), else nullptr.
// padding_t is c10::variant in LibTorch 1.13 and std::variant in 2.x: get_if is found by argument lookup.
const torch::ExpandingArray<2>* groupable_padding(const torch::nn::Conv2dImpl& conv) {
  if (conv.options.groups() != 1 || conv.bias.defined()) {
    return nullptr;
  }
  return get_if<torch::ExpandingArray<2>>(&conv.options.padding());
}

}  // namespace

GroupedContext::GroupedContext(const std::vector<std::int64_t>& rows_g, const torch::Device& device)
    : m_rows_g(rows_g), m_groups(static_cast<std::int64_t>(rows_g.size())) {
  m_capacity = rows_g.empty() ? 0 : *std::max_element(rows_g.begin(), rows_g.end());
  const auto groups = static_cast<std::int64_t>(rows_g.size());
  std::vector<std::int64_t> slot_n;
  std::vector<float> mask_cg(static_cast<std::size_t>(m_capacity * groups), 0.0f), count_g;
  for (std::int64_t g = 0; g < groups; ++g) {
    const auto rows = rows_g[static_cast<std::size_t>(g)];
    for (std::int64_t r = 0; r < rows; ++r) {
      slot_n.push_back(r * groups + g);
      mask_cg[static_cast<std::size_t>(r * groups + g)] = 1.0f;
    }
    count_g.push_back(static_cast<float>(rows));
  }
  const auto on_device = [&](torch::Tensor t) { return t.to(device); };
  m_slot_n = on_device(torch::tensor(slot_n, torch::kLong));
  m_mask_cg = on_device(torch::tensor(mask_cg).view({m_capacity, groups}));
  m_count_g = on_device(torch::tensor(count_g));
  m_kept_n = torch::ones({static_cast<std::int64_t>(slot_n.size())}, torch::TensorOptions(torch::kBool).device(device));
}

GroupedContext GroupedContext::with_capacity(const torch::Tensor& expert_n, std::int64_t groups,
                                             std::int64_t capacity) {
  GroupedContext ctx;
  ctx.m_groups = groups;
  ctx.m_capacity = capacity;
  ctx.m_fixed = true;
  const auto idx_n = expert_n.to(torch::kLong);
  // Row n's place among its expert's rows: the running count of that expert's rows up to n, minus one.
  const auto one_hot_ng = torch::one_hot(idx_n, groups);
  const auto pos_n = (one_hot_ng.cumsum(0) - 1).gather(1, idx_n.unsqueeze(1)).squeeze(1);
  ctx.m_kept_n = pos_n < capacity;
  ctx.m_slot_n = torch::where(ctx.m_kept_n, pos_n * groups + idx_n, torch::full_like(idx_n, capacity * groups));
  const auto kept = ctx.m_kept_n.to(torch::kFloat);
  ctx.m_mask_cg = torch::zeros({capacity * groups + 1}, kept.options())
                      .index_put_({ctx.m_slot_n}, kept)
                      .narrow(0, 0, capacity * groups)
                      .view({capacity, groups});
  ctx.m_count_g = torch::zeros({groups}, kept.options()).index_add_(0, idx_n, kept);
  return ctx;
}

torch::Tensor GroupedContext::pack(const torch::Tensor& x_nchw) const {
  const auto c = x_nchw.size(1), h = x_nchw.size(2), w = x_nchw.size(3);
  const auto slots = m_capacity * groups();
  auto packed =
      torch::zeros({slots + (m_fixed ? 1 : 0), c, h, w}, x_nchw.options().memory_format(at::MemoryFormat::Contiguous));
  packed = packed.index_copy(0, m_slot_n, x_nchw.contiguous());
  return (m_fixed ? packed.narrow(0, 0, slots) : packed).view({m_capacity, groups() * c, h, w});
}

torch::Tensor GroupedContext::unpack(const torch::Tensor& y_packed) const {
  const auto c = y_packed.size(1) / groups();
  auto rows = y_packed.contiguous().view({m_capacity * groups(), c, y_packed.size(2), y_packed.size(3)});
  if (m_fixed) {  // the dropped rows' slot: zeros
    rows = torch::cat({rows, torch::zeros({1, c, rows.size(2), rows.size(3)}, rows.options())}, 0);
  }
  return rows.index_select(0, m_slot_n);
}

torch::Tensor GroupedContext::conv(const std::vector<torch::nn::Conv2dImpl*>& peers,
                                   const torch::Tensor& x_packed) const {
  const auto& o = peers.front()->options;
  const auto* padding = groupable_padding(*peers.front());
  if (padding == nullptr) {
    throw Error("grouped experts: a convolution with groups, a bias or symbolic padding cannot run grouped");
  }
  std::vector<torch::Tensor> weights;
  weights.reserve(peers.size());
  for (auto* p : peers) {
    weights.push_back(p->weight);
  }
  return torch::conv2d(x_packed, torch::cat(weights, 0), {}, c10::IntArrayRef(*o.stride()), c10::IntArrayRef(**padding),
                       c10::IntArrayRef(*o.dilation()), groups());
}

torch::Tensor GroupedContext::batch_norm(const std::vector<torch::nn::BatchNorm2dImpl*>& peers,
                                         const torch::Tensor& x_packed) const {
  const auto g = groups(), cap = m_capacity;
  const auto c = x_packed.size(1) / g, h = x_packed.size(2), w = x_packed.size(3);
  const auto& o = peers.front()->options;
  std::vector<torch::Tensor> gamma, beta;
  for (auto* p : peers) {
    gamma.push_back(p->weight);
    beta.push_back(p->bias);
  }
  const auto gamma_gc = torch::stack(gamma).view({1, g, c, 1});
  const auto beta_gc = torch::stack(beta).view({1, g, c, 1});
  const auto x_cgcs = x_packed.to(torch::kFloat).reshape({cap, g, c, h * w});
  torch::Tensor mean_gc, var_gc;
  if (peers.front()->is_training()) {
    const auto m_cg11 = m_mask_cg.view({cap, g, 1, 1});
    // An expert without rows (with_capacity only) divides by 1: its statistics are 0 and stay out of its running ones.
    const auto n_g1 = (m_count_g * static_cast<double>(h * w)).clamp_min(1).view({g, 1});
    mean_gc = (x_cgcs * m_cg11).sum(std::vector<std::int64_t>{0, 3}) / n_g1;
    const auto d = (x_cgcs - mean_gc.view({1, g, c, 1})) * m_cg11;
    var_gc = d.pow(2).sum(std::vector<std::int64_t>{0, 3}) / n_g1;
    torch::NoGradGuard no_grad;
    const auto unbiased_gc = var_gc * n_g1 / (n_g1 - 1).clamp_min(1);
    for (std::int64_t e = 0; e < g; ++e) {
      auto* p = peers[static_cast<std::size_t>(e)];
      if (!o.track_running_stats()) {
        continue;
      }
      if (m_fixed) {  // on the device: an expert without rows has momentum 0
        const auto has_rows = m_count_g[e] > 0;
        p->num_batches_tracked.add_(has_rows.to(p->num_batches_tracked.dtype()));
        const auto momentum = (o.momentum() ? torch::full({}, *o.momentum(), p->running_mean.options())
                                            : 1.0 / p->num_batches_tracked.to(p->running_mean.dtype()).clamp_min(1)) *
                              has_rows.to(p->running_mean.dtype());
        p->running_mean.mul_(1 - momentum).add_(mean_gc[e].detach().to(p->running_mean.dtype()) * momentum);
        p->running_var.mul_(1 - momentum).add_(unbiased_gc[e].to(p->running_var.dtype()) * momentum);
        continue;
      }
      p->num_batches_tracked += 1;
      const double momentum = o.momentum() ? *o.momentum() : 1.0 / read_double(p->num_batches_tracked);
      p->running_mean.mul_(1 - momentum).add_(mean_gc[e].detach().to(p->running_mean.dtype()), momentum);
      p->running_var.mul_(1 - momentum).add_(unbiased_gc[e].to(p->running_var.dtype()), momentum);
    }
  } else {
    std::vector<torch::Tensor> mean, var;
    for (auto* p : peers) {
      mean.push_back(p->running_mean);
      var.push_back(p->running_var);
    }
    mean_gc = torch::stack(mean).to(torch::kFloat);
    var_gc = torch::stack(var).to(torch::kFloat);
  }
  const auto y =
      (x_cgcs - mean_gc.view({1, g, c, 1})) * (var_gc + o.eps()).rsqrt().view({1, g, c, 1}) * gamma_gc + beta_gc;
  return y.view({cap, g * c, h, w}).to(x_packed.scalar_type());
}

bool can_run_grouped(const torch::nn::Module& expert) {
  const auto* seq = dynamic_cast<const torch::nn::SequentialImpl*>(&expert);
  if (seq == nullptr) {
    return false;
  }
  for (const auto& child : seq->children()) {
    const auto* conv = child->as<torch::nn::Conv2d>();
    if (conv != nullptr) {
      if (groupable_padding(*conv) == nullptr) {
        return false;
      }
    } else if (child->as<torch::nn::BatchNorm2d>() == nullptr && child->as<torch::nn::ReLU>() == nullptr &&
               dynamic_cast<const Groupable*>(child.get()) == nullptr) {
      return false;
    }
  }
  return true;
}

torch::Tensor run_grouped(const std::vector<torch::nn::SequentialImpl*>& experts, const GroupedContext& ctx,
                          const torch::Tensor& x_packed) {
  const auto layers = experts.front()->size();
  torch::Tensor x = x_packed;
  for (std::size_t i = 0; i < layers; ++i) {
    std::vector<std::shared_ptr<torch::nn::Module>> peers;
    for (auto* e : experts) {
      peers.push_back(e->ptr(i));
    }
    if (peers.front()->as<torch::nn::Conv2d>() != nullptr) {
      std::vector<torch::nn::Conv2dImpl*> convs;
      for (auto& p : peers)
        convs.push_back(p->as<torch::nn::Conv2d>());
      x = ctx.conv(convs, x);
    } else if (peers.front()->as<torch::nn::BatchNorm2d>() != nullptr) {
      std::vector<torch::nn::BatchNorm2dImpl*> norms;
      for (auto& p : peers)
        norms.push_back(p->as<torch::nn::BatchNorm2d>());
      x = ctx.batch_norm(norms, x);
    } else if (peers.front()->as<torch::nn::ReLU>() != nullptr) {
      x = x.relu();
    } else if (auto* groupable = dynamic_cast<Groupable*>(peers.front().get())) {
      std::vector<torch::nn::Module*> modules;
      for (auto& p : peers)
        modules.push_back(p.get());
      x = groupable->forward_grouped(modules, ctx, x);
    } else {
      throw Error("grouped experts: a module that cannot run grouped (check can_run_grouped first)");
    }
  }
  return x;
}

}  // namespace moexp::moe
