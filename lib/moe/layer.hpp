// The MoE layer (docs/algorithm.md §1.4): gate -> top-k routing (with hard-constraint masking in training) -> only the
// routed sub-batch runs through each expert -> weighted combine (+ shortcut in the residual variant). Shapes: B batch,
// C channels, H×W spatial, E experts, K experts chosen per sample.
#pragma once

#include "moe/constraints.hpp"
#include "moe/gate.hpp"
#include "moe/routing.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

namespace moexp::moe {

// How the experts of a layer run (moe.dispatch, config/choices.hpp): one pass per expert over its sub-batch, or all
// experts that received rows as one grouped computation (moe/grouped.hpp); automatic is per expert until grouping is
// measured to pay (layer.cpp says where the rule goes).
using config::Dispatch;

struct MoeLayerOptions {
  std::int64_t in_channels = 0;
  std::int64_t num_experts = 4;
  std::int64_t k = 2;
  config::GateKind gate = config::GateKind::gap_fc;
  bool noise = true;
  bool noise_from_input = false;  // the gate noise from GAP(x) (moe.noise_input = "input")
  Constraint constraint = Constraint::none;
  double weight = 0.5;     // soft constraint weight
  double threshold = 0.5;  // hard constraint tau
  Dispatch dispatch = Dispatch::automatic;
  // > 0: in training, every expert takes exactly C = ceil(capacity_factor * B * k / E) row slots, filled in batch
  // order; a (sample, expert) pair past its expert's C is dropped (its weight lost, the other's kept as it is) and
  // counted in MoeOutput::dropped_pairs. Static shapes, no host read; the experts run grouped (they must be
  // groupable). Evaluation runs every row (the dropless path).
  double capacity_factor = 0;
  // false: the layer only runs experts on another layer's routing (dispatch_combine), e.g. a RetinaNet head that
  // shares the other head's gate; it then has no gate and no hard-constraint state, and route_step throws.
  bool has_gate = true;
};

// How evaluation routes (clean logits, no masking, no noise); training always uses the trained routing.
struct EvalRouting {
  std::int64_t k = 0;               // test-time k; 0 = the trained k
  std::int64_t forced_expert = -1;  // >= 0: every sample to this expert
  bool uniform = false;             // dense uniform mixture over all experts
};

struct MoeOutput {
  torch::Tensor y_bchw;
  torch::Tensor aux_loss;         // scalar soft-constraint loss (0 for none and hard kinds)
  torch::Tensor weights_be;       // routing weights used (detached)
  torch::Tensor topk_idx_bk;      // chosen experts
  torch::Tensor clean_logits_be;  // gate's clean logits (detached)
  torch::Tensor dropped_pairs;    // int64 scalar: (sample, expert) pairs dropped by the capacity (undefined: none)
};

// One call's gate output and routing (MoeLayerImpl::route_step), kept so that several calls can share one
// auxiliary loss (detection heads route each pyramid level separately: MoeLayerImpl::aux_loss).
struct RouteStep {
  GateOutput gate;
  Routing routing;
};

class MoeLayerImpl : public torch::nn::Module {
 public:
  // `make_expert(i)` builds expert i; `shortcut` is the residual variant's skip path (an empty holder for the
  // default variant; torch::nn::Identity for an identity skip).
  MoeLayerImpl(const MoeLayerOptions& options, const std::function<torch::nn::Sequential(std::int64_t)>& make_expert,
               torch::nn::AnyModule shortcut = {});

  MoeOutput forward(const torch::Tensor& x_bchw);

  // The parts of forward, for callers that route several inputs with this layer and combine their losses:
  // gate and route x_bchw (in training: noise, hard-constraint masking, and the hard constraint's state updated with
  // this call's weights) ...
  RouteStep route_step(const torch::Tensor& x_bchw);
  // ... the soft constraint's loss over the weight rows of all `steps` together (zero for none and hard kinds, and
  // in eval mode) ...
  torch::Tensor aux_loss(const std::vector<RouteStep>& steps) const;

  void set_eval_routing(const EvalRouting& routing) { m_eval = routing; }
  const MoeLayerOptions& options() const { return m_options; }
  // The hard constraint's state, or an empty holder for soft/no constraints.
  HardConstraint hard_constraint() const { return m_hard; }

  // Run only the sub-batches routed by `routing` through their experts and combine with the routing weights, per
  // expert or grouped as options().dispatch says.
  torch::Tensor dispatch_combine(const torch::Tensor& x_bchw, const Routing& routing);
  // Whether this layer's experts can run grouped (their modules are all of kinds moe/grouped.hpp knows).
  bool can_group() const { return m_can_group; }
  // The capacity dispatch (options().capacity_factor > 0, training): every expert grouped over C = ceil(f B k / E)
  // slots, rows in batch order, later rows dropped. Returns the mixed output and the dropped pairs (int64 scalar),
  // with no host read.
  std::pair<torch::Tensor, torch::Tensor> capacity_dispatch_combine(const torch::Tensor& x_bchw,
                                                                    const Routing& routing);

 private:
  Routing route(const GateOutput& gate_out, std::int64_t batch);

  MoeLayerOptions m_options;
  EvalRouting m_eval;
  Gate m_gate{nullptr};
  torch::nn::ModuleList m_experts;
  torch::nn::AnyModule m_shortcut;
  HardConstraint m_hard{nullptr};
  bool m_can_group = false;
};
TORCH_MODULE(MoeLayer);

}  // namespace moexp::moe
