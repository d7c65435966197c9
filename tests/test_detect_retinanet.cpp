#include "core/error.hpp"
#include "detect/retina_targets.hpp"
#include "detect/retinanet.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace moexp;
using namespace moexp::detect;

namespace {

RetinaNetOptions small_options() {
  RetinaNetOptions o;
  o.width = 0.25;
  o.fpn_channels = 32;
  o.num_classes = 3;
  return o;
}

// Both subnets MoE heads of E=4, k=2 with the importance loss (weight 0.5).
RetinaNetOptions both_moe_heads() {
  auto o = small_options();
  o.moe_cls_head = true;
  o.moe_box_head = true;
  o.moe.num_experts = 4;
  o.moe.k = 2;
  o.moe.constraint = Constraint::importance;
  o.moe.weight = 0.5;
  return o;
}

}  // namespace

TEST_CASE("retinanet: levels P3-P7, anchors in the heads' order, and the prior probability at the start") {
  torch::manual_seed(0);
  RetinaNet net(small_options());
  net->eval();
  const auto out = net->forward(torch::randn({2, 3, 64, 64}));
  const std::vector<std::array<std::int64_t, 2>> sizes{{8, 8}, {4, 4}, {2, 2}, {1, 1}, {1, 1}};
  CHECK((out.feature_sizes == sizes));  // compared whole: doctest cannot print arrays
  CHECK(out.anchors_per_level == std::vector<std::int64_t>{576, 144, 36, 9, 9});
  CHECK(out.cls_logits_bak.sizes() == std::vector<std::int64_t>{2, 774, 3});
  CHECK(out.box_deltas_ba4.sizes() == std::vector<std::int64_t>{2, 774, 4});
  const auto anchors = image_anchors({32, 64, 128, 256, 512}, {0.5, 1.0, 2.0}, out.feature_sizes, 64, 64);
  CHECK(anchors.size(0) == 774);
  // Every (anchor, class) starts near the prior foreground probability 0.01 (subnet weights N(0, 0.01)).
  const double mean_p = out.cls_logits_bak.sigmoid().mean().item<double>();
  CHECK(mean_p == doctest::Approx(0.01).epsilon(0.1));
  CHECK(out.box_deltas_ba4.abs().max().item<double>() < 0.05);
}

TEST_CASE("retinanet: P6 from P5 or C5, pyramids ending at P5 or P6, and bad options") {
  auto o = small_options();
  o.top_level = 6;
  o.p6_from_c5 = false;
  RetinaNet p6(o);
  CHECK(p6->features(torch::randn({1, 3, 96, 96})).size() == 4);
  o.top_level = 5;
  RetinaNet p5(o);
  CHECK(p5->forward(torch::randn({1, 3, 96, 96})).anchors_per_level == std::vector<std::int64_t>{1296, 324, 81});
  o.top_level = 8;
  CHECK_THROWS_AS(RetinaNet{o}, InputError);
}

TEST_CASE("retinanet: a ResNet-50 backbone has Bottleneck stages with 4x expansion (C2..C5 of 256..2048 x width)") {
  auto o = small_options();
  o.backbone = moexp::config::Backbone::resnet50;
  RetinaNet net(o);
  net->eval();
  const auto c = net->backbone(torch::randn({1, 3, 64, 64}));
  REQUIRE(c.size() == 4);
  CHECK(c[0].sizes() == std::vector<std::int64_t>{1, 64, 16, 16});  // 256 x 0.25, stride 4
  CHECK(c[3].sizes() == std::vector<std::int64_t>{1, 512, 2, 2});   // 2048 x 0.25, stride 32
  std::int64_t blocks = 0;
  for (const auto& item : net->named_parameters()) {
    if (item.key().find(".conv3.weight") != std::string::npos) {
      ++blocks;
    }
  }
  CHECK(blocks == 16);  // 3 + 4 + 6 + 3 Bottlenecks
  CHECK(net->forward(torch::randn({1, 3, 64, 64})).cls_logits_bak.size(2) == 3);
}

