#include "config/schema.hpp"

#include "core/constraint_kinds.hpp"
#include "core/dataset_kinds.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace moexp::config {
namespace {

// Accessors for a member `M` of section `S` of ExperimentConfig, converting to and from Value.
template <auto Section, auto Member>
void bind(KeySpec& spec) {
  spec.get = [](const ExperimentConfig& cfg) -> Value {
    const auto& v = cfg.*Section.*Member;
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, bool>) {
      return v;
    } else if constexpr (Choice<T>) {
      return std::string(name_of(v));
    } else if constexpr (std::is_integral_v<T>) {
      return static_cast<std::int64_t>(v);
    } else {
      return v;
    }
  };
  spec.set = [](ExperimentConfig& cfg, const Value& value) {
    auto& v = cfg.*Section.*Member;
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, bool>) {
      v = std::get<bool>(value);
    } else if constexpr (Choice<T>) {
      const auto& text = std::get<std::string>(value);
      const auto parsed = parse_choice<T>(text);
      if (!parsed) {  // check_value rejects names outside the key's choices before any set
        throw std::logic_error("config: '" + text + "' is not a name of the key's closed set");
      }
      v = *parsed;
    } else if constexpr (std::is_integral_v<T>) {
      v = std::get<std::int64_t>(value);
    } else {
      v = std::get<T>(value);
    }
  };
}

KeySpec entry(std::string key, ValueType type, std::string doc) {
  KeySpec spec;
  spec.key = std::move(key);
  spec.type = type;
  spec.doc = std::move(doc);
  return spec;
}

KeySpec with_choices(KeySpec spec, std::vector<std::string> choices) {
  spec.choices = std::move(choices);
  return spec;
}

KeySpec with_range(KeySpec spec, std::optional<double> min, std::optional<double> max = std::nullopt) {
  spec.min = min;
  spec.max = max;
  return spec;
}

KeySpec not_identity(KeySpec spec) {
  spec.identity = false;
  return spec;
}

template <auto Section, auto Member>
KeySpec bound(KeySpec spec) {
  bind<Section, Member>(spec);
  return spec;
}

