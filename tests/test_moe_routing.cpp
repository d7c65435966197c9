#include "moe/routing.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace moexp::moe;

TEST_CASE("routing: top-2 keeps the two largest logits and softmaxes over them only") {
  auto logits_be = torch::tensor({{1.0f, 2.0f, 3.0f}, {3.0f, 1.0f, 2.0f}});
  auto r = top_k_route(logits_be, 2);
  const double a = std::exp(3.0) / (std::exp(3.0) + std::exp(2.0));  // 0.7311
  auto expected = torch::tensor({{0.0, 1 - a, a}, {a, 0.0, 1 - a}}, torch::kFloat);
  CHECK(torch::allclose(r.weights_be, expected, 1e-6, 1e-6));
  CHECK(torch::equal(r.topk_idx_bk, torch::tensor({{2, 1}, {0, 2}}, torch::kLong)));
  CHECK(torch::allclose(r.weights_be.sum(1), torch::ones({2})));
}

TEST_CASE("routing: masked experts are never chosen") {
  auto logits_be = torch::tensor({{1.0f, 2.0f, 3.0f, 0.0f}});
  auto masked_e = torch::tensor({false, false, true, false});
  auto r = top_k_route(logits_be, 2, masked_e);
  CHECK(r.weights_be[0][2].item<float>() == 0.0f);
  CHECK(torch::equal(r.topk_idx_bk, torch::tensor({{1, 0}}, torch::kLong)));
  CHECK(r.weights_be.sum().item<float>() == doctest::Approx(1.0));
}

TEST_CASE("routing: k=1 gives weight 1 to the argmax") {
  auto logits_be = torch::tensor({{0.5f, -1.0f}, {-2.0f, 4.0f}});
  auto r = top_k_route(logits_be, 1);
  CHECK(torch::equal(r.weights_be, torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}})));
}

TEST_CASE("routing: gradients reach the kept logits only") {
  auto logits_be = torch::tensor({{1.0f, 2.0f, 3.0f}}, torch::requires_grad());
  auto r = top_k_route(logits_be, 2);
  (r.weights_be * torch::tensor({{1.0f, 2.0f, 5.0f}})).sum().backward();
  auto grad = logits_be.grad();
  CHECK(grad[0][0].item<float>() == 0.0f);
  CHECK(grad[0][1].item<float>() != 0.0f);
  CHECK(grad[0][2].item<float>() != 0.0f);
}

TEST_CASE("routing: forced and uniform diagnostic routings") {
  auto forced = forced_route(3, 4, 2, torch::kCPU);
  CHECK(torch::equal(forced.weights_be.select(1, 2), torch::ones({3})));
  CHECK(forced.weights_be.sum().item<float>() == 3.0f);
  auto uniform = uniform_route(2, 4, torch::kCPU);
  CHECK(torch::allclose(uniform.weights_be, torch::full({2, 4}, 0.25f)));
  CHECK(uniform.topk_idx_bk.size(1) == 4);
}
