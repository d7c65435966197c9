#include "train/run.hpp"

#include "config/canonical.hpp"
#include "config/load.hpp"
#include "config/schema.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/progress.hpp"
#include "core/stop_signals.hpp"
#include "core/text.hpp"
#include "store/result_store.hpp"
#include "train/device.hpp"
#include "train/run_ledger.hpp"
#include "train/task_setup.hpp"
#include "train/trainer.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace moexp::train {
namespace {

// Prints one summary line per epoch to stdout, then forwards to the store.
class ConsoleSink : public MetricsSink {
 public:
  ConsoleSink(MetricsSink& next, std::int64_t epochs, TaskKind task) : m_next(next), m_epochs(epochs), m_task(task) {}
  void record_epoch(const EpochRecord& r) override {
    m_next.record_epoch(r);
    std::string routing;
    for (const auto& layer : r.test_routing) {
      routing += fmt::format("  moe@{} cv {:.2f} living {}", moe_layer_label(m_task, layer.position),
                             layer.importance_cv, layer.living_experts);
    }
    // Each split's loss, then its accuracy when the task has one (classification), else its other figures.
    auto split = [&](const char* name) {
      std::string out = fmt::format("{} loss {:.4f}", name, r.find(metric_key(name, "loss")).value_or(NAN));
      if (auto acc = r.find(metric_key(name, "acc"))) {
        out += fmt::format(" acc {:6.2f}%", 100 * *acc);
        if (auto dropped = r.find(metric_key(name, "dropped_share"))) {  // moe.capacity_factor
          out += fmt::format(" dropped {:.2f}%", 100 * *dropped);
        }
        return out;
      }
      for (const auto& m : r.metrics) {
        if (m.split == name && m.name != "loss") {
          out += fmt::format(" {} {:.4g}", m.name, m.value);
        }
      }
      return out;
    };
    fmt::print("epoch {:>3}/{}  {}  {}  aux {:.4f}  lr {:.2g}  {:.1f}s  {:.0f} img/s{}\n", r.epoch, m_epochs,
               split("train"), split("test"), r.at(kAuxLossMetric), r.at(kLrMetric), r.at(kSecondsMetric),
               r.at(kImagesPerSecondMetric), routing);
    std::fflush(stdout);
  }

