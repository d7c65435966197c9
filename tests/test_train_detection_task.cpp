#include "coco/shapes.hpp"
#include "config/load.hpp"
#include "core/error.hpp"
#include "detect/retina_targets.hpp"
#include "e2e/process.hpp"
#include "testutil.hpp"
#include "train/detection_task.hpp"
#include "train/trainer.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <numeric>

using namespace moexp;
using namespace moexp::train;

namespace {

// A generated shapes set (12 training, 6 validation images of 160 x 160) under `dir`.
void make_shapes(const test::TempDir& dir) {
  coco::ShapesOptions o;
  o.out = dir / "shapes";
  o.train = 12;
  o.val = 6;
  o.size = 160;
  o.seed = 3;
  coco::generate_shapes(o);
}

// A tiny RetinaNet experiment on the shapes set in `dir` (MoE classification head unless overridden).
config::ExperimentConfig tiny_detection(const test::TempDir& dir, std::vector<std::string> overrides = {}) {
  const std::string toml = R"(
[model]
arch = "retinanet"
width = 0.125
[moe]
num_experts = 3
k = 2
[constraint]
kind = "importance"
[data]
dataset = "shapes"
path = ")" + (dir / "shapes").string() +
                           R"("
[detection]
fixed_size = 160
anchor_size = 16
top_level = 6
fpn_channels = 16
workers = 2
[train]
epochs = 2
batch_size = 4
schedule = "constant"
threads = 1
)";
  return config::load_experiment_text(toml, "det.toml", overrides).config;
}

struct Fitted {
  std::vector<EpochRecord> epochs;
  RunStatus status;
};

// Train `cfg` (optionally from the checkpoint of `resume_from` epochs) and return what the sink saw.
Fitted fit(const config::ExperimentConfig& cfg, const DetectionData& data, const std::filesystem::path& checkpoint = {},
           bool restore = false) {
  Trainer trainer(
      cfg, [&](const Execution& exec) { return std::make_unique<DetectionTask>(cfg, data, torch::kCPU, exec); },
      torch::kCPU);
  if (restore) {
    trainer.restore(checkpoint);
  }
  MemorySink sink;
  std::atomic<bool> stop{false};
  auto result = trainer.fit(sink, stop, checkpoint, nullptr);
  return {sink.epochs, result.status};
}

// A dense RetinaNet trained one epoch on the shapes set in `dir`, its checkpoint at `checkpoint`; the data.
DetectionData train_dense(const test::TempDir& dir, const std::filesystem::path& checkpoint) {
  auto dense = tiny_detection(dir, {"train.epochs=1"});
  dense.moe.enabled = false;
  auto data = load_detection_data(dense);
  REQUIRE(fit(dense, data, checkpoint).status == RunStatus::finished);
  return data;
}

double row_sum(const std::vector<double>& row) {
  return std::accumulate(row.begin(), row.end(), 0.0);
}

}  // namespace

TEST_CASE("detection task: size buckets follow COCO's area cut-offs") {
  const auto b = size_buckets(torch::tensor({10.0f, 1023.0f, 1024.0f, 9215.0f, 9216.0f, 40000.0f}));
  CHECK(b.equal(torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong)));
}

TEST_CASE("detection task: positive levels are the levels holding an object's matched anchors") {
  // Two levels of 3 and 2 anchors; object 0 matched on both levels, object 1 only on the second, object 2 nowhere.
  const auto matched = torch::tensor(std::vector<std::int64_t>{0, detect::kBackground, detect::kIgnored, 1, 0});
  const auto pos = positive_levels(matched, 3, {3, 2});
  CHECK(pos.equal(torch::tensor({1, 1, 0, 1, 0, 0}, torch::kBool).view({3, 2})));
  CHECK(positive_levels(matched, 0, {3, 2}).size(0) == 0);
  // The counts behind them: object 0 has one positive anchor on each level, object 1 one on the second.
  const auto matched2 = torch::tensor(std::vector<std::int64_t>{0, 0, detect::kIgnored, 1, 0});
  CHECK(
      positive_anchor_counts(matched2, 3, {3, 2}).equal(torch::tensor({2, 1, 0, 1, 0, 0}, torch::kLong).view({3, 2})));
}

