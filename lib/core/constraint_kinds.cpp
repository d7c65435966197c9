#include "core/constraint_kinds.hpp"

#include "core/name_table.hpp"

namespace moexp {

static_assert(core::ids_in_order(kConstraints), "kConstraints lists the schemes in the order of enum Constraint");

const ConstraintInfo* find_constraint(std::string_view name) {
  return core::find_by_name(kConstraints, name);
}

const ConstraintInfo& constraint_info(Constraint id) {
  return kConstraints.at(static_cast<std::size_t>(id));
}

std::vector<std::string> constraint_names() {
  return core::names_of(kConstraints);
}

}  // namespace moexp
