// Where the database file lives, as far as SQLite's locking cares: a local filesystem, or a network or cluster
// filesystem on which WAL mode is unsafe (WAL's index is shared memory mapped from the -shm file, which only
// processes on one host can share; SQLite's documentation: "WAL does not work over a network filesystem").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace moexp::store {

// The name of the network or cluster filesystem whose statfs f_type is `f_type` ("nfs", "cifs", "lustre", "gpfs",
// "fuse", "9p", ...), or nullopt for any other (local) type. FUSE counts as network: sshfs, GlusterFS, BeeGFS clients
// and most other FUSE filesystems are remote, and moexp cannot tell the local ones apart.
std::optional<std::string_view> network_filesystem_name(std::uint64_t f_type);

// The network filesystem holding `path` (or the nearest existing folder above it, for a file not yet created), or
// nullopt when it is local or cannot be examined. The environment variable MOEXP_DB_FILESYSTEM overrides the probe:
// "network" (treated as a network filesystem named "network (MOEXP_DB_FILESYSTEM)") or "local"; any other value is
// refused with an InputError naming it.
std::optional<std::string> network_filesystem_of(const std::filesystem::path& path);

}  // namespace moexp::store