 private:
  MetricsSink& m_next;
  std::int64_t m_epochs;
  TaskKind m_task;
};

// The checkpoint model.init_from names: a run of the database at `db_path` (its id) or a file. A run writing a journal
// (`journal_folder` set: it never opens the database) finds a run id's folder beside its own. ConfigError naming the
// key when there is none.
std::filesystem::path init_checkpoint(const config::ExperimentConfig& cfg, const std::string& db_path,
                                      const std::filesystem::path& journal_folder) {
  const auto& from = cfg.model.init_from;
  if (!core::is_unsigned_integer(from)) {
    return from;  // a file, checked by config validation
  }
  const auto id = std::stoll(from);
  std::filesystem::path path;
  if (!journal_folder.empty()) {
    path = journal_folder.parent_path() / std::to_string(id) / "checkpoint.pt";
  } else {
    if (!std::filesystem::exists(db_path)) {
      throw ConfigError(fmt::format("model.init_from: run {}: database {} does not exist", id, db_path));
    }
    {
      store::ResultStore db(db_path, store::OpenMode::read_only);
      if (!db.runs().find(id)) {
        throw ConfigError(fmt::format("model.init_from: no run {} in {}", id, db_path));
      }
    }
    path = store::run_folder(db_path, id) / "checkpoint.pt";
  }
  if (!std::filesystem::is_regular_file(path)) {
    throw ConfigError(fmt::format("model.init_from: run {} has no checkpoint ({} not found)", id, path.string()));
  }
  return path;
}

struct Prepared {
  config::ExperimentConfig cfg;
  std::optional<store::RunRow> resumed;
};

// A run a sweep set up in `req.run_folder` for a process away from the database: its config and uid from the files
// the sweep wrote there (config.toml, run.uid). Reads no database.
Prepared prepare_from_folder(const TrainRequest& req) {
  const auto& folder = *req.run_folder;
  if (!req.resume_run) {
    throw InputError("train: --run-folder goes with --resume RUN_ID (moexp sweep sets both)");
  }
  const auto config_file = folder / "config.toml";
  const auto uid_file = folder / "run.uid";
  for (const auto& file : {config_file, uid_file}) {
    if (!std::filesystem::is_regular_file(file)) {
      throw InputError(fmt::format("--run-folder {}: {} is missing (the sweep writes it when it starts the run)",
                                   folder.string(), file.filename().string()));
    }
  }
  Prepared p;
  p.cfg = config::load_experiment_file(config_file).config;
  p.resumed = store::RunRow{};
  p.resumed->id = *req.resume_run;
  p.resumed->uid = std::string(core::trim(core::read_text_file(uid_file)));
  return p;
}

Prepared prepare(const TrainRequest& req) {
  Prepared p;
  if (!req.resume_run) {
    auto loaded = config::load_experiment_file(req.experiment, req.overrides);
    for (const auto& warning : loaded.warnings) {
      fmt::print(stderr, "moexp: warning: {}\n", warning);
    }
    p.cfg = std::move(loaded.config);
    return p;
  }
  const auto id = *req.resume_run;
  if (!std::filesystem::exists(req.db_path)) {
    throw InputError(fmt::format("--resume {}: database {} does not exist", id, req.db_path));
  }
  store::ResultStore db(req.db_path);
  auto row = db.runs().find(id);
  if (!row) {
    throw InputError(fmt::format("--resume {}: no run {} in {}", id, id, req.db_path));
  }
  if (row->status == RunStatus::finished) {
    throw InputError(fmt::format("--resume {}: run {} already finished", id, id));
  }
  if (row->status == RunStatus::diverged) {
    throw InputError(fmt::format("--resume {}: run {} diverged; start a new run with other settings", id, id));
  }
  if (row->status == RunStatus::running && row->host == core::host_name() && row->pid &&
      ::kill(static_cast<pid_t>(*row->pid), 0) == 0 && *row->pid != ::getpid()) {
    throw InputError(fmt::format("--resume {}: run {} is still running (pid {})", id, id, *row->pid));
  }
  if (!req.overrides.empty()) {
    throw InputError(fmt::format("--resume {}: --set cannot change a run's config; start a new run instead", id));
  }
  p.cfg = config::load_experiment_text(row->config_toml, fmt::format("{} run {} config", req.db_path, id)).config;
  p.resumed = std::move(row);
  return p;
}

// Print the steps that started a new run's model (`initialised`), train the set-up run to its end and record it
// through `ledger`. Returns the exit code.
int fit_run(Trainer& trainer, const config::ExperimentConfig& cfg, std::int64_t run_id,
            const std::filesystem::path& folder, const std::vector<std::string>& initialised, RunLedger& ledger) {
  for (const auto& line : initialised) {
    fmt::print("run {}: {}\n", run_id, line);
  }
  std::fflush(stdout);
  ConsoleSink console(ledger.sink(), cfg.train.epochs, config::task_of(cfg));
  core::ProgressBar progress(stderr, core::is_terminal(stderr));
  core::StopSignals signals;
  FitResult result;
  try {
    result = trainer.fit(console, signals.flag(), folder / "checkpoint.pt", &progress);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    try {
      ledger.finish(RunStatus::failed, what);
    } catch (const std::exception& again) {
      // The ledger itself failed (a full disk): the run stays 'running' with this dead process, which a resume takes.
      throw Error(fmt::format("run {} failed: {}; its end could not be recorded, so it stays 'running' ({})", run_id,
                              what, ledger.resume_hint()));
    }
    if (dynamic_cast<const StoreError*>(&e) != nullptr) {
      // The epoch's commit failed (a full disk) but the failure was recorded: the checkpoint is intact.
      throw Error(
          fmt::format("run {} failed: {}; {} once the database can be written", run_id, what, ledger.resume_hint()));
    }
    throw Error(fmt::format("run {} failed: {}", run_id, what));
  }
  ledger.finish(result.status, result.error);
  fmt::print("run {}: {} after {} epoch(s){}; {}, files in {}\n", run_id, to_text(result.status), result.epochs_done,
             result.error.empty() ? "" : " (" + result.error + ")", ledger.results_text(), folder.string());
  if (result.status == RunStatus::diverged) {
    return kExitDiverged;
  }
  if (result.status == RunStatus::interrupted) {
    return kExitInterrupted;
  }
  return kExitOk;
}

void print_resumed(std::int64_t run_id, const config::ExperimentConfig& cfg, std::int64_t done,
                   const torch::Device& device, int threads) {
  if (done > 0) {
    fmt::print("run {}: resuming '{}' after epoch {}/{} on {}\n", run_id, cfg.name, done, cfg.train.epochs,
               device.str());
  } else {
    fmt::print("run {}: starting '{}' on {} with {} thread(s)\n", run_id, cfg.name, device.str(), threads);
  }
}

}  // namespace

