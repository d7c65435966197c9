#include "core/hash.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <random>

namespace moexp::core {

std::uint64_t fnv1a64(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string content_hash(std::string_view data) {
  return fmt::format("{:016x}", fnv1a64(data));
}

std::string random_token() {
  std::random_device device;  // /dev/urandom on Linux
  std::string token;
  for (int i = 0; i < 4; ++i) {
    token += fmt::format("{:08x}", static_cast<std::uint32_t>(device()));
  }
  return token;
}

}  // namespace moexp::core
