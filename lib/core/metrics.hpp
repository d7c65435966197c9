// What a training run reports, as plain data (Torch-free), and the sink interface the trainer writes to.
// The store implements the sink with SQL (store::StoreSink); tests use MemorySink.
#pragma once

#include "core/permutation_test.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moexp {

// The group kinds classification summarises routing over (detection adds object-size buckets and FPN levels).
inline constexpr const char* kClassGroup = "class";
inline constexpr const char* kSuperclassGroup = "superclass";
inline constexpr const char* kLevelGroup = "level";  // detection: FPN level, 0 = P3
inline constexpr const char* kSizeGroup = "size";    // detection: COCO size bucket, 0 small, 1 medium, 2 large

// Display names of `groups` groups of a kind whose groups have fixed names (level: "P3", "P4", ...; size: "small",
// "medium", "large"); empty for other kinds (class names come from the run's classes; other kinds show numbers).
std::vector<std::string> fixed_group_names(const std::string& kind, std::size_t groups);

// A specialisation figure given other kinds: I(chosen set; group | given) / H(chosen set | given), against a null
// that permutes within the given kinds' strata (docs/algorithm.md §4.3).
struct ConditionalMi {
  std::string given;  // the kinds held fixed: "level", or several joined by kGivenJoin ("level_and_class")
  NullComparison mi{};
};

// What joins the names of several given kinds in ConditionalMi::given, and so in the metric names
// ("size_given_level_and_class_mi").
inline constexpr const char* kGivenJoin = "_and_";

// `kinds` joined by kGivenJoin: the ConditionalMi::given name of a figure given all of them.
std::string given_name(const std::vector<std::string>& kinds);

// A ConditionalMi::given name in words: "level and class".
std::string given_words(const std::string& given);

// Routing of one MoE layer over the groups of one kind (docs/algorithm.md §4.2): which experts serve which group, and
// how much the chosen set tells about the group. Groups are numbered 0..G-1 by the code that produces their labels.
struct GroupRouting {
  std::string kind;                               // "class", "superclass"; any other name a task labels tokens with
  std::vector<std::vector<double>> group_expert;  // G x E: mean gate weight per group (rows sum to 1)
  std::vector<std::int64_t> group_samples;        // routed tokens per group (not stored: the split's label counts)
  double mi = 0;                                  // I(chosen set; group) / H(chosen set), in [0, 1]
  double mi_control = 0;                          // the same with the group labels shuffled
  // mi against its permutation null (docs/algorithm.md §4.3), permutations 0 when not computed; `null_design` says
  // what was permuted (kNullLabelsShuffled, kNullUnitsShuffled).
  NullComparison mi_null{};
  std::string null_design{};
  // The specialisation given other kinds (detection: the level; the level and the class), each against its null;
  // empty when not computed.
  std::vector<ConditionalMi> given{};

  // The conditional figure given `given_kinds` (a ConditionalMi::given name), or nullptr.
  const ConditionalMi* given_figure(const std::string& given_kinds) const;
};

// What a specialisation null permutes: the tokens' labels over all tokens (classification: a token is an image), or
// the routing units' chosen sets (detection's objects: the units are (image, pyramid level) pairs, each keeping its
// objects' labels).
inline constexpr const char* kNullLabelsShuffled = "labels";
inline constexpr const char* kNullUnitsShuffled = "units";

// The seed of the specialisation nulls' permutations (recorded in each NullComparison).
inline constexpr std::uint64_t kNullSeed = 20261207;

// Routing statistics of one MoE layer over one split of one epoch.
struct LayerRouting {
  int layer = 0;                           // index of the MoE layer in the network (0-based, in forward order)
  int position = 0;                        // network position the layer replaces (0 = stem, 1.. = stage)
  std::int64_t samples = 0;                // tokens routed through the layer (an image in classification)
  std::vector<double> importance_share;    // per expert: mean gate weight per token (sums to 1)
  std::vector<double> sample_share;        // per expert: fraction of tokens routed to it (sums to k)
  double importance_cv = 0;                // population std / mean of importance_share
  double sample_cv = 0;                    // population std / mean of sample_share
  int living_experts = 0;                  // experts with importance share > kLivingShare
  std::vector<GroupRouting> groups;        // one per group kind the tokens were labelled with, in the task's order
  std::vector<std::int64_t> coactivation;  // E x E, row-major: tokens whose chosen set holds both i<j
  double sample_entropy = 0;               // mean over tokens of the entropy of the routing weights (nats)
  double mean_entropy = 0;                 // entropy of the mean routing distribution (importance shares, nats)
  double max_share = 0;                    // largest importance share
  bool collapsed = false;                  // max_share > the collapse threshold

