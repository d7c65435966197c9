// `moexp evaluate` as a library call (Torch-free header): a trained run or checkpoint on a split, under the trained
// routing and the requested diagnostic routings; every setting is stored and printed.
#pragma once

#include <string>

namespace moexp::train {

struct EvaluateRequest {
  std::string target;  // a run id, or a checkpoint file (its folder must hold the run's config.toml)
  std::string db_path = "results/moexp.db";
  std::string split = "test";
  std::string k;                // "", "N" or "all": test-time k values besides the trained one
  std::string force_expert;     // "", "I" or "all": route every sample to expert I
  bool uniform = false;         // dense uniform mixture
  std::string dump_routing;     // CSV path for the trained setting's routing ("" for none): per sample, or per image
                                // and level with the objects' rows beside it (detection)
  std::string dump_detections;  // detection: COCO results JSON of the trained setting's detections ("" for none)
  std::string gallery;          // folder for the trained setting's per-expert gallery ("" for none)
  bool gallery_in_run_folder = false;  // the gallery goes to the run folder's gallery/ (where `report` finds it)
  long long gallery_size = 0;  // top and control images per expert (classification, 0: 32) or images (detection, 0: 12)
  std::string gallery_images;  // detection: "ID,ID,...": the images the gallery shows ("" for a seeded random draw)
  bool gallery_inline = false;  // one self-contained index.html (thumbnails as data URIs)
  bool json = false;
  std::string device = "auto";
};

// Run the evaluation; bad input (unknown run, incompatible or corrupt checkpoint, bad option) throws InputError
// before anything is stored. Returns the exit code.
int run_evaluate(const EvaluateRequest& request);

}  // namespace moexp::train
