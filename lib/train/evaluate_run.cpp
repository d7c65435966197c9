#include "train/evaluate_run.hpp"

#include "config/canonical.hpp"
#include "config/load.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "data/dataset.hpp"
#include "report/evaluation_view.hpp"
#include "store/result_store.hpp"
#include "train/checkpoint.hpp"
#include "train/classification_task.hpp"
#include "train/detection_task.hpp"
#include "train/device.hpp"
#include "train/run.hpp"

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

// Detections in COCO's results format: [{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...].
void dump_detections_json(const fs::path& path, const std::vector<coco::Detection>& detections) {
  std::string out = "[";
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& d = detections[i];
    out += fmt::format("{}{{\"image_id\": {}, \"category_id\": {}, \"bbox\": [{}, {}, {}, {}], \"score\": {}}}",
                       i ? ",\n " : "", d.image_id, d.category_id, core::json_number(d.bbox.x),
                       core::json_number(d.bbox.y), core::json_number(d.bbox.w), core::json_number(d.bbox.h),
                       core::json_number(d.score));
  }
  out += "]\n";
  core::write_file_atomic(path, out);
}

// `moexp evaluate` of a detection run: the validation split under each setting, COCO figures and routing stored.
int evaluate_detection(const EvaluateRequest& req, store::ResultStore& db, const Target& t,
                       const std::vector<Setting>& settings, const torch::Device& device) {
  const auto& cfg = t.cfg;
  if (req.split != "test") {
    throw InputError(
        fmt::format("evaluate: run {} is a detection run: it evaluates its validation split (--split "
                    "test), not {}",
                    t.run.id, req.split));
  }
  if (!req.dump_routing.empty()) {
    throw InputError(
        "evaluate: --dump-routing writes per-image routing of classification runs; detection runs "
        "have --dump-detections");
  }
  const DetectionData data = load_detection_data(cfg);
  torch::manual_seed(static_cast<std::uint64_t>(cfg.train.seed));
  const auto exec = resolve_execution(cfg.train.precision, cfg.train.memory_format, device);
  DetectionTask task(cfg, data, device, exec);
  const auto info = load_checkpoint(t.checkpoint, task.model(), nullptr);
  if (exec.channels_last) {
    to_channels_last(task.model());
  }
  auto view =
      evaluation_view(t, info.epoch, req.split, static_cast<std::int64_t>(data.val.images.size()), data.class_names);
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const auto& s = settings[i];
    for (auto layer : task.retinanet()->moe_layers()) {
      layer->set_eval_routing(s.routing);
    }
    const bool keep = i == 0 && !req.dump_detections.empty();
    auto result = task.evaluate_validation(keep);
    if (keep) {
      dump_detections_json(req.dump_detections, result.detections);
    }
    const std::map<std::string, double> metrics(result.figures.metrics.begin(), result.figures.metrics.end());
    store::NewEvaluation ev{t.run.id,
                            t.checkpoint.string(),
                            info.epoch,
                            req.split,
                            s.name,
                            s.k,
                            s.forced,
                            s.uniform,
                            result.images,
                            metrics,
                            {},
                            {},
                            result.figures.routing};
    const auto id = db.record_evaluation(ev);
    view.settings.push_back({id, s.name, metrics, {}, {}, result.figures.routing});
  }
  fmt::print("{}", req.json ? report::render_evaluation_json(view) : report::render_evaluation_text(view));
  if (!req.dump_detections.empty() && !req.json) {
    fmt::print("\ndetections of the trained setting written to {}\n", req.dump_detections);
  }
  return 0;
}

void set_routing(models::ResNet& model, const moe::EvalRouting& routing) {
  for (auto layer : model->moe_layers()) {
    layer->set_eval_routing(routing);
  }
}

