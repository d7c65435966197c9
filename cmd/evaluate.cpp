// moexp evaluate RUN_ID|CHECKPOINT [--db PATH] [--split test|train] [--k N|all] [--force-expert I|all] [--uniform]
//                [--dump-routing FILE.csv] [--dump-detections FILE.json] [--gallery DIR [--gallery-size N]
//                [--images ID,...] [--gallery-inline]] [--json] [--device D]
#include "commands.hpp"

#include "torch_plugin.hpp"
#include "train/evaluate_run.hpp"

namespace moexp::cli {

Action setup_evaluate(CLI::App& app) {
  auto req = std::make_shared<train::EvaluateRequest>();
  app.add_option("target", req->target, "run id, or a checkpoint file in a run folder")->required();
  app.add_option("--db", req->db_path, "results database")->capture_default_str();
  app.add_option("--split", req->split, "test or train")->capture_default_str();
  app.add_option("--k", req->k, "also evaluate with test-time k = N (or every k from 1 to E: all)")->type_name("N|all");
  app.add_option("--force-expert", req->force_expert,
                 "also evaluate with every sample forced to expert I (or each: all)")
      ->type_name("I|all");
  app.add_flag("--uniform", req->uniform, "also evaluate the dense uniform mixture of all experts");
  app.add_option("--dump-routing", req->dump_routing,
                 "write the trained setting's routing as CSV: per sample; detection: per (image, level), and per "
                 "(object, level) in FILE.objects.csv")
      ->type_name("FILE.csv");
  app.add_option("--dump-detections", req->dump_detections,
                 "detection runs: write the trained setting's detections in COCO's results format")
      ->type_name("FILE.json");
  auto* gallery = app.add_option("--gallery", req->gallery,
                                 "write DIR/index.html (without DIR: the run folder's gallery/, which report --format "
                                 "html shows): each expert's top images beside a random control (classification), or "
                                 "images with boxes coloured by expert and each expert's object sizes and levels "
                                 "(detection)")
                      ->type_name("[DIR]")
                      ->expected(0, 1);
  app.add_option("--gallery-size", req->gallery_size,
                 "top and control images per expert (classification, default 32), or images (detection, default 12)")
      ->check(CLI::Range(1LL, 1000LL))
      ->needs(gallery);
  app.add_option("--images", req->gallery_images, "detection galleries: show these validation images")
      ->type_name("ID,...")
      ->needs(gallery);
  app.add_flag("--gallery-inline", req->gallery_inline,
               "one self-contained gallery file: thumbnails as data URIs instead of PNG files beside it");
  app.add_flag("--json", req->json, "print JSON instead of tables");
  app.add_option("--device", req->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app.footer("Clean logits, no masking, no noise. Every setting is stored as an evaluation row linked to the run.");
  return [req, gallery] {
    req->gallery_in_run_folder = gallery->count() > 0 && req->gallery.empty();
    return plugin_run_evaluate(*req);
  };
}

}  // namespace moexp::cli
