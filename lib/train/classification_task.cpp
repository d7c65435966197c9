#include "train/classification_task.hpp"

#include "core/error.hpp"
#include "data/batches.hpp"
#include "moe/host_read.hpp"
#include "train/device.hpp"
#include "train/routing_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace moexp::train {

torch::Tensor top_k_hits(const torch::Tensor& logits_bc, const torch::Tensor& y_b, std::int64_t k) {
  const auto top_bk = std::get<1>(logits_bc.topk(std::min(k, logits_bc.size(1)), 1));
  return (top_bk == y_b.unsqueeze(1)).any(1);
}

ClassGroups::ClassGroups(const data::DataSplits& data, const torch::Device& device, double collapse_share) {
  m_labels.kinds.push_back({kClassGroup, data.num_classes});
  m_labels.collapse_share = collapse_share;
  if (!data.superclass_of.empty()) {
    const auto groups = *std::max_element(data.superclass_of.begin(), data.superclass_of.end()) + 1;
    m_labels.kinds.push_back({kSuperclassGroup, groups});
    m_superclass_of_c = torch::tensor(data.superclass_of, torch::kLong).to(device);
  }
}

torch::Tensor ClassGroups::labels_bg(const torch::Tensor& y_b) const {
  auto class_b = y_b.to(torch::kLong);
  if (!m_superclass_of_c.defined()) {
    return class_b.unsqueeze(1);
  }
  return torch::stack({class_b, m_superclass_of_c.index_select(0, class_b)}, 1);
}

EvalResult evaluate(models::ResNet& model, const data::Dataset& ds, const data::DataSplits& data,
                    const torch::Device& device, const EvalOptions& options) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  const auto& layers = model->moe_layers();
  const ClassGroups groups(data, device, options.collapse_share);
  RoutingAccumulator routing(model->moe_positions(), layers.empty() ? 0 : layers.front()->options().num_experts,
                             groups.labels());
  auto gen = data::epoch_generator(0, 0, 0);
  const data::Augmentation none;
  const auto dopts = torch::TensorOptions().dtype(torch::kDouble).device(device);
  auto loss_sum = torch::zeros({}, dopts);
  auto class_total = torch::zeros({data.num_classes}, dopts.dtype(torch::kLong));
  auto class_correct = torch::zeros({data.num_classes}, dopts.dtype(torch::kLong));
  auto top5_correct = torch::zeros({}, dopts.dtype(torch::kLong));
  std::vector<std::vector<moe::MoeOutput>> kept;
  for (std::int64_t start = 0; start < ds.size(); start += options.batch_size) {
    const auto n = std::min(options.batch_size, ds.size() - start);
    auto idx = torch::arange(start, start + n, torch::kLong);
    auto x = data::make_batch(ds, idx, data, none, gen, device);
    if (options.channels_last) {
      x = x.contiguous(at::MemoryFormat::ChannelsLast);
    }
    auto y = ds.labels_n.index_select(0, idx).to(device);
    auto out = [&] {
      AutocastScope autocast(options.bf16, device);
      return model->forward(x);
    }();
    loss_sum +=
        torch::nn::functional::cross_entropy(out.logits_bn.to(torch::kFloat), y,
                                             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .to(torch::kDouble);
    auto hit = (out.logits_bn.argmax(1) == y).to(torch::kLong);
    class_total.index_add_(0, y, torch::ones_like(y));
    class_correct.index_add_(0, y, hit);
    top5_correct += top_k_hits(out.logits_bn, y, 5).sum();
    routing.add(out.routing, groups.labels_bg(y));
    if (options.keep_samples) {
      kept.push_back(out.routing);
    }
  }
  model->train(was_training);
  EvalResult r;
  r.samples = ds.size();
  r.loss = loss_sum.item<double>() / static_cast<double>(std::max<std::int64_t>(1, ds.size()));
  auto total = class_total.cpu();
  auto correct = class_correct.cpu();
  r.class_samples.assign(total.data_ptr<std::int64_t>(), total.data_ptr<std::int64_t>() + total.numel());
  r.class_correct.assign(correct.data_ptr<std::int64_t>(), correct.data_ptr<std::int64_t>() + correct.numel());
  r.accuracy = static_cast<double>(correct.sum().item<std::int64_t>()) /
               static_cast<double>(std::max<std::int64_t>(1, ds.size()));
  r.top5_accuracy = static_cast<double>(top5_correct.item<std::int64_t>()) /
                    static_cast<double>(std::max<std::int64_t>(1, ds.size()));
  r.routing = routing.summarize();
  for (std::size_t l = 0; l < layers.size() && !kept.empty(); ++l) {
    std::vector<torch::Tensor> logits, weights, chosen;
    for (const auto& batch : kept) {
      logits.push_back(batch[l].clean_logits_be.cpu());
      weights.push_back(batch[l].weights_be.cpu());
      chosen.push_back(batch[l].topk_idx_bk.cpu());
    }
    r.per_sample.push_back({torch::cat(logits), torch::cat(weights), torch::cat(chosen)});
  }
  return r;
}

