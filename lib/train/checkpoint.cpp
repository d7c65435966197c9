#include "train/checkpoint.hpp"

#include "core/atomic_file.hpp"
#include "core/error.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace moexp::train {

void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const CheckpointInfo& info) {
  // Streamed through our own writer: torch's file writer aborts the process when the disk fills up.
  core::stream_file_atomic(path, [&](const core::ByteSink& sink) {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive;
    model.save(model_archive);
    archive.write("model", model_archive);
    if (optimizer != nullptr) {
      torch::serialize::OutputArchive optimizer_archive;
      optimizer->save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
    }
    archive.write("epoch", torch::tensor(info.epoch, torch::kLong));
    archive.write("config_hash", c10::IValue(info.config_hash));
    archive.write("run_uid", c10::IValue(info.run_uid));
    archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
    archive.save_to([&](const void* data, std::size_t size) -> std::size_t {
      sink(data, size);
      return size;
    });
  });
}

CheckpointInfo load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                               torch::optim::Optimizer* optimizer) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(fmt::format("{}: checkpoint not found", path.string()));
  }
  CheckpointInfo info;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer != nullptr) {
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer->load(optimizer_archive);
    }
    torch::Tensor epoch;
    archive.read("epoch", epoch);
    info.epoch = epoch.item<std::int64_t>();
    c10::IValue hash;
    archive.read("config_hash", hash);
    info.config_hash = hash.toStringRef();
    if (c10::IValue uid; archive.try_read("run_uid", uid)) {
      info.run_uid = uid.toStringRef();
    }
    torch::Tensor rng;
    archive.read("rng", rng);
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(
        fmt::format("{}: not a usable checkpoint for this model: {}", path.string(), what.substr(0, what.find('\n'))));
  }
  return info;
}

}  // namespace moexp::train