TEST_CASE("detection task: trains RetinaNet with an MoE head, records COCO figures and level / size / class routing") {
  test::TempDir dir;
  make_shapes(dir);
  const auto cfg = tiny_detection(dir);
  const auto data = load_detection_data(cfg);
  CHECK(data.class_names == std::vector<std::string>{"square", "disc", "triangle", "ring"});
  const auto run = fit(cfg, data);
  REQUIRE(run.status == RunStatus::finished);
  REQUIRE(run.epochs.size() == 2);
  const auto& last = run.epochs.back();
  for (const char* key :
       {"train_loss", "train_cls_loss", "train_box_loss", "test_loss", "test_cls_loss", "test_box_loss"}) {
    CAPTURE(key);
    REQUIRE(last.find(key));
    CHECK(std::isfinite(*last.find(key)));
    CHECK(*last.find(key) >= 0);
  }
  CHECK(last.at("train_loss") == doctest::Approx(last.at("train_cls_loss") + last.at("train_box_loss")));
  for (const char* key : {"test_ap", "test_ap50", "test_ap75", "test_ap_s", "test_ap_m", "test_ap_l", "test_ar100"}) {
    CAPTURE(key);
    REQUIRE(last.find(key));
    CHECK(*last.find(key) >= -1);  // -1: nothing evaluable in that bucket (pycocotools' convention)
    CHECK(*last.find(key) <= 1);
  }
  for (const auto* routing : {&last.train_routing, &last.test_routing}) {
    REQUIRE(routing->size() == 1);
    const auto& head = routing->front();
    CHECK(head.position == kClsHeadPosition);
    CHECK(head.importance_share.size() == 3);
    CHECK(row_sum(head.importance_share) == doctest::Approx(1));
    REQUIRE(head.groups.size() == 3);
    CHECK(head.groups[0].kind == "level");
    CHECK(head.groups[1].kind == "size");
    CHECK(head.groups[2].kind == "class");
    CHECK(head.groups[0].group_expert.size() == 4);  // P3 .. P6
    CHECK(head.groups[1].group_expert.size() == 3);  // small, medium, large
    CHECK(head.groups[2].group_expert.size() == 4);
    for (const auto& g : head.groups) {
      for (std::size_t row = 0; row < g.group_expert.size(); ++row) {
        if (g.group_samples[row] > 0) {
          CHECK(row_sum(g.group_expert[row]) == doctest::Approx(1));
        }
      }
    }
  }
  // Every (image, level) pair is a routing token of the test split: 6 images x 4 levels.
  CHECK(last.test_routing.front().samples == 24);
  // Level tokens count each image once per level.
  for (auto n : last.test_routing.front().groups[0].group_samples) {
    CHECK(n == 6);
  }

  SUBCASE("the same seed gives the same run") {
    const auto again = fit(cfg, data);
    CHECK(again.epochs.back().at("test_loss") == last.at("test_loss"));
    CHECK(again.epochs.back().at("train_loss") == last.at("train_loss"));
    CHECK(again.epochs.back().test_routing.front().importance_share == last.test_routing.front().importance_share);
  }
  SUBCASE("a run resumed after epoch 1 ends where the uninterrupted run ends") {
    const auto checkpoint = dir / "checkpoint.pt";
    const auto two = tiny_detection(dir);  // stopped after epoch 1 (its checkpoint written), then resumed
    {
      Trainer trainer(
          two, [&](const Execution& exec) { return std::make_unique<DetectionTask>(two, data, torch::kCPU, exec); },
          torch::kCPU);
      struct StopAfterFirst : MetricsSink {
        std::atomic<bool>* stop;
        void record_epoch(const EpochRecord&) override { stop->store(true); }
      } sink;
      std::atomic<bool> stop{false};
      sink.stop = &stop;
      trainer.fit(sink, stop, checkpoint, nullptr);
    }
    const auto resumed = fit(two, data, checkpoint, true);
    REQUIRE(resumed.epochs.size() == 1);
    CHECK(resumed.epochs.front().epoch == 2);
    CHECK(resumed.epochs.front().at("test_loss") == last.at("test_loss"));
    CHECK(resumed.epochs.front().at("train_loss") == last.at("train_loss"));
  }
}