TEST_CASE("retinanet: a few Adam steps on one batch bring its loss down") {
  torch::manual_seed(1);
  RetinaNet net(small_options());
  net->train();
  const auto x = torch::randn({2, 3, 64, 64});
  std::vector<ImageTargets> targets{
      {torch::tensor({8.0f, 8.0f, 40.0f, 36.0f}).view({1, 4}), torch::tensor({1L})},
      {torch::tensor({20.0f, 4.0f, 30.0f, 16.0f, 2.0f, 30.0f, 60.0f, 62.0f}).view({2, 4}), torch::tensor({0L, 2L})}};
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    const auto out = net->forward(x);
    const auto anchors = image_anchors({16, 32, 64, 128, 256}, {0.5, 1.0, 2.0}, out.feature_sizes, 64, 64);
    const auto loss = retinanet_loss(out.cls_logits_bak, out.box_deltas_ba4, anchors, targets);
    const auto total = loss.classification + loss.regression;
    if (step == 0) {
      first = total.item<double>();
      CHECK(loss.foreground > 0);
    }
    last = total.item<double>();
    opt.zero_grad();
    total.backward();
    opt.step();
  }
  CHECK(last < 0.5 * first);
  MESSAGE("loss " << first << " -> " << last);
}

TEST_CASE("retinanet: an MoE head of one expert with k=1 equals the dense head with that expert's weights") {
  auto dense_options = small_options();
  auto moe_options = small_options();
  moe_options.moe_cls_head = true;
  moe_options.moe.num_experts = 1;
  moe_options.moe.k = 1;
  moe_options.moe.constraint = Constraint::none;
  torch::manual_seed(3);
  RetinaNet dense(dense_options);
  RetinaNet mixed(moe_options);
  {
    torch::NoGradGuard no_grad;
    auto target = mixed->named_parameters();
    for (const auto& p : dense->named_parameters()) {
      auto name = p.key();
      if (name.rfind("cls_head.tower.", 0) == 0) {
        name = "cls_head.moe.experts.0." + name.substr(15);
      }
      target[name].copy_(p.value());
    }
    auto buffers = mixed->named_buffers();
    for (const auto& b : dense->named_buffers()) {
      buffers[b.key()].copy_(b.value());
    }
  }
  dense->eval();
  mixed->eval();
  const auto x = torch::randn({2, 3, 64, 64});
  const auto a = dense->forward(x), b = mixed->forward(x);
  CHECK(torch::allclose(a.cls_logits_bak, b.cls_logits_bak, 1e-5, 1e-6));
  CHECK(torch::allclose(a.box_deltas_ba4, b.box_deltas_ba4));
  CHECK(b.cls_routing.weights_be.size() == 5);  // one routing per level
  CHECK(b.box_routing.weights_be.empty());      // the box head is dense
}

TEST_CASE(
    "retinanet: MoE heads route each (image, level), share one aux loss per forward, and update hard "
    "constraints per level") {
  auto o = both_moe_heads();
  torch::manual_seed(4);
  RetinaNet net(o);
  net->train();
  const auto out = net->forward(torch::randn({3, 3, 64, 64}));
  CHECK(out.cls_logits_bak.sizes() == std::vector<std::int64_t>{3, 774, 3});
  REQUIRE(out.box_routing.weights_be.size() == 5);
  for (const auto& w_be : out.cls_routing.weights_be) {
    CHECK(w_be.sizes() == std::vector<std::int64_t>{3, 4});
    CHECK(torch::allclose(w_be.sum(1), torch::ones({3})));
    CHECK((w_be > 0).sum(1).eq(2).all().item<bool>());
  }
  CHECK(out.aux_loss.item<double>() > 0);
  out.aux_loss.backward();  // the aux loss reaches the gates
  net->eval();
  CHECK(net->forward(torch::randn({1, 3, 64, 64})).aux_loss.item<double>() == 0.0);

  o.moe.constraint = Constraint::relative;
  o.moe.threshold = 0.5;
  o.moe_box_head = false;
  RetinaNet hard(o);
  hard->train();
  hard->forward(torch::randn({2, 3, 64, 64}));
  hard->forward(torch::randn({2, 3, 64, 64}));
  CHECK(hard->named_buffers()["cls_head.moe.constraint.steps"].item<double>() == 10.0);  // 2 forwards x 5 levels
}

