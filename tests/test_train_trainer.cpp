#include "config/load.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "testutil.hpp"
#include "train/trainer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>

using namespace moexp;

namespace {

config::ExperimentConfig tiny(const std::vector<std::string>& overrides = {}) {
  return config::load_experiment_text(test::tiny_experiment_toml(), "tiny.toml", overrides).config;
}

std::vector<EpochRecord> run_epochs(const config::ExperimentConfig& cfg, const data::DataSplits& d,
                                    const std::filesystem::path& checkpoint = {}, std::int64_t resume_from = 0) {
  torch::set_num_threads(1);
  train::Trainer trainer(cfg, d, torch::kCPU);
  if (!checkpoint.empty() && resume_from > 0) {
    CHECK(trainer.restore(checkpoint) == resume_from);
  }
  MemorySink sink;
  std::atomic<bool> stop{false};
  auto result = trainer.fit(sink, stop, checkpoint, nullptr);
  CHECK(result.status == RunStatus::finished);
  return sink.epochs;
}

// Train `cfg` and stop it (as Ctrl-C does) once epoch `epochs` is recorded and checkpointed.
void interrupt_after(const config::ExperimentConfig& cfg, const data::DataSplits& d,
                     const std::filesystem::path& checkpoint, std::int64_t epochs, const std::string& run_uid = "") {
  struct StopAt : MetricsSink {
    std::atomic<bool>& stop;
    std::int64_t at;
    StopAt(std::atomic<bool>& s, std::int64_t e) : stop(s), at(e) {}
    void record_epoch(const EpochRecord& r) override { stop = stop || r.epoch >= at; }
  };
  torch::set_num_threads(1);
  train::Trainer trainer(cfg, d, torch::kCPU);
  trainer.set_run_uid(run_uid);
  std::atomic<bool> stop{false};
  StopAt sink(stop, epochs);
  CHECK(trainer.fit(sink, stop, checkpoint, nullptr).status == RunStatus::interrupted);
}

double sum(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0);
}

}  // namespace

TEST_CASE("trainer: learning-rate schedules") {
  config::TrainConfig t;
  t.lr = 1.0;
  t.epochs = 10;
  t.lr_milestones = {3, 6};
  t.lr_gamma = 0.1;
  CHECK(train::learning_rate(t, 0) == 1.0);
  CHECK(train::learning_rate(t, 2) == 1.0);
  CHECK(train::learning_rate(t, 3) == doctest::Approx(0.1));
  CHECK(train::learning_rate(t, 9) == doctest::Approx(0.01));
  t.warmup_epochs = 2;
  CHECK(train::learning_rate(t, 0) == doctest::Approx(0.5));
  t.warmup_epochs = 0;
  t.schedule = config::Schedule::cosine;
  CHECK(train::learning_rate(t, 0) == doctest::Approx(1.0));
  CHECK(train::learning_rate(t, 5) == doctest::Approx(0.5));
  t.schedule = config::Schedule::constant;
  CHECK(train::learning_rate(t, 9) == 1.0);
}

TEST_CASE("trainer: a tiny synthetic run records every epoch with consistent routing statistics") {
  auto cfg = tiny();
  auto d = data::load_data(cfg.data);
  auto epochs = run_epochs(cfg, d);
  REQUIRE(epochs.size() == 2);
  for (const auto& e : epochs) {
    CHECK(std::isfinite(e.at("train_loss")));
    CHECK(e.at("test_acc") >= 0.0);
    CHECK(e.at("aux_loss") > 0.0);
    CHECK(e.at("images_per_s") > 0.0);
    CHECK(e.at("test_top5_acc") >= e.at("test_acc"));
    CHECK(e.at("train_top5_acc") >= e.at("train_acc"));
    for (const auto* split : {&e.train_routing, &e.test_routing}) {
      REQUIRE(split->size() == 1);
      const auto& layer = split->front();
      CHECK(layer.position == 1);
      CHECK(sum(layer.importance_share) == doctest::Approx(1.0));
      CHECK(sum(layer.sample_share) == doctest::Approx(2.0));  // k = 2
      CHECK(layer.living_experts <= 4);
    }
    CHECK(e.train_routing.front().samples == 256);
    CHECK(e.test_routing.front().samples == 128);
  }
  CHECK(epochs[1].at("train_loss") < epochs[0].at("train_loss"));
}

