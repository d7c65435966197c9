#include "models/norm_relu.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace moexp::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

FusedNorm g_mode = FusedNorm::where_faster;

// A channels-last 4-d tensor as the fused passes walk it: B*H*W rows of C channels.
struct Rows {
  std::int64_t rows = 0, channels = 0;
};

Rows rows_of(const torch::Tensor& x_bchw) {
  return {x_bchw.size(0) * x_bchw.size(2) * x_bchw.size(3), x_bchw.size(1)};
}

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

// The value loops, one function each with restrict-qualified pointers so that the compiler vectorises them, cloned
// for AVX-512 and AVX2 (chosen once at load time; SSE2 elsewhere). Each walks `rows` channels-last rows of
// `channels` values.
#define MOEXP_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

MOEXP_VECTOR_CLONES
void rows_shifted_sums(const float* __restrict x, std::int64_t rows, std::int64_t channels,
                       const float* __restrict shift, float* __restrict s1, float* __restrict s2) {
  for (std::int64_t r = 0; r < rows; ++r, x += channels) {
    for (std::int64_t c = 0; c < channels; ++c) {
      const float d = x[c] - shift[c];
      s1[c] += d;
      s2[c] += d * d;
    }
  }
}

// gz = g where y > 0 (relu's threshold_backward; gz = g where y is null: no ReLU), stored to gz_out when given;
// s1 += gz, s2 += gz * (x - mean).
MOEXP_VECTOR_CLONES
void rows_gradient_sums(const float* __restrict g, const float* __restrict y, const float* __restrict x,
                        float* __restrict gz_out, std::int64_t rows, std::int64_t channels,
                        const float* __restrict mean, float* __restrict s1, float* __restrict s2) {
  if (y == nullptr) {
    for (std::int64_t r = 0; r < rows; ++r, g += channels, x += channels) {
      for (std::int64_t c = 0; c < channels; ++c) {
        s1[c] += g[c];
        s2[c] += g[c] * (x[c] - mean[c]);
      }
    }
    return;
  }
  for (std::int64_t r = 0; r < rows; ++r, g += channels, y += channels, x += channels) {
    for (std::int64_t c = 0; c < channels; ++c) {
      const float gv = g[c], yv = y[c];  // both loaded: a select, not a branch
      const float gz = yv <= 0 ? 0.0f : gv;
      s1[c] += gz;
      s2[c] += gz * (x[c] - mean[c]);
    }
    if (gz_out != nullptr) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const float gv = g[c], yv = y[c];
        gz_out[c] = yv <= 0 ? 0.0f : gv;
      }
      gz_out += channels;
    }
  }
}

// y = max(x * scale + shift (+ r), 0); NaN stays NaN, as in relu. `r` may be null. Without `relu`: x * scale + shift
// (a residual comes only with the ReLU).
MOEXP_VECTOR_CLONES
void rows_normalize(const float* __restrict x, const float* __restrict r, float* __restrict y, std::int64_t rows,
                    std::int64_t channels, const float* __restrict scale, const float* __restrict shift, bool relu) {
  for (std::int64_t i = 0; i < rows * channels; i += channels) {
    if (!relu) {
      for (std::int64_t c = 0; c < channels; ++c) {
        y[i + c] = x[i + c] * scale[c] + shift[c];
      }
    } else if (r != nullptr) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const float v = x[i + c] * scale[c] + shift[c] + r[i + c];
        y[i + c] = v < 0 ? 0.0f : v;
      }
    } else {
      for (std::int64_t c = 0; c < channels; ++c) {
        const float v = x[i + c] * scale[c] + shift[c];
        y[i + c] = v < 0 ? 0.0f : v;
      }
    }
  }
}

// dx = scale * (gz - mean_gz) - (x - mean) * slope, gz read from gz_in when given, else from g and y (g alone when
// y is null: no ReLU).
struct InputGradient {
  const float *scale, *mean_gz, *mean, *slope;  // per channel
};

