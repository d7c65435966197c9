#include "train/trainer.hpp"

#include "config/canonical.hpp"
#include "core/error.hpp"
#include "data/batches.hpp"
#include "moe/host_read.hpp"
#include "train/checkpoint.hpp"
#include "train/classification_task.hpp"
#include "train/device.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace moexp::train {
namespace {

constexpr std::int64_t kSyncEvery = 20;  // batches between host syncs (progress, divergence check)

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const config::TrainConfig& t,
                                                        std::vector<torch::Tensor> params) {
  switch (t.optimizer) {
    case config::Optimizer::sgd:
      return std::make_unique<torch::optim::SGD>(
          std::move(params), torch::optim::SGDOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay));
    case config::Optimizer::adam:
      return std::make_unique<torch::optim::Adam>(std::move(params),
                                                  torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
  }
  throw std::logic_error("make_optimizer: an optimizer without a case");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    group.options().set_lr(lr);
  }
}

// Drop every gradient (set_to_none): a parameter of an expert that received no samples then has no gradient, and
// Adam skips it instead of moving it by momentum. This also makes a resumed run (fresh, gradient-less parameters)
// step exactly like the uninterrupted one.
void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) {
        p.mutable_grad() = torch::Tensor();
      }
    }
  }
}

// Seed of the global generator (gate noise) for `epoch`: a resumed run replays the same noise.
std::uint64_t noise_seed(std::int64_t seed, std::int64_t epoch) {
  return static_cast<std::uint64_t>(seed) * 1000003ULL + static_cast<std::uint64_t>(epoch) * 7919ULL + 17ULL;
}

}  // namespace

void clip_gradient_norm(torch::optim::Optimizer& optimizer, double max_norm) {
  std::vector<torch::Tensor> grads, norms;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) {
        grads.push_back(p.grad());
        norms.push_back(p.grad().detach().to(torch::kFloat).norm(2));
      }
    }
  }
  if (grads.empty()) {
    return;
  }
  const auto total = torch::stack(norms).norm(2);
  const auto scale = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (auto& g : grads) {
    g.detach().mul_(scale.to(g.dtype()));
  }
}

double learning_rate(const config::TrainConfig& t, std::int64_t epoch) {
  if (epoch < t.warmup_epochs) {
    return t.lr * static_cast<double>(epoch + 1) / static_cast<double>(t.warmup_epochs);
  }
  switch (t.schedule) {
    case config::Schedule::cosine: {
      const double span = static_cast<double>(std::max<std::int64_t>(1, t.epochs - t.warmup_epochs));
      return t.lr * 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(epoch - t.warmup_epochs) / span));
    }
    case config::Schedule::step: {
      double lr = t.lr;
      for (auto milestone : t.lr_milestones) {
        if (epoch >= milestone) {
          lr *= t.lr_gamma;
        }
      }
      return lr;
    }
    case config::Schedule::constant:
      return t.lr;
  }
  return t.lr;
}

Trainer::Trainer(const config::ExperimentConfig& cfg, const TaskFactory& make_task, const torch::Device& device)
    : m_cfg(cfg), m_device(device) {
  m_exec = resolve_execution(cfg.train.precision, cfg.train.memory_format, device);
  torch::manual_seed(static_cast<std::uint64_t>(cfg.train.seed));
  m_task = make_task(m_exec);
  if (m_exec.channels_last) {
    to_channels_last(m_task->model());
  }
  m_optimizer = make_optimizer(cfg.train, m_task->model().parameters());
}

Trainer::Trainer(const config::ExperimentConfig& cfg, const data::DataSplits& data, const torch::Device& device)
    : Trainer(
          cfg, [&](const Execution& exec) { return std::make_unique<ClassificationTask>(cfg, data, device, exec); },
          device) {}

std::int64_t Trainer::restore(const std::filesystem::path& path) {
  auto info = load_checkpoint(path, m_task->model(), m_optimizer.get());
  const auto hash = config::config_hash(m_cfg);
  if (info.config_hash != hash) {
    throw InputError(
        fmt::format("{}: the checkpoint was written for another config (hash {}, this run's is {}); "
                    "move it away to start the run afresh",
                    path.string(), info.config_hash, hash));
  }
  if (!m_run_uid.empty() && info.run_uid != m_run_uid) {
    throw InputError(
        fmt::format("{}: the checkpoint belongs to another run ({}), not to this database's run (uid {}): "
                    "left by another database or copied from another run; move it away to start the run "
                    "afresh",
                    path.string(), info.run_uid.empty() ? "no run uid" : "uid " + info.run_uid, m_run_uid));
  }
  m_epochs_done = info.epoch;
  if (m_exec.channels_last) {
    to_channels_last(m_task->model());
  }
  return m_epochs_done;
}