TEST_CASE("detection task: both heads as MoE layers route separately, a dense RetinaNet has no routing") {
  test::TempDir dir;
  make_shapes(dir);
  {
    const auto cfg = tiny_detection(dir, {"moe.head=both", "train.epochs=1", "constraint.kind=relative"});
    const auto data = load_detection_data(cfg);
    const auto run = fit(cfg, data);
    REQUIRE(run.status == RunStatus::finished);
    const auto& routing = run.epochs.back().test_routing;
    REQUIRE(routing.size() == 2);
    CHECK(routing[0].position == kClsHeadPosition);
    CHECK(routing[1].position == kBoxHeadPosition);
    CHECK(run.epochs.back().at("aux_loss") == 0);  // a hard constraint adds no loss
  }
  {  // one shared gate (moe.shared_gate), gradients clipped as the paper's detection runs: both heads report its
     // routing
    const auto cfg =
        tiny_detection(dir, {"moe.head=both", "moe.shared_gate=true", "train.grad_clip=0.1", "train.epochs=1"});
    const auto data = load_detection_data(cfg);
    const auto run = fit(cfg, data);
    REQUIRE(run.status == RunStatus::finished);
    const auto& routing = run.epochs.back().test_routing;
    REQUIRE(routing.size() == 2);
    CHECK(routing[0].importance_share == routing[1].importance_share);
    CHECK(routing[0].coactivation == routing[1].coactivation);
    CHECK(run.epochs.back().at("aux_loss") > 0);
  }
  {
    auto cfg = tiny_detection(dir, {"train.epochs=1"});
    cfg.moe.enabled = false;
    const auto data = load_detection_data(cfg);
    const auto run = fit(cfg, data);
    REQUIRE(run.status == RunStatus::finished);
    CHECK(run.epochs.back().test_routing.empty());
    CHECK(run.epochs.back().find("test_ap"));
  }
}

TEST_CASE("detection task: images resized by torchvision's rule (detection.min_size / max_size) train and evaluate") {
  test::TempDir dir;
  make_shapes(dir);
  const auto cfg = tiny_detection(
      dir, {"detection.fixed_size=0", "detection.min_size=96", "detection.max_size=128", "train.epochs=1"});
  const auto data = load_detection_data(cfg);
  const auto run = fit(cfg, data);
  REQUIRE(run.status == RunStatus::finished);
  CHECK(run.epochs.back().find("test_ap"));
  // Routing tokens are (image, level) pairs whatever the image size: 6 images x 4 levels.
  CHECK(run.epochs.back().test_routing.front().samples == 24);
}

TEST_CASE("detection task: data.limit_train / limit_test keep the first images and only their annotations") {
  test::TempDir dir;
  make_shapes(dir);
  const auto full = load_detection_data(tiny_detection(dir));
  const auto data = load_detection_data(tiny_detection(dir, {"data.limit_train=5", "data.limit_test=2"}));
  CHECK(data.train.images.size() == 5);
  CHECK(data.val.images.size() == 2);
  CHECK(data.train.images.front().id == full.train.images.front().id);
  for (const auto& a : data.val.annotations) {
    CHECK((a.image_id == data.val.images[0].id || a.image_id == data.val.images[1].id));
  }
}

