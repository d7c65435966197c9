#include "train/device.hpp"

#include "core/error.hpp"

#include <fmt/format.h>
#include <torch/version.h>

#include <cstdint>
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
      throw InputError(
          fmt::format("--device {}: CUDA device {} is not available ({} CUDA device(s); this build of "
                      "LibTorch {} CUDA)",
                      spec, index, count, torch::cuda::is_available() ? "has" : "may lack"));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError(fmt::format("--device {}: use auto, cpu, cuda or cuda:N", spec));
}

Execution resolve_execution(config::Precision precision, config::MemoryFormat memory_format,
                            const torch::Device& device) {
  Execution exec;
  switch (precision) {
    case config::Precision::automatic:
      exec.bf16 = device.is_cuda();
      break;
    case config::Precision::fp32:
      exec.bf16 = false;
      break;
    case config::Precision::bf16:
      exec.bf16 = true;
      break;
  }
  // Channels-last on every device: on the CPU it spares oneDNN a layout reorder of every activation around every
  // convolution (ResNet-18 whole runs: dense +7 %, MoE +18 % images/s; ResNet-8 and RetinaNet runs no slower;
  // bench/RESULTS.md, session 6).
  switch (memory_format) {
    case config::MemoryFormat::automatic:
    case config::MemoryFormat::channels_last:
      exec.channels_last = true;
      break;
    case config::MemoryFormat::contiguous:
      exec.channels_last = false;
      break;
  }
  return exec;
}

namespace {

// Turns bf16 autocast on or off for CUDA or the CPU. LibTorch 2.4 replaced the per-device functions (set_enabled,
// set_cpu_enabled, set_autocast_{gpu,cpu}_dtype) with ones taking the device type and later deprecated the old ones;
// Debian's LibTorch 1.13 has only the old ones.
void set_autocast(bool cuda, bool enabled) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  const auto device_type = cuda ? at::kCUDA : at::kCPU;
  if (enabled) {
    at::autocast::set_autocast_dtype(device_type, at::kBFloat16);
  }
  at::autocast::set_autocast_enabled(device_type, enabled);
#else
  if (cuda) {
    if (enabled) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    }
    at::autocast::set_enabled(enabled);
  } else {
    if (enabled) {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

}  // namespace

AutocastScope::AutocastScope(bool enabled, const torch::Device& device) : m_enabled(enabled), m_cuda(device.is_cuda()) {
  if (!m_enabled) {
    return;
  }
  set_autocast(m_cuda, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!m_enabled) {
    return;
  }
  if (at::autocast::decrement_nesting() == 0) {
    at::autocast::clear_cache();
  }
  set_autocast(m_cuda, false);
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) {
      p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
}

int set_threads(std::int64_t threads) {
  int n = threads > 0 ? static_cast<int>(threads) : static_cast<int>(std::thread::hardware_concurrency());
  n = std::max(1, n);
  torch::set_num_threads(n);
  return n;
}

}  // namespace moexp::train
