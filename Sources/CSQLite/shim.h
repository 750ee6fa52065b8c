// The system SQLite (pkg-config `sqlite3`, Debian `libsqlite3-dev`), reached only through
// GuildStoreSQLite's `SQLiteConnection` (import, export, the differential tests' reference and
// the Benchmarks package's SQLite contenders).
#include <sqlite3.h>