TEST_CASE("retinanet: a shared gate routes both MoE heads' experts with one gate, one aux loss and one hard state") {
  auto o = both_moe_heads();
  o.shared_gate = true;
  torch::manual_seed(5);
  RetinaNet net(o);
  const auto params = net->named_parameters();
  CHECK(params.contains("cls_head.moe.gate.fc.weight"));
  CHECK(params.contains("box_head.moe.experts.3.0.weight"));
  for (const auto& item : params) {
    CHECK_MESSAGE(item.key().rfind("box_head.moe.gate", 0) != 0, item.key());
  }
  net->train();
  const auto out = net->forward(torch::randn({3, 3, 64, 64}));
  REQUIRE(out.box_routing.weights_be.size() == 5);
  for (std::size_t l = 0; l < 5; ++l) {
    CHECK(torch::equal(out.cls_routing.weights_be[l], out.box_routing.weights_be[l]));
    CHECK(torch::equal(out.cls_routing.topk_idx_bk[l], out.box_routing.topk_idx_bk[l]));
  }
  // One gate's loss over its 5 x B rows, counted once: the same as the cls head's MoE layer computes alone.
  CHECK(out.aux_loss.item<double>() > 0);
  (out.box_deltas_ba4.sum() + out.aux_loss).backward();
  CHECK(net->named_parameters()["cls_head.moe.gate.fc.weight"].grad().abs().sum().item<double>() > 0);

  o.moe.constraint = Constraint::relative;
  o.moe.threshold = 0.5;
  RetinaNet hard(o);
  hard->train();
  hard->forward(torch::randn({2, 3, 64, 64}));
  const auto buffers = hard->named_buffers();
  CHECK(buffers["cls_head.moe.constraint.steps"].item<double>() == 5.0);  // one forward x 5 levels, once
  CHECK_FALSE(buffers.contains("box_head.moe.constraint.steps"));
}

namespace {

// The classification logits of `net` (eval mode) on `x` with every MoE layer routing as `routing` says.
torch::Tensor cls_logits_routed(RetinaNet& net, const torch::Tensor& x, const moe::EvalRouting& routing) {
  for (auto& layer : net->moe_layers()) {
    layer->set_eval_routing(routing);
  }
  torch::NoGradGuard no_grad;
  return net->forward(x).cls_logits_bak;
}

}  // namespace

TEST_CASE("retinanet: the classification MoE head mixes the experts' logits, or their probabilities as the reference") {
  auto o = small_options();
  o.moe_cls_head = true;
  o.moe.num_experts = 2;
  o.moe.k = 2;
  o.moe.constraint = Constraint::none;
  const auto x = torch::randn({1, 3, 64, 64});
  for (const auto combine : {config::Combine::logits, config::Combine::probabilities}) {
    CAPTURE(static_cast<int>(combine));
    o.combine = combine;
    torch::manual_seed(5);
    RetinaNet net(o);
    {
      // Experts far apart (probabilities about 0.01 and 0.35), where a mean of logits and a mean of probabilities
      // differ clearly.
      torch::NoGradGuard no_grad;
      net->named_parameters()["cls_head.moe.experts.1.8.bias"].add_(4.0);
    }
    net->eval();
    const auto e0 = cls_logits_routed(net, x, {.forced_expert = 0});
    const auto e1 = cls_logits_routed(net, x, {.forced_expert = 1});
    const auto mixed = cls_logits_routed(net, x, {.uniform = true});
    CHECK(!torch::allclose(e0, e1));
    if (combine == config::Combine::logits) {
      CHECK(torch::allclose(mixed, (e0 + e1) / 2, 1e-4, 1e-5));
    } else {
      // sigmoid(mixed) is the mean of the experts' probabilities, not the sigmoid of their mean logit.
      CHECK(torch::allclose(torch::sigmoid(mixed), (torch::sigmoid(e0) + torch::sigmoid(e1)) / 2, 1e-4, 1e-6));
      CHECK(!torch::allclose(mixed, (e0 + e1) / 2, 1e-4, 1e-5));
    }
  }
}

TEST_CASE("retinanet: experts start like the dense head, or with PyTorch's default init as the reference") {
  auto o = small_options();
  o.moe_cls_head = true;
  o.moe.num_experts = 2;
  o.moe.k = 1;
  torch::manual_seed(6);
  RetinaNet head_init(o);
  o.expert_init = config::ExpertInit::pytorch;
  RetinaNet pytorch_init(o);
  const auto prior_bias = -std::log(0.99 / 0.01);
  const auto head_params = head_init->named_parameters();
  const auto pytorch_params = pytorch_init->named_parameters();
  const auto last_bias = "cls_head.moe.experts.1.8.bias";
  REQUIRE(head_params.contains(last_bias));
  CHECK(torch::allclose(head_params[last_bias], torch::full_like(head_params[last_bias], prior_bias)));
  CHECK(head_params["cls_head.moe.experts.1.0.weight"].std().item<double>() == doctest::Approx(0.01).epsilon(0.1));
  CHECK(head_params["cls_head.moe.experts.1.0.bias"].abs().max().item<double>() == 0.0);
  // PyTorch's default: kaiming_uniform(a = sqrt 5) weights (std 1 / sqrt(3 fan_in)) and uniform biases; no prior.
  const double fan_in = 32.0 * 9.0;
  CHECK(pytorch_params["cls_head.moe.experts.1.0.weight"].std().item<double>() ==
        doctest::Approx(1.0 / std::sqrt(3 * fan_in)).epsilon(0.1));
  CHECK(pytorch_params[last_bias].abs().max().item<double>() < 1.0 / std::sqrt(fan_in) + 1e-6);
  CHECK(pytorch_params[last_bias].abs().max().item<double>() > 0.0);
  // The dense box head keeps its init either way.
  CHECK(pytorch_params["box_head.tower.0.weight"].std().item<double>() == doctest::Approx(0.01).epsilon(0.1));
}

