// The routing figures of a group of runs over seeds: group x expert matrices, co-activation and importance over
// epochs, with each seed's experts aligned to the first seed's (report/alignment.hpp) before the mean is taken.
#pragma once

#include "core/metrics.hpp"
#include "report/alignment.hpp"
#include "report/summary.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace moexp::report {

// One finished MoE run's figures, as read from the store: the input of combine_seeds.
struct SeedFigures {
  std::int64_t run_id = 0;
  std::string seed;            // train.seed as displayed
  LayerRouting routing;        // first MoE layer of the last test snapshot
  Matrix importance_by_epoch;  // [epoch - 1][expert], test split, first MoE layer
};

// A group x expert matrix of one group kind over seeds (aligned columns).
struct KindFigures {
  std::string kind;     // "class", "superclass", "size", ...
  MatrixStat matrix;    // G x E: mean and std over seeds of the mean gate weight
  Stat mi, mi_control;  // over seeds
  // Over the seeds that stored their permutation nulls (n 0 when none did): the null's mean and the p-values, and
  // the same for each conditional figure (given the level, given the level and another kind; the reference's order).
  Stat mi_null{}, mi_p{};
  struct Given {
    std::string given;  // a ConditionalMi::given name
    Stat mi{}, null{}, p{};
  };
  std::vector<Given> given{};
};

struct GroupFigures {
  std::vector<std::string> key_values;  // the report group
  std::string caption;                  // "constraint.kind=relative, moe.num_experts=4: 3 seeds (runs 4, 7, 9) ..."
  std::vector<std::int64_t> run_ids;    // the seeds combined, reference first
  std::vector<std::string> seeds;
  std::vector<std::string> class_names, superclass_names;  // of the reference run
  std::string alignment_kind;  // the group kind the experts were aligned by ("" when one seed)
  ExpertAlignment alignment;
  NullComparison alignment_null;   // matched correlation against row-shuffled seeds (aligned groups of >= 2 seeds)
  std::vector<KindFigures> kinds;  // in the reference's order
  MatrixStat coactivation;         // E x E pair counts (diagonal 0), aligned
  MatrixStat importance_by_epoch;  // [epoch - 1][expert], over the epochs every seed has
  std::size_t skipped = 0;         // runs left out: another expert count or other group kinds than the reference
};

// The group kind experts are aligned by: "class" when the routing has it, else its first kind ("" when none).
std::string alignment_kind_of(const LayerRouting& routing);

// Combine `seeds` (reference first; none empty of experts) into one group's figures. With `align` the experts of
// every seed are matched to the reference's by alignment_kind_of; the same matching reorders every figure.
GroupFigures combine_seeds(const std::vector<SeedFigures>& seeds, bool align);

// For each group of `by` with finished MoE runs (in group order): its seeds' figures read from `db` (lowest seed
// value first, which is the reference), combined. Runs without a test snapshot are left out.
std::vector<GroupFigures> group_figures(store::ResultStore& db, const std::vector<store::RunSummary>& runs,
                                        const std::vector<std::string>& by, bool align);

}  // namespace moexp::report