TEST_CASE("detection task: MoE heads trained on a dense run's frozen backbone + FPN (model.init_from, model.freeze)") {
  test::TempDir dir;
  make_shapes(dir);
  const auto dense_checkpoint = dir / "dense.pt";
  const auto data = train_dense(dir, dense_checkpoint);
  const auto source = checkpoint_tensors(dense_checkpoint);

  // Train `cfg` for its epochs from the dense checkpoint; compare the trained model with the checkpoint per part.
  auto check = [&](const config::ExperimentConfig& cfg, bool backbone_fixed, bool fpn_fixed, bool bn_fixed) {
    torch::nn::Module* model = nullptr;
    Trainer trainer(
        cfg,
        [&](const Execution& exec) {
          auto task = std::make_unique<DetectionTask>(cfg, data, torch::kCPU, exec);
          const auto report = init_retinanet(task->model(), cfg, dense_checkpoint);
          REQUIRE(report.parts.size() == 3);
          for (const auto& part : report.parts) {
            CAPTURE(part.part);
            if (part.part == "heads") {
              CHECK(part.copied > 0);           // the dense box head
              CHECK(part.copied < part.total);  // not the MoE classification head's experts and gate
            } else {
              CHECK(part.copied == part.total);
            }
          }
          model = &task->model();
          return task;
        },
        torch::kCPU);
    MemorySink sink;
    std::atomic<bool> stop{false};
    REQUIRE(trainer.fit(sink, stop, {}, nullptr).status == RunStatus::finished);
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> same;  // part -> (unchanged, compared)
    auto compare = [&](const std::string& name, const torch::Tensor& value) {
      const auto found = source.find(name);
      if (found == source.end()) {
        return;
      }
      auto key = detect::RetinaNetImpl::part_of(name);
      if (key == "backbone" && (name.find("running_") != std::string::npos)) {
        key = "backbone_bn_stats";
      }
      auto& [unchanged, compared] = same[key];
      ++compared;
      unchanged += value.equal(found->second) ? 1 : 0;
    };
    for (const auto& item : model->named_parameters()) {
      compare(item.key(), item.value());
    }
    for (const auto& item : model->named_buffers()) {
      compare(item.key(), item.value());
    }
    auto all_same = [&](const std::string& part) { return same[part].first == same[part].second; };
    CHECK(same["backbone"].second > 0);
    CHECK(all_same("backbone") == backbone_fixed);
    CHECK(all_same("fpn") == fpn_fixed);
    CHECK(all_same("backbone_bn_stats") == bn_fixed);
    CHECK_FALSE(all_same("heads"));
  };
  SUBCASE("backbone and FPN frozen") {
    check(tiny_detection(
              dir, {"train.epochs=1", "model.init_from=" + dense_checkpoint.string(), "model.freeze=backbone_fpn"}),
          true, true, true);
  }
  SUBCASE("backbone frozen, FPN trained") {
    check(tiny_detection(dir,
                         {"train.epochs=1", "model.init_from=" + dense_checkpoint.string(), "model.freeze=backbone"}),
          true, false, true);
  }
  SUBCASE("frozen batch norms only") {
    check(
        tiny_detection(dir, {"train.epochs=1", "model.init_from=" + dense_checkpoint.string(), "model.frozen_bn=true"}),
        false, false, true);
  }
  SUBCASE("a checkpoint without the parts to freeze is one error naming the first missing tensor") {
    const auto wider = tiny_detection(
        dir, {"model.width=0.25", "model.init_from=" + dense_checkpoint.string(), "model.freeze=backbone"});
    DetectionTask task(wider, data, torch::kCPU, {});
    const auto message = test::message_of<InputError>([&] { init_retinanet(task.model(), wider, dense_checkpoint); });
    CHECK(message.find("model.init_from: " + dense_checkpoint.string() + ": has another shape for stem.0.weight") == 0);
  }
}

