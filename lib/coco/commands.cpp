#include "coco/commands.hpp"

#include "core/json.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <map>

namespace moexp::coco {

std::string summary_text(const EvalResult& r) {
  struct Line {
    bool ap;
    const char* iou;
    const char* area;
    int max_dets;
  };
  static constexpr Line kLines[12] = {
      {true, "0.50:0.95", "all", 100},    {true, "0.50", "all", 100},          {true, "0.75", "all", 100},
      {true, "0.50:0.95", "small", 100},  {true, "0.50:0.95", "medium", 100},  {true, "0.50:0.95", "large", 100},
      {false, "0.50:0.95", "all", 1},     {false, "0.50:0.95", "all", 10},     {false, "0.50:0.95", "all", 100},
      {false, "0.50:0.95", "small", 100}, {false, "0.50:0.95", "medium", 100}, {false, "0.50:0.95", "large", 100}};
  std::string out;
  for (int i = 0; i < 12; ++i) {
    const Line& l = kLines[i];
    out += fmt::format(" {:<18} {} @[ IoU={:<9} | area={:>6} | maxDets={:>3} ] = {:0.3f}\n",
                       l.ap ? "Average Precision" : "Average Recall", l.ap ? "(AP)" : "(AR)", l.iou, l.area, l.max_dets,
                       r.stats[static_cast<std::size_t>(i)]);
  }
  return out;
}

std::string summary_json(const EvalResult& r, const Dataset& gt, std::size_t detections) {
  std::map<std::int64_t, std::string> names;
  for (const auto& c : gt.categories) {
    names.emplace(c.id, c.name);
  }
  std::string out = "{\"stats\": {";
  for (std::size_t i = 0; i < r.stats.size(); ++i) {
    out += fmt::format("{}{}: {}", i ? ", " : "", core::json_string(kStatNames[i]), core::json_number(r.stats[i]));
  }
  out += "}, \"categories\": [";
  for (std::size_t k = 0; k < r.category_ids.size(); ++k) {
    out += fmt::format("{}{{\"id\": {}, \"name\": {}, \"ap\": {}}}", k ? ", " : "", r.category_ids[k],
                       core::json_string(names[r.category_ids[k]]), core::json_number(r.category_ap[k]));
  }
  out += fmt::format("], \"images\": {}, \"annotations\": {}, \"detections\": {}}}\n", gt.images.size(),
                     gt.annotations.size(), detections);
  return out;
}

int run_eval_coco(const EvalCocoRequest& request) {
  const Dataset gt = load_dataset(request.ground_truth);
  const auto dts = load_detections(request.detections, gt);
  const EvalResult result = evaluate(gt, dts);
  fmt::print("{}", request.json ? summary_json(result, gt, dts.size()) : summary_text(result));
  return 0;
}

int run_data_shapes(const ShapesOptions& options) {
  const ShapesSummary s = generate_shapes(options);
  for (const auto& [name, split] : {std::pair{"train", s.train}, std::pair{"val", s.val}}) {
    fmt::print("{:<5} {:>5} images ({} empty), {:>5} objects: {} small, {} medium, {} large; {} crowd regions\n", name,
               split.images, split.empty_images, split.objects, split.by_bucket[0], split.by_bucket[1],
               split.by_bucket[2], split.crowd);
  }
  fmt::print("wrote {} (annotations/instances_train.json, instances_val.json)\n", options.out.string());
  return 0;
}

}  // namespace moexp::coco
