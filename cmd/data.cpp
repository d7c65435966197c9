// moexp data fetch NAME... [--to DIR],  moexp data list [--to DIR],  moexp data eval-coco GT DETECTIONS [--json],
// moexp data shapes --out DIR [...]
#include "commands.hpp"

#include "coco/commands.hpp"
#include "coco/shapes.hpp"
#include "fetch/commands.hpp"

namespace moexp::cli {

Action setup_data(CLI::App& app) {
  app.require_subcommand(1);
  auto fetch_req = std::make_shared<fetch::DataFetchRequest>();
  auto* fetch_cmd = app.add_subcommand("fetch",
                                       "download, verify and unpack datasets: cifar10, cifar100, mnist, "
                                       "fashion_mnist");
  fetch_cmd->add_option("datasets", fetch_req->datasets, "dataset names")->required();
  fetch_cmd->add_option("--to", fetch_req->to, "root folder (default: $MOEXP_DATA, else results/data)");
  auto list_req = std::make_shared<fetch::DataListRequest>();
  auto* list_cmd = app.add_subcommand("list", "which datasets are present, their sizes, and their checksums verified");
  list_cmd->add_option("--to", list_req->to, "root folder (default: $MOEXP_DATA, else results/data)");
  auto eval_req = std::make_shared<coco::EvalCocoRequest>();
  auto* eval_cmd = app.add_subcommand("eval-coco",
                                      "COCO bbox evaluation of a results file, as pycocotools' COCOeval "
                                      "prints it (AP, AP50, AP75, AP_S/M/L, AR@1/10/100, AR_S/M/L)");
  eval_cmd->add_option("ground_truth", eval_req->ground_truth, "COCO instances file (images, annotations, categories)")
      ->required();
  eval_cmd->add_option("detections", eval_req->detections, "results file: [{image_id, category_id, bbox, score}, ...]")
      ->required();
  eval_cmd->add_flag("--json", eval_req->json, "the 12 stats and per-category AP as JSON");
  auto shapes = std::make_shared<coco::ShapesOptions>();
  auto shapes_out = std::make_shared<std::string>();
  auto* shapes_cmd = app.add_subcommand("shapes",
                                        "write a generated COCO-format detection set of shapes (synthetic: "
                                        "tests, the demo, CPU experiments)");
  shapes_cmd->add_option("--out", *shapes_out, "folder to create: train/, val/, annotations/")->required();
  shapes_cmd->add_option("--train", shapes->train, "training images")->capture_default_str();
  shapes_cmd->add_option("--val", shapes->val, "validation images")->capture_default_str();
  shapes_cmd->add_option("--size", shapes->size, "image side in pixels (>= 160)")->capture_default_str();
  shapes_cmd->add_option("--seed", shapes->seed, "the same seed writes the same files")->capture_default_str();
  shapes_cmd
      ->add_option("--size-class-correlation", shapes->size_class_correlation,
                   "probability that an object's class is set by its size band (0: independent)")
      ->capture_default_str();
  shapes_cmd->add_flag("--contiguous-areas", shapes->contiguous_areas,
                       "size bands that meet at COCO's cut-offs (default: bands kept apart from them), so that one "
                       "box size and shape spans size buckets");
  return [=] {
    if (shapes_cmd->parsed()) {
      shapes->out = *shapes_out;
      return coco::run_data_shapes(*shapes);
    }
    if (eval_cmd->parsed()) {
      return coco::run_eval_coco(*eval_req);
    }
    return fetch_cmd->parsed() ? fetch::run_data_fetch(*fetch_req) : fetch::run_data_list(*list_req);
  };
}

}  // namespace moexp::cli
