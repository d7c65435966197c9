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
#include "data/dataset.hpp"
#include "store/result_store.hpp"
#include "store/store_sink.hpp"
#include "train/classification_task.hpp"
#include "train/detection_task.hpp"
#include "train/device.hpp"
#include "train/init_from.hpp"
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
  ConsoleSink(MetricsSink& next, std::int64_t epochs, bool detection)
      : m_next(next), m_epochs(epochs), m_detection(detection) {}
  void record_epoch(const EpochRecord& r) override {
    m_next.record_epoch(r);
    std::string routing;
    for (const auto& layer : r.test_routing) {
      routing += fmt::format("  moe@{} cv {:.2f} living {}", layer_label(layer.position), layer.importance_cv,
                             layer.living_experts);
    }
    // Each split's loss, then its accuracy when the task has one (classification), else its other figures.
    auto split = [&](const char* name) {
      std::string out = fmt::format("{} loss {:.4f}", name, r.find(metric_key(name, "loss")).value_or(NAN));
      if (auto acc = r.find(metric_key(name, "acc"))) {
        return out + fmt::format(" acc {:6.2f}%", 100 * *acc);
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
  // "1" for a stage; "cls_head" / "box_head" for detection's heads.
  std::string layer_label(int position) const {
    if (!m_detection) {
      return std::to_string(position);
    }
    return position == kClsHeadPosition ? "cls_head" : "box_head";
  }

  MetricsSink& m_next;
  std::int64_t m_epochs;
  bool m_detection;
};

std::vector<store::ClassInfo> class_infos(const data::DataSplits& data) {
  std::vector<store::ClassInfo> classes;
  for (std::size_t c = 0; c < data.class_names.size(); ++c) {
    const auto super = data.superclass_of[c];
    classes.push_back({data.class_names[c], super, data.superclass_names[static_cast<std::size_t>(super)]});
  }
  return classes;
}

// What run_train needs of a task's data beyond the task itself: its classes, split sizes and the factory.
struct TaskData {
  std::optional<data::DataSplits> classification;
  std::optional<DetectionData> detection;
  std::vector<store::ClassInfo> classes;
  std::int64_t train_examples = 0, test_examples = 0;
};

// Load the data of `cfg` (bad files fail here, before anything is written).
TaskData load_task_data(const config::ExperimentConfig& cfg) {
  TaskData d;
  if (config::is_detection(cfg)) {
    d.detection = load_detection_data(cfg);
    for (const auto& name : d.detection->class_names) {
      d.classes.push_back({name, 0, "object"});
    }
    d.train_examples = static_cast<std::int64_t>(d.detection->train.images.size());
    d.test_examples = static_cast<std::int64_t>(d.detection->val.images.size());
    return d;
  }
  d.classification = data::load_data(cfg.data);
  d.classes = class_infos(*d.classification);
  d.train_examples = d.classification->train.size();
  d.test_examples = d.classification->test.size();
  return d;
}

// The checkpoint model.init_from names: a run of the database at `db_path` (its id) or a file. ConfigError naming the
// key when there is none.
std::filesystem::path init_checkpoint(const config::ExperimentConfig& cfg, const std::string& db_path) {
  const auto& from = cfg.model.init_from;
  if (!core::is_unsigned_integer(from)) {
    return from;  // a file, checked by config validation
  }
  const auto id = std::stoll(from);
  if (!std::filesystem::exists(db_path)) {
    throw ConfigError(fmt::format("model.init_from: run {}: database {} does not exist", id, db_path));
  }
  {
    store::ResultStore db(db_path, store::OpenMode::read_only);
    if (!db.runs().find(id)) {
      throw ConfigError(fmt::format("model.init_from: no run {} in {}", id, db_path));
    }
  }
  auto path = store::run_folder(db_path, id) / "checkpoint.pt";
  if (!std::filesystem::is_regular_file(path)) {
    throw ConfigError(fmt::format("model.init_from: run {} has no checkpoint ({} not found)", id, path.string()));
  }
  return path;
}

// The task of `cfg`; a detection model starts from `init` (a checkpoint, when not empty), reported to `init_report`.
// How a new detection run's weights were initialised, for the run's first lines.
struct Initialised {
  std::vector<std::string> lines;
};

// The task of `cfg`; a new detection model (`fresh`) loads model.backbone_weights, then starts from `init` (a
// checkpoint, when not empty); what they did goes to `initialised`.
TaskFactory task_factory(const config::ExperimentConfig& cfg, const TaskData& data, const torch::Device& device,
                         bool fresh, const std::filesystem::path& init, Initialised& initialised) {
  if (data.detection) {
    return [&cfg, &data, device, fresh, init, &initialised](const Execution& exec) -> std::unique_ptr<Task> {
      auto task = std::make_unique<DetectionTask>(cfg, *data.detection, device, exec);
      if (fresh && !cfg.model.backbone_weights.empty()) {
        std::vector<std::string> unused;
        const auto report =
            load_backbone_weights(task->model(), cfg.model.backbone_weights, detect::RetinaNetImpl::part_of, &unused);
        initialised.lines.push_back(
            fmt::format("backbone weights from {}: {}{}", cfg.model.backbone_weights, report.summary(),
                        unused.empty() ? "" : fmt::format(" (not used: {})", fmt::join(unused, ", "))));
      }
      if (fresh && !init.empty()) {
        const auto report = init_retinanet(task->model(), cfg, init);
        initialised.lines.push_back(fmt::format("initialised from {}: {}", init.string(), report.summary()));
      }
      if (fresh && config::freezes_backbone(cfg.model.freeze)) {
        initialised.lines.push_back(config::freezes_fpn(cfg.model.freeze) ? "frozen: backbone, fpn"
                                                                          : "frozen: backbone");
      }
      return task;
    };
  }
  return [&cfg, &data, device](const Execution& exec) -> std::unique_ptr<Task> {
    return std::make_unique<ClassificationTask>(cfg, *data.classification, device, exec);
  };
}

struct Prepared {
  config::ExperimentConfig cfg;
  std::optional<store::RunRow> resumed;
};

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

}  // namespace

int run_train(const TrainRequest& req) {
  Prepared p = prepare(req);
  const auto& cfg = p.cfg;
  const torch::Device device = pick_device(req.device);
  const int threads = set_threads(cfg.train.threads);
  const TaskData data = load_task_data(cfg);  // bad data files fail here, before anything is written
  // A new run (or one resumed before its first checkpoint) starts from model.init_from's weights.
  const bool has_checkpoint =
      p.resumed && std::filesystem::exists(store::run_folder(req.db_path, p.resumed->id) / "checkpoint.pt");
  const auto init = has_checkpoint ? std::filesystem::path() : init_checkpoint(cfg, req.db_path);
  Initialised initialised;

  Trainer trainer(cfg, task_factory(cfg, data, device, !has_checkpoint, init, initialised), device);
  store::ResultStore db(req.db_path);
  const std::string host = core::host_name();
  std::int64_t run_id = 0;
  std::filesystem::path folder;
  if (p.resumed) {
    run_id = p.resumed->id;
    folder = store::run_folder(req.db_path, run_id);
    trainer.set_run_uid(p.resumed->uid);
    const auto checkpoint = folder / "checkpoint.pt";
    const std::int64_t done = std::filesystem::exists(checkpoint) ? trainer.restore(checkpoint) : 0;
    if (!db.resume_run(run_id, done, device.str(), host, ::getpid(), req.claimed_by)) {
      throw InputError(
          fmt::format("--resume {}: the sweep that started this process (pid {}) no longer holds run {} "
                      "(it was killed and a later sweep settled the run); leaving the run to that sweep",
                      run_id, *req.claimed_by, run_id));
    }
    db.runs().ensure_classes(run_id, data.classes);
    if (done > 0) {
      fmt::print("run {}: resuming '{}' after epoch {}/{} on {}\n", run_id, cfg.name, done, cfg.train.epochs,
                 device.str());
    } else {
      fmt::print("run {}: starting '{}' on {} with {} thread(s)\n", run_id, cfg.name, device.str(), threads);
    }
  } else {
    store::NewRun row{cfg.name,
                      config::canonical_toml(cfg),
                      config::config_hash(cfg),
                      config::config_params(cfg),
                      device.str(),
                      host,
                      ::getpid(),
                      data.classes};
    run_id = db.runs().create(row);
    folder = store::run_folder(req.db_path, run_id);
    trainer.set_run_uid(db.runs().find(run_id)->uid);
    if (auto moved = store::set_aside_stale_folder(req.db_path, run_id)) {
      fmt::print(stderr, "moexp: warning: {} held files of another database's run {}; moved them to {}\n",
                 folder.string(), run_id, moved->string());
    }
    core::write_file_atomic(folder / "config.toml", row.config_toml);
    fmt::print("run {}: '{}' ({}, {}, {} train / {} test images) on {} with {} thread(s)\n", run_id, cfg.name,
               config::is_detection(cfg) ? fmt::format("retinanet {} x{}", cfg.model.backbone, cfg.model.width)
                                         : std::string(config::name_of(cfg.model.arch)),
               cfg.moe.enabled
                   ? fmt::format("{} experts, k={}, {}", cfg.moe.num_experts, cfg.moe.k, cfg.constraint.kind)
                   : std::string("dense"),
               data.train_examples, data.test_examples, device.str(), threads);
  }
  for (const auto& line : initialised.lines) {
    fmt::print("run {}: {}\n", run_id, line);
  }
  std::fflush(stdout);

  store::StoreSink store_sink(db, run_id);
  ConsoleSink console(store_sink, cfg.train.epochs, config::is_detection(cfg));
  core::ProgressBar progress(stderr, core::is_terminal(stderr));
  core::StopSignals signals;
  FitResult result;
  try {
    result = trainer.fit(console, signals.flag(), folder / "checkpoint.pt", &progress);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    try {
      db.runs().finish(run_id, RunStatus::failed, what);
    } catch (const std::exception& again) {
      // The store itself failed (a full disk): the row stays 'running' with this dead process, which --resume takes.
      throw Error(
          fmt::format("run {} failed: {}; it stays 'running' in the database (`moexp train --resume {}` "
                      "continues it)",
                      run_id, what, run_id));
    }
    if (dynamic_cast<const StoreError*>(&e) != nullptr) {
      // The epoch's commit failed (a full disk) but the failure was recorded: the checkpoint is intact.
      throw Error(
          fmt::format("run {} failed: {}; `moexp train --resume {}` continues it once the database can be "
                      "written",
                      run_id, what, run_id));
    }
    throw Error(fmt::format("run {} failed: {}", run_id, what));
  }
  db.runs().finish(run_id, result.status, result.error);
  fmt::print("run {}: {} after {} epoch(s){}; results in {} (run {}), files in {}\n", run_id, to_text(result.status),
             result.epochs_done, result.error.empty() ? "" : " (" + result.error + ")", req.db_path, run_id,
             folder.string());
  if (result.status == RunStatus::diverged) {
    return kExitDiverged;
  }
  if (result.status == RunStatus::interrupted) {
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace moexp::train
