#include "train/init_from.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace moexp::train {
namespace {

// Module::save writes a module's own parameters and buffers by name and each child as a nested archive.
void collect(torch::serialize::InputArchive& archive, const std::string& prefix,
             std::map<std::string, torch::Tensor>& out) {
  for (const auto& key : archive.keys()) {
    torch::Tensor tensor;
    if (archive.try_read(key, tensor, /*is_buffer=*/true)) {
      out.emplace(prefix + key, tensor);
      continue;
    }
    torch::serialize::InputArchive child;
    if (archive.try_read(key, child)) {
      collect(child, prefix + key + ".", out);
    }
  }
}

} // namespace

std::string InitReport::summary() const {
  std::string out;
  for (const auto& p : parts) {
    out += fmt::format("{}{} {}/{}", out.empty() ? "" : ", ", p.part, p.copied, p.total);
  }
  return out;
}

std::map<std::string, torch::Tensor> checkpoint_tensors(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw InputError(fmt::format("{}: checkpoint not found", path.string()));
  }
  std::map<std::string, torch::Tensor> tensors;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    torch::serialize::InputArchive model;
    archive.read("model", model);
    collect(model, "", tensors);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(fmt::format("{}: not a moexp checkpoint: {}", path.string(), what.substr(0, what.find('\n'))));
  }
  return tensors;
}

InitReport init_from_checkpoint(torch::nn::Module& model, const std::filesystem::path& path,
                                const std::function<std::string(const std::string&)>& part_of,
                                const std::vector<std::string>& required) {
  const auto source = checkpoint_tensors(path);
  InitReport report;
  torch::NoGradGuard no_grad;
  auto visit = [&](const std::string& name, torch::Tensor& target) {
    const auto part = part_of(name);
    auto it = std::find_if(report.parts.begin(), report.parts.end(), [&](const PartInit& p) { return p.part == part; });
    if (it == report.parts.end()) {
      report.parts.push_back({part, 0, 0});
      it = std::prev(report.parts.end());
    }
    ++it->total;
    ++report.total;
    const auto found = source.find(name);
    const bool fits = found != source.end() && found->second.sizes() == target.sizes();
    if (!fits) {
      if (std::find(required.begin(), required.end(), part) != required.end()) {
        throw InputError(fmt::format(
            "model.init_from: {}: {} {} (the {} is to be frozen, so all of it must come from the checkpoint)",
            path.string(), found == source.end() ? "has no" : "has another shape for", name, part));
      }
      return;
    }
    target.copy_(found->second);
    ++it->copied;
    ++report.copied;
  };
  for (auto& item : model.named_parameters()) {
    visit(item.key(), item.value());
  }
  for (auto& item : model.named_buffers()) {
    visit(item.key(), item.value());
  }
  return report;
}

} // namespace moexp::train
