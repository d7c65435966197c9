#include "train/device.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <thread>

namespace moexp::train {

torch::Device pick_device(const std::string& spec) {
  if (spec == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  if (spec == "cpu") {
    return torch::Device(torch::kCPU);
  }
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (spec.size() > 5) {
      try {
        index = std::stoi(spec.substr(5));
      } catch (const std::exception&) {
        throw InputError(fmt::format("--device {}: expected cuda:N with a GPU index N", spec));
      }
    }
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (!torch::cuda::is_available() || index >= count) {
      throw InputError(fmt::format("--device {}: CUDA device {} is not available ({} CUDA device(s); this build of "
                                   "LibTorch {} CUDA)",
                                   spec, index, count, torch::cuda::is_available() ? "has" : "may lack"));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError(fmt::format("--device {}: use auto, cpu, cuda or cuda:N", spec));
}

int set_threads(std::int64_t threads) {
  int n = threads > 0 ? static_cast<int>(threads) : static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(1, n);
  torch::set_num_threads(n);
  return n;
}

} // namespace moexp::train