int run_train(const TrainRequest& req) {
  Prepared p = req.run_folder ? prepare_from_folder(req) : prepare(req);
  const auto& cfg = p.cfg;
  const torch::Device device = pick_device(req.device);
  const int threads = set_threads(cfg.train.threads);
  const auto setup = load_task(cfg);  // bad data files fail here, before anything is written
  const std::filesystem::path journal_folder = req.run_folder.value_or(std::filesystem::path());
  // A resumed run's folder: its checkpoint, if it has one, is where training continues from.
  const std::filesystem::path resumed_folder = !p.resumed       ? std::filesystem::path()
                                               : req.run_folder ? *req.run_folder
                                                                : store::run_folder(req.db_path, p.resumed->id);
  // A new run (or one resumed before its first checkpoint) starts from model.init_from's weights.
  const bool has_checkpoint = p.resumed && std::filesystem::exists(resumed_folder / "checkpoint.pt");
  const auto init = has_checkpoint ? std::filesystem::path() : init_checkpoint(cfg, req.db_path, journal_folder);

  Trainer trainer(
      cfg, [&](const Execution& exec) { return setup->make_task(device, exec); }, device);
  const auto initialised = has_checkpoint ? std::vector<std::string>{} : setup->initialise(trainer.task(), init);
  std::int64_t done = 0;  // epochs a resumed run's checkpoint holds
  if (p.resumed) {
    trainer.set_run_uid(p.resumed->uid);
    done = has_checkpoint ? trainer.restore(resumed_folder / "checkpoint.pt") : 0;
  }
  const std::string host = core::host_name();
  if (req.run_folder) {  // away from the database: everything goes to the run's journal
    const std::int64_t run_id = p.resumed->id;
    journal::JournalStart start{.uid = p.resumed->uid,
                                .run_id = run_id,
                                .keep_epochs = done,
                                .device = device.str(),
                                .host = host,
                                .pid = ::getpid()};
    for (const auto& c : setup->classes()) {
      start.classes.push_back({c.name, c.superclass, c.superclass_name});
    }
    auto ledger = journal_ledger(journal_folder, start);
    print_resumed(run_id, cfg, done, device, threads);
    return fit_run(trainer, cfg, run_id, journal_folder, initialised, *ledger);
  }
  store::ResultStore db(req.db_path);
  std::int64_t run_id = 0;
  std::filesystem::path folder;
  if (p.resumed) {
    run_id = p.resumed->id;
    folder = resumed_folder;
    if (!db.resume_run(run_id, done, device.str(), host, ::getpid(), req.claimed_by)) {
      throw InputError(
          fmt::format("--resume {}: the sweep that started this process (pid {}) no longer holds run {} "
                      "(it was killed and a later sweep settled the run); leaving the run to that sweep",
                      run_id, *req.claimed_by, run_id));
    }
    db.runs().ensure_classes(run_id, setup->classes());
    print_resumed(run_id, cfg, done, device, threads);
  } else {
    store::NewRun row{.name = cfg.name,
                      .config_toml = config::canonical_toml(cfg),
                      .config_hash = config::config_hash(cfg),
                      .params = config::config_params(cfg),
                      .device = device.str(),
                      .host = host,
                      .pid = ::getpid(),
                      .classes = setup->classes()};
    run_id = db.runs().create(row);
    folder = store::run_folder(req.db_path, run_id);
    trainer.set_run_uid(db.runs().find(run_id)->uid);
    if (auto moved = store::set_aside_stale_folder(req.db_path, run_id)) {
      fmt::print(stderr, "moexp: warning: {} held files of another database's run {}; moved them to {}\n",
                 folder.string(), run_id, moved->string());
    }
    core::write_file_atomic(folder / "config.toml", row.config_toml);
    fmt::print("run {}: '{}' ({}, {}, {} train / {} test images) on {} with {} thread(s)\n", run_id, cfg.name,
               setup->model_text(),
               cfg.moe.enabled
                   ? fmt::format("{} experts, k={}, {}", cfg.moe.num_experts, cfg.moe.k, cfg.constraint.kind)
                   : std::string("dense"),
               setup->train_examples(), setup->test_examples(), device.str(), threads);
  }
  auto ledger = database_ledger(db, req.db_path, run_id);
  return fit_run(trainer, cfg, run_id, folder, initialised, *ledger);
}

}  // namespace moexp::train