std::vector<KeySpec> make_keys() {
  using E = ExperimentConfig;
  using T = ValueType;
  std::vector<KeySpec> keys;
  // "name" is top level; it has no section, so it binds by hand.
  {
    KeySpec name =
        not_identity(entry("name", T::string, "run name shown in listings; default: the experiment file's stem"));
    name.get = [](const E& cfg) -> Value { return cfg.name; };
    name.set = [](E& cfg, const Value& v) { cfg.name = std::get<std::string>(v); };
    keys.push_back(std::move(name));
  }
  keys.push_back(bound<&E::model, &ModelConfig::arch>(
      with_choices(entry("model.arch", T::string, "network: a CIFAR-style ResNet, or RetinaNet for detection"),
                   choice_names<Arch>())));
  keys.push_back(bound<&E::model, &ModelConfig::backbone>(with_choices(
      entry("model.backbone", T::string, "retinanet: ImageNet-style ResNet backbone"), choice_names<Backbone>())));
  keys.push_back(bound<&E::model, &ModelConfig::width>(with_range(
      entry("model.width", T::floating, "retinanet: backbone width multiplier (stage widths 64..512 x width)"), 0.0625,
      4.0)));
  keys.push_back(bound<&E::model, &ModelConfig::backbone_weights>(entry(
      "model.backbone_weights", T::string,
      "retinanet: torchvision ResNet weights exported by scripts/export_torchvision_resnet.py, for the backbone")));
  keys.push_back(bound<&E::model, &ModelConfig::init_from>(entry(
      "model.init_from", T::string,
      "retinanet: start from the weights of a run of this database (its id) or a checkpoint file (matched by name)")));
  keys.push_back(bound<&E::model, &ModelConfig::experts_from_head>(
      entry("model.experts_from_head", T::boolean,
            "retinanet with init_from: every expert of an MoE head starts as the checkpoint's dense head")));
  keys.push_back(bound<&E::model, &ModelConfig::freeze>(
      with_choices(entry("model.freeze", T::string, "retinanet: parts trained no further (need model.init_from)"),
                   choice_names<Freeze>())));
  keys.push_back(bound<&E::model, &ModelConfig::frozen_bn>(entry(
      "model.frozen_bn", T::boolean, "retinanet: the backbone's batch norms keep their statistics and affine fixed")));

  keys.push_back(bound<&E::moe, &MoeConfig::enabled>(
      entry("moe.enabled", T::boolean, "MoE layers on; a [moe] section turns it on, false gives the dense baseline")));
  keys.push_back(bound<&E::moe, &MoeConfig::num_experts>(
      with_range(entry("moe.num_experts", T::integer, "experts per MoE layer (E)"), 1, 64)));
  keys.push_back(
      bound<&E::moe, &MoeConfig::k>(with_range(entry("moe.k", T::integer, "experts chosen per sample (1..E)"), 1, 64)));
  keys.push_back(bound<&E::moe, &MoeConfig::position>(with_range(
      entry("moe.position", T::integer_list, "position(s) replaced by an MoE layer: 0 = stem, 1.. = stage"), 0, 8)));
  keys.push_back(bound<&E::moe, &MoeConfig::head>(with_choices(
      entry("moe.head", T::string, "detection: the subnet(s) made MoE layers (cls_head, box_head or both)"),
      choice_names<MoeHead>())));
  keys.push_back(bound<&E::moe, &MoeConfig::shared_gate>(
      entry("moe.shared_gate", T::boolean, "detection with moe.head = both: one gate routes both heads' experts")));
  keys.push_back(bound<&E::moe, &MoeConfig::gate>(
      with_choices(entry("moe.gate", T::string, "gate network"), choice_names<GateKind>())));
  keys.push_back(bound<&E::moe, &MoeConfig::variant>(
      with_choices(entry("moe.variant", T::string, "layer variant: residual adds a shortcut around the mixture"),
                   choice_names<Variant>())));
  keys.push_back(bound<&E::moe, &MoeConfig::noise>(
      entry("moe.noise", T::boolean, "noisy top-k gating in training (soft and unconstrained gates)")));
  keys.push_back(bound<&E::moe, &MoeConfig::noise_input>(with_choices(
      entry(
          "moe.noise_input", T::string,
          "relu_gap_fc gate: the noise's std from the gate's GAP(ReLU x) (gate) or from GAP(x) (input, the reference)"),
      choice_names<NoiseInput>())));
  keys.push_back(
      bound<&E::moe, &MoeConfig::combine>(with_choices(entry("moe.combine", T::string,
                                                             "detection, classification MoE head: mix the experts' "
                                                             "logits (logits) or their probabilities (the reference)"),
                                                       choice_names<Combine>())));
  keys.push_back(bound<&E::moe, &MoeConfig::expert_init>(
      with_choices(entry("moe.expert_init", T::string,
                         "detection: experts start like the dense head (head) or with PyTorch's default init (pytorch, "
                         "the reference)"),
                   choice_names<ExpertInit>())));
  keys.push_back(bound<&E::moe, &MoeConfig::dispatch>(with_choices(
      entry("moe.dispatch", T::string,
            "how experts run: auto (grouped where measured to pay), grouped (one computation), per_expert"),
      choice_names<Dispatch>())));
  keys.push_back(bound<&E::moe, &MoeConfig::capacity_factor>(
      with_range(entry("moe.capacity_factor", T::floating,
                       "> 0: training dispatch with static shapes and no host read: each expert takes at most "
                       "ceil(f B k / E) rows, later rows are dropped and counted (0 = off: every row runs)"),
                 0.0, 64.0)));
  keys.push_back(bound<&E::moe, &MoeConfig::expert_width>(with_choices(
      entry("moe.expert_width", T::string, "narrow: about half the stage's parameters; full: a copy of the stage"),
      choice_names<ExpertWidth>())));

  keys.push_back(bound<&E::moe, &MoeConfig::collapse_share>(
      not_identity(with_range(entry("moe.collapse_share", T::floating,
                                    "statistics: a layer counts as collapsed when one expert's share exceeds this"),
                              0.0, 1.0))));
  keys.push_back(bound<&E::constraint, &ConstraintConfig::kind>(
      with_choices(entry("constraint.kind", T::string, "constraint scheme"), choice_names<Constraint>())));
  keys.push_back(bound<&E::constraint, &ConstraintConfig::weight>(
      with_range(entry("constraint.weight", T::floating, "weight of the soft auxiliary loss"), 0.0)));
  keys.push_back(bound<&E::constraint, &ConstraintConfig::threshold>(with_range(
      entry("constraint.threshold", T::floating, "hard constraint threshold tau (default 0.5 relative, 0.3 absolute)"),
      0.0)));

  keys.push_back(bound<&E::data, &DataConfig::dataset>(
      with_choices(entry("data.dataset", T::string, "dataset"), choice_names<Dataset>())));
  keys.push_back(
      bound<&E::data, &DataConfig::path>(entry("data.path", T::string, "folder holding the dataset's files")));
  keys.push_back(bound<&E::data, &DataConfig::limit_train>(
      with_range(entry("data.limit_train", T::integer, "use the first N training samples (0 = all)"), 0)));
  keys.push_back(bound<&E::data, &DataConfig::limit_test>(
      with_range(entry("data.limit_test", T::integer, "use the first N test samples (0 = all)"), 0)));
  keys.push_back(bound<&E::data, &DataConfig::augment>(
      entry("data.augment", T::boolean, "training augmentation: flip, crop with padding 4, colour jitter (CIFAR)")));
  keys.push_back(bound<&E::data, &DataConfig::on_device>(not_identity(with_choices(
      entry("data.on_device", T::string,
            "classification: keep the images on the training device and gather / augment batches there (auto: on for "
            "CUDA when they take at most 4 GiB); the batches are the same either way"),
      choice_names<OnDevice>()))));
  keys.push_back(bound<&E::data, &DataConfig::synthetic_classes>(
      with_range(entry("data.synthetic_classes", T::integer, "synthetic: number of classes"), 2, 1000)));
  keys.push_back(bound<&E::data, &DataConfig::synthetic_channels>(
      with_range(entry("data.synthetic_channels", T::integer, "synthetic: image channels"), 1, 3)));
  keys.push_back(bound<&E::data, &DataConfig::synthetic_image_size>(
      with_range(entry("data.synthetic_image_size", T::integer, "synthetic: image side in pixels"), 8, 64)));
  keys.push_back(bound<&E::data, &DataConfig::synthetic_train>(
      with_range(entry("data.synthetic_train", T::integer, "synthetic: training samples"), 1)));
  keys.push_back(bound<&E::data, &DataConfig::synthetic_test>(
      with_range(entry("data.synthetic_test", T::integer, "synthetic: test samples"), 1)));

  keys.push_back(bound<&E::data, &DataConfig::train_annotations>(entry(
      "data.train_annotations", T::string, "detection: training annotation file (default: the dataset's layout)")));
  keys.push_back(bound<&E::data, &DataConfig::val_annotations>(entry(
      "data.val_annotations", T::string, "detection: validation annotation file (default: the dataset's layout)")));
  keys.push_back(bound<&E::data, &DataConfig::train_images>(
      entry("data.train_images", T::string, "detection: training image folder (default: the dataset's layout)")));
  keys.push_back(bound<&E::data, &DataConfig::val_images>(
      entry("data.val_images", T::string, "detection: validation image folder (default: the dataset's layout)")));

  keys.push_back(bound<&E::detection, &DetectionConfig::min_size>(with_range(
      entry("detection.min_size", T::integer, "shorter image side after resizing (unless max_size binds)"), 32, 4096)));
  keys.push_back(bound<&E::detection, &DetectionConfig::max_size>(
      with_range(entry("detection.max_size", T::integer, "longest image side after resizing"), 32, 8192)));
  keys.push_back(bound<&E::detection, &DetectionConfig::fixed_size>(
      with_range(entry("detection.fixed_size", T::integer, "> 0: every image resized to this square instead (0 = off)"),
                 0, 4096)));
  keys.push_back(bound<&E::detection, &DetectionConfig::anchor_size>(with_range(
      entry("detection.anchor_size", T::floating, "base anchor size of P3, doubling per level (16 for small images)"),
      1.0, 1024.0)));
  keys.push_back(bound<&E::detection, &DetectionConfig::top_level>(
      with_range(entry("detection.top_level", T::integer, "pyramid levels P3 .. P<top_level>"), 5, 7)));
  keys.push_back(bound<&E::detection, &DetectionConfig::p6_from_c5>(
      entry("detection.p6_from_c5", T::boolean, "P6 from C5 (the paper, detectron2); false: from P5 (torchvision)")));
  keys.push_back(bound<&E::detection, &DetectionConfig::fpn_channels>(with_range(
      entry("detection.fpn_channels", T::integer, "channels of the feature pyramid and the subnets"), 8, 1024)));
  keys.push_back(bound<&E::detection, &DetectionConfig::box_loss>(with_choices(
      entry("detection.box_loss", T::string, "box regression loss: l1 (torchvision) or smooth_l1 (beta 1/9)"),
      choice_names<BoxLoss>())));
  keys.push_back(bound<&E::detection, &DetectionConfig::low_quality_matches>(
      entry("detection.low_quality_matches", T::boolean,
            "matcher: each object also gets its best anchors below IoU 0.5 (torchvision); false: none (the reference "
            "code)")));
  keys.push_back(bound<&E::detection, &DetectionConfig::score_threshold>(not_identity(
      with_range(entry("detection.score_threshold", T::floating, "post-processing: minimum class score of a detection"),
                 0.0, 1.0))));
  keys.push_back(bound<&E::detection, &DetectionConfig::detections_per_image>(not_identity(with_range(
      entry("detection.detections_per_image", T::integer, "post-processing: detections kept per image"), 1, 1000))));
  keys.push_back(bound<&E::detection, &DetectionConfig::workers>(
      not_identity(with_range(entry("detection.workers", T::integer, "image decoding threads"), 1, 64))));

  keys.push_back(
      bound<&E::train, &TrainConfig::epochs>(with_range(entry("train.epochs", T::integer, "training epochs"), 1)));
  keys.push_back(bound<&E::train, &TrainConfig::batch_size>(
      with_range(entry("train.batch_size", T::integer, "training batch size"), 1)));
  keys.push_back(bound<&E::train, &TrainConfig::optimizer>(
      with_choices(entry("train.optimizer", T::string, "optimizer"), choice_names<Optimizer>())));
  keys.push_back(
      bound<&E::train, &TrainConfig::lr>(with_range(entry("train.lr", T::floating, "base learning rate"), 0.0)));
  keys.push_back(bound<&E::train, &TrainConfig::momentum>(
      with_range(entry("train.momentum", T::floating, "SGD momentum"), 0.0, 1.0)));
  keys.push_back(bound<&E::train, &TrainConfig::weight_decay>(
      with_range(entry("train.weight_decay", T::floating, "L2 weight decay"), 0.0)));
  keys.push_back(bound<&E::train, &TrainConfig::schedule>(
      with_choices(entry("train.schedule", T::string, "learning-rate schedule"), choice_names<Schedule>())));
  keys.push_back(bound<&E::train, &TrainConfig::lr_milestones>(with_range(
      entry("train.lr_milestones", T::integer_list, "step schedule: epochs after which lr is multiplied by lr_gamma"),
      1)));
  keys.push_back(bound<&E::train, &TrainConfig::lr_gamma>(
      with_range(entry("train.lr_gamma", T::floating, "step schedule: factor at each milestone"), 0.0, 1.0)));
  keys.push_back(bound<&E::train, &TrainConfig::warmup_epochs>(
      with_range(entry("train.warmup_epochs", T::integer, "linear warm-up epochs before the schedule"), 0)));
  keys.push_back(bound<&E::train, &TrainConfig::grad_clip>(with_range(
      entry("train.grad_clip", T::floating, "> 0: clip the gradients' global L2 norm to this (0 = off)"), 0.0)));
  keys.push_back(bound<&E::train, &TrainConfig::seed>(
      with_range(entry("train.seed", T::integer, "seed of weights, data order, augmentation and gate noise"), 0)));
  keys.push_back(bound<&E::train, &TrainConfig::threads>(
      not_identity(with_range(entry("train.threads", T::integer, "CPU threads for Torch (0 = all cores)"), 0, 1024))));
  keys.push_back(bound<&E::train, &TrainConfig::eval_batch_size>(
      not_identity(with_range(entry("train.eval_batch_size", T::integer, "batch size of test evaluation"), 1))));
  keys.push_back(bound<&E::train, &TrainConfig::precision>(with_choices(
      entry("train.precision", T::string, "auto: bf16 autocast on CUDA, fp32 on CPU"), choice_names<Precision>())));
  keys.push_back(bound<&E::train, &TrainConfig::memory_format>(
      with_choices(entry("train.memory_format", T::string, "auto: channels_last (on the CPU too: measured faster)"),
                   choice_names<MemoryFormat>())));
  return keys;
}

}  // namespace

