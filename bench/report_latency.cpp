// Bench: `moexp report` and `moexp runs` latency on a generated database of 1,000 runs x 150 epochs x 4 MoE layers
// x 10 experts (goal: each under a second). Reference measured in the same run: one full scan of the epochs table.
// Usage: build/bench/moexp_bench_report [DB_PATH]   (generates the DB when it does not exist)
#include "report/commands.hpp"
#include "store/result_store.hpp"
#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

using namespace moexp;

namespace {

double seconds_of(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void generate(const std::string& path) {
  store::ResultStore db(path);
  const char* kinds[] = {"importance", "kl", "relative", "absolute"};
  for (int run = 0; run < 1000; ++run) {
    const std::string kind = kinds[run % 4];
    const int experts = run % 8 < 4 ? 4 : 10;
    store::NewRun row{fmt::format("bench-{}", run),
                      "",
                      fmt::format("{:016x}", run),
                      {{"constraint.kind", "\"" + kind + "\""},
                       {"moe.num_experts", std::to_string(experts)},
                       {"moe.enabled", "true"},
                       {"moe.position", "[1, 2, 3, 4]"},
                       {"train.seed", std::to_string(run / 8)},
                       {"data.dataset", "\"cifar100\""}},
                      "cpu",
                      "bench",
                      0,
                      {}};
    const auto id = db.runs().create(row);
    for (int epoch = 1; epoch <= 150; ++epoch) {
      EpochRecord r;
      r.epoch = epoch;
      // The named metrics a classification epoch records (lib/train/trainer.cpp).
      for (const char* split : {"train", "test"}) {
        r.set(split, "loss", 1.0 / epoch);
        r.set(split, "acc", 0.5 + 0.001 * epoch);
        r.set(split, "top5_acc", 0.7 + 0.001 * epoch);
      }
      r.set("", "aux_loss", 0.01);
      r.set("", "lr", 1e-3);
      r.set("", "seconds", 30);
      r.set("", "images_per_s", 600);
      for (int layer = 0; layer < 4; ++layer) {
        LayerRouting l;
        l.layer = layer;
        l.position = layer + 1;
        l.importance_share.assign(10, 0.1);
        l.sample_share.assign(10, 0.2);
        summarize_routing(l);
        r.train_routing.push_back(l);
        r.test_routing.push_back(l);
      }
      db.record_epoch(id, r);
    }
    db.runs().finish(id, RunStatus::finished);
    if (run % 100 == 99) {
      fmt::print(stderr, "generated {} runs\n", run + 1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/tmp/moexp-bench-1000.db";
  if (!std::filesystem::exists(path)) {
    // Generated under a temporary name and renamed when complete: an interrupted generation is never reused.
    const std::string partial = path + ".partial";
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(partial + suffix);
    }
    const double t = seconds_of([&] { generate(partial); });
    std::filesystem::rename(partial, path);
    fmt::print("generated {} in {:.0f} s\n", path, t);
  }
  double reference = seconds_of([&] {
    store::Database raw(path);
    store::Statement scan(raw, "SELECT count(*), avg(value) FROM epoch_metrics WHERE split = 'test' AND name = 'acc'");
    scan.step();
  });
  // Output of the commands goes to /dev/null; only their latency matters here.
  std::fflush(stdout);
  const int saved = ::dup(1);
  std::FILE* null = std::fopen("/dev/null", "w");
  ::dup2(::fileno(null), 1);
  report::ReportRequest rep;
  rep.db_path = path;
  rep.format = "markdown";
  const double report_s = seconds_of([&] { report::run_report(rep); });
  report::RunsRequest runs;
  runs.db_path = path;
  runs.where = "constraint.kind = 'relative' and moe.num_experts in (4, 10)";
  runs.sort = "-test_acc";
  const double runs_s = seconds_of([&] { report::run_runs(runs); });
  std::fflush(stdout);
  ::dup2(saved, 1);
  fmt::print("{:<44} {:>9} {:>12}\n", "query (1,000 runs x 150 epochs x 4 x 10)", "seconds", "x reference");
  fmt::print("{:<44} {:>9.3f} {:>12}\n", "reference: full scan of epoch metrics", reference, "1.0");
  fmt::print("{:<44} {:>9.3f} {:>12.1f}\n", "moexp report (goal < 1 s)", report_s, report_s / reference);
  fmt::print("{:<44} {:>9.3f} {:>12.1f}\n", "moexp runs --where ... --sort (goal < 1 s)", runs_s, runs_s / reference);
  return 0;
}
