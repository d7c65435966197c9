// What the specialisation nulls cost per epoch of the shapes detection study (docs/algorithm.md §4.3): the token
// tables of one split, as a detection epoch builds them, with IMAGES images of LEVELS pyramid levels (one level token
// per image and level) and OBJECTS objects on about 1.5 levels each (one object token per object and level), routed
// among the 6 two-expert sets of E=4, k=2. Times (a) the figures alone (level, size and class MI, size and class MI
// given the level: what the statistics computed before the nulls) and (b) their five permutation nulls of
// PERMUTATIONS permutations (level: labels; size and class: the (image, level) units' sets, among all units and among
// a level's units), and prints (b) and its ratio to (a), measured in the same run. Usage:
//   build/bench/moexp_bench_nulls [images 2000] [objects 2706] [levels 4] [permutations 200] [rounds 5]
// (the defaults: the study's training split; its test split is 300 images, 416 objects).
#include "core/permutation_test.hpp"
#include "core/random.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace moexp;

namespace {

struct Tables {
  TokenTable level;                      // label: level; one token per (image, level)
  TokenTable size_global, class_global;  // object tokens, units as clusters, no strata
  TokenTable size_given, class_given;    // the same with the level as stratum
};

Tables make_tables(std::int64_t images, std::int64_t objects, std::int64_t levels, std::uint64_t seed) {
  core::Random random(seed);
  const std::vector<std::int64_t> sets{0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100};
  std::vector<std::int64_t> unit_set(static_cast<std::size_t>(images * levels));
  Tables t;
  for (std::int64_t u = 0; u < images * levels; ++u) {
    const auto level = u % levels;
    // Routing that leans on the level, with noise: a realistic spread of symbols.
    unit_set[static_cast<std::size_t>(u)] =
        random.uniform() < 0.6 ? sets[static_cast<std::size_t>(level % 6)] : sets[random.below(6)];
    t.level.labels.push_back(level);
    t.level.symbols.push_back(unit_set[static_cast<std::size_t>(u)]);
    t.level.strata.push_back(0);
  }
  for (std::int64_t o = 0; o < objects; ++o) {
    const auto image = static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(images)));
    const auto size = static_cast<std::int64_t>(random.below(3));
    const auto cls = static_cast<std::int64_t>(random.below(4));
    const auto first = std::min<std::int64_t>(levels - 1, size + static_cast<std::int64_t>(random.below(2)));
    const int on_levels = random.uniform() < 0.5 && first + 1 < levels ? 2 : 1;
    for (int k = 0; k < on_levels; ++k) {
      const auto level = first + k;
      const auto unit = image * levels + level;
      for (auto* table : {&t.size_global, &t.class_global, &t.size_given, &t.class_given}) {
        const bool is_size = table == &t.size_global || table == &t.size_given;
        const bool given = table == &t.size_given || table == &t.class_given;
        table->labels.push_back(is_size ? size : cls);
        table->symbols.push_back(unit_set[static_cast<std::size_t>(unit)]);
        table->strata.push_back(given ? level : 0);
        table->clusters.push_back(unit);
      }
    }
  }
  t.level.clusters.clear();  // a level token is its own unit
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double pooled_mi(const TokenTable& t) {
  const std::vector<std::int64_t> none(t.labels.size(), 0);
  return normalized_conditional_mi({t.labels, t.symbols, none});
}

}  // namespace

int main(int argc, char** argv) {
  const auto arg = [&](int i, std::int64_t fallback) { return argc > i ? std::atoll(argv[i]) : fallback; };
  const auto images = arg(1, 2000), objects = arg(2, 2706), levels = arg(3, 4), permutations = arg(4, 200);
  const auto rounds = static_cast<int>(arg(5, 5));
  const auto t = make_tables(images, objects, levels, 7);
  const auto given = [](const TokenTable& x) { return normalized_conditional_mi(x); };
  fmt::print("{} images x {} levels ({} level tokens), {} objects ({} object tokens), {} permutations per null\n",
             images, levels, t.level.labels.size(), objects, t.size_global.labels.size(), permutations);
  double figures_best = 1e9, nulls_best = 1e9, sink = 0;
  for (int round = 0; round < rounds; ++round) {
    auto start = std::chrono::steady_clock::now();
    sink += pooled_mi(t.level) + pooled_mi(t.size_global) + pooled_mi(t.class_global) + given(t.size_given) +
            given(t.class_given);
    figures_best = std::min(figures_best, seconds_since(start));
    start = std::chrono::steady_clock::now();
    for (const auto* table : {&t.level, &t.size_global, &t.class_global}) {
      sink += stratified_permutation_test(*table, pooled_mi, permutations).p_value;
    }
    for (const auto* table : {&t.size_given, &t.class_given}) {
      sink += stratified_permutation_test(*table, given, permutations).p_value;
    }
    nulls_best = std::min(nulls_best, seconds_since(start));
  }
  fmt::print(
      "figures alone (a): {:.4f} s   five nulls (b): {:.3f} s   b / a = {:.0f}   (best of {}; checksum {:.3f})\n",
      figures_best, nulls_best, nulls_best / figures_best, rounds, sink);
  return 0;
}
