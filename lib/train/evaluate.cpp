#include "data/batches.hpp"
#include "train/routing_stats.hpp"
#include "train/trainer.hpp"

namespace moexp::train {

EvalResult evaluate(models::ResNet& model, const data::Dataset& ds, const data::DataSplits& data,
                    const torch::Device& device, std::int64_t batch_size) {
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  RoutingAccumulator routing(model->moe_positions(),
                             model->moe_layers().empty() ? 0 : model->moe_layers().front()->options().num_experts);
  auto gen = data::epoch_generator(0, 0, 0);
  const data::Augmentation none;
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  auto correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(device));
  for (std::int64_t start = 0; start < ds.size(); start += batch_size) {
    const auto n = std::min(batch_size, ds.size() - start);
    auto idx = torch::arange(start, start + n, torch::kLong);
    auto x = data::make_batch(ds, idx, data, none, gen, device);
    auto y = ds.labels_n.index_select(0, idx).to(device);
    auto out = model->forward(x);
    loss_sum += torch::nn::functional::cross_entropy(
                    out.logits_bn.to(torch::kFloat), y,
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kDouble);
    correct += (out.logits_bn.argmax(1) == y).sum();
    routing.add(out.routing);
  }
  model->train(was_training);
  EvalResult r;
  r.samples = ds.size();
  r.loss = loss_sum.item<double>() / static_cast<double>(std::max<std::int64_t>(1, ds.size()));
  r.accuracy = static_cast<double>(correct.item<std::int64_t>()) / static_cast<double>(std::max<std::int64_t>(1, ds.size()));
  r.routing = routing.summarize();
  return r;
}

} // namespace moexp::train
