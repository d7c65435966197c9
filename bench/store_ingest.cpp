// Store ingest: what `moexp train` writes per epoch (the epoch's metrics and its train and test routing snapshots:
// shares, CVs, class x expert and superclass x expert matrices with samples per group, co-activation) for TRIALS runs x
// EPOCHS epochs, through ResultStore, timed from opening the database to the last commit. bench/store_ingest.sh runs it
// next to Optuna's SQLite storage recording the same per-epoch values (bench/store_ingest_optuna.py). Usage:
// build/bench/moexp_bench_store DB_PATH [trials] [epochs]    Prints "seconds S values V rows R".
#include "routing_sample.hpp"
#include "store/result_store.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

using namespace moexp;

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: moexp_bench_store DB_PATH [trials] [epochs]\n");
    return 2;
  }
  const std::string path = argv[1];
  const int trials = argc > 2 ? std::stoi(argv[2]) : 100;
  const int epochs = argc > 3 ? std::stoi(argv[3]) : 50;
  std::filesystem::remove(path);
  const auto start = std::chrono::steady_clock::now();
  store::ResultStore db(path);
  for (int t = 0; t < trials; ++t) {
    store::NewRun row{fmt::format("trial-{}", t),
                      "",
                      fmt::format("{:016x}", t),
                      {{"constraint.kind", "\"importance\""}, {"train.seed", std::to_string(t)}},
                      "cpu",
                      "bench",
                      0,
                      {}};
    const auto id = db.runs().create(row);
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      db.record_epoch(id, bench::sample_epoch(epoch, 1, 4));
    }
    db.runs().finish(id, RunStatus::finished);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The values Optuna records too: 8 epoch scalars + per split and expert the importance and sample shares.
  const long values = static_cast<long>(trials) * epochs * (8 + 2 * 4 * 2);
  fmt::print("seconds {:.3f} values {} epochs {}\n", seconds, values, static_cast<long>(trials) * epochs);
  return 0;
}
