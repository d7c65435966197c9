// Grouped expert execution (moe/grouped.hpp) against per-expert execution, the reference: outputs, input and weight
// gradients and batch-norm running statistics must agree to float tolerance.
#include "config/experiment.hpp"
#include "models/resnet.hpp"
#include "moe/grouped.hpp"
#include "moe/layer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>

using namespace moexp;

namespace {

config::ExperimentConfig config_with(std::int64_t experts, std::int64_t k, std::int64_t position,
                                     config::Dispatch dispatch) {
  config::ExperimentConfig cfg;
  cfg.model.arch = config::Arch::resnet8;
  cfg.moe.enabled = true;
  cfg.moe.num_experts = experts;
  cfg.moe.k = k;
  cfg.moe.position = {position};
  cfg.moe.variant = config::Variant::residual;
  cfg.moe.dispatch = dispatch;
  cfg.constraint.kind = Constraint::importance;
  return cfg;
}

// Two networks with the same weights, one running its experts per expert and one grouped.
struct Pair {
  models::ResNet per_expert{nullptr}, grouped{nullptr};
  Pair(std::int64_t experts, std::int64_t k, std::int64_t position) {
    torch::manual_seed(11);
    per_expert = models::ResNet(config_with(experts, k, position, config::Dispatch::per_expert), 1, 10);
    torch::manual_seed(11);
    grouped = models::ResNet(config_with(experts, k, position, config::Dispatch::grouped), 1, 10);
  }
};

// Equal to float rounding: the largest difference within 1e-5 of the largest magnitude (a weight gradient sums
// thousands of products, so its small entries carry the rounding of its large ones).
bool close(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) {
    return false;
  }
  if (!a.defined()) {
    return true;
  }
  const double scale = std::max(1.0, a.abs().max().item<double>());
  return a.sizes() == b.sizes() && (a - b).abs().max().item<double>() <= 1e-5 * scale;
}

// Every parameter's gradient (undefined ones too) and every buffer of the two networks agree.
void check_same_state(models::ResNet& a, models::ResNet& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : pa) {
    const auto& ga = p.value().grad();
    const auto& gb = pb[p.key()].grad();
    CHECK_MESSAGE(close(ga, gb),
                  p.key() << (ga.defined() && gb.defined()
                                  ? " max |diff| " + std::to_string((ga - gb).abs().max().item<double>()) +
                                        " max |a| " + std::to_string(ga.abs().max().item<double>())
                                  : ""));
  }
  auto ba = a->named_buffers(), bb = b->named_buffers();
  for (const auto& buf : ba) {
    CHECK_MESSAGE(close(buf.value().to(torch::kDouble), bb[buf.key()].to(torch::kDouble)), buf.key());
  }
}

// Routing that sends row b to the experts listed for it (k per row, weights 0.7 / 0.3 or 1).
moe::Routing routing_of(const std::vector<std::vector<std::int64_t>>& experts_bk, std::int64_t num_experts) {
  const auto batch = static_cast<std::int64_t>(experts_bk.size());
  const auto k = static_cast<std::int64_t>(experts_bk.front().size());
  auto logits = torch::full({batch, num_experts}, -10.0);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t j = 0; j < k; ++j) {
      logits[b][experts_bk[static_cast<std::size_t>(b)][static_cast<std::size_t>(j)]] = (j == 0 ? 1.0 : 0.15);
    }
  }
  return moe::top_k_route(logits, k);
}

}  // namespace