ClassificationTask::ClassificationTask(const config::ExperimentConfig& cfg, const data::DataSplits& data,
                                       const torch::Device& device, const Execution& exec)
    : m_cfg(cfg),
      m_data(data),
      m_device(device),
      m_exec(exec),
      m_model(models::ResNet(cfg, data.channels, data.num_classes)),
      m_augmentation(data::training_augmentation(data, cfg.data.augment)),
      m_groups(data, device, cfg.moe.collapse_share) {
  m_model->to(device);
  if (resolve_on_device(cfg.data.on_device, device, data::DeviceSplit::bytes_of(data.train))) {
    m_device_split.emplace(data.train, data, device);
  }
}

bool resolve_on_device(config::OnDevice setting, const torch::Device& device, std::int64_t bytes) {
  switch (setting) {
    case config::OnDevice::on:
      return true;
    case config::OnDevice::off:
      return false;
    case config::OnDevice::automatic:
      return device.is_cuda() && bytes <= kOnDeviceLimitBytes;
  }
  return false;
}

void ClassificationTask::begin_epoch(std::int64_t /*epoch*/, const torch::Tensor& order_n) {
  m_order_n = order_n;
  m_batch = 0;
  const std::int64_t num_experts = m_cfg.moe.enabled ? m_cfg.moe.num_experts : 0;
  m_routing.emplace(m_model->moe_positions(), num_experts, m_groups.labels());
  const auto counts = torch::TensorOptions().dtype(torch::kLong).device(m_device);
  m_correct = torch::zeros({}, counts);
  m_correct_top5 = torch::zeros({}, counts);
  m_dropped = torch::zeros({}, counts);
}

BatchLoss ClassificationTask::train_batch(const torch::Tensor& idx_b, torch::Generator& augment) {
  torch::Tensor x, y;
  if (m_device_split) {
    // The epoch's batches are planned on its first: the trainer slices the same order by the same batch size, and
    // the augmentation numbers come from `augment` in the order make_batch would draw them.
    if (m_batch == 0) {
      m_device_split->plan_epoch(m_order_n, m_cfg.train.batch_size, m_augmentation, augment);
    }
    std::tie(x, y) = m_device_split->batch(m_batch++);
    if (x.size(0) != idx_b.size(0)) {
      throw Error("classification task: the planned batch differs from the trainer's (a bug)");
    }
  } else {
    x = data::make_batch(m_data.train, idx_b, m_data, m_augmentation, augment, m_device);
    y = m_data.train.labels_n.index_select(0, idx_b).to(m_device);
  }
  if (m_exec.channels_last) {
    x = x.contiguous(at::MemoryFormat::ChannelsLast);
  }
  models::ModelOutput out;
  torch::Tensor ce;
  {
    AutocastScope autocast(m_exec.bf16, m_device);
    out = m_model->forward(x);
    ce = torch::nn::functional::cross_entropy(out.logits_bn, y);
  }
  const auto logits_bc = out.logits_bn.detach();
  m_correct += (logits_bc.argmax(1) == y).sum();
  m_correct_top5 += top_k_hits(logits_bc, y, 5).sum();
  m_routing->add(out.routing, m_groups.labels_bg(y));
  for (const auto& layer : out.routing) {
    if (layer.dropped_pairs.defined()) {
      m_dropped += layer.dropped_pairs;
    }
  }
  return {ce, out.aux_loss, idx_b.size(0)};
}

std::string ClassificationTask::progress_text(std::int64_t seen) {
  return fmt::format("acc {:.2f}%", 100.0 * moe::read_double(m_correct) / static_cast<double>(seen));
}

SplitFigures ClassificationTask::end_epoch() {
  const auto n = static_cast<double>(m_data.train.size());
  SplitFigures figures;
  figures.metrics = {{"acc", static_cast<double>(m_correct.item<std::int64_t>()) / n},
                     {"top5_acc", static_cast<double>(m_correct_top5.item<std::int64_t>()) / n}};
  if (m_cfg.moe.enabled && m_cfg.moe.capacity_factor > 0) {
    // Dropped (sample, expert) pairs over all the epoch's pairs, every MoE layer's together.
    const auto pairs = n * static_cast<double>(m_cfg.moe.k * static_cast<std::int64_t>(m_model->moe_layers().size()));
    figures.metrics.emplace_back("dropped_share", static_cast<double>(m_dropped.item<std::int64_t>()) / pairs);
  }
  figures.routing = m_routing->summarize();
  m_routing.reset();
  return figures;
}

SplitFigures ClassificationTask::evaluate_test() {
  EvalResult test =
      evaluate(m_model, m_data.test, m_data, m_device,
               {m_cfg.train.eval_batch_size, m_cfg.moe.collapse_share, false, m_exec.bf16, m_exec.channels_last});
  return {test.figures(), std::move(test.routing)};
}

std::vector<std::pair<std::string, double>> EvalResult::figures() const {
  return {{"loss", loss}, {"acc", accuracy}, {"top5_acc", top5_accuracy}};
}

}  // namespace moexp::train
