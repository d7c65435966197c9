#include "moe/host_read.hpp"

#include <atomic>

namespace moexp::moe {
namespace {

std::atomic<std::int64_t> g_reads{0};

}  // namespace

torch::Tensor read_to_host(const torch::Tensor& t) {
  g_reads.fetch_add(1, std::memory_order_relaxed);
  return t.to(torch::kCPU);
}

double read_double(const torch::Tensor& scalar) {
  g_reads.fetch_add(1, std::memory_order_relaxed);
  return scalar.item<double>();
}

std::int64_t host_reads() {
  return g_reads.load(std::memory_order_relaxed);
}

}  // namespace moexp::moe
