#include "core/text_table.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace moexp::core {
namespace {

// Numbers (and "mean ± std", "-", "12.5%") are right-aligned: anything that starts like a number.
bool numeric(const std::string& s) {
  const auto first = static_cast<unsigned char>(s.empty() ? 'x' : s.front());
  return std::isdigit(first) || first == '-' || first == '+' || first == '.';
}

// Display width of UTF-8 text (code points, not bytes).
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::vector<std::string> printable_cells(std::vector<std::string> cells) {
  for (auto& c : cells) {
    c = printable(c);
  }
  return cells;
}

}  // namespace

TextTable::TextTable(std::vector<std::string> header) : m_header(printable_cells(std::move(header))) {}

void TextTable::add_row(std::vector<std::string> cells) {
  m_rows.push_back(printable_cells(std::move(cells)));
}

std::string TextTable::render() const {
  std::vector<std::size_t> widths(m_header.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(cells[i]));
    }
  };
  measure(m_header);
  for (const auto& row : m_rows) {
    measure(row);
  }
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string out;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      const std::string pad(widths[i] - width(cell), ' ');
      out += (i == 0 ? "" : "  ") + ((!header && numeric(cell)) ? pad + cell : cell + pad);
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    return out + "\n";
  };
  std::string out = line(m_header, true);
  std::string rule;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    rule += (i == 0 ? "" : "  ") + std::string(widths[i], '-');
  }
  out += rule + "\n";
  for (const auto& row : m_rows) {
    out += line(row, false);
  }
  return out;
}

}  // namespace moexp::core
