// The permutation nulls of a layer's specialisation figures (docs/algorithm.md §4.3), from the token columns of one
// split: which kinds of group each token has, its chosen expert set and, in detection, its image and pyramid level.
// Torch-free: the trainer's RoutingAccumulator gathers the columns, benches and tests build them directly.
#pragma once

#include "core/metrics.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moexp {

// The routing tokens of one MoE layer over one split, column by column (all of one length N).
struct RoutingTokens {
  std::vector<std::string> kinds;                 // the group kinds, in the order of `labels`
  std::vector<std::vector<std::int64_t>> labels;  // per kind: each token's group
  std::vector<std::int64_t> symbols;              // each token's chosen set, a bitmask of experts
  std::vector<std::int64_t> images{};             // each token's image; empty when tokens are not objects
  std::vector<std::int64_t> levels{};             // each token's pyramid level; empty outside detection
};

// The routing unit of every token: an id per distinct (image, level) pair, the tokens that share one routing
// decision; empty when `images` or `levels` is.
std::vector<std::int64_t> routing_units(const std::vector<std::int64_t>& images,
                                        const std::vector<std::int64_t>& levels);

// Fill `group`'s null_design, mi_null and conditional figures for kind `kind` of `tokens`, each against
// `permutations` permutations from kNullSeed (nothing when `permutations` is 0):
// - the MI against a null that shuffles the labels over all tokens, or with images and levels permutes the (image,
//   level) units' chosen sets among all units, every unit keeping its objects (kNullUnitsShuffled);
// - with levels, for kinds other than the level: the MI given the level (units permuted among one level's units),
//   and given the level and each other kind h (I(set; kind | level, h); units permuted among the units of one level
//   whose objects carry the same multiset of h's labels, the figure stratified by (level, h) per token).
void add_specialisation_nulls(GroupRouting& group, std::size_t kind, const RoutingTokens& tokens,
                              std::int64_t permutations);

}  // namespace moexp
