#include "core/constraint_kinds.hpp"

namespace moexp {
namespace {

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kConstraints.size(); ++i) {
    if (static_cast<std::size_t>(kConstraints[i].id) != i) {
      return false;
    }
  }
  return true;
}
static_assert(in_enum_order(), "kConstraints lists the schemes in the order of enum Constraint");

} // namespace

const ConstraintInfo* find_constraint(std::string_view name) {
  for (const auto& c : kConstraints) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const ConstraintInfo& constraint_info(Constraint id) { return kConstraints.at(static_cast<std::size_t>(id)); }

std::vector<std::string> constraint_names() {
  std::vector<std::string> names;
  for (const auto& c : kConstraints) {
    names.emplace_back(c.name);
  }
  return names;
}

} // namespace moexp
