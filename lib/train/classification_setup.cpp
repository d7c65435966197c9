// Classification's entry in the task registry (task_setup.hpp): an in-memory image dataset, the CIFAR-style ResNet,
// and `moexp evaluate` on its test or training split with an optional per-sample routing dump.
#include "train/classification_setup.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "data/dataset.hpp"
#include "train/checkpoint.hpp"
#include "train/classification_task.hpp"
#include "train/gallery_writer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sstream>

namespace moexp::train {
namespace fs = std::filesystem;
namespace {

void set_routing(models::ResNet& model, const moe::EvalRouting& routing) {
  for (auto layer : model->moe_layers()) {
    layer->set_eval_routing(routing);
  }
}

// One row per (sample, MoE layer): label, class names, the clean logits, the weights and the chosen experts.
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

class ClassificationEvaluator : public TaskEvaluator {
 public:
  ClassificationEvaluator(const config::ExperimentConfig& cfg, const data::DataSplits& data,
                          const EvaluatorOptions& options)
      : m_cfg(cfg),
        m_data(data),
        m_split(options.split == "test" ? data.test : data.train),
        m_options(options),
        m_exec(resolve_execution(cfg.train.precision, cfg.train.memory_format, options.device)) {
    torch::manual_seed(static_cast<std::uint64_t>(cfg.train.seed));
    m_model = models::ResNet(cfg, data.channels, data.num_classes);
    m_model->to(options.device);
    m_epoch = load_checkpoint(options.checkpoint, *m_model, nullptr).epoch;
    if (m_exec.channels_last) {
      to_channels_last(*m_model);
    }
  }

  ~ClassificationEvaluator() override { set_routing(m_model, {}); }

  std::int64_t checkpoint_epoch() const override { return m_epoch; }
  std::int64_t samples() const override { return m_split.size(); }
  std::vector<std::string> class_names() const override { return m_data.class_names; }
  std::vector<std::string> superclass_names() const override { return m_data.superclass_names; }

  SettingResult evaluate(const moe::EvalRouting& routing, bool first) override {
    set_routing(m_model, routing);
    const bool keep = first && (!m_options.dump_routing.empty() || !m_options.gallery.empty());
    EvalResult r = train::evaluate(m_model, m_split, m_data, m_options.device,
                                   {.batch_size = m_cfg.train.eval_batch_size,
                                    .collapse_share = m_cfg.moe.collapse_share,
                                    .keep_samples = keep,
                                    .bf16 = m_exec.bf16,
                                    .channels_last = m_exec.channels_last});
    if (keep && !m_options.dump_routing.empty()) {
      dump_routing_csv(m_options.dump_routing, r, m_split, m_data);
    }
    if (keep && !m_options.gallery.empty()) {
      m_gallery_page = write_gallery({.dir = m_options.gallery,
                                      .per_expert = m_options.gallery_size > 0 ? m_options.gallery_size : 32,
                                      .inline_images = m_options.gallery_inline,
                                      .seed = static_cast<std::uint64_t>(m_cfg.train.seed),
                                      .title = fmt::format("run {}: {}", m_options.run_id, m_cfg.name),
                                      .split = m_options.split},
                                     r, m_split, m_data);
    }
    const auto figures = r.figures();
    return {.samples = r.samples,
            .metrics = {figures.begin(), figures.end()},
            .class_samples = r.class_samples,
            .class_correct = r.class_correct,
            .routing = r.routing};
  }

  std::string written_note() const override {
    std::vector<std::string> notes;
    if (!m_options.dump_routing.empty()) {
      notes.push_back(fmt::format("per-sample routing written to {}", m_options.dump_routing));
    }
    if (!m_gallery_page.empty()) {
      notes.push_back(fmt::format("gallery written to {}", m_gallery_page.string()));
    }
    return fmt::format("{}", fmt::join(notes, "; "));
  }

 private:
  const config::ExperimentConfig& m_cfg;
  const data::DataSplits& m_data;
  const data::Dataset& m_split;
  EvaluatorOptions m_options;
  Execution m_exec;
  models::ResNet m_model{nullptr};
  std::int64_t m_epoch = 0;
  fs::path m_gallery_page{};
};

class ClassificationSetup : public TaskSetup {
 public:
  explicit ClassificationSetup(const config::ExperimentConfig& cfg) : m_cfg(cfg), m_data(data::load_data(cfg.data)) {}

  std::vector<store::ClassInfo> classes() const override {
    std::vector<store::ClassInfo> classes;
    for (std::size_t c = 0; c < m_data.class_names.size(); ++c) {
      const auto super = m_data.superclass_of[c];
      classes.push_back({m_data.class_names[c], super, m_data.superclass_names[static_cast<std::size_t>(super)]});
    }
    return classes;
  }

  std::int64_t train_examples() const override { return m_data.train.size(); }
  std::int64_t test_examples() const override { return m_data.test.size(); }
  std::string model_text() const override { return std::string(config::name_of(m_cfg.model.arch)); }

  std::unique_ptr<Task> make_task(const torch::Device& device, const Execution& exec) const override {
    return std::make_unique<ClassificationTask>(m_cfg, m_data, device, exec);
  }

  std::vector<std::string> initialise(Task&, const fs::path&) const override {
    return {};  // classification models start from their seeded initialisation (model.init_from is detection's)
  }

  std::unique_ptr<TaskEvaluator> evaluator(const EvaluatorOptions& options) const override {
    check_classification_evaluation(options);
    return std::make_unique<ClassificationEvaluator>(m_cfg, m_data, options);
  }

 private:
  const config::ExperimentConfig& m_cfg;
  data::DataSplits m_data;
};

}  // namespace

void check_classification_evaluation(const EvaluatorOptions& options) {
  if (!options.dump_detections.empty()) {
    throw InputError(fmt::format("evaluate: --dump-detections is for detection runs; run {} is a classification run",
                                 options.run_id));
  }
  if (!options.gallery_images.empty()) {
    throw InputError(fmt::format(
        "evaluate: --images picks the images of a detection gallery; run {} is a classification run (its gallery "
        "shows each expert's top images)",
        options.run_id));
  }
  if (!options.gallery.empty()) {
    core::check_output_path(fs::path(options.gallery) / "index.html", "--gallery");
  }
}

std::unique_ptr<TaskSetup> load_classification(const config::ExperimentConfig& cfg) {
  return std::make_unique<ClassificationSetup>(cfg);
}

}  // namespace moexp::train
