#include "moe/constraints.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace moexp::moe {

torch::Tensor cv_squared(const torch::Tensor& v_e) {
  if (v_e.numel() < 2) {
    return torch::zeros({}, v_e.options());
  }
  auto mean = v_e.mean();
  return v_e.var(/*unbiased=*/true) / (mean * mean + 1e-10);
}

torch::Tensor importance_loss(const torch::Tensor& weights_be, double weight) {
  return weight * cv_squared(weights_be.sum(0));
}

torch::Tensor kl_uniform_loss(const torch::Tensor& weights_be, double weight) {
  const auto batch = static_cast<double>(weights_be.size(0));
  const auto experts = static_cast<double>(weights_be.size(1));
  auto p_e = (weights_be.sum(0) + 1e-10) / batch;
  return weight * (p_e * torch::log(p_e * experts)).sum();
}

torch::Tensor load_loss(const torch::Tensor& clean_logits_be, const torch::Tensor& noisy_logits_be,
                        const torch::Tensor& noise_std_be, std::int64_t k, double weight) {
  const auto experts = clean_logits_be.size(1);
  if (k >= experts || !noise_std_be.defined()) {
    return torch::zeros({}, clean_logits_be.options());
  }
  auto top_bk1 = std::get<0>(noisy_logits_be.topk(k + 1, /*dim=*/1));
  auto threshold_if_in_b1 = top_bk1.select(1, k).unsqueeze(1);       // (k+1)-th largest: the bar for a member
  auto threshold_if_out_b1 = top_bk1.select(1, k - 1).unsqueeze(1);  // k-th largest: the bar for an outsider
  auto is_in_be = noisy_logits_be > threshold_if_in_b1;
  auto normal_cdf = [](const torch::Tensor& x) { return 0.5 * (1.0 + torch::erf(x / std::sqrt(2.0))); };
  auto prob_if_in_be = normal_cdf((clean_logits_be - threshold_if_in_b1) / noise_std_be);
  auto prob_if_out_be = normal_cdf((clean_logits_be - threshold_if_out_b1) / noise_std_be);
  auto load_e = torch::where(is_in_be, prob_if_in_be, prob_if_out_be).sum(0);
  return weight * cv_squared(load_e);
}

HardConstraintImpl::HardConstraintImpl(Constraint kind, std::int64_t num_experts, std::int64_t k, double threshold)
    : m_kind(kind), m_num_experts(num_experts), m_k(k), m_threshold(threshold) {
  if (!constraint_info(kind).hard) {
    throw std::invalid_argument("HardConstraint: '" + std::string(constraint_info(kind).name) +
                                "' is not a hard constraint");
  }
  m_usage_e = register_buffer("usage", torch::zeros({num_experts}, torch::kFloat64));
  m_steps = register_buffer("steps", torch::zeros({}, torch::kFloat64));
}

torch::Tensor HardConstraintImpl::usage_score() const {
  switch (m_kind) {
    case Constraint::absolute:
      return m_usage_e - 1.0 / static_cast<double>(m_num_experts);
    case Constraint::relative:
      return m_usage_e;
    case Constraint::none:
    case Constraint::importance:
    case Constraint::kl:
    case Constraint::load:
      break;  // refused by the constructor
  }
  throw std::logic_error("HardConstraint::usage_score: not a hard constraint");
}

torch::Tensor HardConstraintImpl::blocked_experts() const {
  const auto score_e = usage_score();
  const auto over_e = score_e > m_threshold;
  const std::int64_t max_blocked = m_num_experts - m_k;
  // Guard (moexp deviation): when more than E−k experts are over the threshold, block only the E−k most over-used.
  // Decided on the device, so a training step reads nothing back to the host here.
  auto guard_e = torch::zeros_like(over_e);
  if (max_blocked > 0) {
    guard_e.index_fill_(0, std::get<1>(score_e.topk(max_blocked)), true);
  }
  return torch::where(over_e.sum() > max_blocked, guard_e, over_e);
}

void HardConstraintImpl::update(const torch::Tensor& weights_be) {
  torch::NoGradGuard no_grad;
  const auto batch = static_cast<double>(weights_be.size(0));
  auto importance_e = weights_be.detach().sum(0).to(m_usage_e.device(), torch::kFloat64);
  switch (m_kind) {
    case Constraint::relative: {
      const double uniform = batch / static_cast<double>(m_num_experts);
      m_usage_e.add_((importance_e - uniform) / uniform);
      break;
    }
    case Constraint::absolute:
      m_usage_e.mul_(m_steps).add_(importance_e / batch).div_(m_steps + 1);
      break;
    case Constraint::none:
    case Constraint::importance:
    case Constraint::kl:
    case Constraint::load:
      throw std::logic_error("HardConstraint::update: not a hard constraint");  // refused by the constructor
  }
  m_steps.add_(1);
}

}  // namespace moexp::moe
