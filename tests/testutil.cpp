#include "testutil.hpp"

#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace moexp::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "moexp-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  m_path = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::filesystem::path write_file(const std::filesystem::path& path, std::string_view content) {
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path());
  }
  std::ofstream out(path, std::ios::binary);
  out << content;
  return path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> file_names(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string tiny_experiment_toml() {
  return R"(name = "tiny"

[model]
arch = "resnet8"

[moe]
num_experts = 4
k = 2
position = 1

[constraint]
kind = "importance"

[data]
dataset = "synthetic"
synthetic_train = 256
synthetic_test = 128
synthetic_image_size = 12

[train]
epochs = 2
batch_size = 64
threads = 1
schedule = "constant"
)";
}

}  // namespace moexp::test
