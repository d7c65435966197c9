// moe/host_read: the door counts every read; a classification MoE training step reads the host exactly once per MoE
// layer (the experts' row counts, which size each expert's sub-batch) and nothing else, with per-expert and grouped
// dispatch and with the data resident on the device; with moe.capacity_factor (static shapes) it reads nothing.
#include "config/load.hpp"
#include "data/batches.hpp"
#include "data/dataset.hpp"
#include "moe/host_read.hpp"
#include "testutil.hpp"
#include "train/classification_task.hpp"

#include <doctest/doctest.h>

using namespace moexp;

namespace {

// Host reads per training step (forward, loss, backward) of the tiny experiment with `overrides`, over one epoch.
std::vector<std::int64_t> reads_per_step(const std::vector<std::string>& overrides) {
  const auto cfg = config::load_experiment_text(test::tiny_experiment_toml(), "tiny.toml", overrides).config;
  const auto data = data::load_data(cfg.data);
  torch::manual_seed(1);
  train::ClassificationTask task(cfg, data, torch::kCPU,
                                 train::resolve_execution(cfg.train.precision, cfg.train.memory_format, torch::kCPU));
  const auto order = data::epoch_permutation(data.train.size(), 1, 1);
  auto gen = data::epoch_generator(1, 1, 2);
  task.begin_epoch(1, order);
  std::vector<std::int64_t> reads;
  for (std::int64_t start = 0; start < data.train.size(); start += cfg.train.batch_size) {
    const auto idx = order.narrow(0, start, std::min(cfg.train.batch_size, data.train.size() - start));
    const auto before = moe::host_reads();
    const auto loss = task.train_batch(idx, gen);
    (loss.task_loss + loss.aux_loss).backward();
    reads.push_back(moe::host_reads() - before);
  }
  return reads;
}

}  // namespace

TEST_CASE("host read: the door counts each read and returns the values") {
  const auto before = moe::host_reads();
  CHECK(moe::read_to_host(torch::tensor({1, 2, 3})).sum().item<std::int64_t>() == 6);
  CHECK(moe::read_double(torch::tensor(2.5)) == 2.5);
  CHECK(moe::host_reads() - before == 2);
}

TEST_CASE("host read: a classification MoE step reads the host once per MoE layer, in every dispatch mode") {
  CHECK(reads_per_step({}) == std::vector<std::int64_t>(4, 1));  // 256 samples, batches of 64, one MoE layer
  CHECK(reads_per_step({"moe.dispatch=\"grouped\""}) == std::vector<std::int64_t>(4, 1));
  CHECK(reads_per_step({"data.on_device=\"on\""}) == std::vector<std::int64_t>(4, 1));
  CHECK(reads_per_step({"moe.position=[1, 2]"}) == std::vector<std::int64_t>(4, 2));
  CHECK(reads_per_step({"moe.enabled=false"}) == std::vector<std::int64_t>(4, 0));
}

TEST_CASE("host read: with moe.capacity_factor a classification MoE step reads nothing from the host") {
  CHECK(reads_per_step({"moe.capacity_factor=1.25"}) == std::vector<std::int64_t>(4, 0));
  CHECK(reads_per_step({"moe.capacity_factor=1.25", "data.on_device=\"on\"", "moe.position=[1, 2]"}) ==
        std::vector<std::int64_t>(4, 0));
}
