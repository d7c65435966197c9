#include "core/name_table.hpp"

#include <doctest/doctest.h>

using namespace moexp::core;

namespace {

enum class Colour { red, green };
constexpr std::array<std::string_view, 2> kColourNames{"red", "green"};

struct Entry {
  std::string_view name;
  int value;
};
constexpr std::array<Entry, 3> kEntries{{{"a", 1}, {"b", 2}, {"c", 3}}};

}  // namespace

TEST_CASE("name table: find_by_name, names_of and enum_named read one table") {
  static_assert(find_by_name(kEntries, "b") == &kEntries[1]);
  CHECK(find_by_name(kEntries, "b")->value == 2);
  CHECK(find_by_name(kEntries, "B") == nullptr);
  CHECK(find_by_name(kEntries, "") == nullptr);
  CHECK(names_of(kEntries) == std::vector<std::string>{"a", "b", "c"});
  static_assert(enum_named<Colour>(kColourNames, "green") == Colour::green);
  CHECK(enum_named<Colour>(kColourNames, "red") == Colour::red);
  CHECK_FALSE(enum_named<Colour>(kColourNames, "blue").has_value());
}
