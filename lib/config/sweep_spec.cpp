#include "config/sweep_spec.hpp"

#include "config/sweep_backends.hpp"

#include "config/toml_values.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

namespace moexp::config {
namespace fs = std::filesystem;
namespace {

// How many values a key of a spec table holds: one (a fixed setting, an explicit run) or a list (an axis).
enum class Values { one, list };

const std::vector<std::string> kTopKeys{"name", "base", "seeds", "executor", "fixed", "grid",
                                        "zip",  "runs", "when",  "sample",   "slurm"};
const std::vector<std::string> kExecutorKeys{"jobs",    "gpus",    "per_gpu", "threads",
                                             "timeout", "retries", "backend", "journal"};
const std::vector<std::string> kSlurmKeys{"partition", "account",           "qos",  "gres",   "cpus_per_task", "mem",
                                          "time",      "array_parallelism", "args", "device", "poll"};

class SpecReader {
 public:
  explicit SpecReader(std::string source) : m_source(std::move(source)) {}

  [[noreturn]] void fail(const toml::source_region& at, const std::string& message) const {
    throw ConfigError(fmt::format("{}: {}", location(m_source, at), message));
  }

  // Flatten `table` (quoted dotted keys or nested tables) into axes; Values::one demands one value per key (fixed
  // settings, explicit runs), Values::list a list of them (an axis).
  std::vector<Axis> axes(const toml::table& table, Values values, const std::string& prefix = "") const {
    const bool single = values == Values::one;
    std::vector<Axis> out;
    for (auto&& [k, node] : table) {
      const std::string key = prefix + std::string(k.str());
      const KeySpec* spec = find_key(key);
      if (spec == nullptr && node.is_table()) {
        auto nested = axes(*node.as_table(), values, key + ".");
        out.insert(out.end(), nested.begin(), nested.end());
        continue;
      }
      if (spec == nullptr) {
        fail(k.source(), unknown_key_message(key));
      }
      Axis axis{key, {}, location(m_source, k.source()), k.source().begin.line, k.source().begin.column};
      // In an axis a list holds the values (a list-valued key takes [[1, 2], [3]] or [1, 2, 3] for single items);
      // a fixed setting is one value.
      const auto* arr = node.as_array();
      if (arr != nullptr && !single) {
        for (const auto& item : *arr) {
          axis.values.push_back(convert(*spec, item));
        }
        if (axis.values.empty()) {
          fail(k.source(), fmt::format("{}: the axis has no values", key));
        }
      } else {
        axis.values.push_back(convert(*spec, node));
        if (!single && spec->type != ValueType::integer_list) {
          m_warnings.push_back(
              fmt::format("{}: {} has a single value, not a list; it varies nothing (put it in "
                          "[fixed] to say so)",
                          axis.where, key));
        }
      }
      out.push_back(std::move(axis));
    }
    // TOML++ tables iterate by key; axes vary in the order the file lists them.
    std::stable_sort(out.begin(), out.end(), [](const Axis& a, const Axis& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return out;
  }

  Value convert(const KeySpec& spec, const toml::node& node) const {
    auto value = to_value(node, spec.type);
    if (!value) {
      fail(node.source(), fmt::format("{}: expected {}, got {}", spec.key, type_name(spec.type), node_kind(node)));
    }
    if (auto problem = check_value(spec, *value)) {
      fail(node.source(), fmt::format("{}: {}", spec.key, *problem));
    }
    return *value;
  }

  const toml::table& table_of(const toml::node& node, const toml::key& k) const {
    if (!node.is_table()) {
      fail(k.source(), fmt::format("'{}' must be a table", k.str()));
    }
    return *node.as_table();
  }

  std::vector<const toml::table*> tables_of(const toml::node& node, const toml::key& k) const {
    std::vector<const toml::table*> out;
    if (const auto* arr = node.as_array(); arr != nullptr && arr->is_array_of_tables()) {
      for (const auto& t : *arr) {
        out.push_back(t.as_table());
      }
      return out;
    }
    if (node.is_table()) {
      return {node.as_table()};
    }
    fail(k.source(), fmt::format("'{}' must be an array of tables ([[{}]])", k.str(), k.str()));
  }

  std::int64_t integer(const toml::node& node, const std::string& what, std::int64_t min) const {
    auto v = node.as_integer();
    if (v == nullptr || v->get() < min) {
      fail(node.source(), fmt::format("{}: expected an integer >= {}", what, min));
    }
    return v->get();
  }

  void executor(const toml::table& t, ExecutorSettings& e) const {
    for (auto&& [k, node] : t) {
      const std::string key(k.str());
      if (key == "jobs") {
        e.jobs = integer(node, "executor.jobs", 1);
      } else if (key == "per_gpu") {
        e.per_gpu = integer(node, "executor.per_gpu", 1);
      } else if (key == "threads") {
        e.threads = integer(node, "executor.threads", 0);
      } else if (key == "retries") {
        e.retries = integer(node, "executor.retries", 0);
      } else if (key == "gpus") {
        auto v = to_value(node, ValueType::integer_list);
        if (!v) {
          fail(node.source(), "executor.gpus: expected a list of GPU ids, e.g. [0, 1]");
        }
        e.gpus = std::get<std::vector<std::int64_t>>(*v);
      } else if (key == "timeout") {
        std::optional<double> seconds;
        if (auto i = node.as_integer()) {
          seconds = static_cast<double>(i->get());
        } else if (auto f = node.as_floating_point()) {
          seconds = f->get();
        } else if (auto s = node.as_string()) {
          seconds = parse_duration(s->get());
        }
        if (!seconds || *seconds < 0) {
          fail(node.source(), "executor.timeout: expected seconds or a duration like \"90s\", \"30m\", \"2h\"");
        }
        e.timeout_s = *seconds;
      } else if (key == "journal") {
        auto b = node.as_boolean();
        if (b == nullptr) {
          fail(node.source(), "executor.journal: expected true or false");
        }
        e.journal = b->get();
      } else if (key == "backend") {
        auto s = node.as_string();
        if (s == nullptr || find_sweep_backend(s->get()) == nullptr) {
          fail(node.source(), "executor.backend: expected " + sweep_backend_choices());
        }
        e.backend = s->get();
      } else {
        auto msg = fmt::format("unknown executor key '{}'; keys are {}", key, core::join_alternatives(kExecutorKeys));
        msg = core::with_suggestion(std::move(msg), key, kExecutorKeys);
        fail(k.source(), msg);
      }
    }
  }

  std::string text(const toml::node& node, const std::string& what) const {
    auto s = node.as_string();
    if (s == nullptr || s->get().empty()) {
      fail(node.source(), fmt::format("{}: expected a non-empty string", what));
    }
    return s->get();
  }

  void slurm(const toml::table& t, SlurmSettings& s) const {
    for (auto&& [k, node] : t) {
      const std::string key(k.str());
      const std::string what = "slurm." + key;
      if (key == "partition") {
        s.partition = text(node, what);
      } else if (key == "account") {
        s.account = text(node, what);
      } else if (key == "qos") {
        s.qos = text(node, what);
      } else if (key == "gres") {
        s.gres = text(node, what);
      } else if (key == "mem") {
        s.mem = text(node, what);
      } else if (key == "cpus_per_task") {
        s.cpus_per_task = integer(node, what, 1);
      } else if (key == "array_parallelism") {
        s.array_parallelism = integer(node, what, 1);
      } else if (key == "time") {
        s.time = slurm_time(node);
      } else if (key == "device") {
        s.device = text(node, what);
        if (s.device != "cpu" && s.device != "cuda") {
          fail(node.source(), "slurm.device: expected \"cpu\" or \"cuda\"");
        }
      } else if (key == "poll") {
        auto seconds = node.is_string() ? parse_duration(text(node, what)) : node.value<double>();
        if (!seconds || *seconds <= 0) {
          fail(node.source(), "slurm.poll: expected seconds or a duration like \"5s\"");
        }
        s.poll_s = *seconds;
      } else if (key == "args") {
        const auto* arr = node.as_array();
        if (arr == nullptr || !arr->is_homogeneous(toml::node_type::string)) {
          fail(node.source(), "slurm.args: expected a list of sbatch arguments, e.g. [\"--constraint=a100\"]");
        }
        for (const auto& item : *arr) {
          s.args.push_back(item.as_string()->get());
        }
      } else {
        auto msg = fmt::format("unknown slurm key '{}'; keys are {}", key, core::join_alternatives(kSlurmKeys));
        msg = core::with_suggestion(std::move(msg), key, kSlurmKeys);
        fail(k.source(), msg);
      }
    }
  }

  // sbatch --time: minutes as an integer, a duration ("2h" -> "120"), or Slurm's own form ("1-00:00:00").
  std::string slurm_time(const toml::node& node) const {
    if (auto i = node.as_integer(); i != nullptr && i->get() > 0) {
      return std::to_string(i->get());
    }
    const std::string value = text(node, "slurm.time");
    const bool has_unit = std::isalpha(static_cast<unsigned char>(value.back())) != 0;
    if (auto seconds = parse_duration(value); has_unit && seconds && *seconds > 0) {
      return std::to_string(static_cast<std::int64_t>(std::ceil(*seconds / 60)));
    }
    if (value.find_first_not_of("0123456789:-") == std::string::npos &&
        std::isdigit(static_cast<unsigned char>(value.front())) != 0) {
      return value;
    }
    fail(node.source(), "slurm.time: expected minutes, a duration like \"2h\", or Slurm's form like \"1-00:00:00\"");
  }

  Conditional conditional(const toml::table& t, const toml::source_region& at) const {
    Conditional c;
    c.where = location(m_source, at);
    const KeySpec* spec = nullptr;
    if (const auto* key_node = t.get("key")) {
      auto s = key_node->as_string();
      if (s == nullptr || (spec = find_key(s->get())) == nullptr) {
        fail(key_node->source(), s ? unknown_key_message(s->get()) : "when.key: expected an experiment key");
      }
      c.key = s->get();
    }
    for (auto&& [k, node] : t) {
      const std::string key(k.str());
      if (key == "key") {
        continue;
      } else if (key == "equals") {
        if (spec == nullptr) {
          fail(at, "[[when]] needs 'key' and 'equals'");
        }
        if (const auto* arr = node.as_array(); arr != nullptr && spec->type != ValueType::integer_list) {
          for (const auto& item : *arr) {
            c.equals.push_back(convert(*spec, item));
          }
        } else {
          c.equals.push_back(convert(*spec, node));
        }
      } else if (key == "grid") {
        c.grid = axes(table_of(node, k), Values::list);
      } else if (key == "fixed") {
        c.fixed = axes(table_of(node, k), Values::one);
      } else {
        fail(k.source(), fmt::format("unknown key '{}' in [[when]]; keys are 'key', 'equals', 'grid', 'fixed'", key));
      }
    }
    if (c.key.empty() || c.equals.empty()) {
      fail(at, "[[when]] needs 'key' and 'equals'");
    }
    return c;
  }

  std::vector<std::string> take_warnings() { return std::move(m_warnings); }

 private:
  std::string m_source;
  mutable std::vector<std::string> m_warnings;
};

// Where each key is set; a second place for one key is an error naming both (points would otherwise collapse into
// "duplicate configs" or carry contradictory labels).
class KeyPlaces {
 public:
  void add(const std::string& key, const std::string& where) {
    auto [it, inserted] = m_where.emplace(key, where);
    if (!inserted) {
      throw ConfigError(fmt::format("{}: {} is already set at {}; a key may be set in one place of a sweep spec", where,
                                    key, it->second));
    }
  }
  void add_all(const std::vector<Axis>& axes) {
    for (const auto& a : axes) {
      add(a.key, a.where);
    }
  }

 private:
  std::map<std::string, std::string> m_where;
};

// Reject keys set by two places of one spec (see load_sweep_spec).
void check_key_places(const SweepSpec& spec, const std::string& seeds_where) {
  KeyPlaces top;
  top.add_all(spec.fixed);
  top.add_all(spec.grid);
  for (const auto& group : spec.zips) {
    top.add_all(group);
  }
  if (!spec.seeds.empty()) {
    top.add("train.seed", seeds_where);
  }
  for (const auto& run : spec.runs) {
    KeyPlaces places;
    places.add_all(spec.fixed);
    places.add_all(run);
  }
  for (const auto& c : spec.when) {
    KeyPlaces places = top;
    places.add_all(c.fixed);
    places.add_all(c.grid);
  }
}

}  // namespace

void apply_sweep_overrides(SweepSpec& spec, const std::vector<std::string>& overrides) {
  // Where the spec varies each key (the first place is enough for the message).
  std::map<std::string, std::string> varied;
  auto note = [&](const std::vector<Axis>& axes) {
    for (const auto& a : axes) {
      varied.emplace(a.key, a.where);
    }
  };
  note(spec.grid);
  for (const auto& group : spec.zips) {
    note(group);
  }
  for (const auto& run : spec.runs) {
    note(run);
  }
  for (const auto& c : spec.when) {
    note(c.grid);
    note(c.fixed);
  }
  if (!spec.seeds.empty()) {
    varied.emplace("train.seed", spec.file.string());
  }
  for (const auto& text : overrides) {
    const Override o = parse_override(text);
    if (auto it = varied.find(o.spec->key); it != varied.end()) {
      throw ConfigError(
          fmt::format("{}: the sweep varies {} ({}); change the spec instead", o.where, o.spec->key, it->second));
    }
    auto same_key = [&](const Axis& a) { return a.key == o.spec->key; };
    spec.fixed.erase(std::remove_if(spec.fixed.begin(), spec.fixed.end(), same_key), spec.fixed.end());
    spec.fixed.push_back(Axis{o.spec->key, {o.value}, o.where, UINT32_MAX, 0});
    spec.spec_hash = core::content_hash(spec.spec_hash + "\n" + o.where);
  }
}

std::optional<double> parse_duration(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  double factor = 1;
  std::string number = text;
  switch (text.back()) {
    case 's':
      number.pop_back();
      break;
    case 'm':
      factor = 60;
      number.pop_back();
      break;
    case 'h':
      factor = 3600;
      number.pop_back();
      break;
    default:
      break;
  }
  try {
    std::size_t used = 0;
    double v = std::stod(number, &used);
    if (used != number.size() || v < 0) {
      return std::nullopt;
    }
    return v * factor;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

SweepSpec load_sweep_spec(const fs::path& file) {
  // Specs with many explicit [[runs]] are larger than experiments, but never near 16 MiB.
  const std::string text = core::read_small_file(file, std::size_t{16} << 20, "sweep file");
  const std::string source = file.string();
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: {}", location(source, e.source()), e.description()));
  }
  SpecReader r(source);
  SweepSpec spec;
  spec.file = file;
  spec.name = file.stem().string();
  spec.spec_hash = core::content_hash(text);
  bool has_base = false;
  std::string seeds_where;
  for (auto&& [k, node] : doc) {
    const std::string key(k.str());
    if (key == "name") {
      auto s = node.as_string();
      if (s == nullptr || s->get().empty()) {
        r.fail(node.source(), "name: expected a non-empty string");
      }
      spec.name = s->get();
    } else if (key == "base") {
      auto s = node.as_string();
      if (s == nullptr) {
        r.fail(node.source(), "base: expected the path of an experiment file");
      }
      spec.base = file.parent_path() / s->get();
      std::error_code ec;
      if (!fs::is_regular_file(spec.base, ec)) {
        const bool other = ec && ec != std::errc::no_such_file_or_directory;
        r.fail(node.source(),
               fmt::format("base: {} {}", spec.base.string(),
                           other ? "cannot be read (" + ec.message() + ")" : std::string("does not exist")));
      }
      has_base = true;
    } else if (key == "seeds") {
      auto v = to_value(node, ValueType::integer_list);
      if (!v) {
        r.fail(node.source(), "seeds: expected a list of integers, e.g. [0, 1, 2]");
      }
      spec.seeds = std::get<std::vector<std::int64_t>>(*v);
      for (auto seed : spec.seeds) {  // the same rule as train.seed everywhere else
        if (auto problem = check_value(*find_key("train.seed"), Value(seed))) {
          r.fail(node.source(), fmt::format("seeds: {}", *problem));
        }
      }
      seeds_where = location(source, k.source());
    } else if (key == "executor") {
      r.executor(r.table_of(node, k), spec.executor);
    } else if (key == "slurm") {
      r.slurm(r.table_of(node, k), spec.slurm);
    } else if (key == "fixed") {
      spec.fixed = r.axes(r.table_of(node, k), Values::one);
    } else if (key == "grid") {
      spec.grid = r.axes(r.table_of(node, k), Values::list);
    } else if (key == "zip") {
      for (const auto* t : r.tables_of(node, k)) {
        auto group = r.axes(*t, Values::list);
        if (group.empty()) {  // found by the sweep fuzzer: the planner reads a group's first axis
          r.fail(t->source(), "zip: an empty [[zip]] group; give it two or more axes of equal length");
        }
        for (const auto& axis : group) {
          if (axis.values.size() != group.front().values.size()) {
            throw ConfigError(fmt::format("{}: zip: {} has {} values but {} has {}; zipped axes need equal lengths",
                                          axis.where, axis.key, axis.values.size(), group.front().key,
                                          group.front().values.size()));
          }
        }
        spec.zips.push_back(std::move(group));
      }
    } else if (key == "runs") {
      for (const auto* t : r.tables_of(node, k)) {
        spec.runs.push_back(r.axes(*t, Values::one));
      }
    } else if (key == "when") {
      for (const auto* t : r.tables_of(node, k)) {
        spec.when.push_back(r.conditional(*t, t->source()));
      }
    } else if (key == "sample") {
      for (auto&& [sk, sn] : r.table_of(node, k)) {
        if (sk.str() == "count") {
          spec.sample = r.integer(sn, "sample.count", 1);
        } else if (sk.str() == "seed") {
          spec.sample_seed = r.integer(sn, "sample.seed", 0);
        } else {
          r.fail(sk.source(), fmt::format("unknown key '{}' in [sample]; keys are 'count' and 'seed'", sk.str()));
        }
      }
    } else {
      auto msg = fmt::format("unknown key '{}'; sweep keys are {}", key, core::join_alternatives(kTopKeys));
      msg = core::with_suggestion(std::move(msg), key, kTopKeys);
      r.fail(k.source(), msg);
    }
  }
  if (!has_base) {
    throw ConfigError(fmt::format("{}: base: missing; name the experiment file the sweep varies", source));
  }
  check_key_places(spec, seeds_where);
  spec.warnings = r.take_warnings();
  return spec;
}

}  // namespace moexp::config
