// The one door for device -> host reads in the training step (issue: a GPU step with zero host synchronisations).
// Every read of a tensor's values by host code in the step — the experts' row counts, a BN momentum, the trainer's
// periodic loss check — goes through these functions, which count each call on every device: on CUDA each one drains
// the stream, on the CPU it is free, and the CPU tests can still prove how many a step makes
// (tests/test_moe_host_read.cpp). Reads outside the step (epoch summaries, evaluation) need not use them.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace moexp::moe {

// `t`'s values on the host (a copy from a device; `t` itself on the CPU), counted as one read.
torch::Tensor read_to_host(const torch::Tensor& t);

// A one-element tensor's value, counted as one read.
double read_double(const torch::Tensor& scalar);

// Reads through this door since the process started (all threads).
std::int64_t host_reads();

}  // namespace moexp::moe
