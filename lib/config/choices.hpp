// The closed sets of the experiment schema, each an enum whose TOML names are defined once, here (constraint kinds
// and datasets are registries of their own in core/, named the same way below). The loader parses a name into its
// enum when the config loads; code outside lib/config switches over the enum (no `default`, so a new value that some
// switch does not handle is a compile error under -Werror=switch) and never compares names. Torch-free.
#pragma once

#include "core/constraint_kinds.hpp"
#include "core/dataset_kinds.hpp"
#include "core/name_table.hpp"

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace moexp::config {

// The TOML names of a closed set, indexed by the enum's value: `static constexpr std::array names`.
template <typename Enum>
struct ChoiceNames;

// A closed set of the schema: an enum with names.
template <typename T>
concept Choice = std::is_enum_v<T> && requires {
  ChoiceNames<T>::names;
};

enum class Arch { resnet8, resnet20, resnet18, retinanet };  // model.arch
template <>
struct ChoiceNames<Arch> {
  static constexpr std::array<std::string_view, 4> names{"resnet8", "resnet20", "resnet18", "retinanet"};
};

enum class Backbone { resnet18, resnet34, resnet50 };  // model.backbone (retinanet)
template <>
struct ChoiceNames<Backbone> {
  static constexpr std::array<std::string_view, 3> names{"resnet18", "resnet34", "resnet50"};
};

enum class Freeze { none, backbone, backbone_fpn };  // model.freeze (retinanet)
template <>
struct ChoiceNames<Freeze> {
  static constexpr std::array<std::string_view, 3> names{"none", "backbone", "backbone_fpn"};
};

enum class MoeHead { cls_head, box_head, both };  // moe.head (detection)
template <>
struct ChoiceNames<MoeHead> {
  static constexpr std::array<std::string_view, 3> names{"cls_head", "box_head", "both"};
};

enum class GateKind { gap_fc, relu_gap_fc, conv_gap_fc };  // moe.gate
template <>
struct ChoiceNames<GateKind> {
  static constexpr std::array<std::string_view, 3> names{"gap_fc", "relu_gap_fc", "conv_gap_fc"};
};

enum class Variant { plain, residual };  // moe.variant: "default" (no shortcut) or "residual"
template <>
struct ChoiceNames<Variant> {
  static constexpr std::array<std::string_view, 2> names{"default", "residual"};
};

enum class ExpertWidth { narrow, full };  // moe.expert_width
template <>
struct ChoiceNames<ExpertWidth> {
  static constexpr std::array<std::string_view, 2> names{"narrow", "full"};
};

// moe.combine (detection's classification head): mix the experts' logits, then the sigmoid (moexp's default), or mix
// their sigmoid probabilities (the reference code).
enum class Combine { logits, probabilities };
template <>
struct ChoiceNames<Combine> {
  static constexpr std::array<std::string_view, 2> names{"logits", "probabilities"};
};

// moe.expert_init (detection heads): experts start like the dense head (N(0, 0.01), the prior's bias on the
// classification head) or with PyTorch's default conv init (the reference code).
enum class ExpertInit { head, pytorch };
template <>
struct ChoiceNames<ExpertInit> {
  static constexpr std::array<std::string_view, 2> names{"head", "pytorch"};
};

// moe.noise_input: the gate noise's input, the gate's pooled features (GAP(ReLU x) for relu_gap_fc) or GAP(x) (the
// reference code); the two differ only for the relu_gap_fc gate.
enum class NoiseInput { gate, input };
template <>
struct ChoiceNames<NoiseInput> {
  static constexpr std::array<std::string_view, 2> names{"gate", "input"};
};

enum class Dispatch { automatic, grouped, per_expert };  // moe.dispatch ("auto", ...)
template <>
struct ChoiceNames<Dispatch> {
  static constexpr std::array<std::string_view, 3> names{"auto", "grouped", "per_expert"};
};

enum class BoxLoss { l1, smooth_l1 };  // detection.box_loss
template <>
struct ChoiceNames<BoxLoss> {
  static constexpr std::array<std::string_view, 2> names{"l1", "smooth_l1"};
};

enum class Optimizer { adam, sgd };  // train.optimizer
template <>
struct ChoiceNames<Optimizer> {
  static constexpr std::array<std::string_view, 2> names{"adam", "sgd"};
};

enum class Schedule { step, cosine, constant };  // train.schedule
template <>
struct ChoiceNames<Schedule> {
  static constexpr std::array<std::string_view, 3> names{"step", "cosine", "constant"};
};

enum class Precision { automatic, fp32, bf16 };  // train.precision ("auto", ...)
template <>
struct ChoiceNames<Precision> {
  static constexpr std::array<std::string_view, 3> names{"auto", "fp32", "bf16"};
};

enum class MemoryFormat { automatic, contiguous, channels_last };  // train.memory_format ("auto", ...)
template <>
struct ChoiceNames<MemoryFormat> {
  static constexpr std::array<std::string_view, 3> names{"auto", "contiguous", "channels_last"};
};

enum class OnDevice { automatic, on, off };  // data.on_device ("auto", ...)
template <>
struct ChoiceNames<OnDevice> {
  static constexpr std::array<std::string_view, 3> names{"auto", "on", "off"};
};

// constraint.kind: the names of core/constraint_kinds.hpp's registry, in enum order.
template <>
struct ChoiceNames<Constraint> {
  static constexpr auto names = [] {
    std::array<std::string_view, kConstraints.size()> out{};
    for (std::size_t i = 0; i < kConstraints.size(); ++i) {
      out[i] = kConstraints[i].name;
    }
    return out;
  }();
};

// data.dataset: the names of core/dataset_kinds.hpp's registry, in enum order.
template <>
struct ChoiceNames<Dataset> {
  static constexpr auto names = [] {
    std::array<std::string_view, kDatasets.size()> out{};
    for (std::size_t i = 0; i < kDatasets.size(); ++i) {
      out[i] = kDatasets[i].name;
    }
    return out;
  }();
};

// What each value of a set means, where more than one place asks (a switch each, so a new value must say).
constexpr bool freezes_backbone(Freeze f) {
  switch (f) {
    case Freeze::none:
      return false;
    case Freeze::backbone:
    case Freeze::backbone_fpn:
      return true;
  }
  return false;
}
constexpr bool freezes_fpn(Freeze f) {
  switch (f) {
    case Freeze::none:
    case Freeze::backbone:
      return false;
    case Freeze::backbone_fpn:
      return true;
  }
  return false;
}
constexpr bool moe_in_cls_head(MoeHead h) {
  switch (h) {
    case MoeHead::cls_head:
    case MoeHead::both:
      return true;
    case MoeHead::box_head:
      return false;
  }
  return false;
}
constexpr bool moe_in_box_head(MoeHead h) {
  switch (h) {
    case MoeHead::box_head:
    case MoeHead::both:
      return true;
    case MoeHead::cls_head:
      return false;
  }
  return false;
}

// The TOML name of `value`.
template <Choice Enum>
constexpr std::string_view name_of(Enum value) {
  return ChoiceNames<Enum>::names[static_cast<std::size_t>(value)];
}

// The value called `text`, or nullopt.
template <Choice Enum>
constexpr std::optional<Enum> parse_choice(std::string_view text) {
  return core::enum_named<Enum>(ChoiceNames<Enum>::names, text);
}

// Every name of the set, in enum order (the schema's allowed values and docs).
template <Choice Enum>
std::vector<std::string> choice_names() {
  return {ChoiceNames<Enum>::names.begin(), ChoiceNames<Enum>::names.end()};
}

}  // namespace moexp::config

// fmt writes a closed-set value as its TOML name, so messages read "model.arch 'resnet8'" without a conversion.
template <typename Enum>
struct fmt::formatter<Enum, char, std::enable_if_t<moexp::config::Choice<Enum>>> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(Enum value, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(moexp::config::name_of(value), ctx);
  }
};
