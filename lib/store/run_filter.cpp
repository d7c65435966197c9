#include "store/run_filter.hpp"

#include "config/schema.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

namespace moexp::store {
namespace {

struct Token {
  enum Kind { word, number, string, op, lparen, rparen, comma, end } kind;
  std::string text;
  std::size_t column;  // 1-based
};

// Deepest nesting of parentheses and `not` a filter may have (SQLite's parser stack allows about 50 levels).
constexpr int kMaxDepth = 32;
// Terms joined flat per group: SQLite's expression depth limit is 1000, so long chains are grouped by this many.
constexpr std::size_t kChainGroup = 64;

// The filter text as an error message shows it: whole when short, else the 60 characters around `at`.
std::string excerpt(const std::string& s, std::size_t at) {
  if (s.size() <= 120) {
    return s;
  }
  const std::size_t from = at > 30 ? at - 30 : 0;
  return fmt::format("{}{}{}", from > 0 ? "..." : "", s.substr(from, 60), from + 60 < s.size() ? "..." : "");
}

[[noreturn]] void fail_at(const std::string& s, std::size_t at, const std::string& what) {
  throw InputError(fmt::format("where: {} at column {}: {}", what, at + 1, excerpt(s, at)));
}

// `terms` joined by `op` ("OR" / "AND") without deep nesting: flat groups of kChainGroup, grouped again as needed.
std::string join_chain(std::vector<std::string> terms, const char* op) {
  const std::string glue = fmt::format(" {} ", op);
  while (terms.size() > 1) {
    std::vector<std::string> groups;
    for (std::size_t i = 0; i < terms.size(); i += kChainGroup) {
      const auto end = terms.begin() + static_cast<std::ptrdiff_t>(std::min(terms.size(), i + kChainGroup));
      groups.push_back(fmt::format("({})", fmt::join(terms.begin() + static_cast<std::ptrdiff_t>(i), end, glue)));
    }
    terms = std::move(groups);
  }
  return terms.front();
}

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  auto fail = [&](std::size_t at, const std::string& what) { fail_at(s, at, what); };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')' || c == ',') {
      tokens.push_back({c == '(' ? Token::lparen : c == ')' ? Token::rparen : Token::comma, std::string(1, c), i});
      ++i;
    } else if (c == '\'' || c == '"') {
      std::size_t j = i + 1;
      std::string text;
      while (j < s.size() && s[j] != c) {
        text += s[j++];
      }
      if (j >= s.size()) {
        fail(i, "unterminated string");
      }
      tokens.push_back({Token::string, text, i});
      i = j + 1;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, c);
      if (i + 1 < s.size() && s[i + 1] == '=') {
        op += '=';
      }
      if (op == "!") {
        fail(i, "expected '!='");
      }
      tokens.push_back({Token::op, op == "==" ? "=" : op, i});
      i += op.size();
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
      std::size_t j = i + 1;
      while (j < s.size() &&
             (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '-' || s[j] == '+')) {
        ++j;
      }
      tokens.push_back({Token::number, s.substr(i, j - i), i});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' || s[j] == '.')) {
        ++j;
      }
      tokens.push_back({Token::word, s.substr(i, j - i), i});
      i = j;
    } else {
      fail(i, fmt::format("unexpected '{}'", c));
    }
  }
  tokens.push_back({Token::end, "", s.size()});
  return tokens;
}

// SQL for a key's value, per kind of key. Config values are stored as TOML text in run_params.
const std::map<std::string, std::string> kAttributes = {
    {"id", "r.id"},
    {"name", "r.name"},
    {"status", "r.status"},
    {"epochs_done", "r.epochs_done"},
    {"wall_seconds", "r.wall_seconds"},
    {"config_hash", "r.config_hash"},
    {"best_test_acc",
     "(SELECT max(m.value) FROM epoch_metrics m WHERE m.run_id = r.id AND m.split = 'test' AND m.name = 'acc')"},
};

// How a key's value is read: a column or subquery (attribute), a run_params row (config key, bound by name), or the
// final stored epoch's value of a named metric (bound by split and name).
enum class KeyKind { attribute, config, metric };

class Parser {
 public:
  Parser(std::string text, const std::vector<std::string>& metric_keys)
      : m_text(std::move(text)), m_tokens(tokenize(m_text)), m_metric_keys(metric_keys) {}