void dump_routing_csv(const fs::path& path, const EvalResult& r, const data::Dataset& ds, const data::DataSplits& d) {
  std::ostringstream out;
  const auto labels = ds.labels_n.contiguous();
  const auto coarse = ds.coarse_n.contiguous();
  const auto experts = r.per_sample.empty() ? 0 : r.per_sample.front().weights_ne.size(1);
  out << "index,layer,label,class,superclass";
  for (std::int64_t e = 0; e < experts; ++e) {
    out << ",logit_" << e;
  }
  for (std::int64_t e = 0; e < experts; ++e) {
    out << ",weight_" << e;
  }
  out << ",experts\n";
  for (std::size_t l = 0; l < r.per_sample.size(); ++l) {
    auto logits = r.per_sample[l].clean_logits_ne.to(torch::kFloat).contiguous();
    auto weights = r.per_sample[l].weights_ne.to(torch::kFloat).contiguous();
    auto chosen = r.per_sample[l].chosen_nk.contiguous();
    auto la = logits.accessor<float, 2>();
    auto wa = weights.accessor<float, 2>();
    auto ca = chosen.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < logits.size(0); ++i) {
      const auto label = labels[i].item<std::int64_t>();
      out << i << ',' << l << ',' << label << ",\"" << d.class_names[static_cast<std::size_t>(label)] << "\","
          << coarse[i].item<std::int64_t>();
      for (std::int64_t e = 0; e < experts; ++e) {
        out << ',' << la[i][e];
      }
      for (std::int64_t e = 0; e < experts; ++e) {
        out << ',' << wa[i][e];
      }
      out << ',';
      for (std::int64_t j = 0; j < chosen.size(1); ++j) {
        out << (j ? ";" : "") << ca[i][j];
      }
      out << '\n';
    }
  }
  core::write_file_atomic(path, out.str());
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
  const auto& cfg = t.cfg;
  const std::int64_t experts = cfg.moe.enabled ? cfg.moe.num_experts : 0;
  if (!cfg.moe.enabled && (!req.k.empty() || !req.force_expert.empty() || req.uniform)) {
    throw InputError(
        fmt::format("evaluate: run {} is a dense model; --k, --force-expert and --uniform need MoE layers", t.run.id));
  }
  const auto ks = parse_choice(req.k, "--k", 1, std::max<std::int64_t>(1, experts));
  const auto forced = parse_choice(req.force_expert, "--force-expert", 0, std::max<std::int64_t>(0, experts - 1));

  const auto settings = make_settings(cfg, ks, forced, req.uniform);
  const torch::Device device = pick_device(req.device);
  set_threads(cfg.train.threads);
  if (config::is_detection(cfg)) {
    return evaluate_detection(req, db, t, settings, device);
  }
  if (!req.dump_detections.empty()) {
    throw InputError(
        fmt::format("evaluate: --dump-detections is for detection runs; run {} is a classification run", t.run.id));
  }
  data::DataSplits data = data::load_data(cfg.data);
  const auto& ds = req.split == "test" ? data.test : data.train;
  torch::manual_seed(static_cast<std::uint64_t>(cfg.train.seed));
  models::ResNet model(cfg, data.channels, data.num_classes);
  model->to(device);
  const auto info = load_checkpoint(t.checkpoint, *model, nullptr);
  const auto exec = resolve_execution(cfg.train.precision, cfg.train.memory_format, device);
  if (exec.channels_last) {
    to_channels_last(*model);
  }

  auto view = evaluation_view(t, info.epoch, req.split, ds.size(), data.class_names);
  view.superclass_names = data.superclass_names;
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const auto& s = settings[i];
    set_routing(model, s.routing);
    const bool keep = i == 0 && !req.dump_routing.empty();
    EvalResult r = evaluate(model, ds, data, device,
                            {cfg.train.eval_batch_size, cfg.moe.collapse_share, keep, exec.bf16, exec.channels_last});
    if (keep) {
      dump_routing_csv(req.dump_routing, r, ds, data);
    }
    const auto figures = r.figures();
    const std::map<std::string, double> metrics(figures.begin(), figures.end());
    store::NewEvaluation ev{
        t.run.id, t.checkpoint.string(), info.epoch,      req.split, s.name, s.k, s.forced, s.uniform, r.samples,
        metrics,  r.class_samples,       r.class_correct, r.routing};
    const auto id = db.record_evaluation(ev);
    view.settings.push_back({id, s.name, metrics, r.class_samples, r.class_correct, r.routing});
  }
  set_routing(model, {});
  fmt::print("{}", req.json ? report::render_evaluation_json(view) : report::render_evaluation_text(view));
  if (!req.dump_routing.empty() && !req.json) {
    fmt::print("\nper-sample routing written to {}\n", req.dump_routing);
  }
  return 0;
}

}  // namespace moexp::train