TEST_CASE("trainer: runs are deterministic on CPU, and a resumed run matches an uninterrupted one") {
  for (const char* kind : {"importance", "load", "relative", "absolute"}) {
    INFO(kind);
    auto cfg = tiny({"train.epochs=3", std::string("constraint.kind=") + kind});
    auto d = data::load_data(cfg.data);
    auto full = run_epochs(cfg, d);
    auto again = run_epochs(cfg, d);
    REQUIRE(full.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(full[i].at("train_loss") == again[i].at("train_loss"));
      CHECK(full[i].at("test_acc") == again[i].at("test_acc"));
    }
    test::TempDir dir;
    interrupt_after(cfg, d, dir / "ckpt.pt", 2);
    auto resumed = run_epochs(cfg, d, dir / "ckpt.pt", 2);
    REQUIRE(resumed.size() == 1);
    CHECK(resumed[0].epoch == 3);
    CHECK(resumed[0].at("train_loss") == doctest::Approx(full[2].at("train_loss")).epsilon(1e-6));
    CHECK(resumed[0].at("test_loss") == doctest::Approx(full[2].at("test_loss")).epsilon(1e-6));
    CHECK(resumed[0].at("test_acc") == full[2].at("test_acc"));
  }
}

TEST_CASE("trainer: every constraint scheme and the dense baseline train without NaN") {
  for (const char* kind : {"none", "importance", "kl", "load", "relative", "absolute"}) {
    auto cfg = tiny({std::string("constraint.kind=") + kind, "train.epochs=1"});
    auto d = data::load_data(cfg.data);
    auto epochs = run_epochs(cfg, d);
    INFO(kind);
    REQUIRE(epochs.size() == 1);
    CHECK(std::isfinite(epochs[0].at("train_loss")));
    CHECK(sum(epochs[0].train_routing[0].sample_share) == doctest::Approx(2.0));
  }
  auto dense = tiny({"moe.enabled=false", "train.epochs=1"});
  auto d = data::load_data(dense.data);
  auto epochs = run_epochs(dense, d);
  CHECK(epochs[0].train_routing.empty());
  CHECK(epochs[0].at("aux_loss") == 0.0);
}

TEST_CASE("trainer: a stop request ends the run as interrupted") {
  auto cfg = tiny();
  auto d = data::load_data(cfg.data);
  train::Trainer trainer(cfg, d, torch::kCPU);
  MemorySink sink;
  std::atomic<bool> stop{true};
  auto result = trainer.fit(sink, stop, {}, nullptr);
  CHECK(result.status == RunStatus::interrupted);
  CHECK(sink.epochs.empty());
}

TEST_CASE("trainer: a diverging run ends as diverged") {
  auto cfg = tiny({"train.lr=1e30", "train.optimizer=sgd", "train.epochs=2"});
  auto d = data::load_data(cfg.data);
  train::Trainer trainer(cfg, d, torch::kCPU);
  MemorySink sink;
  std::atomic<bool> stop{false};
  auto result = trainer.fit(sink, stop, {}, nullptr);
  CHECK(result.status == RunStatus::diverged);
  CHECK(result.error.find("non-finite loss") != std::string::npos);
}

TEST_CASE("trainer: a checkpoint of another architecture is refused with a clear error") {
  test::TempDir dir;
  auto cfg = tiny({"train.epochs=1"});
  auto d = data::load_data(cfg.data);
  run_epochs(cfg, d, dir / "ckpt.pt");
  auto other = tiny({"moe.num_experts=3", "moe.k=1"});
  train::Trainer trainer(other, d, torch::kCPU);
  CHECK_THROWS_AS(trainer.restore(dir / "ckpt.pt"), InputError);
  test::write_file(dir / "junk.pt", "not a checkpoint");
  CHECK_THROWS_AS(trainer.restore(dir / "junk.pt"), InputError);
}

