// How the store opens its database file (shared by Database and ResultStore).
#pragma once

namespace moexp::store {

// read_write creates the file when missing, sets WAL and migrates; read_only never creates, writes, converts or
// migrates anything (in a folder where SQLite cannot create the -shm file it falls back to an immutable open, which
// is exact there because no writer can be active).
enum class OpenMode { read_write, read_only };

}  // namespace moexp::store