  CompiledFilter parse() {
    CompiledFilter out;
    if (peek().kind == Token::end) {
      return out;
    }
    out.sql = disjunction(out);
    if (peek().kind != Token::end) {
      fail(peek(), fmt::format("unexpected '{}'", peek().text));
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const Token& at, const std::string& what) const { fail_at(m_text, at.column, what); }
  const Token& peek() const { return m_tokens[m_pos]; }
  Token next() { return m_tokens[m_pos++]; }
  bool keyword(const std::string& word) {
    if (peek().kind != Token::word || peek().text.size() != word.size()) {
      return false;
    }
    for (std::size_t i = 0; i < word.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(peek().text[i])) != word[i]) {
        return false;
      }
    }
    ++m_pos;
    return true;
  }

  std::string disjunction(CompiledFilter& out) {
    std::vector<std::string> terms{conjunction(out)};
    while (keyword("or")) {
      terms.push_back(conjunction(out));
    }
    return join_chain(std::move(terms), "OR");
  }
  std::string conjunction(CompiledFilter& out) {
    std::vector<std::string> terms{negation(out)};
    while (keyword("and")) {
      terms.push_back(negation(out));
    }
    return join_chain(std::move(terms), "AND");
  }
  // One level deeper for a `not` or a parenthesis; refuses to go past kMaxDepth (the parser recurses per level).
  void descend(const Token& at) {
    if (++m_depth > kMaxDepth) {
      fail(at, fmt::format("nested deeper than {} levels of parentheses and 'not'", kMaxDepth));
    }
  }
  std::string negation(CompiledFilter& out) {
    const Token& at = peek();
    if (keyword("not")) {
      descend(at);
      std::string sql = fmt::format("(NOT {})", negation(out));
      --m_depth;
      return sql;
    }
    if (peek().kind == Token::lparen) {
      descend(next());
      std::string sql = disjunction(out);
      if (peek().kind != Token::rparen) {
        fail(peek(), "expected ')'");
      }
      next();
      --m_depth;
      return sql;
    }
    return comparison(out);
  }

  // A literal value: returns it as a number when it is one.
  std::variant<double, std::string> value() {
    Token t = next();
    if (t.kind == Token::string) {
      return t.text;
    }
    if (t.kind == Token::number) {
      try {
        std::size_t used = 0;
        double d = std::stod(t.text, &used);
        if (used == t.text.size() && std::isfinite(d)) {
          return d;
        }
      } catch (const std::exception&) {
      }
      fail(t, fmt::format("'{}' is not a number", t.text));
    }
    if (t.kind == Token::word && (t.text == "true" || t.text == "false")) {
      return t.text;
    }
    fail(t, t.kind == Token::end ? "expected a value" : fmt::format("expected a value, got '{}'", t.text));
  }

  // SQL of one comparison of `lhs` with a bound value.
  std::string compare(CompiledFilter& out, const std::string& lhs, bool config_key, const std::string& op,
                      const std::variant<double, std::string>& v) {
    if (const auto* d = std::get_if<double>(&v)) {
      out.params.emplace_back(*d);
      return fmt::format("CAST({} AS REAL) {} ?", lhs, op);
    }
    const auto& s = std::get<std::string>(v);
    if (!config_key || s == "true" || s == "false") {
      out.params.emplace_back(s);
      return fmt::format("{} {} ?", lhs, op);
    }
    // Config strings are stored as TOML text: a literal 'x' or a basic "x" string. Match either.
    out.params.emplace_back(fmt::format("'{}'", s));
    out.params.emplace_back(fmt::format("\"{}\"", s));
    if (op == "=" || op == "!=") {
      return fmt::format("{} {} (?, ?)", lhs, op == "=" ? "IN" : "NOT IN");
    }
    return fmt::format("(substr({0}, 2, length({0}) - 2) {1} substr(?, 2, length(?) - 2))", lhs, op);
  }

  // `lhs IN (values)` as at most three membership tests, each against one bound JSON array read by json_each, so
  // a list of any length is one parameter and one shallow expression.
  static std::string in_list(CompiledFilter& out, const std::string& lhs, bool config_key,
                             const std::vector<std::variant<double, std::string>>& values) {
    std::vector<double> numbers;
    std::vector<std::string> raw, quoted;  // JSON string items per kind of comparison
    for (const auto& v : values) {
      if (const auto* d = std::get_if<double>(&v)) {
        numbers.push_back(*d);
      } else {
        const auto& s = std::get<std::string>(v);
        (config_key && s != "true" && s != "false" ? quoted : raw).push_back(core::json_string(s));
      }
    }
    auto array = [](const std::vector<std::string>& items) { return fmt::format("[{}]", fmt::join(items, ",")); };
    std::vector<std::string> tests;
    if (!numbers.empty()) {
      out.params.emplace_back(core::json_array(numbers));
      tests.push_back(fmt::format("CAST({} AS REAL) IN (SELECT value FROM json_each(?))", lhs));
    }
    if (!raw.empty()) {
      out.params.emplace_back(array(raw));
      tests.push_back(fmt::format("{} IN (SELECT value FROM json_each(?))", lhs));
    }
    if (!quoted.empty()) {
      // Config strings are stored as TOML text: a literal 'x' or a basic "x" string. Match either.
      out.params.emplace_back(array(quoted));
      out.params.emplace_back(array(quoted));
      tests.push_back(
          fmt::format("{} IN (SELECT '''' || value || '''' FROM json_each(?) UNION ALL "
                      "SELECT '\"' || value || '\"' FROM json_each(?))",
                      lhs));
    }
    return fmt::format("({})", fmt::join(tests, " OR "));
  }

  std::string comparison(CompiledFilter& out) {
    Token key = next();
    if (key.kind != Token::word) {
      fail(key, key.kind == Token::end ? "expected a key" : fmt::format("expected a key, got '{}'", key.text));
    }
    std::string lhs;
    KeyKind kind = KeyKind::attribute;
    if (auto it = kAttributes.find(key.text); it != kAttributes.end()) {
      lhs = it->second;
    } else if (config::find_key(key.text) != nullptr || key.text == "moe.enabled") {
      kind = KeyKind::config;
      lhs = "p.value";
    } else if (std::find(m_metric_keys.begin(), m_metric_keys.end(), key.text) != m_metric_keys.end()) {
      kind = KeyKind::metric;
      lhs = "m.value";
    } else {
      std::vector<std::string> known = config::experiment_key_names();
      for (const auto& [name, sql] : kAttributes) {
        known.push_back(name);
      }
      known.insert(known.end(), m_metric_keys.begin(), m_metric_keys.end());
      auto msg = core::with_suggestion(fmt::format("unknown key '{}'", key.text), key.text, known);
      fail(key, msg);
    }
    const bool config_key = kind == KeyKind::config;
    std::string sql;
    if (keyword("in")) {
      if (next().kind != Token::lparen) {
        fail(m_tokens[m_pos - 1], "expected '(' after in");
      }
      std::vector<std::variant<double, std::string>> values;
      while (true) {
        values.push_back(value());
        Token t = next();
        if (t.kind == Token::rparen) {
          break;
        }
        if (t.kind != Token::comma) {
          fail(t, "expected ',' or ')'");
        }
      }
      sql = in_list(out, lhs, config_key, values);
    } else {
      Token op = next();
      if (op.kind != Token::op) {
        fail(op,
             op.kind == Token::end ? "expected an operator" : fmt::format("expected an operator, got '{}'", op.text));
      }
      sql = compare(out, lhs, config_key, op.text, value());
    }
    if (kind == KeyKind::attribute) {
      return sql;
    }
    // The key is bound too, before the comparison's values; the EXISTS is over that run's one row for the key.
    const auto at = out.params.end() - static_cast<std::ptrdiff_t>(std::count(sql.begin(), sql.end(), '?'));
    if (config_key) {
      out.params.insert(at, key.text);
      return fmt::format("EXISTS (SELECT 1 FROM run_params p WHERE p.run_id = r.id AND p.key = ? AND {})", sql);
    }
    const Metric metric = parse_metric_key(key.text);
    out.params.insert(out.params.insert(at, metric.name), metric.split);
    return fmt::format(
        "EXISTS (SELECT 1 FROM (SELECT value FROM epoch_metrics WHERE run_id = r.id AND split = ? "
        "AND name = ? ORDER BY epoch DESC LIMIT 1) m WHERE {})",
        sql);
  }

  std::string m_text;
  std::vector<Token> m_tokens;
  const std::vector<std::string>& m_metric_keys;
  std::size_t m_pos = 0;
  int m_depth = 0;
};

}  // namespace

CompiledFilter compile_filter(const std::string& filter, const std::vector<std::string>& metric_keys) {
  return Parser(filter, metric_keys).parse();
}

}  // namespace moexp::store
