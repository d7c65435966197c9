#include "core/hash.hpp"

#include <fmt/format.h>

namespace moexp::core {

std::uint64_t fnv1a64(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string content_hash(std::string_view data) { return fmt::format("{:016x}", fnv1a64(data)); }

} // namespace moexp::core
