#include "config/experiment.hpp"
#include "core/constraint_kinds.hpp"

#include <doctest/doctest.h>

using namespace moexp;

TEST_CASE("constraint kinds: one table names every scheme, its family and its default threshold") {
  CHECK(constraint_names() == std::vector<std::string>{"none", "importance", "kl", "load", "relative", "absolute"});
  for (const auto& c : kConstraints) {
    CHECK(find_constraint(c.name) == &c);
    CHECK(&constraint_info(c.id) == &c);
    CHECK_FALSE((c.soft && c.hard));
    CHECK(config::is_soft_constraint(c.id) == c.soft);
    CHECK(config::is_hard_constraint(c.id) == c.hard);
  }
  CHECK(find_constraint("Importance") == nullptr);
  CHECK(constraint_info(Constraint::load).needs_noise);
  CHECK(config::default_threshold(Constraint::absolute) == 0.3);
  CHECK(config::default_threshold(Constraint::relative) == 0.5);
}
