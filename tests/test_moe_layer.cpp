#include "config/experiment.hpp"
#include "models/blocks.hpp"
#include "models/resnet.hpp"
#include "moe/layer.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace moexp;

namespace {

config::ExperimentConfig moe_config(std::int64_t experts, std::int64_t k, Constraint kind = Constraint::none) {
  config::ExperimentConfig cfg;
  cfg.model.arch = config::Arch::resnet8;
  cfg.moe.enabled = true;
  cfg.moe.num_experts = experts;
  cfg.moe.k = k;
  cfg.moe.position = {1};
  cfg.moe.variant = config::Variant::plain;
  cfg.constraint.kind = kind;
  cfg.constraint.threshold = config::effective_threshold(cfg.constraint);
  return cfg;
}

moe::MoeLayer first_moe(models::ResNet& net) {
  return net->moe_layers().at(0);
}

// Copy every parameter and buffer of `from` into `to`, mapping names with `rename`.
void copy_state(torch::nn::Module& from, torch::nn::Module& to,
                const std::function<std::string(const std::string&)>& rename) {
  torch::NoGradGuard no_grad;
  auto target_params = to.named_parameters();
  auto target_buffers = to.named_buffers();
  for (const auto& p : from.named_parameters()) {
    target_params[rename(p.key())].copy_(p.value());
  }
  for (const auto& b : from.named_buffers()) {
    target_buffers[rename(b.key())].copy_(b.value());
  }
}

}  // namespace

TEST_CASE("MoE layer: one full-width expert with k=1 equals the plain network with the same weights") {
  torch::manual_seed(0);
  auto dense_cfg = moe_config(1, 1);
  dense_cfg.moe.enabled = false;
  models::ResNet dense(dense_cfg, 1, 10);
  auto moe_cfg = moe_config(1, 1);
  moe_cfg.moe.expert_width = config::ExpertWidth::full;
  models::ResNet mixed(moe_cfg, 1, 10);
  copy_state(*dense, *mixed, [](const std::string& name) {
    return name.rfind("layer1.", 0) == 0 ? "layer1.experts.0." + name.substr(7) : name;
  });
  dense->eval();
  mixed->eval();
  auto x = torch::randn({5, 1, 12, 12});
  auto a = dense->forward(x).logits_bn;
  auto b = mixed->forward(x).logits_bn;
  CHECK(torch::allclose(a, b, 1e-5, 1e-5));
}

TEST_CASE("MoE layer: sparse dispatch equals the dense weighted sum over all experts (eval mode)") {
  torch::manual_seed(1);
  models::ResNet net(moe_config(4, 2), 1, 10);
  net->eval();
  auto layer = first_moe(net);
  auto x = torch::randn({16, 16, 8, 8});
  auto out = layer->forward(x);
  torch::Tensor dense;
  for (std::int64_t e = 0; e < 4; ++e) {
    auto expert = layer->named_modules()["experts." + std::to_string(e)]->as<torch::nn::Sequential>();
    auto y = expert->forward(x) * out.weights_be.select(1, e).view({-1, 1, 1, 1});
    dense = dense.defined() ? dense + y : y;
  }
  CHECK(torch::allclose(out.y_bchw, dense, 1e-5, 1e-5));
  CHECK(torch::allclose(out.weights_be.sum(1), torch::ones({16})));
  CHECK(((out.weights_be > 0).sum(1) == 2).all().item<bool>());
}

