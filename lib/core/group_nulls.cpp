#include "core/group_nulls.hpp"

#include "core/permutation_test.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

namespace moexp {

namespace {

// An id per distinct (a[i], b[i]) pair, numbered in order of first appearance.
std::vector<std::int64_t> pair_ids(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> id;
  std::vector<std::int64_t> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    out[i] = id.try_emplace({a[i], b[i]}, static_cast<std::int64_t>(id.size())).first->second;
  }
  return out;
}

}  // namespace

std::vector<std::int64_t> routing_units(const std::vector<std::int64_t>& images,
                                        const std::vector<std::int64_t>& levels) {
  return images.empty() || levels.empty() ? std::vector<std::int64_t>{} : pair_ids(images, levels);
}

namespace {

// The strata a unit-permuting null keeps for the figure given the level and `other`: units of one level whose
// tokens carry the same multiset of `other` labels (a unit's objects may differ in class, and the null must keep
// what the routing may depend on under the hypothesis: the level and the classes present).
std::vector<std::int64_t> composition_strata(const std::vector<std::int64_t>& units,
                                             const std::vector<std::int64_t>& levels,
                                             const std::vector<std::int64_t>& other) {
  std::map<std::int64_t, std::vector<std::int64_t>> labels_of_unit;
  std::map<std::int64_t, std::int64_t> level_of_unit;
  for (std::size_t i = 0; i < units.size(); ++i) {
    labels_of_unit[units[i]].push_back(other[i]);
    level_of_unit[units[i]] = levels[i];
  }
  std::map<std::pair<std::int64_t, std::vector<std::int64_t>>, std::int64_t> id;
  std::map<std::int64_t, std::int64_t> stratum_of_unit;
  for (auto& [unit, labels] : labels_of_unit) {
    std::sort(labels.begin(), labels.end());
    stratum_of_unit[unit] =
        id.try_emplace({level_of_unit[unit], labels}, static_cast<std::int64_t>(id.size())).first->second;
  }
  std::vector<std::int64_t> out(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    out[i] = stratum_of_unit[units[i]];
  }
  return out;
}

}  // namespace

void add_specialisation_nulls(GroupRouting& group, std::size_t kind, const RoutingTokens& tokens,
                              std::int64_t permutations) {
  const auto& labels_of_kind = tokens.labels;
  const auto& kind_names = tokens.kinds;
  const auto& symbols = tokens.symbols;
  const auto& levels = tokens.levels;
  const auto& labels = labels_of_kind[kind];
  if (permutations <= 0 || labels.empty()) {
    return;
  }
  const auto units = routing_units(tokens.images, tokens.levels);
  const std::vector<std::int64_t> none(labels.size(), 0);
  // One statistic for all: with a single stratum the conditional MI is the MI.
  const auto mi = [](const TokenTable& t) { return normalized_conditional_mi(t); };
  group.null_design = units.empty() ? kNullLabelsShuffled : kNullUnitsShuffled;
  group.mi_null = stratified_permutation_test({labels, symbols, none, units}, mi, permutations, kNullSeed);
  if (levels.empty() || group.kind == kLevelGroup) {
    return;
  }
  group.given.push_back(
      {kLevelGroup, stratified_permutation_test({labels, symbols, levels, units}, mi, permutations, kNullSeed)});
  for (std::size_t h = 0; h < labels_of_kind.size(); ++h) {
    if (h == kind || kind_names[h] == kLevelGroup) {
      continue;
    }
    const auto& other = labels_of_kind[h];
    // The figure's strata are (level, other label) per token; the null's are the same without units, the units'
    // (level, composition) with them.
    TokenTable scratch{labels, symbols, pair_ids(levels, other)};
    const auto given_both = [&scratch](const TokenTable& t) {
      scratch.symbols = t.symbols;
      return normalized_conditional_mi(scratch);
    };
    const auto null_strata = units.empty() ? scratch.strata : composition_strata(units, levels, other);
    group.given.push_back(
        {given_name({kLevelGroup, kind_names[h]}),
         stratified_permutation_test({labels, symbols, null_strata, units},
                                     units.empty() ? std::function<double(const TokenTable&)>(mi) : given_both,
                                     permutations, kNullSeed)});
  }
}

}  // namespace moexp