TEST_CASE(
    "grouped experts: training steps match per-expert execution at the stem, an identity stage and a strided "
    "stage") {
  for (std::int64_t position : {0, 1, 2}) {
    CAPTURE(position);
    Pair nets(4, 2, position);
    torch::optim::SGD opt_a(nets.per_expert->parameters(), 0.05), opt_b(nets.grouped->parameters(), 0.05);
    nets.per_expert->train();
    nets.grouped->train();
    for (int step = 0; step < 3; ++step) {
      auto x = torch::randn({12, 1, 16, 16});
      auto xa = x.clone().requires_grad_(true), xb = x.clone().requires_grad_(true);
      torch::manual_seed(100 + step);  // the same gate noise in both
      auto out_a = nets.per_expert->forward(xa);
      torch::manual_seed(100 + step);
      auto out_b = nets.grouped->forward(xb);
      CHECK(close(out_a.logits_bn, out_b.logits_bn));
      opt_a.zero_grad();
      opt_b.zero_grad();
      (out_a.logits_bn.pow(2).mean() + out_a.aux_loss).backward();
      (out_b.logits_bn.pow(2).mean() + out_b.aux_loss).backward();
      CHECK(close(xa.grad(), xb.grad()));
      check_same_state(nets.per_expert, nets.grouped);
      opt_a.step();
      opt_b.step();
    }
    nets.per_expert->eval();
    nets.grouped->eval();
    auto x = torch::randn({6, 1, 16, 16});
    CHECK(close(nets.per_expert->forward(x).logits_bn, nets.grouped->forward(x).logits_bn));
  }
}

TEST_CASE("grouped experts: unequal sub-batches, experts without rows and one expert taking nearly every row") {
  Pair nets(4, 1, 1);
  auto layer_a = nets.per_expert->moe_layers().at(0), layer_b = nets.grouped->moe_layers().at(0);
  REQUIRE(layer_b->can_group());
  nets.per_expert->train();
  nets.grouped->train();
  // Experts 1 and 3 get nothing; expert 0 takes 7 rows, expert 2 one.
  auto routing = routing_of({{0}, {0}, {2}, {0}, {0}, {0}, {0}, {0}}, 4);
  auto x = torch::randn({8, 16, 8, 8});
  auto xa = x.clone().requires_grad_(true), xb = x.clone().requires_grad_(true);
  auto ya = layer_a->dispatch_combine(xa, routing), yb = layer_b->dispatch_combine(xb, routing);
  CHECK(close(ya, yb));
  (ya * ya).sum().backward();
  (yb * yb).sum().backward();
  CHECK(close(xa.grad(), xb.grad()));
  check_same_state(nets.per_expert, nets.grouped);
  for (const auto& p : layer_b->named_parameters()) {
    if (p.key().rfind("experts.1.", 0) == 0 || p.key().rfind("experts.3.", 0) == 0) {
      CHECK_MESSAGE(!p.value().grad().defined(), p.key());  // no part in the step, as per expert
    }
  }
}

TEST_CASE("grouped experts: packing puts each expert's rows in its channel group and unpacking inverts it") {
  const moe::GroupedContext ctx({3, 1, 2}, torch::kCPU);
  CHECK(ctx.groups() == 3);
  CHECK(ctx.capacity() == 3);
  auto x = torch::arange(6 * 2 * 2 * 2, torch::kFloat).view({6, 2, 2, 2});
  auto packed = ctx.pack(x);
  REQUIRE(packed.sizes() == std::vector<std::int64_t>{3, 6, 2, 2});
  // Row 3 is expert 1's first row: slot 0, channels 2..3; row 5 is expert 2's second: slot 1, channels 4..5.
  CHECK(torch::equal(packed[0].slice(0, 2, 4), x[3]));
  CHECK(torch::equal(packed[1].slice(0, 4, 6), x[5]));
  CHECK(packed[1].slice(0, 2, 4).abs().sum().item<float>() == 0.0f);  // expert 1 has one row: slot 1 is padding
  CHECK(torch::equal(ctx.unpack(packed), x));
}