TEST_CASE("detection task: torchvision ResNet weights (scripts/export_torchvision_resnet.py) load into the backbone") {
  test::TempDir dir;
  for (const std::string arch : {"resnet18", "resnet50"}) {
    CAPTURE(arch);
    // Debian's python3-torchvision writes a randomly initialised torchvision ResNet with randomised batch norms, a
    // probe batch and torchvision's C5 on it.
    const auto weights = dir / (arch + ".pt");
    const auto exported =
        test::run({"/usr/bin/python3", std::string(MOEXP_SOURCE_DIR) + "/scripts/export_torchvision_resnet.py",
                   "--arch", arch, "--probe", weights.string()},
                  dir.path(), 120);
    if (exported.exit_code != 0) {
      MESSAGE("skipped: python3-torchvision is not installed (apt-get install python3-torchvision): " << exported.err);
      return;
    }
    detect::RetinaNetOptions o;
    o.backbone = *config::parse_choice<config::Backbone>(arch);
    o.fpn_channels = 8;
    o.num_classes = 2;
    detect::RetinaNet model(o);
    std::vector<std::string> unused;
    const auto report = load_backbone_weights(*model, weights, detect::RetinaNetImpl::part_of, &unused);
    const auto state = torchvision_state(weights);
    CHECK(report.copied == report.total);
    CHECK(report.total == static_cast<std::int64_t>(state.size()) - 4);  // all but fc's two and the probe's two
    CHECK(unused == std::vector<std::string>{"fc.bias", "fc.weight"});
    // moexp's backbone computes torchvision's C5 on the probe.
    model->eval();
    torch::NoGradGuard no_grad;
    const auto c5 = model->backbone(state.at("probe.input")).back();
    CHECK(c5.sizes() == state.at("probe.c5").sizes());
    CHECK(torch::allclose(c5, state.at("probe.c5"), 1e-4, 1e-5));
  }
  CHECK(moexp_backbone_name("layer2.0.downsample.1.running_var") == "layer2.0.shortcut.bn.running_var");
  CHECK(moexp_backbone_name("conv1.weight") == "stem.0.weight");
  CHECK(moexp_backbone_name("layer3.1.conv3.weight") == "layer3.1.conv3.weight");

  // Another width or depth does not fit: one error naming the file, what is missing and what is unexpected.
  const auto weights = dir / "resnet18.pt";
  detect::RetinaNetOptions o;
  o.fpn_channels = 8;
  o.num_classes = 2;
  o.width = 0.5;
  detect::RetinaNet narrow(o);
  const auto message =
      test::message_of<InputError>([&] { load_backbone_weights(*narrow, weights, detect::RetinaNetImpl::part_of); });
  CHECK(message.find("model.backbone_weights: " + weights.string() + " does not fit this backbone") == 0);
  CHECK(message.find("missing stem.0.weight (file conv1.weight has 64x3x7x7, the model 32x3x7x7)") !=
        std::string::npos);
  o.width = 1.0;
  o.backbone = config::Backbone::resnet34;
  detect::RetinaNet deeper(o);
  const auto deeper_message =
      test::message_of<InputError>([&] { load_backbone_weights(*deeper, weights, detect::RetinaNetImpl::part_of); });
  CHECK(deeper_message.find("missing layer1.2.conv1.weight") != std::string::npos);
  CHECK(test::message_of<InputError>([&] { torchvision_state(dir / "nothing.pt"); }) ==
        "model.backbone_weights: " + (dir / "nothing.pt").string() + ": cannot be read");
}

TEST_CASE("detection task: model.experts_from_head starts every expert as the dense run's head") {
  test::TempDir dir;
  make_shapes(dir);
  const auto checkpoint = dir / "dense.pt";
  const auto data = train_dense(dir, checkpoint);
  const auto source = checkpoint_tensors(checkpoint);
  const auto cfg = tiny_detection(dir, {"model.init_from=" + checkpoint.string(), "model.experts_from_head=true"});
  DetectionTask task(cfg, data, torch::kCPU, {});
  init_retinanet(task.model(), cfg, checkpoint);
  std::int64_t experts = 0;
  const std::string marker = ".moe.experts.";
  for (const auto& item : task.model().named_parameters()) {
    const auto& name = item.key();
    const auto at = name.find(marker);
    if (at == std::string::npos) {
      continue;
    }
    // cls_head.moe.experts.<i>.<rest> started as cls_head.tower.<rest>
    const auto rest = name.substr(name.find('.', at + marker.size()) + 1);
    CAPTURE(name);
    CHECK(item.value().equal(source.at(name.substr(0, at) + ".tower." + rest)));
    ++experts;
  }
  CHECK(experts == 3 * 10);  // 3 experts x 5 convolutions x (weight, bias)
}
