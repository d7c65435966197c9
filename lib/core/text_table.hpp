// A plain-text table: columns aligned with spaces, numbers right-aligned, a rule under the header.
#pragma once

#include <string>
#include <vector>

namespace moexp::core {

class TextTable {
public:
  explicit TextTable(std::vector<std::string> header) : m_header(std::move(header)) {}

  // Add a row (as many cells as the header; missing cells are empty).
  void add_row(std::vector<std::string> cells) { m_rows.push_back(std::move(cells)); }

  // The table as text, each line ending in '\n'.
  std::string render() const;

private:
  std::vector<std::string> m_header;
  std::vector<std::vector<std::string>> m_rows;
};

} // namespace moexp::core
