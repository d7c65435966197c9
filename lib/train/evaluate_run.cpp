#include "train/evaluate_run.hpp"

#include "config/canonical.hpp"
#include "config/load.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "report/evaluation_view.hpp"
#include "store/result_store.hpp"
#include "train/device.hpp"
#include "train/run.hpp"
#include "train/task_setup.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>

namespace moexp::train {
namespace fs = std::filesystem;
namespace {

struct Target {
  store::RunRow run;
  config::ExperimentConfig cfg;
  fs::path checkpoint;
};

Target resolve_target(const EvaluateRequest& req, store::ResultStore& db) {
  Target t;
  if (core::is_unsigned_integer(req.target)) {
    const auto id = std::stoll(req.target);
    auto run = db.runs().find(id);
    if (!run) {
      throw InputError(fmt::format("evaluate: no run {} in {}", id, req.db_path));
    }
    t.run = *run;
    t.checkpoint = store::run_folder(req.db_path, id) / "checkpoint.pt";
    if (!fs::exists(t.checkpoint)) {
      throw InputError(fmt::format("evaluate: run {} has no checkpoint ({} is missing)", id, t.checkpoint.string()));
    }
    t.cfg = config::load_experiment_text(run->config_toml, fmt::format("run {} config", id)).config;
    return t;
  }
  t.checkpoint = req.target;
  if (!fs::is_regular_file(t.checkpoint)) {
    throw InputError(fmt::format("evaluate: '{}' is neither a run id nor a checkpoint file", req.target));
  }
  const auto config_file = t.checkpoint.parent_path() / "config.toml";
  if (!fs::exists(config_file)) {
    throw InputError(
        fmt::format("evaluate: {} has no config.toml beside it (a run folder holds both)", t.checkpoint.string()));
  }
  t.cfg = config::load_experiment_file(config_file).config;
  const auto hash = config::config_hash(t.cfg);
  std::optional<store::RunRow> run;
  const auto folder = t.checkpoint.parent_path().filename().string();
  if (core::is_unsigned_integer(folder)) {
    run = db.runs().find(std::stoll(folder));
  }
  if (!run || run->config_hash != hash) {
    run = db.runs().find_by_hash(hash);
  }
  if (!run) {
    throw InputError(
        fmt::format("evaluate: no run in {} has the config of {} (hash {})", req.db_path, t.checkpoint.string(), hash));
  }
  t.run = *run;
  return t;
}

// Parse "", "N" or "all" for option `name` into values in [lo, hi].
std::vector<std::int64_t> parse_choice(const std::string& text, const std::string& name, std::int64_t lo,
                                       std::int64_t hi) {
  std::vector<std::int64_t> values;
  if (text.empty()) {
    return values;
  }
  if (text == "all") {
    for (auto v = lo; v <= hi; ++v) {
      values.push_back(v);
    }
    return values;
  }
  if (!core::is_unsigned_integer(text) || std::stoll(text) < lo || std::stoll(text) > hi) {
    throw InputError(fmt::format("evaluate: {} {}: expected a number from {} to {}, or all", name, text, lo, hi));
  }
  values.push_back(std::stoll(text));
  return values;
}

// "ID,ID,..." of --images as image ids.
std::vector<std::int64_t> parse_image_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  if (text.empty()) {
    return ids;
  }
  for (const auto& part : core::split(text, ',')) {
    if (!core::is_unsigned_integer(part)) {
      throw InputError(
          fmt::format("evaluate: --images {}: expected image ids separated by commas, got '{}'", text, part));
    }
    ids.push_back(std::stoll(part));
  }
  return ids;
}

// One routing setting of an evaluation: the trained routing first, then the requested diagnostics.
struct Setting {
  std::string name;
  moe::EvalRouting routing;
  std::optional<std::int64_t> k, forced;
  bool uniform = false;
};

std::vector<Setting> make_settings(const config::ExperimentConfig& cfg, const std::vector<std::int64_t>& ks,
                                   const std::vector<std::int64_t>& forced, bool uniform) {
  std::vector<Setting> settings{{"trained", {}, cfg.moe.enabled ? std::optional(cfg.moe.k) : std::nullopt, {}, false}};
  for (auto k : ks) {
    settings.push_back({fmt::format("k={}", k), {k, -1, false}, k, {}, false});
  }
  for (auto e : forced) {
    settings.push_back({fmt::format("expert={}", e), {0, e, false}, {}, e, false});
  }
  if (uniform) {
    settings.push_back({"uniform", {0, -1, true}, {}, {}, true});
  }
  return settings;
}

// The header of an evaluation's view: the run, its checkpoint and the split of `samples` examples.
report::EvaluationView evaluation_view(const Target& t, std::int64_t checkpoint_epoch, const std::string& split,
                                       std::int64_t samples, std::vector<std::string> class_names) {
  report::EvaluationView view;
  view.run_id = t.run.id;
  view.run_name = t.run.name;
  view.checkpoint_epoch = checkpoint_epoch;
  view.split = split;
  view.samples = samples;
  view.trained_k = t.cfg.moe.enabled ? t.cfg.moe.k : 0;
  view.class_names = std::move(class_names);
  return view;
}

}  // namespace

