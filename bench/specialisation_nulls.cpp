// What the specialisation nulls cost per epoch of the shapes detection study (docs/algorithm.md §4.3): the token
// columns of one split, as a detection epoch builds them, with IMAGES images of LEVELS pyramid levels (one level token
// per image and level) and OBJECTS objects on about 1.5 levels each (one object token per object and level), routed
// among the 6 two-expert sets of E=4, k=2. Times (a) the seven figures alone (level MI; size and class MI, given the
// level, and given the level and the other kind) and (b) their seven permutation nulls of PERMUTATIONS permutations
// as the trainer computes them (core/group_nulls: level labels shuffled; size and class by the (image, level) units'
// sets, among all units, a level's units, and a level's units with the same classes or sizes), and prints (b) and
// its ratio to (a), measured in the same run. Usage:
//   build/bench/moexp_bench_nulls [images 2000] [objects 2706] [levels 4] [permutations 200] [rounds 5]
// (the defaults: the study's training split; its test split is 300 images, 416 objects).
#include "core/group_nulls.hpp"
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

// The level tokens and the object tokens of one split.
struct Tables {
  RoutingTokens level;   // kind "level"; one token per (image, level), each its own unit
  RoutingTokens object;  // kinds "size", "class"; one token per (object, level), with images and levels
};

Tables make_tables(std::int64_t images, std::int64_t objects, std::int64_t levels, std::uint64_t seed) {
  core::Random random(seed);
  const std::vector<std::int64_t> sets{0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100};
  std::vector<std::int64_t> unit_set(static_cast<std::size_t>(images * levels));
  Tables t;
  t.level.kinds = {kLevelGroup};
  t.level.labels.resize(1);
  t.object.kinds = {kSizeGroup, kClassGroup};
  t.object.labels.resize(2);
  for (std::int64_t u = 0; u < images * levels; ++u) {
    const auto level = u % levels;
    // Routing that leans on the level, with noise: a realistic spread of symbols.
    unit_set[static_cast<std::size_t>(u)] =
        random.uniform() < 0.6 ? sets[static_cast<std::size_t>(level % 6)] : sets[random.below(6)];
    t.level.labels[0].push_back(level);
    t.level.symbols.push_back(unit_set[static_cast<std::size_t>(u)]);
  }
  for (std::int64_t o = 0; o < objects; ++o) {
    const auto image = static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(images)));
    const auto size = static_cast<std::int64_t>(random.below(3));
    const auto cls = static_cast<std::int64_t>(random.below(4));
    const auto first = std::min<std::int64_t>(levels - 1, size + static_cast<std::int64_t>(random.below(2)));
    const int on_levels = random.uniform() < 0.5 && first + 1 < levels ? 2 : 1;
    for (int k = 0; k < on_levels; ++k) {
      const auto level = first + k;
      t.object.labels[0].push_back(size);
      t.object.labels[1].push_back(cls);
      t.object.symbols.push_back(unit_set[static_cast<std::size_t>(image * levels + level)]);
      t.object.images.push_back(image);
      t.object.levels.push_back(level);
    }
  }
  return t;
}

// The seven figures without their nulls: the conditional MI over the strata each is conditioned on.
double figures(const Tables& t) {
  const auto& o = t.object;
  const std::size_t n = o.symbols.size();
  std::vector<std::int64_t> none(n, 0), by_level_class(n), by_level_size(n);
  for (std::size_t i = 0; i < n; ++i) {
    by_level_class[i] = o.levels[i] * 16 + o.labels[1][i];
    by_level_size[i] = o.levels[i] * 16 + o.labels[0][i];
  }
  const std::vector<std::int64_t> level_none(t.level.symbols.size(), 0);
  return normalized_conditional_mi({t.level.labels[0], t.level.symbols, level_none}) +
         normalized_conditional_mi({o.labels[0], o.symbols, none}) +
         normalized_conditional_mi({o.labels[0], o.symbols, o.levels}) +
         normalized_conditional_mi({o.labels[0], o.symbols, by_level_class}) +
         normalized_conditional_mi({o.labels[1], o.symbols, none}) +
         normalized_conditional_mi({o.labels[1], o.symbols, o.levels}) +
         normalized_conditional_mi({o.labels[1], o.symbols, by_level_size});
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const auto arg = [&](int i, std::int64_t fallback) { return argc > i ? std::atoll(argv[i]) : fallback; };
  const auto images = arg(1, 2000), objects = arg(2, 2706), levels = arg(3, 4), permutations = arg(4, 200);
  const auto rounds = static_cast<int>(arg(5, 5));
  const auto t = make_tables(images, objects, levels, 7);
  fmt::print("{} images x {} levels ({} level tokens), {} objects ({} object tokens), {} permutations per null\n",
             images, levels, t.level.symbols.size(), objects, t.object.symbols.size(), permutations);
  double figures_best = 1e9, nulls_best = 1e9, sink = 0;
  for (int round = 0; round < rounds; ++round) {
    auto start = std::chrono::steady_clock::now();
    sink += figures(t);
    figures_best = std::min(figures_best, seconds_since(start));
    start = std::chrono::steady_clock::now();
    GroupRouting level{}, size{}, cls{};
    level.kind = kLevelGroup;
    size.kind = kSizeGroup;
    cls.kind = kClassGroup;
    add_specialisation_nulls(level, 0, t.level, permutations);
    add_specialisation_nulls(size, 0, t.object, permutations);
    add_specialisation_nulls(cls, 1, t.object, permutations);
    nulls_best = std::min(nulls_best, seconds_since(start));
    sink += level.mi_null.p_value + size.mi_null.p_value + cls.mi_null.p_value;
    for (const auto* g : {&size, &cls}) {
      for (const auto& c : g->given) {
        sink += c.mi.p_value;
      }
    }
  }
  fmt::print(
      "figures alone (a): {:.4f} s   seven nulls (b): {:.3f} s   b / a = {:.0f}   (best of {}; checksum {:.3f})\n",
      figures_best, nulls_best, nulls_best / figures_best, rounds, sink);
  return 0;
}
