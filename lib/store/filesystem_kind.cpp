#include "store/filesystem_kind.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

#include <sys/vfs.h>
#include <array>
#include <cstdlib>
#include <string>
#include <utility>

namespace moexp::store {
namespace {

// statfs f_type values of network and cluster filesystems (linux/magic.h and the filesystems' own sources; Lustre,
// GPFS, BeeGFS and PanFS are out of tree).
constexpr std::array<std::pair<std::uint64_t, std::string_view>, 18> kNetworkFilesystems{{
    {0x6969, "nfs"},
    {0x517B, "smb"},
    {0xFF534D42, "cifs"},
    {0xFE534D42, "smb2"},
    {0x0BD00BD0, "lustre"},
    {0x47504653, "gpfs"},
    {0x65735546, "fuse"},
    {0x01021997, "9p"},
    {0x00C36400, "ceph"},
    {0x5346414F, "afs"},
    {0x6B414653, "afs"},
    {0x73757245, "coda"},
    {0x7461636F, "ocfs2"},
    {0x01161970, "gfs2"},
    {0x19830326, "beegfs"},
    {0xAAD7AAEA, "panfs"},
    {0x564C, "ncp"},
    {0x20030528, "orangefs"},
}};

}  // namespace

std::optional<std::string_view> network_filesystem_name(std::uint64_t f_type) {
  const std::uint64_t magic32 = f_type & 0xFFFFFFFFU;  // some ABIs sign-extend the 32-bit magic into f_type
  for (const auto& [magic, name] : kNetworkFilesystems) {
    if (magic == magic32) {
      return name;
    }
  }
  return std::nullopt;
}

std::optional<std::string> network_filesystem_of(const std::filesystem::path& path) {
  if (const char* forced = std::getenv("MOEXP_DB_FILESYSTEM"); forced != nullptr && *forced != '\0') {
    const std::string_view value = forced;
    if (value == "network") {
      return std::string("network (MOEXP_DB_FILESYSTEM)");
    }
    if (value == "local") {
      return std::nullopt;
    }
    throw InputError(fmt::format("MOEXP_DB_FILESYSTEM={}: use network or local (or unset it to detect)", value));
  }
  std::error_code ec;
  auto probe = std::filesystem::absolute(path, ec);
  while (!probe.empty() && !std::filesystem::exists(probe, ec)) {
    if (probe == probe.parent_path()) {
      return std::nullopt;
    }
    probe = probe.parent_path();
  }
  struct statfs info {};
  if (probe.empty() || ::statfs(probe.c_str(), &info) != 0) {
    return std::nullopt;
  }
  if (auto name = network_filesystem_name(static_cast<std::uint64_t>(info.f_type))) {
    return std::string(*name);
  }
  return std::nullopt;
}

}  // namespace moexp::store
