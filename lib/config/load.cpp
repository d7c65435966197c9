#include "config/load.hpp"

#include "config/data_files.hpp"
#include "config/schema.hpp"
#include "config/toml_values.hpp"
#include "core/constraint_kinds.hpp"
#include "core/dataset_kinds.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace moexp::config {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string> kSections{"model", "moe", "constraint", "data", "detection", "train"};
// An experiment file is a few hundred bytes; anything past 1 MiB is a wrong path (/dev/zero, a dataset file).
constexpr std::size_t kMaxConfigBytes = 1 << 20;

}  // namespace

std::string unknown_key_message(const std::string& key) {
  auto msg = fmt::format("unknown key '{}'", key);
  if (auto guess = core::did_you_mean(key, experiment_key_names())) {
    msg += fmt::format(" (did you mean '{}'?)", *guess);
  } else {
    msg += "; see docs/config.md for the keys";
  }
  return msg;
}

namespace {

// Builds a config from TOML and overrides, remembering where each key was set.
class Loader {
 public:
  explicit Loader(std::string source) : m_source(std::move(source)) {}

  void apply_document(std::string_view text) {
    toml::table doc;
    try {
      doc = toml::parse(text, m_source);
    } catch (const toml::parse_error& e) {
      throw ConfigError(fmt::format("{}: {}", location(m_source, e.source()), e.description()));
    }
    for (auto&& [name, node] : doc) {
      const std::string top(name.str());
      const std::string where = location(m_source, name.source());
      if (top == "name") {
        set(top, node, where);
        continue;
      }
      auto* table = node.as_table();
      if (std::find(kSections.begin(), kSections.end(), top) == kSections.end() || table == nullptr) {
        if (table == nullptr && find_key(top) == nullptr) {
          // A bare key at top level: maybe a dotted key written without its section.
          throw ConfigError(fmt::format("{}: {}", where, unknown_key_message(top)));
        }
        auto msg = fmt::format("unknown section [{}]; sections are {}", top, core::join_alternatives(kSections));
        if (auto guess = core::did_you_mean(top, kSections)) {
          msg += fmt::format(" (did you mean [{}]?)", *guess);
        }
        throw ConfigError(fmt::format("{}: {}", where, msg));
      }
      if (top == "moe") {
        m_moe_section = true;
      }
      if (top == "constraint") {
        m_constraint_where = where;
      }
      for (auto&& [leaf, value] : *table) {
        set(top + "." + std::string(leaf.str()), value, location(m_source, leaf.source()));
      }
    }
  }

  void apply_override(const std::string& text) {
    const Override o = parse_override(text);
    store(*o.spec, o.value, o.where);
  }

  LoadResult finish(Resolve resolve = Resolve::yes) {
    if (m_moe_section && m_where.count("moe.enabled") == 0) {
      m_cfg.moe.enabled = true;
    }
    LoadResult result;
    if (resolve == Resolve::no) {
      result.config = m_cfg;
      return result;
    }
    if (!m_cfg.moe.enabled && !m_constraint_where.empty()) {
      result.warnings.push_back(
          fmt::format("{}: [constraint] has no effect without an [moe] section (dense baseline)", m_constraint_where));
    }
    resolve_and_validate(m_cfg, [this](const std::string& key) { return where(key); });
    for (const auto& [key, at] : m_where) {
      if (!key_applies(m_cfg, key) && key != "moe.enabled" &&
          !(key.rfind("constraint.", 0) == 0 && !m_cfg.moe.enabled)) {
        result.warnings.push_back(fmt::format("{}: {} has no effect in this configuration", at, key));
      }
    }
    result.config = m_cfg;
    return result;
  }

  ExperimentConfig& config() { return m_cfg; }

 private:
  void set(const std::string& key, const toml::node& node, const std::string& where) {
    const KeySpec* spec = find_key(key);
    if (spec == nullptr) {
      throw ConfigError(fmt::format("{}: {}", where, unknown_key_message(key)));
    }
    auto value = to_value(node, spec->type);
    if (!value) {
      throw ConfigError(fmt::format("{}: {}: expected {}, got {}", where, key, type_name(spec->type), node_kind(node)));
    }
    store(*spec, *value, where);
  }

  void store(const KeySpec& spec, const Value& value, const std::string& where) {
    if (auto problem = check_value(spec, value)) {
      throw ConfigError(fmt::format("{}: {}: {}", where, spec.key, *problem));
    }
    spec.set(m_cfg, value);
    m_where[spec.key] = where;
    if (spec.key.rfind("moe.", 0) == 0 && spec.key != "moe.enabled" && m_where.count("moe.enabled") == 0) {
      m_moe_section = true;
    }
  }

