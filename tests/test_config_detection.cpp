#include "config/canonical.hpp"
#include "config/data_files.hpp"
#include "config/load.hpp"
#include "core/error.hpp"
#include "testutil.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace moexp;
using namespace moexp::config;
namespace fs = std::filesystem;

namespace {

// A folder in the shapes layout (empty annotation files: config validation only checks that they exist).
fs::path shapes_layout(const test::TempDir& dir) {
  const auto root = dir / "shapes";
  test::write_file(root / "annotations/instances_train.json", "{}");
  test::write_file(root / "annotations/instances_val.json", "{}");
  fs::create_directories(root / "train");
  fs::create_directories(root / "val");
  return root;
}

std::string detection_toml(const fs::path& data) {
  return "[model]\narch = \"retinanet\"\n[moe]\nhead = \"box_head\"\n[data]\ndataset = \"shapes\"\npath = \"" +
         data.string() + "\"\n[detection]\nfixed_size = 160\n";
}

}  // namespace

TEST_CASE("config detection: a RetinaNet experiment on a COCO-format dataset loads with its detection keys") {
  test::TempDir dir;
  const auto root = shapes_layout(dir);
  const auto loaded = load_experiment_text(detection_toml(root), "det.toml");
  CHECK(loaded.warnings.empty());
  const auto& cfg = loaded.config;
  CHECK(is_detection(cfg));
  CHECK(cfg.moe.head == config::MoeHead::box_head);
  CHECK(cfg.detection.fixed_size == 160);
  const auto text = canonical_toml(cfg);
  CHECK(text.find("[detection]") != std::string::npos);
  CHECK(text.find("head = \"box_head\"") != std::string::npos);
  CHECK(text.find("backbone = \"resnet18\"") != std::string::npos);
  CHECK(text.find("position") == std::string::npos);  // classification's key does not apply
  CHECK(text.find("expert_width") == std::string::npos);
  CHECK(load_experiment_text(text, "again").config.detection.fixed_size == 160);  // the canonical form reloads
  const auto files = locate_detection_files(cfg.data, "val");
  CHECK(files.annotations == root / "annotations/instances_val.json");
  CHECK(files.images == root / "val");
}

TEST_CASE("config detection: COCO 2017's layout is the coco dataset's default, explicit files override it") {
  test::TempDir dir;
  const auto root = dir / "coco";
  test::write_file(root / "annotations/instances_train2017.json", "{}");
  test::write_file(root / "annotations/instances_val2017.json", "{}");
  fs::create_directories(root / "train2017");
  fs::create_directories(root / "val2017");
  const std::string toml = "[model]\narch = \"retinanet\"\n[data]\ndataset = \"coco\"\npath = \"" + root.string() +
                           "\"\n[detection]\nmin_size = 512\nmax_size = 853\n";
  const auto cfg = load_experiment_text(toml, "coco.toml").config;
  CHECK(cfg.detection.min_size == 512);
  CHECK(cfg.detection.max_size == 853);
  const auto train = locate_detection_files(cfg.data, "train");
  CHECK(train.annotations == root / "annotations/instances_train2017.json");
  CHECK(train.images == root / "train2017");
  test::write_file(dir / "mini.json", "{}");
  const auto mini =
      load_experiment_text(toml, "coco.toml",
                           {"data.val_annotations=" + (dir / "mini.json").string(), "data.val_images=train2017"})
          .config;
  const auto val = locate_detection_files(mini.data, "val");
  CHECK(val.annotations == dir / "mini.json");  // absolute: taken as is
  CHECK(val.images == root / "train2017");      // relative: under data.path
}

TEST_CASE("config detection: classification configs do not change with the detection keys") {
  const auto cfg = load_experiment_text(test::tiny_experiment_toml(), "tiny.toml").config;
  const auto text = canonical_toml(cfg);
  for (const char* key : {"[detection]", "backbone", "\nwidth =", "\nhead =", "train_annotations", "val_images"}) {
    CAPTURE(key);
    CHECK(text.find(key) == std::string::npos);
  }
}

