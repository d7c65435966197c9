#include "core/constraint_kinds.hpp"

#include "core/name_table.hpp"

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

const ConstraintInfo* find_constraint(std::string_view name) { return core::find_by_name(kConstraints, name); }

const ConstraintInfo& constraint_info(Constraint id) { return kConstraints.at(static_cast<std::size_t>(id)); }

std::vector<std::string> constraint_names() { return core::names_of(kConstraints); }

} // namespace moexp