  std::string where(const std::string& key) const {
    auto it = m_where.find(key);
    return it != m_where.end() ? it->second : m_source;
  }

  std::string m_source;
  ExperimentConfig m_cfg;
  std::map<std::string, std::string> m_where;
  bool m_moe_section = false;
  std::string m_constraint_where;
};

}  // namespace

void resolve_and_validate(ExperimentConfig& cfg, const std::function<std::string(const std::string&)>& where,
                          std::vector<std::string>* missing_data) {
  auto fail = [&](const std::string& key, const std::string& message) {
    throw ConfigError(fmt::format("{}: {}: {}", where(key), key, message));
  };
  if (cfg.moe.enabled) {
    if (cfg.moe.k > cfg.moe.num_experts) {
      fail("moe.k", fmt::format("k = {} exceeds moe.num_experts = {}; k must be in 1..{}", cfg.moe.k,
                                cfg.moe.num_experts, cfg.moe.num_experts));
    }
    const int stages = arch_stage_count(cfg.model.arch);
    std::set<std::int64_t> seen;
    for (auto p : is_detection(cfg) ? std::vector<std::int64_t>{} : cfg.moe.position) {
      if (p > stages) {
        fail("moe.position",
             fmt::format("{} has no position {}; positions are 0 (stem) to {}", cfg.model.arch, p, stages));
      }
      if (!seen.insert(p).second) {
        fail("moe.position", fmt::format("position {} is listed twice", p));
      }
    }
    std::sort(cfg.moe.position.begin(), cfg.moe.position.end());
    if (const auto& c = constraint_info(cfg.constraint.kind); c.needs_noise && !cfg.moe.noise) {
      fail("constraint.kind",
           fmt::format("the {} loss needs moe.noise = true (it is defined through the gate noise)", c.name));
    }
    cfg.constraint.threshold = effective_threshold(cfg.constraint);
    if (cfg.moe.combine == Combine::probabilities && (!is_detection(cfg) || cfg.moe.head == MoeHead::box_head)) {
      fail("moe.combine", is_detection(cfg) ? "probabilities are mixed by a classification MoE head (moe.head = "
                                              "\"cls_head\" or \"both\"); the box head's outputs are not probabilities"
                                            : "a detection option (what RetinaNet's classification MoE head mixes)");
    }
    if (cfg.moe.capacity_factor > 0 && is_detection(cfg)) {
      fail("moe.capacity_factor", "a classification option for now (RetinaNet's MoE heads run every row)");
    }
    if (cfg.moe.expert_init == ExpertInit::pytorch && !is_detection(cfg)) {
      fail("moe.expert_init", "a detection option (how a RetinaNet MoE head's experts start)");
    }
    if (cfg.moe.noise_input == NoiseInput::input && cfg.moe.gate != GateKind::relu_gap_fc) {
      fail("moe.noise_input", fmt::format("\"input\" differs from \"gate\" only for moe.gate = \"relu_gap_fc\" "
                                          "(it is \"{}\": the gate already pools x itself)",
                                          cfg.moe.gate));
    }
    if (cfg.moe.shared_gate && (!is_detection(cfg) || cfg.moe.head != MoeHead::both)) {
      fail("moe.shared_gate", is_detection(cfg) ? fmt::format("one gate for both heads needs moe.head = \"both\" "
                                                              "(it is \"{}\")",
                                                              cfg.moe.head)
                                                : "a detection option (one gate for RetinaNet's two MoE heads)");
    }
  }
  for (std::size_t i = 1; i < cfg.train.lr_milestones.size(); ++i) {
    if (cfg.train.lr_milestones[i] <= cfg.train.lr_milestones[i - 1]) {
      fail("train.lr_milestones", "milestones must be strictly increasing");
    }
  }
  if (is_detection(cfg) && cfg.model.arch != Arch::retinanet) {
    fail("model.arch", fmt::format("'{}' is a classification network; the detection dataset '{}' needs model.arch = "
                                   "\"retinanet\"",
                                   cfg.model.arch, cfg.data.dataset));
  }
  if (!is_detection(cfg) && cfg.model.arch == Arch::retinanet) {
    fail("model.arch", fmt::format("retinanet is a detection network; data.dataset '{}' is a classification dataset "
                                   "(detection datasets: coco, shapes)",
                                   cfg.data.dataset));
  }
  if (cfg.model.experts_from_head && (cfg.model.init_from.empty() || !cfg.moe.enabled)) {
    fail("model.experts_from_head", cfg.moe.enabled ? "the experts start from a dense head: set model.init_from (the "
                                                      "run or checkpoint that has it)"
                                                    : "needs MoE heads (an [moe] section) and model.init_from");
  }
  if (cfg.model.freeze == Freeze::backbone_fpn && cfg.model.init_from.empty()) {
    fail("model.freeze",
         "freezing the FPN of a randomly initialised network; set model.init_from (a run id or a "
         "checkpoint file) to start from trained weights");
  }
  if (cfg.model.freeze == Freeze::backbone && cfg.model.init_from.empty() && cfg.model.backbone_weights.empty()) {
    fail("model.freeze",
         "freezing the backbone of a randomly initialised network; set model.backbone_weights or "
         "model.init_from (a run id or a checkpoint file) to start from trained weights");
  }
  if (!cfg.model.backbone_weights.empty()) {
    std::error_code ec;
    auto absolute = fs::weakly_canonical(fs::absolute(cfg.model.backbone_weights), ec);
    if (!ec) {
      cfg.model.backbone_weights = absolute.string();
    }
    if (!fs::is_regular_file(cfg.model.backbone_weights, ec)) {
      fail("model.backbone_weights",
           fmt::format("'{}' not found (scripts/export_torchvision_resnet.py writes it)", cfg.model.backbone_weights));
    }
  }
  if (!cfg.model.init_from.empty() &&
      !core::is_unsigned_integer(cfg.model.init_from)) {  // a checkpoint path, not a run id
    std::error_code ec;
    auto absolute = fs::weakly_canonical(fs::absolute(cfg.model.init_from), ec);
    if (!ec) {
      cfg.model.init_from = absolute.string();
    }
    if (!fs::is_regular_file(cfg.model.init_from, ec)) {
      fail("model.init_from", fmt::format("checkpoint '{}' not found (give a run id of this database or a "
                                          "checkpoint file)",
                                          cfg.model.init_from));
    }
  }
  if (is_detection(cfg) && cfg.detection.max_size < cfg.detection.min_size) {
    fail("detection.max_size",
         fmt::format("max_size {} is below min_size {}", cfg.detection.max_size, cfg.detection.min_size));
  }
  if (is_generated_dataset(cfg.data.dataset)) {
    cfg.data.path.clear();
    return;
  }
  if (cfg.data.path.empty()) {
    cfg.data.path = default_data_path(cfg.data.dataset);
    if (cfg.data.path.empty()) {
      fail("data.path", fmt::format("dataset '{}' needs data.path (the folder with its files)", cfg.data.dataset));
    }
  }
  std::error_code ec;
  auto absolute = fs::weakly_canonical(fs::absolute(cfg.data.path), ec);
  if (!ec) {
    cfg.data.path = absolute.string();
  }
  const std::string prefix = where("data.path") + ": ";
  try {
    if (is_detection(cfg)) {
      locate_detection_files(cfg.data, "train", prefix);
      locate_detection_files(cfg.data, "val", prefix);
    } else {
      locate_split_files(cfg.data, "train", prefix);
      locate_split_files(cfg.data, "test", prefix);
    }
  } catch (const ConfigError& e) {
    if (missing_data == nullptr) {
      throw;
    }
    missing_data->push_back(e.what());
  }
}

LoadResult load_experiment_text(std::string_view text, const std::string& source_name,
                                const std::vector<std::string>& overrides, Resolve resolve) {
  Loader loader(source_name);
  loader.apply_document(text);
  for (const auto& o : overrides) {
    loader.apply_override(o);
  }
  return loader.finish(resolve);
}

LoadResult load_experiment_file(const fs::path& file, const std::vector<std::string>& overrides, Resolve resolve) {
  const std::string text = core::read_small_file(file, kMaxConfigBytes, "experiment file");
  Loader loader(file.string());
  loader.config().name = file.stem().string();
  loader.apply_document(text);
  for (const auto& o : overrides) {
    loader.apply_override(o);
  }
  if (!core::valid_utf8(loader.config().name)) {  // the default name, from a file name that is not UTF-8
    throw ConfigError(fmt::format("{}: the file name is not valid UTF-8; rename the file or set name = \"...\"",
                                  core::printable(file.string())));
  }
  return loader.finish(resolve);
}

}  // namespace moexp::config