namespace {

// One training step of two copies of a RetinaNet from the same weights, one contiguous, one on a channels-last input
// (its 4-D weights channels-last too when `weights_channels_last`): outputs, gradients and BN statistics must agree.
void check_channels_last_step(bool weights_channels_last) {
  CAPTURE(weights_channels_last);
  auto o = small_options();
  torch::manual_seed(8);
  RetinaNet nchw(o);
  RetinaNet nhwc(o);
  {
    torch::NoGradGuard no_grad;
    auto target = nhwc->named_parameters();
    for (const auto& p : nchw->named_parameters()) {
      target[p.key()].copy_(p.value());
    }
  }
  for (auto& p : nhwc->parameters()) {
    if (p.dim() == 4 && weights_channels_last) {
      p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  nchw->train();
  nhwc->train();
  const auto x = torch::randn({4, 3, 96, 96});
  const auto a = nchw->forward(x);
  const auto b = nhwc->forward(x.contiguous(at::MemoryFormat::ChannelsLast));
  CHECK(torch::allclose(a.cls_logits_bak, b.cls_logits_bak, 1e-3, 1e-4));
  CHECK(torch::allclose(a.box_deltas_ba4, b.box_deltas_ba4, 1e-3, 1e-4));
  const auto w_cls = torch::randn_like(a.cls_logits_bak), w_box = torch::randn_like(a.box_deltas_ba4);
  ((a.cls_logits_bak * w_cls).sum() + (a.box_deltas_ba4 * w_box).sum()).backward();
  ((b.cls_logits_bak * w_cls).sum() + (b.box_deltas_ba4 * w_box).sum()).backward();
  auto grads = nhwc->named_parameters();
  for (const auto& p : nchw->named_parameters()) {
    CAPTURE(p.key());
    const auto& g = p.value().grad();
    const auto& h = grads[p.key()].grad();
    REQUIRE(g.defined());
    REQUIRE(h.defined());
    const double scale = g.abs().max().item<double>() + 1e-12;
    CHECK((g - h).abs().max().item<double>() / scale < 2e-3);
  }
  auto buffers = nhwc->named_buffers();
  for (const auto& b0 : nchw->named_buffers()) {
    CAPTURE(b0.key());
    if (b0.value().is_floating_point()) {
      CHECK(torch::allclose(b0.value(), buffers[b0.key()], 1e-3, 1e-5));
    }
  }
  // Adam on channels-last gradients: the same gradients, laid out as the channels-last backward leaves them, give
  // the same weights after a few steps (Adam's updates magnify rounding differences of near-zero gradients, so the
  // steps themselves get identical gradients here; the forward and backward passes are compared above).
  torch::optim::Adam adam_a(nchw->parameters(), torch::optim::AdamOptions(1e-3));
  torch::optim::Adam adam_b(nhwc->parameters(), torch::optim::AdamOptions(1e-3));
  auto targets = nhwc->named_parameters();
  for (int step = 0; step < 4; ++step) {
    for (const auto& p : nchw->named_parameters()) {
      auto grad = p.value().grad().detach().clone();
      targets[p.key()].mutable_grad() = grad.dim() == 4 ? grad.contiguous(at::MemoryFormat::ChannelsLast) : grad;
    }
    adam_a.step();
    adam_b.step();
    for (auto& p : nchw->parameters()) {
      p.mutable_grad() = torch::randn_like(p);  // the next step's gradients
    }
  }
  auto after = nhwc->named_parameters();
  for (const auto& p : nchw->named_parameters()) {
    CAPTURE(p.key());
    CHECK(torch::allclose(p.value(), after[p.key()], 1e-5, 1e-7));
  }
}

}  // namespace

TEST_CASE("retinanet: a training step in channels-last equals the contiguous one (outputs, gradients, BN statistics)") {
  check_channels_last_step(true);
  check_channels_last_step(false);  // the trainer's case: only the batches are channels-last
}
