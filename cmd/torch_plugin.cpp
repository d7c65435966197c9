#include "torch_plugin.hpp"

#include "core/error.hpp"
#include "core/host.hpp"

#include <fmt/format.h>

#include <dlfcn.h>
#include <filesystem>

namespace moexp::cli {
namespace {

void* plugin_symbol(const char* name) {
  static void* handle = [] {
    const auto exe = core::self_executable();
    const auto path = (exe ? exe->parent_path() : std::filesystem::path(".")) / train::kTorchPluginName;
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      throw Error(fmt::format("cannot load the Torch side of moexp ({}): {}", path.string(), ::dlerror()));
    }
    return h;
  }();
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) {
    throw Error(fmt::format("{} lacks {}: {}", train::kTorchPluginName, name, ::dlerror()));
  }
  return symbol;
}

}  // namespace

int plugin_run_train(const train::TrainRequest& request) {
  auto fn = reinterpret_cast<decltype(&moexp_plugin_run_train)>(plugin_symbol("moexp_plugin_run_train"));
  return fn(&request);
}

int plugin_run_evaluate(const train::EvaluateRequest& request) {
  auto fn = reinterpret_cast<decltype(&moexp_plugin_run_evaluate)>(plugin_symbol("moexp_plugin_run_evaluate"));
  return fn(&request);
}

}  // namespace moexp::cli
