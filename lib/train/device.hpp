// Choosing the Torch device and thread count.
#pragma once

#include "config/choices.hpp"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace moexp::train {

// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Throws InputError for an unknown spec or an
// unavailable CUDA device.
torch::Device pick_device(const std::string& spec);

// How a run executes on its device: bf16 autocast and channels-last memory format, resolved from the config's
// train.precision / train.memory_format ("auto": bf16 on CUDA only, channels-last on every device).
struct Execution {
  bool bf16 = false;
  bool channels_last = false;
};
Execution resolve_execution(config::Precision precision, config::MemoryFormat memory_format,
                            const torch::Device& device);

// Autocast to bf16 on `device`'s type while in scope (no-op when `enabled` is false).
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool m_enabled;
  bool m_cuda;
};

// Convert the 4-D parameters and buffers of `module` to channels-last in place.
void to_channels_last(torch::nn::Module& module);

// Set Torch's intra-op threads: `threads`, or all cores when 0. Returns the count set.
int set_threads(std::int64_t threads);

}  // namespace moexp::train