MOEXP_VECTOR_CLONES
void rows_input_gradient(const float* __restrict g, const float* __restrict y, const float* __restrict gz_in,
                         const float* __restrict x, float* __restrict dx, std::int64_t rows, std::int64_t channels,
                         const InputGradient& k) {
  const float* __restrict a = k.scale;
  const float* __restrict mg = k.mean_gz;
  const float* __restrict m = k.mean;
  const float* __restrict s = k.slope;
  for (std::int64_t i = 0; i < rows * channels; i += channels) {
    if (gz_in != nullptr || y == nullptr) {
      const float* __restrict gz = gz_in != nullptr ? gz_in : g;
      for (std::int64_t c = 0; c < channels; ++c) {
        dx[i + c] = a[c] * (gz[i + c] - mg[c]) - (x[i + c] - m[c]) * s[c];
      }
    } else {
      for (std::int64_t c = 0; c < channels; ++c) {
        const float gv = g[i + c], yv = y[i + c];
        const float gz = yv <= 0 ? 0.0f : gv;
        dx[i + c] = a[c] * (gz - mg[c]) - (x[i + c] - m[c]) * s[c];
      }
    }
  }
}

// Per-channel sums of two quantities in double, in an order fixed by the shape alone (so results do not depend on
// the thread count): 32 chunks of rows, each summing blocks of 16 rows in float and the blocks in double.
// `sums(first, count, s1, s2)` adds rows [first, first + count) to the per-channel float arrays s1 and s2.
template <typename Sums>
void channel_sums(const Rows& l, const Sums& sums, std::vector<double>& s1_c, std::vector<double>& s2_c) {
  const auto channels = static_cast<std::size_t>(l.channels);
  const std::int64_t chunks = std::min<std::int64_t>(l.rows, 32);
  std::vector<double> partial(static_cast<std::size_t>(chunks) * 2 * channels, 0.0);
  at::parallel_for(0, chunks, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> f1(channels), f2(channels);
    for (auto k = begin; k < end; ++k) {
      double* p1 = partial.data() + static_cast<std::size_t>(k) * 2 * channels;
      double* p2 = p1 + channels;
      const auto last = l.rows * (k + 1) / chunks;
      for (auto r = l.rows * k / chunks; r < last; r += 16) {
        std::fill(f1.begin(), f1.end(), 0.0f);
        std::fill(f2.begin(), f2.end(), 0.0f);
        sums(r, std::min<std::int64_t>(16, last - r), f1.data(), f2.data());
        for (std::size_t c = 0; c < channels; ++c) {
          p1[c] += f1[c];
          p2[c] += f2[c];
        }
      }
    }
  });
  s1_c.assign(channels, 0.0);
  s2_c.assign(channels, 0.0);
  for (std::int64_t k = 0; k < chunks; ++k) {
    const double* p1 = partial.data() + static_cast<std::size_t>(k) * 2 * channels;
    for (std::size_t c = 0; c < channels; ++c) {
      s1_c[c] += p1[c];
      s2_c[c] += p1[channels + c];
    }
  }
}

// Calls `apply(first, count)` on row ranges of about 64k values, in parallel.
template <typename Apply>
void for_row_ranges(const Rows& l, const Apply& apply) {
  const auto grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / std::max<std::int64_t>(l.channels, 1));
  at::parallel_for(0, l.rows, grain, [&](std::int64_t begin, std::int64_t end) { apply(begin, end - begin); });
}

// The module's running statistics and hyper-parameters, updated by the forward pass.
struct RunningStats {
  torch::Tensor mean_c, var_c;
  double momentum = 0.1, eps = 1e-5;
};

