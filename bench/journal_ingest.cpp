// Journal ingest vs direct store writes: the scale-out path (runs write journals, the sweep ingests them) against
// today's local path (runs write the database), for RUNS runs x EPOCHS epochs x LAYERS MoE layers x EXPERTS experts
// (10 classes, 4 superclasses per layer and split). Each round, in alternating order: (a) direct: record_epoch per
// epoch into a fresh database; (b) journal write: a JournalSink per run, one synced record per epoch; (c) ingest of
// those journals into a fresh database, once with one ingest call per run (a sweep that was away) and once with one
// call per epoch (a sweep polling a running run). Prints each time and the ingest rates as ratios of (a), measured in
// the same run. Usage: build/bench/moexp_bench_journal DIR [runs] [epochs] [layers] [experts] [rounds]
#include "journal/run_journal.hpp"
#include "routing_sample.hpp"
#include "store/result_store.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

using namespace moexp;
namespace fs = std::filesystem;

namespace {

struct Shape {
  int runs = 100, epochs = 50, layers = 4, experts = 10;
};

std::vector<std::int64_t> create_runs(store::ResultStore& db, const Shape& shape) {
  std::vector<std::int64_t> ids;
  for (int t = 0; t < shape.runs; ++t) {
    ids.push_back(
        db.runs().create_pending({.name = fmt::format("run-{}", t), .config_hash = fmt::format("{:016x}", t)}));
  }
  return ids;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double direct(const fs::path& dir, const Shape& shape, const std::vector<EpochRecord>& epochs) {
  const auto path = (dir / "direct.db").string();
  fs::remove_all(dir);
  store::ResultStore db(path);
  const auto ids = create_runs(db, shape);
  const auto start = std::chrono::steady_clock::now();
  for (auto id : ids) {
    db.resume_run(id, 0, "cpu", "bench", 1);
    for (const auto& e : epochs) {
      db.record_epoch(id, e);
    }
    db.runs().finish(id, RunStatus::finished);
  }
  return seconds_since(start);
}

struct JournalTimes {
  double write = 0, ingest_per_run = 0, ingest_per_epoch = 0;
};

JournalTimes journaled(const fs::path& dir, const Shape& shape, const std::vector<EpochRecord>& epochs) {
  fs::remove_all(dir);
  JournalTimes t;
  for (const bool per_epoch : {false, true}) {
    const auto path = (dir / (per_epoch ? "per_epoch" : "per_run") / "moexp.db").string();
    store::ResultStore db(path);
    const auto ids = create_runs(db, shape);
    const auto journal_of = [&](std::int64_t id) { return journal::journal_path(store::run_folder(path, id)); };
    if (!per_epoch) {  // write every run's journal, as runs on other hosts would
      const auto start = std::chrono::steady_clock::now();
      for (auto id : ids) {
        journal::JournalSink sink(journal_of(id));
        sink.start({.uid = db.runs().find(id)->uid, .run_id = id, .device = "cpu", .host = "bench", .pid = 1});
        for (const auto& e : epochs) {
          sink.record_epoch(e);
        }
        sink.end(RunStatus::finished, "");
      }
      t.write = seconds_since(start);
      const auto ingest = std::chrono::steady_clock::now();
      for (auto id : ids) {
        db.ingest_journal(id, journal_of(id));
      }
      t.ingest_per_run = seconds_since(ingest);
    } else {  // a running run: each epoch's record ingested on its own (writing is not timed here)
      double ingest = 0;
      for (auto id : ids) {
        journal::JournalSink sink(journal_of(id));
        sink.start({.uid = db.runs().find(id)->uid, .run_id = id, .device = "cpu", .host = "bench", .pid = 1});
        for (std::size_t e = 0; e < epochs.size(); ++e) {
          sink.record_epoch(epochs[e]);
          if (e + 1 == epochs.size()) {
            sink.end(RunStatus::finished, "");
          }
          const auto start = std::chrono::steady_clock::now();
          db.ingest_journal(id, journal_of(id));
          ingest += seconds_since(start);
        }
      }
      t.ingest_per_epoch = ingest;
    }
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: moexp_bench_journal DIR [runs] [epochs] [layers] [experts] [rounds]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  Shape shape;
  shape.runs = argc > 2 ? std::stoi(argv[2]) : shape.runs;
  shape.epochs = argc > 3 ? std::stoi(argv[3]) : shape.epochs;
  shape.layers = argc > 4 ? std::stoi(argv[4]) : shape.layers;
  shape.experts = argc > 5 ? std::stoi(argv[5]) : shape.experts;
  const int rounds = argc > 6 ? std::stoi(argv[6]) : 2;
  std::vector<EpochRecord> epochs;
  for (int e = 1; e <= shape.epochs; ++e) {
    epochs.push_back(bench::sample_epoch(e, shape.layers, shape.experts));
  }
  const double n = static_cast<double>(shape.runs) * shape.epochs;
  fmt::print("{} runs x {} epochs x {} layers x {} experts ({} epochs in all)\n", shape.runs, shape.epochs,
             shape.layers, shape.experts, static_cast<long>(n));
  for (int round = 0; round < rounds; ++round) {
    double direct_s = 0;
    JournalTimes j;
    if (round % 2 == 0) {  // alternate the order: neither side always runs on a cold page cache
      direct_s = direct(dir / "direct", shape, epochs);
      j = journaled(dir / "journal", shape, epochs);
    } else {
      j = journaled(dir / "journal", shape, epochs);
      direct_s = direct(dir / "direct", shape, epochs);
    }
    fmt::print(
        "round {}: direct {:.2f} s ({:.0f} epochs/s) | journal write {:.2f} s | ingest per run {:.2f} s ({:.0f} "
        "epochs/s, {:.2f}x direct) | ingest per epoch {:.2f} s ({:.0f} epochs/s, {:.2f}x direct)\n",
        round + 1, direct_s, n / direct_s, j.write, j.ingest_per_run, n / j.ingest_per_run, direct_s / j.ingest_per_run,
        j.ingest_per_epoch, n / j.ingest_per_epoch, direct_s / j.ingest_per_epoch);
  }
  fs::remove_all(dir);
  return 0;
}
