// The tasks moexp trains, defined once: what each is called, how its MoE layers are labelled and what a report of its
// runs shows by default. Torch-free (config, the report and the console all read it); the Torch side of a task (its
// data, model, training step and evaluation) is registered in train/task_setup.cpp. A new task is one entry here, its
// datasets in dataset_kinds.hpp, and its own files under lib/train plus one line in train/task_setup.cpp.
#pragma once

#include "core/metric_catalog.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace moexp {

enum class TaskKind { classification, detection };

struct TaskInfo {
  TaskKind id;
  std::string_view name;            // "classification", "detection"
  std::string_view primary_metric;  // the metric a report leads with and compares on ("test_acc", "test_ap")
};

inline constexpr std::array<TaskInfo, 2> kTasks{{
    {TaskKind::classification, "classification", "test_acc"},
    {TaskKind::detection, "detection", "test_ap"},
}};

// The task `id`.
const TaskInfo& task_info(TaskKind id);

// Detection's MoE layers are its heads, recorded under these positions (LayerRouting::position).
inline constexpr int kClsHeadPosition = 1;
inline constexpr int kBoxHeadPosition = 2;

// How an MoE layer at `position` is named in listings: the position itself for classification ("0" stem, "1" stage
// 1), the head for detection ("cls_head", "box_head").
std::string moe_layer_label(TaskKind task, int position);

// The metrics a report of `task`'s runs shows when none are asked for, in order.
const std::vector<MetricSpec>& report_metrics(TaskKind task);

}  // namespace moexp
