#include "train/detection_task.hpp"

#include "coco/eval.hpp"
#include "config/data_files.hpp"
#include "core/error.hpp"
#include "detect/box_ops.hpp"
#include "detect/retina_postprocess.hpp"
#include "detect/retina_targets.hpp"
#include "models/resnet.hpp"
#include "train/detection_record.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <regex>
#include <unordered_set>

namespace moexp::train {
namespace fs = std::filesystem;
namespace {

// The first `limit` images of `ds` (all when limit is 0) with their annotations.
coco::Dataset first_images(coco::Dataset ds, std::int64_t limit) {
  if (limit <= 0 || limit >= static_cast<std::int64_t>(ds.images.size())) {
    return ds;
  }
  ds.images.resize(static_cast<std::size_t>(limit));
  std::unordered_set<std::int64_t> kept;
  for (const auto& im : ds.images) {
    kept.insert(im.id);
  }
  std::erase_if(ds.annotations, [&](const coco::Annotation& a) { return kept.count(a.image_id) == 0; });
  return ds;
}

std::vector<double> anchor_sizes(const config::DetectionConfig& d) {
  std::vector<double> sizes;
  for (std::int64_t level = 3; level <= d.top_level; ++level) {
    sizes.push_back(d.anchor_size * std::pow(2.0, static_cast<double>(level - 3)));
  }
  return sizes;
}

// The COCO statistics recorded per epoch (the 12 are all in `moexp eval-coco`), by metric name.
constexpr std::array<std::pair<const char*, int>, 7> kRecordedStats{
    {{"ap", 0}, {"ap50", 1}, {"ap75", 2}, {"ap_s", 3}, {"ap_m", 4}, {"ap_l", 5}, {"ar100", 8}}};

}  // namespace

DetectionData load_detection_data(const config::ExperimentConfig& cfg) {
  const auto train_files = config::locate_detection_files(cfg.data, "train");
  const auto val_files = config::locate_detection_files(cfg.data, "val");
  DetectionData d;
  d.train = first_images(coco::load_dataset(train_files.annotations), cfg.data.limit_train);
  d.val = first_images(coco::load_dataset(val_files.annotations), cfg.data.limit_test);
  d.train_images = train_files.images;
  d.val_images = val_files.images;
  auto ids = [](const coco::Dataset& ds) {
    std::vector<std::pair<std::int64_t, std::string>> out;
    for (const auto& c : ds.categories) {
      out.emplace_back(c.id, c.name);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto train_categories = ids(d.train);
  if (train_categories != ids(d.val)) {
    throw DataError(fmt::format("{}: its categories differ from those of {} (both splits need the same list)",
                                val_files.annotations.string(), train_files.annotations.string()));
  }
  if (train_categories.empty()) {
    throw DataError(fmt::format("{}: no categories", train_files.annotations.string()));
  }
  for (const auto& [id, name] : train_categories) {
    d.class_names.push_back(name);
  }
  return d;
}

detect::RetinaNetOptions retinanet_options(const config::ExperimentConfig& cfg, std::int64_t num_classes) {
  detect::RetinaNetOptions o;
  o.backbone = cfg.model.backbone;
  o.width = cfg.model.width;
  o.fpn_channels = cfg.detection.fpn_channels;
  o.top_level = cfg.detection.top_level;
  o.p6_from_c5 = cfg.detection.p6_from_c5;
  o.num_classes = num_classes;
  o.freeze_backbone = config::freezes_backbone(cfg.model.freeze);
  o.freeze_fpn = config::freezes_fpn(cfg.model.freeze);
  o.frozen_bn = cfg.model.frozen_bn;
  if (cfg.moe.enabled) {
    o.moe_cls_head = config::moe_in_cls_head(cfg.moe.head);
    o.moe_box_head = config::moe_in_box_head(cfg.moe.head);
    o.shared_gate = cfg.moe.shared_gate;
    o.expert_init = cfg.moe.expert_init;
    o.combine = cfg.moe.combine;
    o.moe = models::moe_layer_options(cfg, cfg.detection.fpn_channels);
  }
  return o;
}

InitReport init_retinanet(torch::nn::Module& model, const config::ExperimentConfig& cfg,
                          const std::filesystem::path& path) {
  std::vector<std::string> frozen;
  if (config::freezes_backbone(cfg.model.freeze)) {
    frozen.emplace_back("backbone");
  }
  if (config::freezes_fpn(cfg.model.freeze)) {
    frozen.emplace_back("fpn");
  }
  std::function<std::string(const std::string&)> alias;
  if (cfg.model.experts_from_head) {
    // cls_head.moe.experts.<i>.<rest> <- cls_head.tower.<rest> (the dense subnet of the checkpoint's head).
    alias = [](const std::string& name) -> std::string {
      static const std::regex expert(R"(^(cls_head|box_head)\.moe\.experts\.\d+\.(.*)$)");
      std::smatch m;
      return std::regex_match(name, m, expert) ? m[1].str() + ".tower." + m[2].str() : std::string();
    };
  }
  return init_from_checkpoint(model, path, detect::RetinaNetImpl::part_of, frozen, alias);
}

torch::Tensor size_buckets(const torch::Tensor& areas_n) {
  auto area = areas_n.to(torch::kDouble);
  return (area >= 32.0 * 32).to(torch::kLong) + (area >= 96.0 * 96).to(torch::kLong);
}

torch::Tensor positive_anchor_counts(const torch::Tensor& matched_a, std::int64_t objects,
                                     const std::vector<std::int64_t>& anchors_per_level) {
  const auto levels = static_cast<std::int64_t>(anchors_per_level.size());
  auto counts_gl = torch::zeros({objects, levels}, torch::kLong);
  if (objects == 0) {
    return counts_gl;
  }
  const auto matched = matched_a.to(torch::kCPU, torch::kLong);
  std::int64_t start = 0;
  for (std::int64_t l = 0; l < levels; ++l) {
    auto part = matched.narrow(0, start, anchors_per_level[static_cast<std::size_t>(l)]);
    auto foreground = part.masked_select(part >= 0);
    if (foreground.numel() > 0) {
      counts_gl.select(1, l).copy_(torch::bincount(foreground, {}, objects));
    }
    start += anchors_per_level[static_cast<std::size_t>(l)];
  }
  return counts_gl;
}

torch::Tensor positive_levels(const torch::Tensor& matched_a, std::int64_t objects,
                              const std::vector<std::int64_t>& anchors_per_level) {
  return positive_anchor_counts(matched_a, objects, anchors_per_level) > 0;
}

DetectionRouting::DetectionRouting(std::vector<std::int64_t> positions, std::int64_t num_experts, std::int64_t levels,
                                   std::int64_t classes, double collapse_share)
    : m_levels(positions, num_experts, RoutingLabels{{{kLevelGroup, levels}}, collapse_share, {kContextImage}}),
      m_objects(
          positions, num_experts,
          RoutingLabels{
              {{kSizeGroup, kSizeBuckets}, {kClassGroup, classes}}, collapse_share, {kLevelGroup, kContextImage}}) {}

void DetectionRouting::add(const std::vector<const detect::HeadRouting*>& heads,
                           const std::vector<torch::Tensor>& labels_per_image,
                           const std::vector<torch::Tensor>& areas_per_image,
                           const std::vector<torch::Tensor>& positive_per_image) {
  if (heads.empty()) {
    return;
  }
  const auto levels = static_cast<std::int64_t>(heads.front()->weights_be.size());
  const std::int64_t images = heads.front()->weights_be.front().size(0);
  const auto device = heads.front()->weights_be.front().device();
  // (image, level) tokens, level-major: row l * B + b.
  std::vector<moe::MoeOutput> rows;
  for (const auto* head : heads) {
    moe::MoeOutput r;
    r.weights_be = torch::cat(head->weights_be, 0);
    r.topk_idx_bk = torch::cat(head->topk_idx_bk, 0);
    rows.push_back(std::move(r));
  }
  // Labels: the level, then the image (numbered over the epoch) the nulls keep fixed.
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto level_labels = torch::stack({torch::arange(levels, long_opts).repeat_interleave(images),
                                    (torch::arange(images, long_opts) + m_images_seen).repeat(levels)},
                                   1);
  m_levels.add(rows, level_labels);

  // (object, level) tokens: the (image, level) row of every level the object has positive anchors on.
  std::vector<std::int64_t> token_rows, token_labels;
  for (std::int64_t b = 0; b < images; ++b) {
    const auto positive = positive_per_image[static_cast<std::size_t>(b)].to(torch::kCPU);
    const auto labels = labels_per_image[static_cast<std::size_t>(b)].to(torch::kCPU);
    const auto sizes = size_buckets(areas_per_image[static_cast<std::size_t>(b)].to(torch::kCPU));
    const auto pa = positive.accessor<bool, 2>();
    const auto la = labels.accessor<std::int64_t, 1>();
    const auto sa = sizes.accessor<std::int64_t, 1>();
    for (std::int64_t g = 0; g < positive.size(0); ++g) {
      for (std::int64_t l = 0; l < levels; ++l) {
        if (pa[g][l]) {
          token_rows.push_back(l * images + b);
          token_labels.push_back(sa[g]);
          token_labels.push_back(la[g]);
          token_labels.push_back(l);
          token_labels.push_back(m_images_seen + b);
        }
      }
    }
  }
  m_images_seen += images;
  if (token_rows.empty()) {
    return;
  }
  const auto index = torch::tensor(token_rows, torch::kLong).to(device);
  std::vector<moe::MoeOutput> objects;
  for (const auto& r : rows) {
    moe::MoeOutput o;
    o.weights_be = r.weights_be.index_select(0, index);
    o.topk_idx_bk = r.topk_idx_bk.index_select(0, index);
    objects.push_back(std::move(o));
  }
  m_objects.add(objects, torch::tensor(token_labels, torch::kLong).view({-1, 4}).to(device));
  m_object_tokens += static_cast<std::int64_t>(token_rows.size());
}

std::vector<LayerRouting> DetectionRouting::summarize() const {
  auto layers = m_levels.summarize();
  if (m_object_tokens > 0) {
    auto objects = m_objects.summarize();
    for (std::size_t i = 0; i < layers.size() && i < objects.size(); ++i) {
      for (auto& g : objects[i].groups) {
        layers[i].groups.push_back(std::move(g));
      }
    }
  }
  return layers;
}

struct DetectionTask::Forward {
  detect::RetinaHeadOutput out;
  torch::Tensor anchors_a4;
  std::vector<detect::ImageTargets> targets;
  detect::RetinaLoss loss;
};

DetectionTask::DetectionTask(const config::ExperimentConfig& cfg, const DetectionData& data,
                             const torch::Device& device, const Execution& exec)
    : m_cfg(cfg),
      m_data(data),
      m_device(device),
      m_exec(exec),
      m_model(detect::RetinaNet(retinanet_options(cfg, static_cast<std::int64_t>(data.class_names.size())))) {
  m_model->to(device);
  detect::DetectionLoaderOptions o;
  o.fixed_size = cfg.detection.fixed_size;
  o.min_size = cfg.detection.min_size;
  o.max_size = cfg.detection.max_size;
  o.seed = static_cast<std::uint64_t>(cfg.train.seed);
  o.workers = static_cast<int>(cfg.detection.workers);
  o.batch_size = cfg.train.batch_size;
  o.prefetch = static_cast<int>(std::max<std::int64_t>(8, 2 * o.batch_size));
  o.train = true;
  o.flip = cfg.data.augment;
  m_train_loader = std::make_unique<detect::DetectionLoader>(data.train, data.train_images, o);
  o.train = false;
  o.batch_size = std::min(cfg.train.batch_size, cfg.train.eval_batch_size);
  m_val_loader = std::make_unique<detect::DetectionLoader>(data.val, data.val_images, o);
}

std::vector<std::int64_t> DetectionTask::moe_positions() const {
  std::vector<std::int64_t> positions;
  if (m_model->options().moe_cls_head) {
    positions.push_back(kClsHeadPosition);
  }
  if (m_model->options().moe_box_head) {
    positions.push_back(kBoxHeadPosition);
  }
  return positions;
}

std::optional<DetectionRouting> DetectionTask::new_routing() const {
  if (!m_cfg.moe.enabled) {
    return std::nullopt;
  }
  return DetectionRouting(moe_positions(), m_cfg.moe.num_experts, m_cfg.detection.top_level - 2,
                          static_cast<std::int64_t>(m_data.class_names.size()), m_cfg.moe.collapse_share);
}

const torch::Tensor& DetectionTask::anchors(std::int64_t height, std::int64_t width,
                                            const std::vector<std::array<std::int64_t, 2>>& feature_sizes) {
  auto it = m_anchors.find({height, width});
  if (it == m_anchors.end()) {
    it = m_anchors
             .emplace(std::make_pair(height, width),
                      detect::image_anchors(anchor_sizes(m_cfg.detection), {0.5, 1.0, 2.0}, feature_sizes, height,
                                            width, m_device))
             .first;
  }
  return it->second;
}

DetectionTask::Forward DetectionTask::run(const detect::DetectionBatch& batch) {
  auto x = batch.images_bchw.to(m_device);
  if (m_exec.channels_last) {
    x = x.contiguous(at::MemoryFormat::ChannelsLast);
  }
  Forward f;
  {
    AutocastScope autocast(m_exec.bf16, m_device);
    f.out = m_model->forward(x);
  }
  f.out.cls_logits_bak = f.out.cls_logits_bak.to(torch::kFloat);
  f.out.box_deltas_ba4 = f.out.box_deltas_ba4.to(torch::kFloat);
  f.anchors_a4 = anchors(x.size(2), x.size(3), f.out.feature_sizes);
  for (const auto& t : batch.targets) {
    f.targets.push_back({t.boxes_n4.to(m_device), t.labels_n.to(m_device)});
  }
  detect::RetinaLossOptions loss;
  loss.box_loss = m_cfg.detection.box_loss;
  switch (m_cfg.detection.box_loss) {
    case config::BoxLoss::l1:
      break;
    case config::BoxLoss::smooth_l1:
      loss.smooth_l1_beta = 1.0 / 9;  // the reference code's
      break;
  }
  loss.low_quality_matches = m_cfg.detection.low_quality_matches;
  f.loss = detect::retinanet_loss(f.out.cls_logits_bak, f.out.box_deltas_ba4, f.anchors_a4, f.targets, loss);
  return f;
}

namespace {

// The MoE heads' routing of a forward, and per image its objects' labels, areas and positive levels (from the
// loss's anchor matches, `matched_a` per image).
void add_routing(DetectionRouting& routing, const detect::RetinaHeadOutput& out,
                 const std::vector<torch::Tensor>& matched_a, const std::vector<detect::ImageTargets>& targets,
                 const std::vector<detect::DetectionTarget>& batch) {
  std::vector<const detect::HeadRouting*> heads;
  if (!out.cls_routing.weights_be.empty()) {
    heads.push_back(&out.cls_routing);
  }
  if (!out.box_routing.weights_be.empty()) {
    heads.push_back(&out.box_routing);
  }
  std::vector<torch::Tensor> labels, areas, positive;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto objects = targets[i].boxes_g4.size(0);
    positive.push_back(positive_levels(matched_a[i], objects, out.anchors_per_level));
    labels.push_back(batch[i].labels_n);
    areas.push_back(batch[i].areas_n);
  }
  routing.add(heads, labels, areas, positive);
}

}  // namespace

void DetectionTask::begin_epoch(std::int64_t epoch, const torch::Tensor& order_n) {
  const auto order = order_n.to(torch::kCPU, torch::kLong).contiguous();
  std::vector<std::size_t> images(static_cast<std::size_t>(order.numel()));
  const auto* p = order.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < images.size(); ++i) {
    images[i] = static_cast<std::size_t>(p[i]);
  }
  m_train_loader->begin_epoch(epoch, std::move(images));
  m_routing = new_routing();
  const auto sums = torch::TensorOptions().dtype(torch::kDouble).device(m_device);
  m_cls_sum = torch::zeros({}, sums);
  m_box_sum = torch::zeros({}, sums);
}

BatchLoss DetectionTask::train_batch(const torch::Tensor& idx_b, torch::Generator& /*augment: flips are the
                                                                                      loader's, by (seed, epoch)*/) {
  auto batch = m_train_loader->next();
  if (!batch || static_cast<std::int64_t>(batch->targets.size()) != idx_b.size(0)) {
    throw Error("detection task: the loader's batch does not match the trainer's (a bug)");
  }
  Forward f = run(*batch);
  const auto images = static_cast<double>(batch->targets.size());
  m_cls_sum += f.loss.classification.detach().to(torch::kDouble) * images;
  m_box_sum += f.loss.regression.detach().to(torch::kDouble) * images;
  if (m_routing) {
    add_routing(*m_routing, f.out, f.loss.matched_a, f.targets, batch->targets);
  }
  return {f.loss.classification + f.loss.regression, f.out.aux_loss, idx_b.size(0)};
}

std::string DetectionTask::progress_text(std::int64_t seen) {
  const auto n = static_cast<double>(std::max<std::int64_t>(1, seen));
  return fmt::format("cls {:.4f} box {:.4f}", m_cls_sum.item<double>() / n, m_box_sum.item<double>() / n);
}

SplitFigures DetectionTask::end_epoch() {
  const auto n = static_cast<double>(std::max<std::int64_t>(1, train_examples()));
  SplitFigures figures;
  figures.metrics = {{"cls_loss", m_cls_sum.item<double>() / n}, {"box_loss", m_box_sum.item<double>() / n}};
  if (m_routing) {
    figures.routing = m_routing->summarize();
  }
  m_routing.reset();
  return figures;
}

SplitFigures DetectionTask::evaluate_test() {
  return evaluate_validation(false).figures;
}

DetectionEvaluation DetectionTask::evaluate_validation(bool keep_detections, bool keep_routing) {
  torch::NoGradGuard no_grad;
  m_model->eval();
  auto routing = new_routing();
  std::optional<DetectionRecorder> recorder;
  if (keep_routing && routing) {
    std::vector<std::string> heads;
    for (auto position : moe_positions()) {
      heads.push_back(moe_layer_label(TaskKind::detection, static_cast<int>(position)));
    }
    recorder.emplace(m_data.val, std::move(heads), m_cfg.moe.num_experts, m_cfg.detection.top_level - 2);
  }
  detect::PostprocessOptions post;
  post.score_threshold = m_cfg.detection.score_threshold;
  post.max_detections = m_cfg.detection.detections_per_image;
  const auto& category_ids = m_val_loader->category_ids();
  std::vector<coco::Detection> detections;
  double cls = 0, box = 0;
  std::int64_t images = 0;
  m_val_loader->begin_epoch(0);
  while (auto batch = m_val_loader->next()) {
    Forward f = run(*batch);
    const auto b = static_cast<std::int64_t>(batch->targets.size());
    cls += f.loss.classification.item<double>() * static_cast<double>(b);
    box += f.loss.regression.item<double>() * static_cast<double>(b);
    images += b;
    const auto cls_bak = f.out.cls_logits_bak.cpu();
    const auto box_ba4 = f.out.box_deltas_ba4.cpu();
    const auto anchors_a4 = f.anchors_a4.cpu();
    for (std::int64_t i = 0; i < b; ++i) {
      const auto& t = batch->targets[static_cast<std::size_t>(i)];
      auto d = detect::postprocess_detections(cls_bak[i], box_ba4[i], anchors_a4, f.out.anchors_per_level, t.height,
                                              t.width, post);
      const auto boxes = d.boxes_d4.to(torch::kDouble).contiguous();
      const auto scores = d.scores_d.to(torch::kDouble).contiguous();
      const auto labels = d.labels_d.to(torch::kLong).contiguous();
      const auto anchors = d.anchors_d.to(torch::kLong).contiguous();
      const auto ba = boxes.accessor<double, 2>();
      const auto sa = scores.accessor<double, 1>();
      const auto la = labels.accessor<std::int64_t, 1>();
      const auto aa = anchors.accessor<std::int64_t, 1>();
      for (std::int64_t j = 0; j < boxes.size(0); ++j) {
        const double x1 = ba[j][0] / t.scale_x, y1 = ba[j][1] / t.scale_y;
        const double x2 = ba[j][2] / t.scale_x, y2 = ba[j][3] / t.scale_y;
        detections.push_back(
            {t.image_id, category_ids[static_cast<std::size_t>(la[j])], {x1, y1, x2 - x1, y2 - y1}, sa[j]});
        if (recorder) {
          recorder->add_detection({.image_id = t.image_id,
                                   .label = la[j],
                                   .level = anchor_level(aa[j], f.out.anchors_per_level),
                                   .score = sa[j],
                                   .box_xywh = {x1, y1, x2 - x1, y2 - y1}});
        }
      }
    }
    if (routing) {
      add_routing(*routing, f.out, f.loss.matched_a, f.targets, batch->targets);
    }
    if (recorder) {
      recorder->add_batch(f.out, f.loss.matched_a, batch->targets);
    }
  }
  m_model->train();
  const auto result = coco::evaluate(m_data.val, detections);
  const auto n = static_cast<double>(std::max<std::int64_t>(1, images));
  DetectionEvaluation out;
  out.images = images;
  auto& figures = out.figures;
  figures.metrics = {{"loss", (cls + box) / n}, {"cls_loss", cls / n}, {"box_loss", box / n}};
  for (const auto& [name, index] : kRecordedStats) {
    figures.metrics.emplace_back(name, result.stats[static_cast<std::size_t>(index)]);
  }
  if (routing) {
    figures.routing = routing->summarize();
  }
  if (keep_detections) {
    out.detections = std::move(detections);
  }
  if (recorder) {
    out.routing_record = recorder->record();
  }
  return out;
}

}  // namespace moexp::train
