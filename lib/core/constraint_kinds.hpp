// The constraint schemes (docs/algorithm.md §3), defined once: name, family and defaults. The experiment schema
// (allowed values, docs), config validation and the MoE layer's dispatch read this table; a new scheme is one entry
// here plus its rule in lib/moe.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace moexp {

enum class Constraint { none, importance, kl, load, relative, absolute };

struct ConstraintInfo {
  Constraint id;
  std::string_view name;     // as written in constraint.kind
  bool soft;                 // an auxiliary balancing loss added to the task loss
  bool hard;                 // masks over-used experts during training
  bool needs_noise;          // defined through the gate noise (moe.noise must be on)
  double default_threshold;  // hard constraints' tau when constraint.threshold is not set
};

inline constexpr std::array<ConstraintInfo, 6> kConstraints{{
    {Constraint::none, "none", false, false, false, 0.5},
    {Constraint::importance, "importance", true, false, false, 0.5},
    {Constraint::kl, "kl", true, false, false, 0.5},
    {Constraint::load, "load", true, false, true, 0.5},
    {Constraint::relative, "relative", false, true, false, 0.5},
    {Constraint::absolute, "absolute", false, true, false, 0.3},
}};

// The scheme called `name`, or nullptr.
const ConstraintInfo* find_constraint(std::string_view name);

// The scheme `id`.
const ConstraintInfo& constraint_info(Constraint id);

// The schemes' names, in kConstraints' order.
std::vector<std::string> constraint_names();

}  // namespace moexp