TEST_CASE("MoE layer: training dispatch gives each expert its samples in batch order, with input gradients") {
  torch::manual_seed(2);
  models::ResNet net(moe_config(4, 2), 1, 10);
  net->train();
  auto layer = first_moe(net);
  // Expert 3 gets no sample; expert 0 gets samples 0, 2, 3 (in that order, whichever slot chose it).
  moe::Routing routing;
  routing.topk_idx_bk = torch::tensor({0, 1, 2, 1, 1, 0, 0, 2}, torch::kLong).view({4, 2});
  routing.topk_w_bk = torch::tensor({0.7F, 0.3F, 0.6F, 0.4F, 0.5F, 0.5F, 0.9F, 0.1F}).view({4, 2});
  auto x = torch::randn({4, 16, 8, 8}).requires_grad_();
  auto y = layer->dispatch_combine(x, routing);
  auto grad_sparse = torch::autograd::grad({(y * y).sum()}, {x})[0];

  auto x_ref = x.detach().clone().requires_grad_();
  torch::Tensor y_ref = torch::zeros_like(y);
  for (std::int64_t e = 0; e < 3; ++e) {
    auto chosen_bk = routing.topk_idx_bk == e;
    auto rows = chosen_bk.any(1).nonzero().squeeze(1);
    auto weight = (routing.topk_w_bk * chosen_bk).sum(1).index_select(0, rows);
    auto expert = layer->named_modules()["experts." + std::to_string(e)]->as<torch::nn::Sequential>();
    y_ref = y_ref.index_add(0, rows, expert->forward(x_ref.index_select(0, rows)) * weight.view({-1, 1, 1, 1}));
  }
  auto grad_ref = torch::autograd::grad({(y_ref * y_ref).sum()}, {x_ref})[0];
  CHECK(torch::allclose(y, y_ref, 1e-5, 1e-5));
  CHECK(torch::allclose(grad_sparse, grad_ref, 1e-4, 1e-5));
}

TEST_CASE("MoE layer: forcing an expert equals running that expert alone") {
  torch::manual_seed(2);
  models::ResNet net(moe_config(4, 2), 1, 10);
  net->eval();
  auto layer = first_moe(net);
  auto x = torch::randn({6, 16, 8, 8});
  layer->set_eval_routing({0, 3, false});
  auto forced = layer->forward(x).y_bchw;
  auto alone = layer->named_modules()["experts.3"]->as<torch::nn::Sequential>()->forward(x);
  CHECK(torch::allclose(forced, alone, 1e-6, 1e-6));
  layer->set_eval_routing({0, -1, true});
  auto uniform = layer->forward(x);
  CHECK(torch::allclose(uniform.weights_be, torch::full({6, 4}, 0.25f)));
  layer->set_eval_routing({4, -1, false});
  CHECK(((layer->forward(x).weights_be > 0).sum(1) == 4).all().item<bool>());
}

TEST_CASE("MoE layer: gradients reach the gate through the kept weights and the aux loss") {
  torch::manual_seed(3);
  models::ResNet net(moe_config(4, 2, Constraint::importance), 1, 10);
  net->train();
  auto out = net->forward(torch::randn({8, 1, 12, 12}));
  CHECK(out.aux_loss.requires_grad());
  (out.logits_bn.pow(2).mean() + out.aux_loss).backward();
  auto gate_grad = net->named_parameters()["layer1.gate.fc.weight"].grad();
  REQUIRE(gate_grad.defined());
  CHECK(gate_grad.abs().sum().item<float>() > 0.0f);
  auto noise_grad = net->named_parameters()["layer1.gate.noise.weight"].grad();
  // The noise net only matters through the load loss; with importance its gradient may be undefined or zero.
  CHECK((!noise_grad.defined() || noise_grad.abs().sum().item<float>() >= 0.0f));
}

TEST_CASE("MoE layer: the residual variant adds the shortcut") {
  torch::manual_seed(4);
  auto cfg = moe_config(4, 2);
  cfg.moe.variant = config::Variant::residual;
  cfg.moe.position = {2};  // 16 -> 32 channels, stride 2: projection shortcut
  models::ResNet net(cfg, 1, 10);
  net->eval();
  auto layer = first_moe(net);
  auto x = torch::randn({4, 16, 8, 8});
  auto out = layer->forward(x);
  auto routing = moe::top_k_route(out.clean_logits_be, 2);
  auto mixture = layer->dispatch_combine(x, routing);
  auto shortcut = layer->named_modules()["shortcut"]->as<models::ProjectionImpl>()->forward(x);
  CHECK(torch::allclose(out.y_bchw, mixture + shortcut, 1e-5, 1e-5));
  CHECK(out.y_bchw.sizes() == std::vector<std::int64_t>{4, 32, 4, 4});
}