FitResult Trainer::fit(MetricsSink& sink, const std::atomic<bool>& stop, const std::filesystem::path& checkpoint,
                       core::ProgressBar* progress) {
  using clock = std::chrono::steady_clock;
  const auto& t = m_cfg.train;
  auto& task = *m_task;
  auto& model = task.model();
  const std::int64_t n = task.train_examples();
  const std::int64_t batches = (n + t.batch_size - 1) / t.batch_size;
  const auto dopts = torch::TensorOptions().dtype(torch::kDouble).device(m_device);

  FitResult result{RunStatus::finished, m_epochs_done, ""};
  for (std::int64_t epoch = m_epochs_done + 1; epoch <= t.epochs; ++epoch) {
    const auto epoch_start = clock::now();
    torch::manual_seed(noise_seed(t.seed, epoch));
    const double lr = learning_rate(t, epoch - 1);
    set_learning_rate(*m_optimizer, lr);
    model.train();
    auto order = data::epoch_permutation(n, t.seed, epoch);
    auto gen = data::epoch_generator(t.seed, epoch, 2);
    task.begin_epoch(epoch, order);
    auto loss_sum = torch::zeros({}, dopts);
    auto aux_sum = torch::zeros({}, dopts);
    if (progress != nullptr) {
      progress->start(fmt::format("epoch {}/{}", epoch, t.epochs), batches);
    }
    for (std::int64_t b = 0; b < batches; ++b) {
      if (stop.load()) {
        if (progress != nullptr) {
          progress->finish();
        }
        return {RunStatus::interrupted, m_epochs_done, "stopped by a signal"};
      }
      auto idx = order.narrow(0, b * t.batch_size, std::min(t.batch_size, n - b * t.batch_size));
      const BatchLoss batch = task.train_batch(idx, gen);
      auto loss = batch.task_loss + batch.aux_loss;
      clear_gradients(*m_optimizer);
      loss.backward();
      if (t.grad_clip > 0) {
        clip_gradient_norm(*m_optimizer, t.grad_clip);
      }
      m_optimizer->step();

      loss_sum += batch.task_loss.detach().to(torch::kDouble) * static_cast<double>(batch.examples);
      aux_sum += batch.aux_loss.detach().to(torch::kDouble);
      if ((b + 1) % kSyncEvery == 0 || b + 1 == batches) {
        const auto seen = std::min(n, (b + 1) * t.batch_size);
        const double mean_loss = moe::read_double(loss_sum) / static_cast<double>(seen);
        const double aux = moe::read_double(aux_sum);
        if (!std::isfinite(mean_loss) || !std::isfinite(aux)) {
          if (progress != nullptr) {
            progress->finish();
          }
          return {RunStatus::diverged, m_epochs_done,
                  fmt::format("non-finite loss in epoch {} by batch {} ({} {}, aux {})", epoch, b + 1, task.loss_name(),
                              mean_loss, aux)};
        }
        if (progress != nullptr) {
          progress->update(b + 1, fmt::format("loss {:.4f} {}", mean_loss, task.progress_text(seen)));
        }
      }
    }
    if (progress != nullptr) {
      progress->finish();
    }
    const double train_seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    SplitFigures trained = task.end_epoch();
    SplitFigures test = task.evaluate_test();

    EpochRecord rec;
    rec.epoch = static_cast<int>(epoch);
    rec.set("train", "loss", loss_sum.item<double>() / static_cast<double>(n));
    for (const auto& [name, value] : trained.metrics) {
      rec.set("train", name, value);
    }
    for (const auto& [name, value] : test.metrics) {
      rec.set("test", name, value);
    }
    rec.set("", kAuxLossMetric, aux_sum.item<double>() / static_cast<double>(batches));
    rec.set("", kLrMetric, lr);
    rec.set("", kSecondsMetric, std::chrono::duration<double>(clock::now() - epoch_start).count());
    rec.set("", kImagesPerSecondMetric, static_cast<double>(n) / train_seconds);
    rec.train_routing = std::move(trained.routing);
    rec.test_routing = std::move(test.routing);
    sink.record_epoch(rec);
    m_epochs_done = epoch;
    if (!checkpoint.empty()) {
      save_checkpoint(checkpoint, model, m_optimizer.get(), {epoch, config::config_hash(m_cfg), m_run_uid});
    }
    result.epochs_done = epoch;
  }
  return result;
}

}  // namespace moexp::train
