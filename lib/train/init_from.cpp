#include "train/init_from.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

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

}  // namespace

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
                                const std::vector<std::string>& required,
                                const std::function<std::string(const std::string&)>& alias) {
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
    auto found = source.find(name);
    if (found == source.end() && alias) {
      if (const auto other = alias(name); !other.empty()) {
        found = source.find(other);
      }
    }
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

std::map<std::string, torch::Tensor> torchvision_state(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("model.backbone_weights: {}: cannot be read", path.string()));
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, torch::Tensor> state;
  try {
    const auto value = torch::pickle_load(bytes);
    if (!value.isGenericDict()) {
      throw InputError(
          fmt::format("model.backbone_weights: {}: not a dict of tensors (export it with "
                      "scripts/export_torchvision_resnet.py)",
                      path.string()));
    }
    for (const auto& item : value.toGenericDict()) {
      if (!item.key().isString() || !item.value().isTensor()) {
        throw InputError(
            fmt::format("model.backbone_weights: {}: not a dict of tensors (export it with "
                        "scripts/export_torchvision_resnet.py)",
                        path.string()));
      }
      state.emplace(item.key().toStringRef(), item.value().toTensor());
    }
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw InputError(fmt::format("model.backbone_weights: {}: not a torch.save file: {}", path.string(),
                                 what.substr(0, what.find('\n'))));
  }
  return state;
}

std::string moexp_backbone_name(const std::string& name) {
  if (name.rfind("fc.", 0) == 0 || name.rfind("probe.", 0) == 0) {
    return "";
  }
  if (name.rfind("conv1.", 0) == 0) {
    return "stem.0." + name.substr(6);
  }
  if (name.rfind("bn1.", 0) == 0) {
    return "stem.1." + name.substr(4);
  }
  static const std::regex downsample(R"(^(layer\d+\.\d+)\.downsample\.([01])\.(.*)$)");
  std::smatch m;
  if (std::regex_match(name, m, downsample)) {
    return m[1].str() + (m[2] == "0" ? ".shortcut.conv." : ".shortcut.bn.") + m[3].str();
  }
  return name;
}

InitReport load_backbone_weights(torch::nn::Module& model, const std::filesystem::path& path,
                                 const std::function<std::string(const std::string&)>& part_of,
                                 std::vector<std::string>* unused) {
  const auto state = torchvision_state(path);
  std::map<std::string, std::string> source_of;  // moexp name -> torchvision name
  std::vector<std::string> left_out;
  for (const auto& [name, tensor] : state) {
    const auto mapped = moexp_backbone_name(name);
    if (mapped.empty()) {
      if (name.rfind("probe.", 0) != 0) {
        left_out.push_back(name);
      }
      continue;
    }
    source_of.emplace(mapped, name);
  }
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (auto& item : model.named_parameters()) {
    targets.emplace_back(item.key(), item.value());
  }
  for (auto& item : model.named_buffers()) {
    targets.emplace_back(item.key(), item.value());
  }
  std::vector<std::string> missing;
  std::set<std::string> used;
  InitReport report;
  report.parts.push_back({"backbone", 0, 0});
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) {
    if (part_of(name) != "backbone") {
      continue;
    }
    ++report.parts.front().total;
    ++report.total;
    const auto source = source_of.find(name);
    if (source == source_of.end()) {
      missing.push_back(name);
      continue;
    }
    used.insert(source->first);
    const auto& tensor = state.at(source->second);
    if (tensor.sizes() != target.sizes()) {
      missing.push_back(fmt::format("{} (file {} has {}, the model {})", name, source->second,
                                    fmt::join(tensor.sizes(), "x"), fmt::join(target.sizes(), "x")));
      continue;
    }
    target.copy_(tensor);
    ++report.parts.front().copied;
    ++report.copied;
  }
  std::vector<std::string> unexpected;
  for (const auto& [mapped, name] : source_of) {
    if (used.count(mapped) == 0) {
      unexpected.push_back(name);
    }
  }
  if (!missing.empty() || !unexpected.empty()) {
    auto list = [](const std::vector<std::string>& names) {
      const std::size_t shown = std::min<std::size_t>(names.size(), 6);
      return fmt::format("{}{}", fmt::join(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                         names.size() > shown ? fmt::format(" and {} more", names.size() - shown) : "");
    };
    throw InputError(
        fmt::format("model.backbone_weights: {} does not fit this backbone (a torchvision ResNet of the "
                    "same depth at model.width = 1 does): {}{}{}",
                    path.string(), missing.empty() ? "" : fmt::format("missing {}", list(missing)),
                    !missing.empty() && !unexpected.empty() ? "; " : "",
                    unexpected.empty() ? "" : fmt::format("unexpected {}", list(unexpected))));
  }
  if (unused != nullptr) {
    *unused = std::move(left_out);
  }
  return report;
}

}  // namespace moexp::train
