// A small deterministic random source, the same on every platform and standard library (whose distributions differ
// across implementations): splitmix64 for the integers, the top 53 bits for a double in [0, 1). For generated data,
// tests and benchmarks; not for anything cryptographic.
#pragma once

#include <cstdint>

namespace moexp::core {

class Random {
 public:
  explicit Random(std::uint64_t seed) : m_state(seed) {}

  // The next 64 random bits.
  std::uint64_t next_u64() {
    std::uint64_t x = (m_state += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  // A double in [0, 1): the top 53 bits over 2^53.
  double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

  // A double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // An integer in [0, n) for 0 < n <= 2^53: floor(uniform() * n).
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)); }

 private:
  std::uint64_t m_state;
};

}  // namespace moexp::core
