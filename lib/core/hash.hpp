// Content hashes used as identities (config hashes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace moexp::core {

// 64-bit FNV-1a of `data`.
std::uint64_t fnv1a64(std::string_view data);

// fnv1a64 as 16 lowercase hex digits: the stable identity of a canonical config text.
std::string content_hash(std::string_view data);

// 32 random lowercase hex digits (128 bits from the OS): identities that must not collide across databases.
std::string random_token();

}  // namespace moexp::core
