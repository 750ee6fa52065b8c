// The system SQLite (pkg-config `sqlite3`, Debian `libsqlite3-dev`), reached only through
// GuildSQLite's `SQLiteConnection` (import, export, and the differential tests' reference).
#include <sqlite3.h>
