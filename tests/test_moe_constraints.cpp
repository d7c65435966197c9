#include "moe/constraints.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>

using namespace moexp::moe;

namespace {
// One-hot routing of `experts_b` over E experts.
torch::Tensor one_hot_routing(const std::vector<std::int64_t>& experts_b, std::int64_t num_experts) {
  return torch::one_hot(torch::tensor(experts_b, torch::kLong), num_experts).to(torch::kFloat);
}
}  // namespace

TEST_CASE("constraints: CV² uses the unbiased variance") {
  // values 1,2,3: mean 2, unbiased var 1 -> 0.25
  CHECK(cv_squared(torch::tensor({1.0f, 2.0f, 3.0f})).item<float>() == doctest::Approx(0.25));
  CHECK(cv_squared(torch::tensor({2.0f, 2.0f})).item<float>() == doctest::Approx(0.0));
}

TEST_CASE("constraints: importance loss is 0 when balanced and weight·E when collapsed") {
  auto balanced = one_hot_routing({0, 1, 2, 3}, 4);
  CHECK(importance_loss(balanced, 0.5).item<float>() == doctest::Approx(0.0).epsilon(1e-6));
  auto collapsed = one_hot_routing({0, 0, 0, 0}, 4);
  // Imp = (4,0,0,0): mean 1, unbiased var 4 -> CV² 4 = E
  CHECK(importance_loss(collapsed, 0.5).item<float>() == doctest::Approx(2.0));
  // balanced is the minimum over a few routings
  auto skewed = one_hot_routing({0, 0, 1, 2}, 4);
  CHECK(importance_loss(skewed, 0.5).item<float>() > importance_loss(balanced, 0.5).item<float>());
}

TEST_CASE("constraints: KL-to-uniform loss known values") {
  auto balanced = one_hot_routing({0, 1, 2, 3}, 4);
  CHECK(kl_uniform_loss(balanced, 0.5).item<float>() == doctest::Approx(0.0).epsilon(1e-5));
  // p = (0.5, 0.5, 0, 0) vs uniform 0.25: Σ p log(p/q) = log 2
  auto half = one_hot_routing({0, 1, 0, 1}, 4);
  CHECK(kl_uniform_loss(half, 1.0).item<float>() == doctest::Approx(std::log(2.0)).epsilon(1e-4));
  auto collapsed = one_hot_routing({2, 2, 2, 2}, 4);
  CHECK(kl_uniform_loss(collapsed, 1.0).item<float>() == doctest::Approx(std::log(4.0)).epsilon(1e-4));
}

TEST_CASE("constraints: load loss is zero for k = E, balanced-minimal, and differentiable") {
  auto clean = torch::tensor({{1.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 1.0f}}, torch::requires_grad());
  auto std_be = torch::ones({3, 3});
  CHECK(load_loss(clean, clean, std_be, 3, 1.0).item<float>() == 0.0f);
  auto symmetric = load_loss(clean, clean.detach(), std_be, 1, 1.0);
  CHECK(symmetric.item<float>() == doctest::Approx(0.0).epsilon(1e-5));  // each expert has the same load
  auto skewed_logits =
      torch::tensor({{3.0f, 0.0f, 0.0f}, {3.0f, 0.0f, 0.0f}, {3.0f, 0.0f, 0.0f}}, torch::requires_grad());
  auto skewed = load_loss(skewed_logits, skewed_logits.detach(), std_be, 1, 1.0);
  CHECK(skewed.item<float>() > 0.1f);
  skewed.backward();
  CHECK(skewed_logits.grad().abs().sum().item<float>() > 0.0f);
}

