#include "sweep/run_sweep.hpp"

#include "config/canonical.hpp"
#include "config/schema.hpp"
#include "config/sweep_backends.hpp"
#include "config/sweep_spec.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/host.hpp"
#include "core/metric_catalog.hpp"
#include "core/progress.hpp"
#include "core/stop_signals.hpp"
#include "core/text.hpp"
#include "core/text_table.hpp"
#include "store/result_store.hpp"
#include "sweep/local/local_runner.hpp"
#include "sweep/planner.hpp"
#include "sweep/slurm/slurm_runner.hpp"
#include "sweep/sweep_steps.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

namespace moexp::sweep {
namespace fs = std::filesystem;
namespace {

// A backend's line in the registry: its runner of `moexp sweep`, and what `moexp sweep status` asks of it (settle
// the attempts that ended since the last look, through its Backend::reconcile; returns how many).
struct BackendEntry {
  std::string_view name;  // an entry of config::kSweepBackends
  int (*run)(const config::SweepSpec&, const Plan&, const SweepRequest&);
  std::size_t (*settle_for_status)(store::ResultStore&, const std::string& db_path, std::int64_t sweep_id,
                                   const std::string& name);
};

// The backends, one line each (a new backend: its folder beside local/ and slurm/, and a line here).
constexpr std::array<BackendEntry, 2> kBackendEntries{{
    {"local", run_locally, settle_local_for_status},
    {"slurm", run_on_slurm, settle_slurm_for_status},
}};

// The registry line of backend `name`, or nullptr.
const BackendEntry* find_backend_entry(std::string_view name) {
  const auto it = std::find_if(kBackendEntries.begin(), kBackendEntries.end(),
                               [&](const BackendEntry& entry) { return entry.name == name; });
  return it == kBackendEntries.end() ? nullptr : &*it;
}

// "slurm": the backends that detach, for messages.
std::string detaching_backends() {
  std::vector<std::string> names;
  for (const auto& backend : config::kSweepBackends) {
    if (backend.detaches) {
      names.emplace_back(backend.name);
    }
  }
  return fmt::format("{}", fmt::join(names, " | "));
}

// The command line's overrides obey the same rules as the spec's keys (executor.jobs >= 1, ...).
void check_overrides(const SweepRequest& req) {
  auto at_least = [](const std::optional<std::int64_t>& v, const char* option, std::int64_t min) {
    if (v && *v < min) {
      throw InputError(fmt::format("sweep: {} {}: expected an integer >= {}", option, *v, min));
    }
  };
  at_least(req.jobs, "--jobs", 1);
  at_least(req.per_gpu, "--per-gpu", 1);
  at_least(req.array_parallelism, "--array-parallelism", 1);
  if (req.gpus) {
    for (auto id : *req.gpus) {
      if (id < 0) {
        throw InputError(fmt::format("sweep: --gpus: {} is not a GPU id (ids are >= 0)", id));
      }
    }
  }
  if (req.name && req.name->find_first_not_of(" \t") == std::string::npos) {
    throw InputError("sweep: --name: a sweep name must not be empty");
  }
  if (!req.moexp_exe.empty() && ::access(req.moexp_exe.c_str(), X_OK) != 0) {
    throw InputError(fmt::format("sweep: --moexp {}: not an executable file", req.moexp_exe));
  }
  if (!req.moexp_exe.empty() && fs::is_directory(req.moexp_exe)) {
    throw InputError(fmt::format("sweep: --moexp {}: is a folder, not the moexp binary", req.moexp_exe));
  }
}

// `target` = the command line's `value` when it gave one.
template <typename T, typename U>
void override_with(T& target, const std::optional<U>& value) {
  if (value) {
    target = *value;
  }
}

}  // namespace

int run_sweep(const SweepRequest& req) {
  check_overrides(req);
  auto spec = config::load_sweep_spec(req.spec);
  config::apply_sweep_overrides(spec, req.overrides);
  override_with(spec.name, req.name);
  override_with(spec.executor.jobs, req.jobs);
  override_with(spec.executor.gpus, req.gpus);
  override_with(spec.executor.per_gpu, req.per_gpu);
  override_with(spec.executor.backend, req.backend);
  override_with(spec.slurm.partition, req.partition);
  override_with(spec.slurm.array_parallelism, req.array_parallelism);
  spec.slurm.args.insert(spec.slurm.args.end(), req.slurm_args.begin(), req.slurm_args.end());
  // A dry run plans and prints without the data (it reads no data files); a real sweep needs it before it starts.
  Plan plan = plan_sweep(spec, req.dry_run ? MissingData::warn : MissingData::refuse);
  for (const auto& warning : spec.warnings) {
    fmt::print(stderr, "moexp: warning: {}\n", warning);
  }
  for (const auto& missing : plan.missing_data) {
    fmt::print(stderr, "moexp: warning: {}; the dry run plans without it\n", missing);
  }
  if (spec.sample > 0 && static_cast<std::size_t>(spec.sample) > plan.runs.size()) {
    fmt::print(stderr, "moexp: warning: {}: sample.count = {} exceeds the {} planned runs; all of them run\n",
               spec.file.string(), spec.sample, plan.runs.size());
  }
  const auto* backend = config::find_sweep_backend(spec.executor.backend);
  if (backend == nullptr) {  // the spec and the command line accept only kSweepBackends' names
    throw InputError(fmt::format("sweep: unknown backend '{}'", spec.executor.backend));
  }
  if (req.detach && !backend->detaches) {
    throw InputError(fmt::format("sweep: --detach needs a backend whose runs go on without this process (--backend {})",
                                 detaching_backends()));
  }
  const BackendEntry* entry = find_backend_entry(backend->name);
  if (entry == nullptr) {
    throw std::logic_error(fmt::format("sweep backend '{}' has no runner", backend->name));
  }
  return entry->run(spec, plan, req);
}

bool has_backend_runner(std::string_view name) {
  return find_backend_entry(name) != nullptr;
}

int sweep_status(const std::string& spec_or_name, const std::string& db_path, const std::string& metric_key) {
  std::string name = spec_or_name;
  if (fs::is_regular_file(spec_or_name)) {
    name = config::load_sweep_spec(spec_or_name).name;
  }
  if (!fs::exists(db_path)) {
    throw InputError(fmt::format("sweep status: database {} does not exist", db_path));
  }
  store::ResultStore db(db_path);
  auto id = db.sweeps().find(name);
  if (!id) {
    throw InputError(fmt::format("sweep status: no sweep '{}' in {}", name, db_path));
  }
  // Bad input is refused before Slurm tasks are settled (nothing is written for it).
  if (const auto keys = db.metrics().keys();
      !catalogued_metric(metric_key) && std::find(keys.begin(), keys.end(), metric_key) == keys.end()) {
    auto msg = fmt::format("sweep status: --metric {}: no run in {} stored it; metrics are {}", metric_key, db_path,
                           core::join_alternatives(keys));
    msg = core::with_suggestion(std::move(msg), metric_key, keys);
    throw InputError(msg);
  }
  // Runs that write journals (local `journal = true`, every Slurm task): what they recorded since a sweep last looked.
  // Safe beside a live sweep that ingests too: each record is applied once, by whichever process gets to it first.
  for (const auto& run : db.sweeps().runs(*id)) {
    ingest_run_journal_or_warn(db, db_path, run.run_id);
  }
  // Then every backend settles what ended while no sweep watched (a dead local sweep's claims, ended Slurm tasks).
  for (const auto& entry : kBackendEntries) {
    entry.settle_for_status(db, db_path, *id, name);
  }
  print_status_table(db, *id, name, metric_key);
  return 0;
}

}  // namespace moexp::sweep
