// Precompiled header for the Torch side (moexp_ml and the Torch tests). Never include it from Torch-free code.
#pragma once
#include <torch/torch.h>
