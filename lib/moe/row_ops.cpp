#include "moe/row_ops.hpp"

#include "core/error.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace moexp::moe {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool g_fused_enabled = true;

// Whether the fused CPU passes apply (float on the CPU); otherwise LibTorch operations give the same results.
bool fused(const torch::Tensor& t) {
  return g_fused_enabled && t.device().is_cpu() && t.scalar_type() == torch::kFloat;
}

// The memory format that keeps each row (sample) one contiguous block: channels-last 4-d tensors stay so.
at::MemoryFormat row_format(const torch::Tensor& t) {
  return t.dim() == 4 ? t.suggest_memory_format() : at::MemoryFormat::Contiguous;
}

std::int64_t row_numel(const torch::Tensor& t) {
  return t.size(0) > 0 ? t.numel() / t.size(0) : 0;
}

// Rows per parallel chunk: about 64k elements of work each.
std::int64_t grain(std::int64_t row) {
  return std::max<std::int64_t>(1, (std::int64_t{1} << 16) / std::max<std::int64_t>(row, 1));
}

std::vector<std::int64_t> with_rows(const torch::Tensor& t, std::int64_t rows) {
  auto sizes = t.sizes().vec();
  sizes[0] = rows;
  return sizes;
}

// Row pointers of consecutive pieces (each contiguous in `format`).
template <typename T>
std::vector<T*> row_pointers(std::vector<torch::Tensor>& pieces, at::MemoryFormat format, std::int64_t d) {
  std::vector<T*> rows;
  for (auto& p : pieces) {
    p = p.contiguous(format);
    auto* base = p.data_ptr<float>();
    for (std::int64_t i = 0; i < p.size(0); ++i) {
      rows.push_back(base + i * d);
    }
  }
  return rows;
}

// Pieces of `sizes_g` rows each, piece rows in order: row n = x[rows[n]].
std::vector<torch::Tensor> gather_pass(const torch::Tensor& x, const torch::Tensor& rows_n,
                                       const std::vector<std::int64_t>& sizes_g) {
  const auto format = row_format(x);
  const auto xc = x.contiguous(format);
  const auto d = row_numel(x);
  std::vector<torch::Tensor> pieces;
  for (auto rows : sizes_g) {
    pieces.push_back(torch::empty(with_rows(x, rows), x.options().memory_format(format)));
  }
  const auto dst = row_pointers<float>(pieces, format, d);
  const float* src = xc.data_ptr<float>();
  const std::int64_t* rows = rows_n.data_ptr<std::int64_t>();
  at::parallel_for(0, rows_n.size(0), grain(d), [&](std::int64_t begin, std::int64_t end) {
    for (auto i = begin; i < end; ++i) {
      std::memcpy(dst[static_cast<std::size_t>(i)], src + rows[i] * d, static_cast<std::size_t>(d) * sizeof(float));
    }
  });
  return pieces;
}

// out[b] = sum over j of g[pos[b, j]] for the rows g of consecutive pieces: the gradient of gather_pass. A piece
// without a gradient counts as zeros.
torch::Tensor sum_rows_pass(std::vector<torch::Tensor> grads_g, const std::vector<std::int64_t>& sizes_g,
                            const torch::Tensor& pos_bk, std::vector<std::int64_t> shape, at::MemoryFormat format) {
  const auto options = torch::TensorOptions(torch::kFloat).memory_format(format);
  const auto batch = pos_bk.size(0), k = pos_bk.size(1);
  std::int64_t d = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) {
    d *= shape[i];
  }
  for (std::size_t g = 0; g < grads_g.size(); ++g) {
    if (!grads_g[g].defined()) {
      shape[0] = sizes_g[g];
      grads_g[g] = torch::zeros(shape, options);
    }
  }
  const auto src = row_pointers<const float>(grads_g, format, d);
  shape[0] = batch;
  auto out = torch::empty(shape, options);
  float* dst = out.data_ptr<float>();
  const std::int64_t* pos = pos_bk.data_ptr<std::int64_t>();
  at::parallel_for(0, batch, grain(d * k), [&](std::int64_t begin, std::int64_t end) {
    for (auto b = begin; b < end; ++b) {
      float* o = dst + b * d;
      std::memcpy(o, src[static_cast<std::size_t>(pos[b * k])], static_cast<std::size_t>(d) * sizeof(float));
      for (std::int64_t j = 1; j < k; ++j) {
        const float* r = src[static_cast<std::size_t>(pos[b * k + j])];
        for (std::int64_t t = 0; t < d; ++t) {
          o[t] += r[t];
        }
      }
    }
  });
  return out;
}