int run_evaluate(const EvaluateRequest& req) {
  if (req.split != "test" && req.split != "train") {
    throw InputError(fmt::format("evaluate: --split {}: use test or train", req.split));
  }
  if (!fs::exists(req.db_path)) {
    throw InputError(fmt::format("evaluate: database {} does not exist", req.db_path));
  }
  store::ResultStore db(req.db_path);
  Target t = resolve_target(req, db);
  const std::string gallery =
      req.gallery_in_run_folder ? (t.checkpoint.parent_path() / "gallery").string() : req.gallery;
  const auto& cfg = t.cfg;
  const std::int64_t experts = cfg.moe.enabled ? cfg.moe.num_experts : 0;
  if (!cfg.moe.enabled &&
      (!req.k.empty() || !req.force_expert.empty() || req.uniform || !gallery.empty() || !req.dump_routing.empty())) {
    throw InputError(
        fmt::format("evaluate: run {} is a dense model; --k, --force-expert, --uniform, --dump-routing and --gallery "
                    "need MoE layers",
                    t.run.id));
  }
  const auto ks = parse_choice(req.k, "--k", 1, std::max<std::int64_t>(1, experts));
  const auto forced = parse_choice(req.force_expert, "--force-expert", 0, std::max<std::int64_t>(0, experts - 1));

  const auto settings = make_settings(cfg, ks, forced, req.uniform);
  const torch::Device device = pick_device(req.device);
  set_threads(cfg.train.threads);
  const EvaluatorOptions options{.run_id = t.run.id,
                                 .checkpoint = t.checkpoint,
                                 .split = req.split,
                                 .dump_routing = req.dump_routing,
                                 .dump_detections = req.dump_detections,
                                 .gallery = gallery,
                                 .gallery_size = req.gallery_size,
                                 .gallery_images = parse_image_ids(req.gallery_images),
                                 .gallery_inline = req.gallery_inline,
                                 .device = device};
  check_evaluator_options(cfg, options);  // refuse a task's missing option before its data loads
  const auto setup = load_task(cfg);
  auto evaluator = setup->evaluator(options);
  auto view =
      evaluation_view(t, evaluator->checkpoint_epoch(), req.split, evaluator->samples(), evaluator->class_names());
  view.superclass_names = evaluator->superclass_names();
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const auto& s = settings[i];
    auto r = evaluator->evaluate(s.routing, i == 0);
    const auto id = db.record_evaluation({.run_id = t.run.id,
                                          .checkpoint = t.checkpoint.string(),
                                          .checkpoint_epoch = evaluator->checkpoint_epoch(),
                                          .split = req.split,
                                          .setting = s.name,
                                          .k = s.k,
                                          .forced_expert = s.forced,
                                          .uniform = s.uniform,
                                          .samples = r.samples,
                                          .metrics = r.metrics,
                                          .class_samples = r.class_samples,
                                          .class_correct = r.class_correct,
                                          .routing = r.routing});
    view.settings.push_back({id, s.name, r.metrics, r.class_samples, r.class_correct, r.routing});
  }
  fmt::print("{}", req.json ? report::render_evaluation_json(view) : report::render_evaluation_text(view));
  if (const auto note = evaluator->written_note(); !note.empty() && !req.json) {
    fmt::print("\n{}\n", note);
  }
  return 0;
}

}  // namespace moexp::train
