// `moexp train` as a library call: config -> data -> model -> store -> training loop. Torch-free header, so the
// command-line layer does not compile Torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moexp::train {

struct TrainRequest {
  std::filesystem::path experiment;    // experiment TOML (unused with resume_run)
  std::vector<std::string> overrides;  // "key=value"
  std::string db_path = "results/moexp.db";
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::optional<std::int64_t> resume_run;
  // Set by a local sweep on the children it starts: its pid. The run is taken only while that sweep's claim on it
  // stands (a child whose sweep was killed, and whose claim a later sweep settled, leaves the run alone).
  std::optional<std::int64_t> claimed_by;
  // Set by a sweep whose runs write journals: the run's folder, where the sweep wrote its config.toml and run.uid.
  // The run never opens the database; it records itself in run_folder/journal.bin, which the sweep ingests.
  std::optional<std::filesystem::path> run_folder;
};

// Exit codes of `moexp train`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitDiverged = 3;
inline constexpr int kExitInterrupted = 130;

// Run (or resume) one experiment end to end. Bad input throws InputError before anything is written. A failure
// during training marks the run failed and throws Error. Returns kExitOk, kExitDiverged or kExitInterrupted.
int run_train(const TrainRequest& request);

}  // namespace moexp::train