class GatherRows : public torch::autograd::Function<GatherRows> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x_bchw, const torch::Tensor& rows_n,
                               const torch::Tensor& pos_bk, const std::vector<std::int64_t>& sizes_g) {
    ctx->saved_data["pos"] = pos_bk;
    ctx->saved_data["sizes"] = sizes_g;
    ctx->saved_data["shape"] = x_bchw.sizes().vec();
    ctx->saved_data["channels_last"] = row_format(x_bchw) == at::MemoryFormat::ChannelsLast;
    return gather_pass(x_bchw, rows_n, sizes_g);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto format =
        ctx->saved_data["channels_last"].toBool() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    return {sum_rows_pass(grads, ctx->saved_data["sizes"].toIntVector(), ctx->saved_data["pos"].toTensor(),
                          ctx->saved_data["shape"].toIntVector(), format),
            {},
            {},
            {}};
  }
};

class CombineRows : public torch::autograd::Function<CombineRows> {
 public:
  // `pieces_and_weight`: the expert pieces, then weight_n (the tensors of one list all receive gradients).
  static torch::Tensor forward(AutogradContext* ctx, torch::TensorList pieces_and_weight, const torch::Tensor& rows_n,
                               const torch::Tensor& pos_bk) {
    std::vector<torch::Tensor> pieces(pieces_and_weight.begin(), pieces_and_weight.end() - 1);
    const auto weight_n = pieces_and_weight.back().contiguous();
    const auto format = row_format(pieces.front());
    const auto d = row_numel(pieces.front());
    const auto rows = row_pointers<const float>(pieces, format, d);
    const auto batch = pos_bk.size(0), k = pos_bk.size(1);
    auto y = torch::empty(with_rows(pieces.front(), batch), pieces.front().options().memory_format(format));
    float* dst = y.data_ptr<float>();
    const float* w = weight_n.data_ptr<float>();
    const std::int64_t* pos = pos_bk.data_ptr<std::int64_t>();
    at::parallel_for(0, batch, grain(d * k), [&](std::int64_t begin, std::int64_t end) {
      for (auto b = begin; b < end; ++b) {
        float* o = dst + b * d;
        const auto p0 = pos[b * k];
        const float w0 = w[p0];
        const float* r0 = rows[static_cast<std::size_t>(p0)];
        for (std::int64_t t = 0; t < d; ++t) {
          o[t] = w0 * r0[t];
        }
        for (std::int64_t j = 1; j < k; ++j) {
          const auto p = pos[b * k + j];
          const float wj = w[p];
          const float* r = rows[static_cast<std::size_t>(p)];
          for (std::int64_t t = 0; t < d; ++t) {
            o[t] += wj * r[t];
          }
        }
      }
    });
    pieces.push_back(weight_n);
    ctx->save_for_backward(pieces);
    ctx->saved_data["rows"] = rows_n;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto weight_n = saved.back();
    saved.pop_back();
    const auto rows_n = ctx->saved_data["rows"].toTensor();
    const auto format = row_format(saved.front());
    const auto d = row_numel(saved.front());
    const auto rows = row_pointers<const float>(saved, format, d);
    std::vector<torch::Tensor> grad_pieces;
    for (const auto& p : saved) {
      grad_pieces.push_back(torch::empty_like(p, p.options().memory_format(format)));
    }
    const auto grad_rows = row_pointers<float>(grad_pieces, format, d);
    const auto grad_y = grads[0].contiguous(format);
    auto grad_w = torch::empty_like(weight_n);
    const float* g = grad_y.data_ptr<float>();
    const float* w = weight_n.data_ptr<float>();
    float* gw = grad_w.data_ptr<float>();
    const std::int64_t* sample = rows_n.data_ptr<std::int64_t>();
    at::parallel_for(0, rows_n.size(0), grain(d), [&](std::int64_t begin, std::int64_t end) {
      for (auto n = begin; n < end; ++n) {
        const float* gy = g + sample[n] * d;
        const float* r = rows[static_cast<std::size_t>(n)];
        float* go = grad_rows[static_cast<std::size_t>(n)];
        const float wn = w[n];
        double dot = 0;
        for (std::int64_t t = 0; t < d; ++t) {
          go[t] = wn * gy[t];
          dot += static_cast<double>(gy[t]) * r[t];
        }
        gw[n] = static_cast<float>(dot);
      }
    });
    grad_pieces.push_back(grad_w);
    grad_pieces.emplace_back();  // rows_n
    grad_pieces.emplace_back();  // pos_bk
    return grad_pieces;
  }
};

}  // namespace