std::vector<float> as_floats(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

torch::Tensor doubles(const std::vector<double>& v) {
  return torch::from_blob(const_cast<double*>(v.data()), {static_cast<std::int64_t>(v.size())}, torch::kDouble).clone();
}

class BatchNormRelu : public torch::autograd::Function<BatchNormRelu> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_bchw, const torch::Tensor& weight_c,
                               const torch::Tensor& bias_c, const c10::optional<torch::Tensor>& residual_bchw,
                               RunningStats stats, bool relu) {
    const auto l = rows_of(x_bchw);
    const auto x = x_bchw.contiguous(kChannelsLast);
    const float* xp = x.data_ptr<float>();
    const auto channels = l.channels;
    // Sums of x - shift, shift = the channel's first value: no cancellation when |mean| >> std.
    const std::vector<float> shift_c(xp, xp + channels);
    const float* k = shift_c.data();
    std::vector<double> sum_c, sq_c;
    channel_sums(
        l,
        [=](std::int64_t first, std::int64_t count, float* s1, float* s2) {
          rows_shifted_sums(xp + first * channels, count, channels, k, s1, s2);
        },
        sum_c, sq_c);
    const auto n = static_cast<double>(l.rows);
    const auto gamma = as_floats(weight_c), beta = as_floats(bias_c);
    const auto nc = static_cast<std::size_t>(channels);
    std::vector<double> mean_c(nc), invstd_c(nc);
    std::vector<float> scale_c(nc), offset_c(nc);
    float* run_mean = stats.mean_c.data_ptr<float>();
    float* run_var = stats.var_c.data_ptr<float>();
    for (std::size_t c = 0; c < nc; ++c) {
      const double shifted_mean = sum_c[c] / n;
      mean_c[c] = shift_c[c] + shifted_mean;
      const double var = std::max(sq_c[c] / n - shifted_mean * shifted_mean, 0.0);
      invstd_c[c] = 1.0 / std::sqrt(var + stats.eps);
      scale_c[c] = static_cast<float>(gamma[c] * invstd_c[c]);
      offset_c[c] = static_cast<float>(beta[c] - mean_c[c] * gamma[c] * invstd_c[c]);
      // As LibTorch updates them: the unbiased variance, in double, stored as float.
      run_mean[c] = static_cast<float>(stats.momentum * mean_c[c] + (1 - stats.momentum) * run_mean[c]);
      run_var[c] = static_cast<float>(stats.momentum * var * n / (n - 1) + (1 - stats.momentum) * run_var[c]);
    }
    auto y = torch::empty_like(x, x.options().memory_format(kChannelsLast));
    torch::Tensor residual;
    if (residual_bchw.has_value() && residual_bchw->defined()) {
      residual = residual_bchw->contiguous(kChannelsLast);
    }
    const float* rp = residual.defined() ? residual.data_ptr<float>() : nullptr;
    float* yp = y.data_ptr<float>();
    const float* a = scale_c.data();
    const float* b = offset_c.data();
    for_row_ranges(l, [=](std::int64_t first, std::int64_t count) {
      const auto at = first * channels;
      rows_normalize(xp + at, rp != nullptr ? rp + at : nullptr, yp + at, count, channels, a, b, relu);
    });
    // y is kept for the ReLU's mask only.
    ctx->save_for_backward({x, relu ? y : torch::Tensor(), weight_c});
    ctx->saved_data["mean"] = doubles(mean_c);
    ctx->saved_data["invstd"] = doubles(invstd_c);
    ctx->saved_data["residual"] = residual.defined();
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& y = saved[1];
    const auto l = rows_of(x);
    const auto g = grads[0].contiguous(kChannelsLast);
    const float* xp = x.data_ptr<float>();
    const float* yp = y.defined() ? y.data_ptr<float>() : nullptr;
    const float* gp = g.data_ptr<float>();
    const auto mean_t = ctx->saved_data["mean"].toTensor();
    const auto invstd_t = ctx->saved_data["invstd"].toTensor();
    const double* mean = mean_t.data_ptr<double>();
    const double* invstd = invstd_t.data_ptr<double>();
    const auto channels = l.channels;
    const auto nc = static_cast<std::size_t>(channels);
    const std::vector<float> mean_x_c(mean, mean + channels);
    const float* m = mean_x_c.data();
    // With a residual (always with the ReLU), gz (the gradient below the ReLU) is also the residual's gradient:
    // stored once, read back.
    torch::Tensor grad_residual;
    if (ctx->saved_data["residual"].toBool()) {
      grad_residual = torch::empty_like(x, x.options().memory_format(kChannelsLast));
    }
    float* gz = grad_residual.defined() ? grad_residual.data_ptr<float>() : nullptr;
    std::vector<double> sum_gz_c, sum_gzx_c;
    channel_sums(
        l,
        [=](std::int64_t first, std::int64_t count, float* s1, float* s2) {
          const auto at = first * channels;
          rows_gradient_sums(gp + at, yp != nullptr ? yp + at : nullptr, xp + at, gz != nullptr ? gz + at : nullptr,
                             count, channels, m, s1, s2);
        },
        sum_gz_c, sum_gzx_c);
    const auto gamma = as_floats(saved[2]);
    const auto n = static_cast<double>(l.rows);
    std::vector<float> scale_c(nc), mean_gz_c(nc), slope_c(nc);
    auto grad_weight = torch::empty({channels}, torch::kFloat);
    auto grad_bias = torch::empty({channels}, torch::kFloat);
    float* gw = grad_weight.data_ptr<float>();
    float* gb = grad_bias.data_ptr<float>();
    for (std::size_t c = 0; c < nc; ++c) {
      // dx = gamma * invstd * (gz - mean(gz)) - (x - mean) * gamma * invstd^3 * mean(gz * (x - mean))
      scale_c[c] = static_cast<float>(gamma[c] * invstd[c]);
      mean_gz_c[c] = static_cast<float>(sum_gz_c[c] / n);
      slope_c[c] = static_cast<float>(gamma[c] * invstd[c] * invstd[c] * invstd[c] * sum_gzx_c[c] / n);
      gw[c] = static_cast<float>(sum_gzx_c[c] * invstd[c]);
      gb[c] = static_cast<float>(sum_gz_c[c]);
    }
    auto grad_x = torch::empty_like(x, x.options().memory_format(kChannelsLast));
    float* dx = grad_x.data_ptr<float>();
    const InputGradient k{scale_c.data(), mean_gz_c.data(), m, slope_c.data()};
    for_row_ranges(l, [=](std::int64_t first, std::int64_t count) {
      const auto at = first * channels;
      rows_input_gradient(gp + at, yp != nullptr ? yp + at : nullptr, gz != nullptr ? gz + at : nullptr, xp + at,
                          dx + at, count, channels, k);
    });
    return {grad_x, grad_weight.to(saved[2].options()), grad_bias.to(saved[2].options()), grad_residual, {}, {}};
  }
};