  // The routing over groups of kind `kind`, or nullptr when the layer has none.
  const GroupRouting* group(const std::string& kind) const;
  // The routing over groups of kind `kind`, appended (empty) when absent.
  GroupRouting& group_or_add(const std::string& kind);
};

// An expert counts as living when its importance share exceeds this (docs/algorithm.md §4.1).
inline constexpr double kLivingShare = 0.01;

// Default share above which a layer counts as collapsed onto one expert.
inline constexpr double kCollapseShare = 0.9;

// Fill the share-derived fields (CVs, living experts, mean entropy, max share, collapse) of `layer`.
void summarize_routing(LayerRouting& layer, double collapse_share = kCollapseShare);

// Mutual information between `labels` and routing `symbols` (one per sample; a symbol identifies the chosen set),
// divided by the entropy of the symbols: 1 when the chosen set is a function of the label, about 0 when independent;
// 0 when every sample gets the same set.
double normalized_mutual_information(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& symbols);

// The same figure with `labels` shuffled by a fixed-seed permutation (the chance-level control).
double shuffled_mutual_information(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& symbols,
                                   std::uint64_t seed = 12345);

// Entropy (nats) of the distribution `p` (entries <= 0 are skipped).
double entropy(const std::vector<double>& p);

// Population coefficient of variation std/mean of `values`; 0 for an empty or all-zero vector.
double coefficient_of_variation(const std::vector<double>& values);

// One named figure of an epoch or an evaluation. `split` is "train" or "test" for figures measured on that split
// (loss, acc, top5_acc; detection adds AP, AP50, ...) and "" for figures of the epoch as a whole (lr, seconds,
// images_per_s, aux_loss). Users name a metric by its key: "test_acc", "train_loss", "lr" (metric_key).
struct Metric {
  std::string split;
  std::string name;
  double value = 0;
};

// The split-less metrics every task reports per epoch (the trainer's own figures).
inline constexpr const char* kAuxLossMetric = "aux_loss";              // mean summed auxiliary loss per training batch
inline constexpr const char* kLrMetric = "lr";                         // learning rate of the epoch
inline constexpr const char* kSecondsMetric = "seconds";               // wall time of the epoch (training + evaluation)
inline constexpr const char* kImagesPerSecondMetric = "images_per_s";  // training images per second

// The key users type for a metric: "<split>_<name>", or "<name>" when the split is "".
std::string metric_key(const std::string& split, const std::string& name);

// The inverse of metric_key: "test_top5_acc" -> {"test", "top5_acc"}; a key without a "train_" / "test_" prefix
// has split "".
Metric parse_metric_key(const std::string& key);

// Everything recorded for one finished epoch.
struct EpochRecord {
  int epoch = 0;                            // 1-based
  std::vector<Metric> metrics;              // named figures, at most one per (split, name)
  std::vector<LayerRouting> train_routing;  // routing actually used in training (noise, masking)
  std::vector<LayerRouting> test_routing;   // clean routing on the test split

  // Set metric (split, name) to `value`, replacing an earlier value.
  void set(const std::string& split, const std::string& name, double value);
  // The value of the metric with key `key` ("test_acc"), or nullopt.
  std::optional<double> find(const std::string& key) const;
  // The value of the metric with key `key`; throws std::out_of_range naming it when absent.
  double at(const std::string& key) const;
};

// Receives a run's epochs in order. Implementations must not throw on valid records.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // Record one finished epoch.
  virtual void record_epoch(const EpochRecord& record) = 0;
};

// In-memory twin of the store sink, for tests and for callers that want the numbers back.
class MemorySink : public MetricsSink {
 public:
  void record_epoch(const EpochRecord& record) override { epochs.push_back(record); }
  std::vector<EpochRecord> epochs;
};

}  // namespace moexp