const std::vector<KeySpec>& experiment_keys() {
  static const std::vector<KeySpec> keys = make_keys();
  return keys;
}

const KeySpec* find_key(std::string_view key) {
  for (const auto& spec : experiment_keys()) {
    if (spec.key == key) {
      return &spec;
    }
  }
  return nullptr;
}

std::vector<std::string> experiment_key_names() {
  std::vector<std::string> names;
  for (const auto& spec : experiment_keys()) {
    names.push_back(spec.key);
  }
  return names;
}

std::string type_name(ValueType type) {
  switch (type) {
    case ValueType::integer:
      return "an integer";
    case ValueType::floating:
      return "a number";
    case ValueType::boolean:
      return "true or false";
    case ValueType::string:
      return "a string";
    case ValueType::integer_list:
      return "an integer or a list of integers";
  }
  return "?";
}

std::optional<std::string> check_value(const KeySpec& spec, const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value); s && !core::valid_utf8(*s)) {
    return fmt::format("'{}' is not valid UTF-8", core::printable(*s));
  }
  if (!spec.choices.empty()) {
    const auto& s = std::get<std::string>(value);
    if (std::find(spec.choices.begin(), spec.choices.end(), s) == spec.choices.end()) {
      auto msg = fmt::format("'{}' is not allowed; use {}", s, core::join_alternatives(spec.choices));
      msg = core::with_suggestion(std::move(msg), s, spec.choices);
      return msg;
    }
  }
  auto out_of_range = [&](double x) { return (spec.min && x < *spec.min) || (spec.max && x > *spec.max); };
  auto range_text = [&] {
    if (spec.min && spec.max) {
      return fmt::format("between {} and {}", *spec.min, *spec.max);
    }
    return spec.min ? fmt::format(">= {}", *spec.min) : fmt::format("<= {}", *spec.max);
  };
  if (const auto* i = std::get_if<std::int64_t>(&value); i && out_of_range(static_cast<double>(*i))) {
    return fmt::format("{} is out of range; must be {}", *i, range_text());
  }
  if (const auto* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d)) {
      return fmt::format("{} is not allowed; the value must be a finite number", *d);
    }
    if (out_of_range(*d)) {
      return fmt::format("{} is out of range; must be {}", *d, range_text());
    }
  }
  if (const auto* list = std::get_if<std::vector<std::int64_t>>(&value)) {
    if (list->empty()) {
      return std::string("the list must not be empty");
    }
    for (auto item : *list) {
      if (out_of_range(static_cast<double>(item))) {
        return fmt::format("item {} is out of range; items must be {}", item, range_text());
      }
    }
  }
  return std::nullopt;
}

