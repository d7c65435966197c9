#include "journal/run_journal.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <type_traits>

namespace moexp::journal {
namespace {

// The kind byte that starts each payload. Append new kinds; never renumber. `epoch` is an epoch as moexp wrote it
// before the specialisation nulls, `epoch_with_nulls` with at most one conditional figure per group (both still
// read); `epoch_with_conditionals` carries a list of them.
enum class Kind : std::uint8_t { start = 1, epoch = 2, end = 3, epoch_with_nulls = 4, epoch_with_conditionals = 5 };

// The layout of a group's routing in an epoch record of kind `epoch`, `epoch_with_nulls` or `epoch_with_conditionals`.
enum class GroupLayout { plain, with_nulls, with_conditionals };

// Little-endian field writer (hand-written: a few fixed types; Debian's serialisation libraries need a schema
// compiler or bring a format (JSON) that would not round-trip doubles bit-exactly without care).
class Writer {
 public:
  void u8(std::uint8_t v) { m_out.push_back(static_cast<char>(v)); }
  void i64(std::int64_t v) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) {
      m_out.push_back(static_cast<char>((u >> (8 * i)) & 0xFFU));
    }
  }
  void f64(double v) { i64(static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(v))); }
  void str(std::string_view s) {
    i64(static_cast<std::int64_t>(s.size()));
    m_out.append(s);
  }
  template <typename T>
  void vec(const std::vector<T>& values) {
    i64(static_cast<std::int64_t>(values.size()));
    for (const auto& v : values) {
      if constexpr (std::is_floating_point_v<T>) {
        f64(v);
      } else {
        i64(v);
      }
    }
  }
  std::string take() { return std::move(m_out); }

 private:
  std::string m_out;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : m_in(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::int64_t i64() {
    const auto bytes = take(8);
    std::uint64_t u = 0;
    for (int i = 7; i >= 0; --i) {
      u = (u << 8U) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    }
    return static_cast<std::int64_t>(u);
  }
  double f64() { return std::bit_cast<double>(static_cast<std::uint64_t>(i64())); }
  std::string str() { return std::string(take(count(1))); }
  template <typename T>
  std::vector<T> vec() {
    std::vector<T> values(count(8));
    for (auto& v : values) {
      if constexpr (std::is_floating_point_v<T>) {
        v = f64();
      } else {
        v = static_cast<T>(i64());
      }
    }
    return values;
  }
  // A length that the rest of the payload can hold at `bytes_each` bytes per element.
  std::size_t count(std::size_t bytes_each) {
    const auto n = i64();
    if (n < 0 || static_cast<std::uint64_t>(n) > m_in.size() / bytes_each) {
      throw InputError(fmt::format("journal entry: a length of {} does not fit the {} bytes left", n, m_in.size()));
    }
    return static_cast<std::size_t>(n);
  }
  void finish() const {
    if (!m_in.empty()) {
      throw InputError(fmt::format("journal entry: {} bytes after its last field", m_in.size()));
    }
  }

 private:
  std::string_view take(std::size_t n) {
    if (m_in.size() < n) {
      throw InputError("journal entry: shorter than its fields");
    }
    auto out = m_in.substr(0, n);
    m_in.remove_prefix(n);
    return out;
  }
  std::string_view m_in;
};

void write_null(Writer& w, const NullComparison& c) {
  w.f64(c.observed);
  w.f64(c.null_mean);
  w.f64(c.null_sd);
  w.f64(c.p_value);
  w.i64(c.permutations);
  w.i64(static_cast<std::int64_t>(c.seed));
}

NullComparison read_null(Reader& r) {
  NullComparison c;
  c.observed = r.f64();
  c.null_mean = r.f64();
  c.null_sd = r.f64();
  c.p_value = r.f64();
  c.permutations = r.i64();
  c.seed = static_cast<std::uint64_t>(r.i64());
  return c;
}

void write_routing(Writer& w, const std::vector<LayerRouting>& layers) {
  w.i64(static_cast<std::int64_t>(layers.size()));
  for (const auto& l : layers) {
    w.i64(l.layer);
    w.i64(l.position);
    w.i64(l.samples);
    w.vec(l.importance_share);
    w.vec(l.sample_share);
    w.f64(l.importance_cv);
    w.f64(l.sample_cv);
    w.i64(l.living_experts);
    w.i64(static_cast<std::int64_t>(l.groups.size()));
    for (const auto& g : l.groups) {
      w.str(g.kind);
      w.i64(static_cast<std::int64_t>(g.group_expert.size()));
      for (const auto& row : g.group_expert) {
        w.vec(row);
      }
      w.vec(g.group_samples);
      w.f64(g.mi);
      w.f64(g.mi_control);
      w.str(g.null_design);
      write_null(w, g.mi_null);
      w.i64(static_cast<std::int64_t>(g.given.size()));
      for (const auto& c : g.given) {
        w.str(c.given);
        write_null(w, c.mi);
      }
    }
    w.vec(l.coactivation);
    w.f64(l.sample_entropy);
    w.f64(l.mean_entropy);
    w.f64(l.max_share);
    w.u8(l.collapsed ? 1 : 0);
  }
}

