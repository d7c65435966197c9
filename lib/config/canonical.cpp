#include "config/canonical.hpp"

#include "core/hash.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace moexp::config {
namespace {

std::string format_float(double d) {
  // Shortest text that round-trips, and always a TOML float (has '.', 'e', "inf" or "nan").
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".eEn") == std::string::npos) {
    s += ".0";
  }
  return s;
}

// A TOML basic string: double quotes, with backslash escapes for quotes, backslashes and control characters.
std::string quote(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.append(fmt::format("\\u{:04X}", static_cast<int>(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string format_value(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return fmt::format("{}", v);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_float(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return quote(v);
        } else {
          return fmt::format("[{}]", fmt::join(v, ", "));
        }
      },
      value);
}

std::string canonical_toml(const ExperimentConfig& cfg, Canonical form) {
  std::string out;
  std::string section;
  for (const auto& spec : experiment_keys()) {
    if (!key_applies(cfg, spec.key) || (form == Canonical::identity && !spec.identity)) {
      continue;
    }
    const auto dot = spec.key.find('.');
    if (dot == std::string::npos) {
      out += fmt::format("{} = {}\n", spec.key, format_value(spec.get(cfg)));
      continue;
    }
    const std::string this_section = spec.key.substr(0, dot);
    if (this_section != section) {
      section = this_section;
      out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
    }
    out += fmt::format("{} = {}\n", spec.key.substr(dot + 1), format_value(spec.get(cfg)));
  }
  return out;
}

std::string config_hash(const ExperimentConfig& cfg) {
  return core::content_hash(canonical_toml(cfg, Canonical::identity));
}

std::vector<std::pair<std::string, std::string>> config_params(const ExperimentConfig& cfg) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& spec : experiment_keys()) {
    if (key_applies(cfg, spec.key) && spec.key != "name") {
      params.emplace_back(spec.key, format_value(spec.get(cfg)));
    }
  }
  params.emplace_back("moe.enabled", cfg.moe.enabled ? "true" : "false");
  return params;
}

std::string value_text(const ExperimentConfig& cfg, const std::string& key) {
  const KeySpec* spec = find_key(key);
  return spec ? format_value(spec->get(cfg)) : "";
}

}  // namespace moexp::config
