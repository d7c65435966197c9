// A plain-text table for the terminal: columns aligned with spaces, numbers right-aligned, a rule under the header,
// control characters in cells escaped (core::printable) so that a cell never breaks a line or moves the cursor.
#pragma once

#include <string>
#include <vector>

namespace moexp::core {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);

  // Add a row (as many cells as the header; missing cells are empty).
  void add_row(std::vector<std::string> cells);

  // The table as text, each line ending in '\n'.
  std::string render() const;

 private:
  std::vector<std::string> m_header;
  std::vector<std::vector<std::string>> m_rows;
};

}  // namespace moexp::core
