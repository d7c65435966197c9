#include "core/task_kinds.hpp"

#include "core/name_table.hpp"

namespace moexp {

static_assert(core::ids_in_order(kTasks), "kTasks lists the tasks in the order of enum TaskKind");

const TaskInfo& task_info(TaskKind id) {
  return kTasks.at(static_cast<std::size_t>(id));
}

std::string moe_layer_label(TaskKind task, int position) {
  switch (task) {
    case TaskKind::classification:
      return std::to_string(position);
    case TaskKind::detection:
      return position == kClsHeadPosition ? "cls_head" : position == kBoxHeadPosition ? "box_head" : "?";
  }
  return std::to_string(position);
}

const std::vector<MetricSpec>& report_metrics(TaskKind task) {
  switch (task) {
    case TaskKind::classification:
      return default_report_metrics();
    case TaskKind::detection:
      return detection_report_metrics();
  }
  return default_report_metrics();
}

}  // namespace moexp