TEST_CASE("capacity dispatch: with room for every row, training steps match per-expert execution, nothing dropped") {
  torch::manual_seed(11);
  auto per_expert = models::ResNet(config_with(4, 2, 1, config::Dispatch::per_expert), 1, 10);
  auto cfg = config_with(4, 2, 1, config::Dispatch::per_expert);
  cfg.moe.capacity_factor = 4;  // C = B k: room for any routing
  torch::manual_seed(11);
  auto capacity = models::ResNet(cfg, 1, 10);
  torch::optim::SGD opt_a(per_expert->parameters(), 0.05), opt_b(capacity->parameters(), 0.05);
  per_expert->train();
  capacity->train();
  for (int step = 0; step < 3; ++step) {
    auto x = torch::randn({12, 1, 16, 16});
    auto xa = x.clone().requires_grad_(true), xb = x.clone().requires_grad_(true);
    torch::manual_seed(100 + step);
    auto out_a = per_expert->forward(xa);
    torch::manual_seed(100 + step);
    auto out_b = capacity->forward(xb);
    CHECK(close(out_a.logits_bn, out_b.logits_bn));
    REQUIRE(out_b.routing.at(0).dropped_pairs.defined());
    CHECK(out_b.routing.at(0).dropped_pairs.item<std::int64_t>() == 0);
    CHECK_FALSE(out_a.routing.at(0).dropped_pairs.defined());
    opt_a.zero_grad();
    opt_b.zero_grad();
    (out_a.logits_bn.pow(2).mean() + out_a.aux_loss).backward();
    (out_b.logits_bn.pow(2).mean() + out_b.aux_loss).backward();
    CHECK(close(xa.grad(), xb.grad()));
    // An expert without rows has no gradient per expert and a zero one here.
    for (auto& p : per_expert->named_parameters()) {
      if (!p.value().grad().defined()) {
        auto& other = capacity->named_parameters()[p.key()];
        CHECK_MESSAGE(other.grad().abs().max().item<double>() == 0, p.key());
        other.mutable_grad() = torch::Tensor();
      }
    }
    check_same_state(per_expert, capacity);
    opt_a.step();
    opt_b.step();
  }
  // Evaluation runs every row, as per expert.
  per_expert->eval();
  capacity->eval();
  auto x = torch::randn({6, 1, 16, 16});
  const auto evaluated = capacity->forward(x);
  CHECK(close(per_expert->forward(x).logits_bn, evaluated.logits_bn));
  CHECK_FALSE(evaluated.routing.at(0).dropped_pairs.defined());
}

TEST_CASE("capacity dispatch: rows past an expert's capacity are dropped in batch order and counted") {
  Pair nets(4, 1, 1);
  auto cfg = config_with(4, 1, 1, config::Dispatch::per_expert);
  cfg.moe.capacity_factor = 1;  // C = ceil(1 * 8 * 1 / 4) = 2
  torch::manual_seed(11);
  auto capacity = models::ResNet(cfg, 1, 10);
  auto layer_a = nets.per_expert->moe_layers().at(0), layer_b = capacity->moe_layers().at(0);
  nets.per_expert->train();
  capacity->train();
  // Expert 0 is chosen by rows 0, 1, 3, 4, 5, 6, 7: it keeps rows 0 and 1. Expert 2 keeps row 2. 1 and 3: no rows.
  auto routing = routing_of({{0}, {0}, {2}, {0}, {0}, {0}, {0}, {0}}, 4);
  auto x = torch::randn({8, 16, 8, 8});
  const auto [y, dropped] = layer_b->capacity_dispatch_combine(x, routing);
  CHECK(dropped.item<std::int64_t>() == 5);
  CHECK(y.narrow(0, 3, 5).abs().max().item<float>() == 0);  // k = 1: a dropped row gets nothing
  // The kept rows are what the per-expert path gives the first three rows alone (same rows per expert, same BN).
  const auto kept = layer_a->dispatch_combine(x.narrow(0, 0, 3), routing_of({{0}, {0}, {2}}, 4));
  CHECK(close(y.narrow(0, 0, 3), kept));
  // Running statistics: experts 0 and 2 as per expert, experts 1 and 3 untouched.
  auto ba = layer_a->named_buffers(), bb = layer_b->named_buffers();
  for (const auto& buf : bb) {
    CAPTURE(buf.key());
    CHECK(close(buf.value().to(torch::kDouble), ba[buf.key()].to(torch::kDouble)));
  }
  // With the capacity at the stem a non-groupable expert would be refused; the ResNet's experts are groupable.
  CHECK(layer_b->can_group());
}