TEST_CASE("constraints: relative importance accumulates (Imp − B/E)/(B/E) and blocks above tau") {
  HardConstraint hc(moexp::Constraint::relative, 4, 2, 0.5);
  CHECK_FALSE(hc->blocked_experts().any().item<bool>());
  // Batch of 4 all to expert 0 with weight 1: Imp = (4,0,0,0), B/E = 1 -> r = (3,-1,-1,-1)
  hc->update(one_hot_routing({0, 0, 0, 0}, 4));
  CHECK(torch::allclose(hc->usage_score(), torch::tensor({3.0, -1.0, -1.0, -1.0}, torch::kDouble)));
  CHECK(torch::equal(hc->blocked_experts(), torch::tensor({true, false, false, false})));
  // While blocked it accrues -1 per batch (if unused): after three balanced-elsewhere batches r0 = 0 -> free again
  for (int i = 0; i < 3; ++i) {
    hc->update(one_hot_routing({1, 2, 3, 1}, 4));
  }
  CHECK(hc->usage_score()[0].item<double>() == doctest::Approx(0.0));
  CHECK_FALSE(hc->blocked_experts()[0].item<bool>());
}

TEST_CASE("constraints: absolute importance is a running mean of batch shares") {
  HardConstraint hc(moexp::Constraint::absolute, 4, 1, 0.3);
  hc->update(one_hot_routing({0, 0, 0, 0}, 4));  // share (1,0,0,0)
  hc->update(one_hot_routing({1, 1, 1, 1}, 4));  // share (0,1,0,0) -> mean (0.5,0.5,0,0)
  CHECK(torch::allclose(hc->usage_score() + 0.25, torch::tensor({0.5, 0.5, 0.0, 0.0}, torch::kDouble)));
  // 0.5 - 1/4 = 0.25 <= 0.3: not blocked yet
  CHECK_FALSE(hc->blocked_experts().any().item<bool>());
  hc->update(one_hot_routing({0, 0, 0, 0}, 4));  // mean (2/3, 1/3, 0, 0): 0.4167 > 0.3 blocks expert 0
  CHECK(torch::equal(hc->blocked_experts(), torch::tensor({true, false, false, false})));
}

TEST_CASE("constraints: the guard never blocks more than E − k experts") {
  HardConstraint hc(moexp::Constraint::relative, 4, 2, 0.1);
  // Usage (3, 1, 0.5, -1)... built from routings: force r over tau for three experts.
  hc->update(one_hot_routing({0, 0, 1, 2}, 4));  // Imp (2,1,1,0): r = (1, 0, 0, -1)
  hc->update(one_hot_routing({0, 1, 1, 2}, 4));  // Imp (1,2,1,0): r = (1, 1, 0, -2)
  hc->update(one_hot_routing({0, 1, 2, 2}, 4));  // Imp (1,1,2,0): r = (1, 1, 1, -3)
  auto blocked = hc->blocked_experts();
  CHECK(blocked.sum().item<std::int64_t>() == 2);  // three over tau, only E−k = 2 blocked
  CHECK_FALSE(blocked[3].item<bool>());
  // With distinct usage (3, 2, 1, -6) the guard keeps the two most over-used blocked and frees the third.
  HardConstraint ranked(moexp::Constraint::relative, 4, 2, 0.5);
  for (int i = 0; i < 3; ++i)
    ranked->update(one_hot_routing({0, 0, 1, 2}, 4));
  for (int i = 0; i < 2; ++i)
    ranked->update(one_hot_routing({0, 1, 1, 2}, 4));
  ranked->update(one_hot_routing({0, 1, 2, 2}, 4));
  CHECK(torch::equal(ranked->blocked_experts(), torch::tensor({true, true, false, false})));
  HardConstraint k_equals_e(moexp::Constraint::relative, 2, 2, 0.0);
  k_equals_e->update(one_hot_routing({0, 0}, 2));
  CHECK_FALSE(k_equals_e->blocked_experts().any().item<bool>());
}

TEST_CASE("constraints: hard state lives in registered buffers") {
  HardConstraint hc(moexp::Constraint::absolute, 3, 1, 0.3);
  auto buffers = hc->named_buffers();
  CHECK(buffers.contains("usage"));
  CHECK(buffers.contains("steps"));
}

TEST_CASE("constraints: only a hard kind has a hard-constraint state") {
  for (const auto& c : moexp::kConstraints) {
    CAPTURE(c.name);
    if (c.hard) {
      CHECK_NOTHROW(HardConstraint(c.id, 4, 2, 0.5));
    } else {
      CHECK_THROWS_AS(HardConstraint(c.id, 4, 2, 0.5), std::invalid_argument);
    }
  }
}
