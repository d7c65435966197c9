// The fused gather and combine of moe/row_ops.hpp against the same computation in LibTorch operations
// (index_select, a weighted index_add): outputs and the gradients of the input, every expert piece and the weights.
#include "moe/row_ops.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

using namespace moexp;

namespace {

bool close(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  const double scale = std::max(1.0, b.abs().max().item<double>());
  return a.sizes() == b.sizes() && (a - b).abs().max().item<double>() <= 1e-5 * scale;
}

struct Case {
  std::int64_t batch, experts, k;
  bool channels_last;
};

// A routing of `batch` samples to k distinct experts each (expert 0 gets none when `skip_first`).
torch::Tensor random_topk(std::int64_t batch, std::int64_t experts, std::int64_t k, bool skip_first) {
  std::vector<torch::Tensor> rows;
  for (std::int64_t b = 0; b < batch; ++b) {
    auto perm = torch::randperm(experts - (skip_first ? 1 : 0)) + (skip_first ? 1 : 0);
    rows.push_back(perm.slice(0, 0, k));
  }
  return torch::stack(rows);
}

std::vector<std::int64_t> piece_sizes(const torch::Tensor& topk_idx_bk, std::int64_t experts) {
  const auto counts = torch::bincount(topk_idx_bk.reshape({-1}), {}, experts);
  std::vector<std::int64_t> sizes;
  for (std::int64_t e = 0; e < experts; ++e) {
    if (counts[e].item<std::int64_t>() > 0)
      sizes.push_back(counts[e].item<std::int64_t>());
  }
  return sizes;
}

void check_case(const Case& c, bool skip_first) {
  CAPTURE(c.batch);
  CAPTURE(c.experts);
  CAPTURE(c.k);
  CAPTURE(c.channels_last);
  torch::manual_seed(c.batch * 100 + c.experts * 10 + c.k);
  const auto topk = random_topk(c.batch, c.experts, c.k, skip_first);
  const auto plan = moe::plan_rows(topk);
  const auto sizes = piece_sizes(topk, c.experts);
  auto x0 = torch::randn({c.batch, 3, 5, 4});
  if (c.channels_last)
    x0 = x0.contiguous(at::MemoryFormat::ChannelsLast);
  const auto w0 = torch::rand({c.batch * c.k});
  const auto expert_scale = torch::rand({static_cast<std::int64_t>(sizes.size())}) + 0.5;
  const auto upstream = torch::randn({c.batch, 3, 5, 4});

  // Each "expert" scales its rows by its own factor, so every piece's gradient differs.
  auto run = [&](bool fused, torch::Tensor& x, torch::Tensor& w) {
    x = x0.clone().requires_grad_();
    w = w0.clone().requires_grad_();
    std::vector<torch::Tensor> outs;
    const auto pieces =
        fused ? moe::gather_rows(x, plan, sizes) : x.index_select(0, plan.rows_n).split_with_sizes(sizes);
    for (std::size_t g = 0; g < pieces.size(); ++g) {
      outs.push_back(pieces[g] * expert_scale[static_cast<std::int64_t>(g)] + 0.25);
    }
    torch::Tensor y;
    if (fused) {
      y = moe::combine_rows(outs, w, plan);
    } else {
      const auto out = torch::cat(outs, 0);
      y = torch::zeros_like(x0).index_add_(0, plan.rows_n, out * w.view({-1, 1, 1, 1}));
    }
    (y * upstream).sum().backward();
    return y;
  };
  torch::Tensor xf, wf, xr, wr;
  const auto yf = run(true, xf, wf);
  const auto yr = run(false, xr, wr);
  CHECK(close(yf, yr));
  CHECK(close(xf.grad(), xr.grad()));
  CHECK(close(wf.grad(), wr.grad()));
  if (c.channels_last) {
    CHECK(yf.is_contiguous(at::MemoryFormat::ChannelsLast));
  }
}

}  // namespace

TEST_CASE("row ops: plan_rows sorts rows by expert stably and inverts the order") {
  const auto topk = torch::tensor({2, 0, 1, 2, 0, 1}, torch::kLong).view({3, 2});
  const auto plan = moe::plan_rows(topk);
  // Pairs by expert: expert 0 <- samples 0, 2; expert 1 <- samples 1, 2... (b*K + j order kept within an expert).
  CHECK(plan.rows_n.equal(torch::tensor({0, 2, 1, 2, 0, 1}, torch::kLong)));
  for (std::int64_t b = 0; b < 3; ++b) {
    for (std::int64_t j = 0; j < 2; ++j) {
      CHECK(plan.rows_n[plan.pos_bk[b][j].item<std::int64_t>()].item<std::int64_t>() == b);
      CHECK(plan.order_n[plan.pos_bk[b][j].item<std::int64_t>()].item<std::int64_t>() == b * 2 + j);
    }
  }
}

TEST_CASE("row ops: fused gather and combine equal LibTorch's index_select and weighted index_add") {
  for (const Case& c : {Case{8, 4, 2, false}, Case{7, 4, 1, false}, Case{9, 5, 3, false}, Case{8, 4, 2, true},
                        Case{1, 3, 2, false}, Case{16, 16, 1, true}}) {
    check_case(c, false);
  }
  SUBCASE("an expert without rows takes no piece") {
    check_case(Case{10, 5, 2, false}, true);
  }
}

TEST_CASE("row ops: a piece without a gradient counts as zeros in the input's gradient") {
  const auto topk = torch::tensor({0, 1, 1, 0}, torch::kLong).view({2, 2});
  const auto plan = moe::plan_rows(topk);
  auto x = torch::randn({2, 3}).requires_grad_();
  const auto pieces = moe::gather_rows(x, plan, {2, 2});
  // Only expert 0's piece reaches the loss: each sample's gradient is its one row routed to expert 0.
  (pieces[0] * 2).sum().backward();
  CHECK(close(x.grad(), torch::full({2, 3}, 2.0)));
}

TEST_CASE("row ops: combine_rows refuses pieces that do not cover the plan's rows") {
  const auto plan = moe::plan_rows(torch::tensor({0, 1}, torch::kLong).view({2, 1}));
  CHECK_THROWS(moe::combine_rows({torch::randn({1, 3})}, torch::ones({2}), plan));
}