void set_fused_row_ops(bool enabled) {
  g_fused_enabled = enabled;
}

RowPlan plan_rows(const torch::Tensor& topk_idx_bk) {
  const auto k = topk_idx_bk.size(1);
  const auto experts_n = topk_idx_bk.reshape({-1});
  RowPlan plan;
  plan.batch = topk_idx_bk.size(0);
  plan.order_n = std::get<1>(experts_n.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  plan.rows_n = plan.order_n.div(k, "floor");
  if (topk_idx_bk.device().is_cpu()) {  // only the fused CPU passes read it: no extra kernels on CUDA
    plan.pos_bk = torch::empty_like(plan.order_n)
                      .scatter_(0, plan.order_n, torch::arange(plan.order_n.size(0), plan.order_n.options()))
                      .view({-1, k});
  }
  return plan;
}

std::vector<torch::Tensor> gather_rows(const torch::Tensor& x_bchw, const RowPlan& plan,
                                       const std::vector<std::int64_t>& sizes_g) {
  if (!fused(x_bchw)) {
    return x_bchw.index_select(0, plan.rows_n).split_with_sizes(sizes_g);
  }
  return GatherRows::apply(x_bchw, plan.rows_n, plan.pos_bk, sizes_g);
}

torch::Tensor combine_rows(const std::vector<torch::Tensor>& outs_g, const torch::Tensor& weight_n,
                           const RowPlan& plan) {
  std::int64_t rows = 0;
  bool all_fused = fused(weight_n);
  for (const auto& o : outs_g) {
    rows += o.size(0);
    all_fused = all_fused && fused(o) && o.sizes().slice(1) == outs_g.front().sizes().slice(1);
  }
  if (outs_g.empty() || rows != plan.rows_n.size(0)) {
    throw Error("combine_rows: the experts' output rows do not match the routing plan");
  }
  if (!all_fused) {
    const auto out_nchw = outs_g.size() == 1 ? outs_g.front() : torch::cat(outs_g, 0);
    auto y = torch::zeros(with_rows(out_nchw, plan.batch), out_nchw.options());
    std::vector<std::int64_t> weight_shape(static_cast<std::size_t>(out_nchw.dim()), 1);
    weight_shape[0] = -1;
    return y.index_add_(0, plan.rows_n, out_nchw * weight_n.view(weight_shape).to(out_nchw.dtype()));
  }
  std::vector<torch::Tensor> inputs(outs_g);
  inputs.push_back(weight_n);
  return CombineRows::apply(torch::TensorList(inputs), plan.rows_n, plan.pos_bk);
}

}  // namespace moexp::moe