bool fused(const torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x, const torch::Tensor& residual) {
  const auto& o = bn.options;
  const auto is_float_cpu = [](const torch::Tensor& t) {
    return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat;
  };
  if (g_mode == FusedNorm::never || x.dim() != 4 || (g_mode == FusedNorm::where_faster && x.size(1) % 16 == 0)) {
    return false;
  }
  return bn.is_training() && o.affine() && o.track_running_stats() && o.momentum().has_value() && is_float_cpu(x) &&
         x.is_contiguous(kChannelsLast) && x.size(0) * x.size(2) * x.size(3) > 1 && is_float_cpu(bn.weight) &&
         is_float_cpu(bn.running_mean) && bn.running_mean.is_contiguous() && bn.running_var.is_contiguous() &&
         (!residual.defined() || (is_float_cpu(residual) && residual.sizes() == x.sizes()));
}

}  // namespace

void set_fused_batch_norm_relu(FusedNorm mode) {
  g_mode = mode;
}

namespace {

torch::Tensor fused_or_libtorch(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x_bchw,
                                const torch::Tensor& residual_bchw, bool relu) {
  if (!fused(bn, x_bchw, residual_bchw)) {
    auto y = bn.forward(x_bchw);
    if (residual_bchw.defined()) {
      y.add_(residual_bchw);
    }
    return relu ? y.relu_() : y;
  }
  {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked.add_(1);
  }
  RunningStats stats{bn.running_mean, bn.running_var, *bn.options.momentum(), bn.options.eps()};
  c10::optional<torch::Tensor> residual;
  if (residual_bchw.defined()) {
    residual = residual_bchw;
  }
  return BatchNormRelu::apply(x_bchw, bn.weight, bn.bias, residual, stats, relu);
}

}  // namespace

torch::Tensor batch_norm_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x_bchw,
                              const torch::Tensor& residual_bchw) {
  return fused_or_libtorch(bn, x_bchw, residual_bchw, true);
}

torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x_bchw) {
  return fused_or_libtorch(bn, x_bchw, {}, false);
}

}  // namespace moexp::models
