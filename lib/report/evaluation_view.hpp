// Rendering the results of `moexp evaluate` as readable text or JSON (Torch-free).
#pragma once

#include "core/metrics.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moexp::report {

struct EvaluatedSetting {
  std::int64_t evaluation_id = 0;
  std::string setting;                    // "trained", "k=N", "expert=I", "uniform"
  std::map<std::string, double> metrics;  // named figures as stored: "acc", "top5_acc", "loss", ...
  std::vector<std::int64_t> class_samples;
  std::vector<std::int64_t> class_correct;
  std::vector<LayerRouting> routing;
};

struct EvaluationView {
  std::int64_t run_id = 0;
  std::string run_name;
  std::int64_t checkpoint_epoch = 0;
  std::string split;
  std::int64_t samples = 0;
  std::int64_t trained_k = 0;
  std::vector<std::string> class_names;
  std::vector<std::string> superclass_names;
  std::vector<EvaluatedSetting> settings;  // the first is the trained routing
};

// The `top` classes with the largest mean weight for `expert`, as (class index, weight), best first.
std::vector<std::pair<std::size_t, double>> top_classes(const LayerRouting& layer, std::size_t expert,
                                                        std::size_t top = 5);

// Human-readable report: accuracy per setting, then per MoE layer of the trained routing: expert shares with top-5
// classes, class x expert and superclass x expert tables, pair co-activation, specialisation against its control.
std::string render_evaluation_text(const EvaluationView& view);

// The same content as one JSON object.
std::string render_evaluation_json(const EvaluationView& view);

}  // namespace moexp::report
