// Detection's entry in the task registry (task_setup.hpp): a COCO-format dataset, RetinaNet with optional MoE heads,
// a new run's pretrained backbone and model.init_from, and `moexp evaluate` on the validation split with an optional
// dump of the detections in COCO's results format.
#include "train/detection_setup.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "train/checkpoint.hpp"
#include "train/detection_gallery_writer.hpp"
#include "train/detection_task.hpp"
#include "train/init_from.hpp"

#include <fmt/format.h>

namespace moexp::train {
namespace fs = std::filesystem;
namespace {

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

class DetectionEvaluator : public TaskEvaluator {
 public:
  DetectionEvaluator(const config::ExperimentConfig& cfg, const DetectionData& data, const EvaluatorOptions& options)
      : m_cfg(cfg), m_data(data), m_options(options) {
    for (auto id : options.gallery_images) {  // refused before the model loads
      if (std::none_of(data.val.images.begin(), data.val.images.end(), [&](const auto& im) { return im.id == id; })) {
        throw InputError(fmt::format("evaluate: --images: image {} is not in the evaluated split", id));
      }
    }
    torch::manual_seed(static_cast<std::uint64_t>(cfg.train.seed));
    const auto exec = resolve_execution(cfg.train.precision, cfg.train.memory_format, options.device);
    m_task = std::make_unique<DetectionTask>(cfg, data, options.device, exec);
    m_epoch = load_checkpoint(options.checkpoint, m_task->model(), nullptr).epoch;
    if (exec.channels_last) {
      to_channels_last(m_task->model());
    }
  }

  std::int64_t checkpoint_epoch() const override { return m_epoch; }
  std::int64_t samples() const override { return static_cast<std::int64_t>(m_data.val.images.size()); }
  std::vector<std::string> class_names() const override { return m_data.class_names; }
  std::vector<std::string> superclass_names() const override { return {}; }

  SettingResult evaluate(const moe::EvalRouting& routing, bool first) override {
    for (auto layer : m_task->retinanet()->moe_layers()) {
      layer->set_eval_routing(routing);
    }
    const bool keep = first && !m_options.dump_detections.empty();
    const bool keep_routing = first && (!m_options.dump_routing.empty() || !m_options.gallery.empty());
    auto result = m_task->evaluate_validation(keep, keep_routing);
    if (keep) {
      dump_detections_json(m_options.dump_detections, result.detections);
    }
    if (keep_routing && !m_options.dump_routing.empty()) {
      write_detection_routing_csvs(m_options.dump_routing, result.routing_record, m_data.class_names);
    }
    if (keep_routing && !m_options.gallery.empty()) {
      m_gallery_page = write_detection_gallery({.dir = m_options.gallery,
                                                .images = m_options.gallery_size > 0 ? m_options.gallery_size : 12,
                                                .image_ids = m_options.gallery_images,
                                                .inline_images = m_options.gallery_inline,
                                                .seed = static_cast<std::uint64_t>(m_cfg.train.seed),
                                                .title = fmt::format("run {}: {}", m_options.run_id, m_cfg.name)},
                                               result.routing_record, m_data);
    }
    return {.samples = result.images,
            .metrics = {result.figures.metrics.begin(), result.figures.metrics.end()},
            .class_samples = {},
            .class_correct = {},
            .routing = result.figures.routing};
  }

  std::string written_note() const override {
    std::vector<std::string> notes;
    if (!m_options.dump_detections.empty()) {
      notes.push_back(fmt::format("detections of the trained setting written to {}", m_options.dump_detections));
    }
    if (!m_options.dump_routing.empty()) {
      notes.push_back(fmt::format("routing written to {} (per image and level) and {} (per object and level)",
                                  m_options.dump_routing, objects_csv_path(m_options.dump_routing).string()));
    }
    if (!m_gallery_page.empty()) {
      notes.push_back(fmt::format("gallery written to {}", m_gallery_page.string()));
    }
    return fmt::format("{}", fmt::join(notes, "; "));
  }

 private:
  const config::ExperimentConfig& m_cfg;
  const DetectionData& m_data;
  EvaluatorOptions m_options;
  std::unique_ptr<DetectionTask> m_task;
  std::int64_t m_epoch = 0;
  fs::path m_gallery_page{};
};

class DetectionSetup : public TaskSetup {
 public:
  explicit DetectionSetup(const config::ExperimentConfig& cfg) : m_cfg(cfg), m_data(load_detection_data(cfg)) {}

  std::vector<store::ClassInfo> classes() const override {
    std::vector<store::ClassInfo> classes;
    for (const auto& name : m_data.class_names) {
      classes.push_back({name, 0, "object"});
    }
    return classes;
  }

  std::int64_t train_examples() const override { return static_cast<std::int64_t>(m_data.train.images.size()); }
  std::int64_t test_examples() const override { return static_cast<std::int64_t>(m_data.val.images.size()); }

  std::string model_text() const override {
    return fmt::format("retinanet {} x{}", m_cfg.model.backbone, m_cfg.model.width);
  }

  std::unique_ptr<Task> make_task(const torch::Device& device, const Execution& exec) const override {
    return std::make_unique<DetectionTask>(m_cfg, m_data, device, exec);
  }

  std::vector<std::string> initialise(Task& task, const fs::path& init) const override {
    std::vector<std::string> lines;
    if (!m_cfg.model.backbone_weights.empty()) {
      std::vector<std::string> unused;
      const auto report =
          load_backbone_weights(task.model(), m_cfg.model.backbone_weights, detect::RetinaNetImpl::part_of, &unused);
      lines.push_back(fmt::format("backbone weights from {}: {}{}", m_cfg.model.backbone_weights, report.summary(),
                                  unused.empty() ? "" : fmt::format(" (not used: {})", fmt::join(unused, ", "))));
    }
    if (!init.empty()) {
      const auto report = init_retinanet(task.model(), m_cfg, init);
      lines.push_back(fmt::format("initialised from {}: {}", init.string(), report.summary()));
    }
    if (config::freezes_backbone(m_cfg.model.freeze)) {
      lines.emplace_back(config::freezes_fpn(m_cfg.model.freeze) ? "frozen: backbone, fpn" : "frozen: backbone");
    }
    return lines;
  }

  std::unique_ptr<TaskEvaluator> evaluator(const EvaluatorOptions& options) const override {
    check_detection_evaluation(options);
    return std::make_unique<DetectionEvaluator>(m_cfg, m_data, options);
  }

 private:
  const config::ExperimentConfig& m_cfg;
  DetectionData m_data;
};

}  // namespace

void check_detection_evaluation(const EvaluatorOptions& options) {
  if (options.split != "test") {
    throw InputError(
        fmt::format("evaluate: run {} is a detection run: it evaluates its validation split (--split test), not {}",
                    options.run_id, options.split));
  }
  if (!options.gallery.empty()) {
    core::check_output_path(fs::path(options.gallery) / "index.html", "--gallery");
  }
  if (!options.dump_routing.empty()) {
    core::check_output_path(options.dump_routing, "--dump-routing");
    core::check_output_path(objects_csv_path(options.dump_routing), "--dump-routing");
  }
}

std::unique_ptr<TaskSetup> load_detection(const config::ExperimentConfig& cfg) {
  return std::make_unique<DetectionSetup>(cfg);
}

}  // namespace moexp::train
