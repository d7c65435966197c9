// Schema of the results database, as an ordered list of migrations keyed on PRAGMA user_version.
#pragma once

namespace moexp::store {

class Database;

// The schema version this moexp writes.
int current_schema_version();

// Bring `db` up to current_schema_version(), one transaction per migration. Throws StoreError when the
// database comes from a newer moexp.
void migrate(Database& db);

// For a read-only open: check that `db` is a moexp database of the current schema without changing it. Throws
// InputError for an empty or foreign file, StoreError for an older or newer schema.
void check_readable(Database& db);

}  // namespace moexp::store