TEST_CASE("config detection: mismatched network and dataset, missing files and misplaced keys are one clear error") {
  test::TempDir dir;
  const auto root = shapes_layout(dir);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(
              "[model]\narch = \"resnet8\"\n[data]\ndataset = \"shapes\"\npath = \"" + root.string() + "\"\n",
              "det.toml");
        }) ==
        "det.toml:2:1: model.arch: 'resnet8' is a classification network; the detection dataset 'shapes' needs "
        "model.arch = \"retinanet\"");
  CHECK(test::message_of<ConfigError>([&] { load_experiment_text("[model]\narch = \"retinanet\"\n", "cls.toml"); }) ==
        "cls.toml:2:1: model.arch: retinanet is a detection network; data.dataset 'fashion_mnist' is a classification "
        "dataset (detection datasets: coco, shapes)");
  CHECK(test::message_of<ConfigError>([&] { load_experiment_text(detection_toml(dir / "nowhere"), "det.toml"); })
            .find("data.path: annotation file '" + (dir / "nowhere/annotations/instances_train.json").string() +
                  "' not found (generate it: moexp data shapes --out DIR)") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root) + "[data]\n", "det.toml");
        }).find("det.toml") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"data.val_images=elsewhere"});
        }).find("data.val_images: image folder '" + (root / "elsewhere").string() + "' not found") !=
        std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"detection.max_size=100", "detection.min_size=200"});
        }).find("detection.max_size: max_size 100 is below min_size 200") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"moe.head=neck"});
        }).find("moe.head: 'neck' is not allowed") != std::string::npos);
  CHECK(test::message_of<ConfigError>(
            [&] { load_experiment_text(detection_toml(root), "det.toml", {"model.freeze=backbone"}); })
            .find("model.freeze: freezing the backbone of a randomly initialised network; set "
                  "model.backbone_weights or model.init_from") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"model.init_from=" + (dir / "no.pt").string()});
        }).find("model.init_from: checkpoint '" + (dir / "no.pt").string() + "' not found") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"model.backbone_weights=" + (dir / "w.pt").string()});
        })
            .find("model.backbone_weights: '" + (dir / "w.pt").string() +
                  "' not found (scripts/export_torchvision_resnet.py writes it)") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"model.experts_from_head=true"});
        }).find("model.experts_from_head: the experts start from a dense head: set model.init_from") !=
        std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"moe.k=5"});
        }).find("moe.k: k = 5 exceeds moe.num_experts = 4") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"detection.top_level=8"});
        }).find("detection.top_level") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"moe.shared_gate=true"});
        }).find("moe.shared_gate: one gate for both heads needs moe.head = \"both\" (it is \"box_head\")") !=
        std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(test::tiny_experiment_toml(), "t.toml", {"moe.shared_gate=true"});
        }).find("moe.shared_gate: a detection option") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"train.grad_clip=-1"});
        }).find("train.grad_clip") != std::string::npos);
  // Both new keys join the canonical TOML (and the hash) only when set.
  const auto shared = load_experiment_text(detection_toml(root), "det.toml",
                                           {"moe.head=both", "moe.shared_gate=true", "train.grad_clip=0.1"})
                          .config;
  CHECK(shared.moe.shared_gate);
  CHECK(canonical_toml(shared).find("shared_gate = true") != std::string::npos);
  CHECK(canonical_toml(shared).find("grad_clip = 0.1") != std::string::npos);
  const auto plain = canonical_toml(load_experiment_text(detection_toml(root), "det.toml", {"moe.head=both"}).config);
  CHECK(plain.find("low_quality_matches") == std::string::npos);
  CHECK(canonical_toml(
            load_experiment_text(detection_toml(root), "det.toml", {"detection.low_quality_matches=false"}).config)
            .find("low_quality_matches = false") != std::string::npos);
  CHECK(plain.find("shared_gate") == std::string::npos);
  CHECK(plain.find("grad_clip") == std::string::npos);
  // The reference's head choices: refused where they mean nothing, in the hash only when not moexp's default.
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"moe.combine=probabilities"});
        }).find("moe.combine: probabilities are mixed by a classification MoE head") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(test::tiny_experiment_toml(), "t.toml", {"moe.combine=probabilities"});
        }).find("moe.combine: a detection option") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(test::tiny_experiment_toml(), "t.toml", {"moe.expert_init=pytorch"});
        }).find("moe.expert_init: a detection option") != std::string::npos);
  CHECK(test::message_of<ConfigError>([&] {
          load_experiment_text(detection_toml(root), "det.toml", {"moe.noise_input=input", "moe.gate=gap_fc"});
        }).find("moe.noise_input: \"input\" differs from \"gate\" only for moe.gate = \"relu_gap_fc\"") !=
        std::string::npos);
  const auto reference =
      load_experiment_text(detection_toml(root), "det.toml",
                           {"moe.head=cls_head", "moe.combine=probabilities", "moe.expert_init=pytorch",
                            "moe.gate=relu_gap_fc", "moe.noise_input=input"})
          .config;
  CHECK(reference.moe.combine == config::Combine::probabilities);
  for (const char* line : {"combine = \"probabilities\"", "expert_init = \"pytorch\"", "noise_input = \"input\""}) {
    CAPTURE(line);
    CHECK(canonical_toml(reference).find(line) != std::string::npos);
  }
  for (const char* key : {"combine", "expert_init", "noise_input"}) {
    CAPTURE(key);
    CHECK(plain.find(key) == std::string::npos);
  }
  CHECK(load_experiment_text(detection_toml(root), "det.toml").config.detection.detections_per_image == 300);
  // A run id is kept as given (run.cpp resolves it in the run's database); it joins the hash only when set.
  const auto from_run = load_experiment_text(detection_toml(root), "det.toml", {"model.init_from=3"}).config;
  CHECK(from_run.model.init_from == "3");
  CHECK(canonical_toml(from_run).find("init_from = \"3\"") != std::string::npos);
  CHECK(canonical_toml(load_experiment_text(detection_toml(root), "det.toml").config).find("init_from") ==
        std::string::npos);
  // A detection key in a classification experiment has no effect: a warning, as for every key that does not apply.
  const auto loaded = load_experiment_text(test::tiny_experiment_toml() + "\n[detection]\nfixed_size = 64\n", "t.toml");
  REQUIRE(loaded.warnings.size() == 1);
  CHECK(loaded.warnings[0].find("detection.fixed_size has no effect") != std::string::npos);
}
