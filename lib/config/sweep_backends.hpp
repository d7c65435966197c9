// The sweep backends, defined once (a closed set). The spec's executor.backend and `moexp sweep --backend` accept
// exactly these names; sweep::run_sweep runs each through its registry line (lib/sweep/run_sweep.cpp), and a test
// checks that every name here has one. A new backend is one entry here, one registry line there and its own folder
// (lib/sweep/<name>/: its sweep::Backend, runner and `sweep status` part).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::config {

struct SweepBackendInfo {
  std::string_view name;     // "local", "slurm"
  std::string_view summary;  // for help texts
  bool detaches;             // runs go on without the sweep process (`moexp sweep --detach`)
};

inline constexpr std::array<SweepBackendInfo, 2> kSweepBackends{{
    {"local", "child processes on this machine's slots", false},
    {"slurm", "one Slurm job array per submission", true},
}};

// The backend called `name`, or nullptr.
const SweepBackendInfo* find_sweep_backend(std::string_view name);

// The backends' names, in kSweepBackends' order.
std::vector<std::string> sweep_backend_names();

// `"local" or "slurm"`: the names quoted for messages.
std::string sweep_backend_choices();

}  // namespace moexp::config
