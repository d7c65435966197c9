// Constraint schemes (docs/algorithm.md §3): soft auxiliary losses as pure functions, hard constraints as a small
// module whose state lives in registered buffers (so it is saved in checkpoints: moexp's deviation from the reference).
// Shapes: B batch, E experts, K experts chosen per sample.
#pragma once

#include "core/constraint_kinds.hpp"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace moexp::moe {

// CV²(v) = unbiased Var(v) / (mean(v)² + 1e-10) (docs/algorithm.md §3.2).
torch::Tensor cv_squared(const torch::Tensor& v_e);

// Importance loss (§3.2): `weight` · CV²(Σ_b weights_be).
torch::Tensor importance_loss(const torch::Tensor& weights_be, double weight);

// KL-to-uniform loss (§3.3): `weight` · Σ_i p_i log(p_i / (1/E)) with p_i = (Imp_i + 1e-10) / B.
torch::Tensor kl_uniform_loss(const torch::Tensor& weights_be, double weight);

// Load loss (§3.4, Shazeer's smooth load estimator; moexp's extension, not in the reference code):
// `weight` · CV²(Σ_b P(b,i)), P(b,i) = Φ((clean_i − kth_excl) / σ_i). Zero when k >= E.
torch::Tensor load_loss(const torch::Tensor& clean_logits_be, const torch::Tensor& noisy_logits_be,
                        const torch::Tensor& noise_std_be, std::int64_t k, double weight);

// Hard constraint state and rule (§3.5 relative, §3.6 absolute), active in training only.
class HardConstraintImpl : public torch::nn::Module {
 public:
  // `kind` is Constraint::relative or Constraint::absolute; `threshold` is tau.
  HardConstraintImpl(Constraint kind, std::int64_t num_experts, std::int64_t k, double threshold);

  // Experts blocked for this step (bool [E]): usage above tau, but never more than E−k of them (the most
  // over-used are blocked first), so at least k experts stay selectable.
  torch::Tensor blocked_experts() const;

  // Update the state from this step's (detached) routing weights: relative r += (Imp − B/E)/(B/E);
  // absolute m = (m·t + Imp/B)/(t+1), t += 1.
  void update(const torch::Tensor& weights_be);

  // The rule's score per expert: r (relative) or m − 1/E (absolute); blocked when score > tau.
  torch::Tensor usage_score() const;

  Constraint kind() const { return m_kind; }

 private:
  Constraint m_kind;
  std::int64_t m_num_experts;
  std::int64_t m_k;
  double m_threshold;
  torch::Tensor m_usage_e;  // buffer "usage": r (relative) or m (absolute)
  torch::Tensor m_steps;    // buffer "steps": t (absolute), steps seen (relative)
};
TORCH_MODULE(HardConstraint);

}  // namespace moexp::moe