bool key_applies(const ExperimentConfig& cfg, const std::string& key) {
  auto starts = [&](std::string_view prefix) { return key.rfind(prefix, 0) == 0; };
  if (key == "moe.enabled") {
    return false;  // encoded by the presence of the [moe] section
  }
  const bool detection = is_detection(cfg);
  if (key == "model.backbone" || key == "model.width" || key == "model.freeze" || key == "model.frozen_bn") {
    return cfg.model.arch == Arch::retinanet;
  }
  if (key == "model.init_from") {
    return cfg.model.arch == Arch::retinanet && !cfg.model.init_from.empty();  // left out when unset: hashes stay
  }
  if (key == "model.experts_from_head") {
    return cfg.model.arch == Arch::retinanet && cfg.moe.enabled && !cfg.model.init_from.empty();
  }
  if (key == "model.backbone_weights") {
    return cfg.model.arch == Arch::retinanet && !cfg.model.backbone_weights.empty();
  }
  if (key == "detection.low_quality_matches") {
    return detection && !cfg.detection.low_quality_matches;  // the default is left out: hashes stay
  }
  if (starts("detection.")) {
    return detection;
  }
  if (starts("data.train_") || starts("data.val_")) {
    return detection;
  }
  if (starts("moe.") || starts("constraint.")) {
    if (!cfg.moe.enabled) {
      return false;
    }
    if (key == "moe.position" || key == "moe.variant" || key == "moe.expert_width") {
      return !detection;  // a detection head's experts are full copies of its subnet
    }
    if (key == "moe.head") {
      return detection;
    }
    if (key == "moe.shared_gate") {
      return detection && cfg.moe.shared_gate;  // left out when false: hashes stay
    }
    if (key == "moe.noise") {
      return !is_hard_constraint(cfg.constraint.kind);
    }
    // The reference's choices are left out at moexp's defaults: configs from before the keys keep their hash.
    if (key == "moe.noise_input") {
      return cfg.moe.noise_input != NoiseInput::gate;
    }
    if (key == "moe.combine") {
      return detection && cfg.moe.combine != Combine::logits;
    }
    if (key == "moe.expert_init") {
      return detection && cfg.moe.expert_init != ExpertInit::head;
    }
    if (key == "moe.capacity_factor") {
      return cfg.moe.capacity_factor > 0;  // left out when off: configs from before the key keep their hash
    }
    if (key == "moe.dispatch") {
      return cfg.moe.dispatch !=
             Dispatch::automatic;  // "auto" is left out: configs from before the key keep their hash
    }
    if (key == "constraint.weight") {
      return is_soft_constraint(cfg.constraint.kind);
    }
    if (key == "constraint.threshold") {
      return is_hard_constraint(cfg.constraint.kind);
    }
    return true;
  }
  if (starts("data.synthetic_")) {
    return is_generated_dataset(cfg.data.dataset);
  }
  if (key == "data.path") {
    return !is_generated_dataset(cfg.data.dataset);
  }
  if (key == "train.momentum") {
    return cfg.train.optimizer == Optimizer::sgd;
  }
  if (key == "train.precision") {
    return cfg.train.precision !=
           Precision::automatic;  // "auto" is left out: configs from before the key keep their hash
  }
  if (key == "train.grad_clip") {
    return cfg.train.grad_clip > 0;  // left out when off: configs from before the key keep their hash
  }
  if (key == "train.memory_format") {
    return cfg.train.memory_format != MemoryFormat::automatic;
  }
  if (key == "train.lr_milestones" || key == "train.lr_gamma") {
    return cfg.train.schedule == Schedule::step;
  }
  return true;
}

}  // namespace moexp::config
