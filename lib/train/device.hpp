// Choosing the Torch device and thread count.
#pragma once

#include <torch/torch.h>

#include <string>

namespace moexp::train {

// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Throws InputError for an unknown spec or an
// unavailable CUDA device.
torch::Device pick_device(const std::string& spec);

// Set Torch's intra-op threads: `threads`, or all cores when 0. Returns the count set.
int set_threads(std::int64_t threads);

} // namespace moexp::train