TEST_CASE("trainer: bf16 autocast and channels-last train and evaluate with fp32 routing") {
  auto cfg = tiny({"train.epochs=1", "train.precision=bf16", "train.memory_format=channels_last"});
  CHECK(train::resolve_execution(config::Precision::automatic, config::MemoryFormat::automatic, torch::kCPU).bf16 ==
        false);
  CHECK(train::resolve_execution(config::Precision::automatic, config::MemoryFormat::automatic,
                                 torch::Device(torch::kCUDA, 0))
            .bf16);
  CHECK(train::resolve_execution(config::Precision::automatic, config::MemoryFormat::automatic,
                                 torch::Device(torch::kCUDA, 0))
            .channels_last);
  CHECK(train::resolve_execution(config::Precision::automatic, config::MemoryFormat::automatic, torch::kCPU)
            .channels_last);
  CHECK(train::resolve_execution(config::Precision::automatic, config::MemoryFormat::contiguous, torch::kCPU)
            .channels_last == false);
  CHECK(train::resolve_execution(config::Precision::fp32, config::MemoryFormat::contiguous,
                                 torch::Device(torch::kCUDA, 0))
            .bf16 == false);
  auto d = data::load_data(cfg.data);
  auto epochs = run_epochs(cfg, d);
  REQUIRE(epochs.size() == 1);
  CHECK(std::isfinite(epochs[0].at("train_loss")));
  CHECK(std::isfinite(epochs[0].at("test_loss")));
  CHECK(sum(epochs[0].train_routing[0].importance_share) == doctest::Approx(1.0));
  CHECK(sum(epochs[0].test_routing[0].sample_share) == doctest::Approx(2.0));
}

TEST_CASE("trainer: a checkpoint of another run or another config is refused on restore") {
  auto cfg = tiny({"train.epochs=2"});
  auto d = data::load_data(cfg.data);
  test::TempDir dir;
  interrupt_after(cfg, d, dir / "ckpt.pt", 1, "uid-of-run-a");
  {
    train::Trainer same(cfg, d, torch::kCPU);
    same.set_run_uid("uid-of-run-a");
    CHECK(same.restore(dir / "ckpt.pt") == 1);
  }
  train::Trainer other_run(cfg, d, torch::kCPU);
  other_run.set_run_uid("uid-of-run-b");  // e.g. a new database whose run 1 finds the old runs/1 folder
  CHECK_THROWS_WITH_AS(other_run.restore(dir / "ckpt.pt"),
                       doctest::Contains("the checkpoint belongs to another run (uid uid-of-run-a)"), InputError);
  auto changed = tiny({"train.epochs=2", "train.lr=0.5"});
  train::Trainer other_config(changed, d, torch::kCPU);
  CHECK_THROWS_WITH_AS(other_config.restore(dir / "ckpt.pt"),
                       doctest::Contains("the checkpoint was written for another config"), InputError);
}

TEST_CASE(
    "trainer: clip_gradient_norm scales gradients as torch.nn.utils.clip_grad_norm_ does, skipping gradient-less "
    "parameters") {
  torch::manual_seed(3);
  auto a = torch::randn({4, 3}, torch::requires_grad());
  auto b = torch::randn({5}, torch::requires_grad());
  auto unused = torch::randn({2}, torch::requires_grad());
  torch::optim::SGD optimizer({a, b, unused}, torch::optim::SGDOptions(0.1));
  auto reference_a = a.detach().clone().requires_grad_(true);
  auto reference_b = b.detach().clone().requires_grad_(true);
  for (double max_norm : {0.5, 1e6}) {
    for (auto* p : {&a, &b, &reference_a, &reference_b}) {
      p->mutable_grad() = torch::Tensor();
    }
    ((a * a).sum() * 3 + b.sum()).backward();
    ((reference_a * reference_a).sum() * 3 + reference_b.sum()).backward();
    train::clip_gradient_norm(optimizer, max_norm);
    torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{reference_a, reference_b}, max_norm);
    CHECK(torch::allclose(a.grad(), reference_a.grad()));
    CHECK(torch::allclose(b.grad(), reference_b.grad()));
    CHECK_FALSE(unused.grad().defined());
  }
  const double norm = std::sqrt(a.grad().pow(2).sum().item<double>() + b.grad().pow(2).sum().item<double>());
  CHECK(norm > 0.5);  // the large limit left them as computed
}