std::vector<LayerRouting> read_routing(Reader& r, GroupLayout layout) {
  std::vector<LayerRouting> layers(r.count(1));
  for (auto& l : layers) {
    l.layer = static_cast<int>(r.i64());
    l.position = static_cast<int>(r.i64());
    l.samples = r.i64();
    l.importance_share = r.vec<double>();
    l.sample_share = r.vec<double>();
    l.importance_cv = r.f64();
    l.sample_cv = r.f64();
    l.living_experts = static_cast<int>(r.i64());
    l.groups.resize(r.count(1));
    for (auto& g : l.groups) {
      g.kind = r.str();
      g.group_expert.resize(r.count(8));
      for (auto& row : g.group_expert) {
        row = r.vec<double>();
      }
      g.group_samples = r.vec<std::int64_t>();
      g.mi = r.f64();
      g.mi_control = r.f64();
      if (layout == GroupLayout::with_nulls) {
        g.null_design = r.str();
        g.mi_null = read_null(r);
        ConditionalMi c;
        c.given = r.str();
        c.mi = read_null(r);
        if (!c.given.empty()) {
          g.given.push_back(std::move(c));
        }
      } else if (layout == GroupLayout::with_conditionals) {
        g.null_design = r.str();
        g.mi_null = read_null(r);
        g.given.resize(r.count(56));
        for (auto& c : g.given) {
          c.given = r.str();
          c.mi = read_null(r);
        }
      }
    }
    l.coactivation = r.vec<std::int64_t>();
    l.sample_entropy = r.f64();
    l.mean_entropy = r.f64();
    l.max_share = r.f64();
    l.collapsed = r.u8() != 0;
  }
  return layers;
}

}  // namespace

std::string encode_entry(const JournalEntry& entry) {
  Writer w;
  if (const auto* s = std::get_if<JournalStart>(&entry)) {
    w.u8(static_cast<std::uint8_t>(Kind::start));
    w.str(s->uid);
    w.i64(s->run_id);
    w.i64(s->keep_epochs);
    w.str(s->device);
    w.str(s->host);
    w.i64(s->pid);
    w.i64(static_cast<std::int64_t>(s->classes.size()));
    for (const auto& c : s->classes) {
      w.str(c.name);
      w.i64(c.superclass);
      w.str(c.superclass_name);
    }
  } else if (const auto* e = std::get_if<EpochRecord>(&entry)) {
    w.u8(static_cast<std::uint8_t>(Kind::epoch_with_conditionals));
    w.i64(e->epoch);
    w.i64(static_cast<std::int64_t>(e->metrics.size()));
    for (const auto& m : e->metrics) {
      w.str(m.split);
      w.str(m.name);
      w.f64(m.value);
    }
    write_routing(w, e->train_routing);
    write_routing(w, e->test_routing);
  } else {
    const auto& end = std::get<JournalEnd>(entry);
    w.u8(static_cast<std::uint8_t>(Kind::end));
    w.str(to_text(end.status));
    w.str(end.error);
  }
  return w.take();
}

JournalEntry decode_entry(std::string_view payload) {
  Reader r(payload);
  const auto kind = r.u8();
  JournalEntry entry;
  switch (static_cast<Kind>(kind)) {
    case Kind::start: {
      JournalStart s;
      s.uid = r.str();
      s.run_id = r.i64();
      s.keep_epochs = r.i64();
      s.device = r.str();
      s.host = r.str();
      s.pid = r.i64();
      s.classes.resize(r.count(24));
      for (auto& c : s.classes) {
        c.name = r.str();
        c.superclass = r.i64();
        c.superclass_name = r.str();
      }
      entry = std::move(s);
      break;
    }
    case Kind::epoch:
    case Kind::epoch_with_nulls:
    case Kind::epoch_with_conditionals: {
      const auto layout = static_cast<Kind>(kind) == Kind::epoch              ? GroupLayout::plain
                          : static_cast<Kind>(kind) == Kind::epoch_with_nulls ? GroupLayout::with_nulls
                                                                              : GroupLayout::with_conditionals;
      EpochRecord e;
      e.epoch = static_cast<int>(r.i64());
      e.metrics.resize(r.count(24));
      for (auto& m : e.metrics) {
        m.split = r.str();
        m.name = r.str();
        m.value = r.f64();
      }
      e.train_routing = read_routing(r, layout);
      e.test_routing = read_routing(r, layout);
      entry = std::move(e);
      break;
    }
    case Kind::end: {
      const auto text = r.str();
      const auto status = parse_run_status(text);
      if (!status || !is_end(*status)) {
        throw InputError(fmt::format("journal entry: '{}' is not a status a run ends with", text));
      }
      entry = JournalEnd{*status, r.str()};
      break;
    }
    default:
      throw InputError(fmt::format("journal entry: unknown kind {} (written by a newer moexp?)", kind));
  }
  r.finish();
  return entry;
}

std::filesystem::path journal_path(const std::filesystem::path& run_folder) {
  return run_folder / "journal.bin";
}

void JournalSink::write(const JournalEntry& entry) {
  m_writer.append(encode_entry(entry));
  m_writer.sync();
}

void JournalSink::start(const JournalStart& start) {
  write(start);
}

void JournalSink::record_epoch(const EpochRecord& record) {
  write(record);
}

void JournalSink::end(RunStatus status, const std::string& error) {
  write(JournalEnd{status, error});
}

}  // namespace moexp::journal
