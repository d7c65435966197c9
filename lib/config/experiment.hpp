// The experiment configuration: every knob of one training run, with the spec's defaults (docs/algorithm.md §5.1).
// Filled by config::load_experiment; written back as canonical TOML by config::canonical_toml.
#pragma once

#include "config/choices.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace moexp::config {

struct ModelConfig {
  Arch arch = Arch::resnet18;              // CIFAR-style ResNets, or retinanet (detection)
  Backbone backbone = Backbone::resnet18;  // retinanet: ImageNet-style ResNet
  double width = 1.0;                      // retinanet: backbone width multiplier (stage widths 64..512 x width)
  std::string backbone_weights;            // retinanet: "" | torchvision weights exported by
                                           // scripts/export_torchvision_resnet.py (width 1), loaded into the backbone
  std::string init_from;                   // retinanet: "" | a run id of the same database | a checkpoint file: the
                                           // weights (matched by name and shape) a new run starts from
  bool experts_from_head = false;          // retinanet with init_from: every expert of an MoE head starts as the
                                           // checkpoint's dense head (else the experts keep their own initialisation)
  Freeze freeze = Freeze::none;            // retinanet: parts without gradients (need init_from)
  bool frozen_bn = false;  // retinanet: the backbone's BN statistics and affine fixed (FrozenBatchNorm2d)
};

struct MoeConfig {
  bool enabled = false;                            // false: the dense baseline (no [moe] section)
  std::int64_t num_experts = 4;                    // E
  std::int64_t k = 2;                              // experts per sample
  std::vector<std::int64_t> position{1};           // classification: 0 = stem, 1.. = stage; one MoE layer per position
  MoeHead head = MoeHead::cls_head;                // detection: the MoE subnet(s)
  bool shared_gate = false;                        // detection, head = both: one gate routes both heads' experts
  GateKind gate = GateKind::gap_fc;                // the gate network
  Variant variant = Variant::residual;             // "default" (no shortcut) | residual
  bool noise = true;                               // noisy top-k in training (soft and unconstrained gates only)
  NoiseInput noise_input = NoiseInput::gate;       // what the noise's std is computed from (relu_gap_fc only)
  Combine combine = Combine::logits;               // detection, classification head: what the experts' mix mixes
  ExpertInit expert_init = ExpertInit::head;       // detection: how the experts of an MoE head start
  ExpertWidth expert_width = ExpertWidth::narrow;  // narrow (about half the stage's parameters) | full
  Dispatch dispatch = Dispatch::automatic;         // how the experts run (moe/layer.hpp)
  double capacity_factor = 0;   // > 0: static training dispatch, each expert ceil(f B k / E) rows, the rest dropped
  double collapse_share = 0.9;  // statistics: a layer is collapsed when one expert's share exceeds this
};

struct ConstraintConfig {
  Constraint kind = Constraint::importance;  // the scheme (core/constraint_kinds.hpp)
  double weight = 0.5;                       // weight of the soft auxiliary loss
  double threshold = -1;                     // tau of the hard constraints; < 0 means the kind's default (0.5 / 0.3)
};

struct DataConfig {
  Dataset dataset = Dataset::fashion_mnist;  // core/dataset_kinds.hpp
  std::string path;                          // folder with the dataset's files; empty: the dataset's default
  std::int64_t limit_train = 0;              // use only the first N training samples (0 = all)
  std::int64_t limit_test = 0;               // use only the first N test samples (0 = all)
  bool augment = true;                       // flip (not MNIST) + crop with padding 4 (+ colour jitter on CIFAR)
  OnDevice on_device = OnDevice::automatic;  // classification: the images resident on the training device
  std::int64_t synthetic_classes = 10;
  std::int64_t synthetic_channels = 1;
  std::int64_t synthetic_image_size = 16;
  std::int64_t synthetic_train = 2048;
  std::int64_t synthetic_test = 512;
  // Detection (COCO format): annotation files and image folders, relative to data.path unless absolute; empty means
  // the dataset's layout (coco: annotations/instances_train2017.json and train2017/; shapes: ..._train.json, train/).
  std::string train_annotations;
  std::string val_annotations;
  std::string train_images;
  std::string val_images;
};

// Detection: RetinaNet's input size, pyramid, anchors, loss and post-processing (docs/detection.md).
struct DetectionConfig {
  std::int64_t min_size = 800;              // shorter image side after resizing (torchvision's rule) ...
  std::int64_t max_size = 1333;             // ... unless the longer side would exceed this
  std::int64_t fixed_size = 0;              // > 0: every image resized to fixed_size x fixed_size instead
  double anchor_size = 32;                  // base anchor size of P3, doubling per level (16 for small images)
  std::int64_t top_level = 7;               // pyramid P3 .. P<top_level> (5..7)
  bool p6_from_c5 = true;                   // P6 from C5 (the paper, detectron2) or from P5 (torchvision v1)
  std::int64_t fpn_channels = 256;          // channels of the pyramid and the subnets
  BoxLoss box_loss = BoxLoss::l1;           // l1 (torchvision) | smooth_l1 (beta 1/9, the reference code)
  bool low_quality_matches = true;          // torchvision's matcher; false: the reference code's (none)
  double score_threshold = 0.05;            // post-processing: minimum class score
  std::int64_t detections_per_image = 300;  // post-processing: kept per image (torchvision)
  std::int64_t workers = 2;                 // image decoding threads (not part of the run's identity)
};

struct TrainConfig {
  std::int64_t epochs = 150;
  std::int64_t batch_size = 128;
  Optimizer optimizer = Optimizer::adam;
  double lr = 1e-3;
  double momentum = 0.9;  // sgd only
  double weight_decay = 0;
  Schedule schedule = Schedule::step;
  std::vector<std::int64_t> lr_milestones{80, 120};  // step: multiply lr by lr_gamma after these epochs
  double lr_gamma = 0.1;
  std::int64_t warmup_epochs = 0;  // linear warm-up from lr/warmup_epochs to lr
  double grad_clip = 0;            // > 0: gradients scaled so that their global L2 norm is at most this
  std::int64_t seed = 42;
  std::int64_t threads = 0;  // intra-op threads; 0 = all cores
  std::int64_t eval_batch_size = 500;
  Precision precision = Precision::automatic;            // auto: bf16 autocast on CUDA, fp32 on CPU
  MemoryFormat memory_format = MemoryFormat::automatic;  // auto: channels_last
};

struct ExperimentConfig {
  std::string name;  // run name; defaults to the experiment file's stem
  ModelConfig model;
  MoeConfig moe;
  ConstraintConfig constraint;
  DataConfig data;
  DetectionConfig detection;
  TrainConfig train;
};

// Soft constraint kinds add an auxiliary loss; hard kinds mask over-used experts in training.
bool is_soft_constraint(Constraint kind);
bool is_hard_constraint(Constraint kind);

// The default threshold tau of a hard constraint kind (relative 0.5, absolute 0.3).
double default_threshold(Constraint kind);

// The effective threshold: `c.threshold`, or the kind's default when it is unset (< 0).
double effective_threshold(const ConstraintConfig& c);

// The task `cfg` trains: its dataset's (core/task_kinds.hpp).
TaskKind task_of(const ExperimentConfig& cfg);

// Whether `cfg` is a detection experiment (a COCO-format dataset, RetinaNet).
bool is_detection(const ExperimentConfig& cfg);

// Number of residual stages of `arch` (MoE positions are 0..stage count); 0 for retinanet (its MoE layers are heads).
int arch_stage_count(Arch arch);

}  // namespace moexp::config
