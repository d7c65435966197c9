// What the store benchmarks write per epoch: the trainer's 8 epoch figures and, per MoE layer and split, `experts`
// shares, a class x expert (10 classes) and a superclass x expert (4 superclasses) matrix with their samples, and the
// co-activation counts.
#pragma once

#include "core/metrics.hpp"

#include <cstdint>
#include <vector>

namespace moexp::bench {

inline LayerRouting sample_routing(int layer, int epoch, int experts) {
  constexpr int kClasses = 10, kSuperclasses = 4;
  LayerRouting l;
  l.layer = layer;
  l.position = layer + 1;
  l.samples = 10000;
  for (int e = 0; e < experts; ++e) {
    l.importance_share.push_back((1.0 + 0.01 * ((e + epoch) % 3 - 1)) / experts);
    l.sample_share.push_back(2.0 * l.importance_share.back());
  }
  l.groups.push_back({kClassGroup, std::vector<std::vector<double>>(kClasses, l.importance_share),
                      std::vector<std::int64_t>(kClasses, 1000), 0.3, 0.01});
  l.groups.push_back({kSuperclassGroup, std::vector<std::vector<double>>(kSuperclasses, l.importance_share),
                      std::vector<std::int64_t>(kSuperclasses, 2500), 0.2, 0.01});
  l.coactivation.assign(static_cast<std::size_t>(experts * experts), 0);
  for (int i = 0; i < experts; ++i) {
    for (int j = i + 1; j < experts; ++j) {
      l.coactivation[static_cast<std::size_t>(i * experts + j)] = 1000 + i + j;
    }
  }
  summarize_routing(l);
  return l;
}

// Epoch `epoch` of a run with `layers` MoE layers of `experts` experts.
inline EpochRecord sample_epoch(int epoch, int layers, int experts) {
  EpochRecord r;
  r.epoch = epoch;
  r.set("train", "loss", 1.0 / epoch);
  r.set("train", "acc", 0.5 + 0.004 * epoch);
  r.set("test", "loss", 1.1 / epoch);
  r.set("test", "acc", 0.5 + 0.003 * epoch);
  r.set("", "aux_loss", 0.01);
  r.set("", "lr", 1e-3);
  r.set("", "seconds", 30);
  r.set("", "images_per_s", 600);
  for (int l = 0; l < layers; ++l) {
    r.train_routing.push_back(sample_routing(l, epoch, experts));
    r.test_routing.push_back(sample_routing(l, epoch + 1, experts));
  }
  return r;
}

}  // namespace moexp::bench