TEST_CASE("MoE layer: hard constraints update their state in training only and never route to fewer than k") {
  torch::manual_seed(5);
  auto cfg = moe_config(4, 2, Constraint::relative);
  models::ResNet net(cfg, 1, 10);
  auto layer = first_moe(net);
  auto hard = layer->hard_constraint();
  REQUIRE(hard);
  net->train();
  for (int i = 0; i < 5; ++i) {
    auto out = net->forward(torch::randn({8, 1, 12, 12}));
    CHECK(((out.routing[0].weights_be > 0).sum(1) == 2).all().item<bool>());
    CHECK_FALSE(torch::isnan(out.logits_bn).any().item<bool>());
  }
  auto steps = hard->named_buffers()["steps"].item<double>();
  CHECK(steps == 5.0);
  net->eval();
  net->forward(torch::randn({8, 1, 12, 12}));
  CHECK(hard->named_buffers()["steps"].item<double>() == 5.0);
}

TEST_CASE("MoE layer: an expert with no routed samples is skipped, not run on an empty batch") {
  torch::manual_seed(6);
  models::ResNet net(moe_config(4, 1), 1, 10);
  net->train();
  auto layer = first_moe(net);
  auto x = torch::randn({3, 16, 8, 8});
  auto routing = moe::forced_route(3, 4, 1, torch::kCPU);
  auto y = layer->dispatch_combine(x, routing);  // experts 0, 2, 3 get nothing; BN would fail on 0 samples
  CHECK(y.size(0) == 3);
}

TEST_CASE("MoE gate: relu_gap_fc is FC(GAP(ReLU(x))), the reference's effective FCGate, and gap_fc is FC(GAP(x))") {
  torch::manual_seed(9);
  const auto x_bchw = torch::randn({3, 6, 5, 5});
  for (const auto kind : {config::GateKind::gap_fc, config::GateKind::relu_gap_fc}) {
    CAPTURE(config::name_of(kind));
    moe::Gate gate(kind, 6, 4);
    const auto params = gate->named_parameters();
    const auto pooled_bc = (kind == config::GateKind::relu_gap_fc ? torch::relu(x_bchw) : x_bchw).mean({2, 3});
    const auto expected_be = torch::nn::functional::linear(pooled_bc, params["fc.weight"], params["fc.bias"]);
    const auto out = gate->forward(x_bchw, /*noisy=*/false);
    CHECK(torch::allclose(out.clean_logits_be, expected_be, 1e-5, 1e-6));
    CHECK(torch::equal(out.logits_be, out.clean_logits_be));
  }
}

TEST_CASE("MoE gate: relu_gap_fc's noise comes from GAP(ReLU x), or from GAP(x) as the reference's code") {
  torch::manual_seed(11);
  const auto x_bchw = torch::randn({3, 6, 5, 5});
  for (const bool from_input : {false, true}) {
    CAPTURE(from_input);
    moe::Gate gate(config::GateKind::relu_gap_fc, 6, 4, from_input);
    const auto params = gate->named_parameters();
    const auto noise_in_bc = (from_input ? x_bchw : torch::relu(x_bchw)).mean({2, 3});
    const auto expected_std_be =
        torch::softplus(torch::nn::functional::linear(noise_in_bc, params["noise.weight"]) + 0.01);
    const auto out = gate->forward(x_bchw, /*noisy=*/true);
    CHECK(torch::allclose(out.noise_std_be, expected_std_be, 1e-5, 1e-6));
  }
}

TEST_CASE("MoE gate: the pooling's gradient equals mean's (the sum divided, so its gradient stays a view)") {
  torch::manual_seed(10);
  for (const auto kind : {config::GateKind::gap_fc, config::GateKind::relu_gap_fc, config::GateKind::conv_gap_fc}) {
    CAPTURE(config::name_of(kind));
    moe::Gate gate(kind, 6, 4);
    const auto params = gate->named_parameters();
    const auto x_bchw = torch::randn({3, 6, 5, 5}).requires_grad_();
    const auto g_be = torch::randn({3, 4});
    (gate->forward(x_bchw, /*noisy=*/false).clean_logits_be * g_be).sum().backward();
    const auto reference_bchw = x_bchw.detach().clone().requires_grad_();
    auto features = kind == config::GateKind::relu_gap_fc ? torch::relu(reference_bchw) : reference_bchw;
    if (kind == config::GateKind::conv_gap_fc) {
      features = torch::conv2d(features, params["conv.weight"], params["conv.bias"]);
    }
    const auto logits_be = torch::nn::functional::linear(features.mean({2, 3}), params["fc.weight"], params["fc.bias"]);
    (logits_be * g_be).sum().backward();
    CHECK(torch::allclose(x_bchw.grad(), reference_bchw.grad(), 1e-6, 1e-7));
  }
}
