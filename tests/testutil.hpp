// Shared test scaffolding: scratch folders and small files.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace moexp::test {

// A fresh folder under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// Write `content` to `path` (creating folders); returns `path`.
std::filesystem::path write_file(const std::filesystem::path& path, std::string_view content);

// Read a whole file.
std::string read_file(const std::filesystem::path& path);

// The sorted names of the entries directly in `folder`.
std::vector<std::string> file_names(const std::filesystem::path& folder);

// A complete tiny experiment on synthetic data (ResNet-8, 4 experts, k=2, importance loss, 2 epochs).
std::string tiny_experiment_toml();

// The message of the exception of type E that `fn` throws; "" when it throws none.
template <typename E>
std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace moexp::test
