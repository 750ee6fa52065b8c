// The system SQLite (pkg-config `sqlite3`, Debian `libsqlite3-dev`), used by the differential
// tests as the reference the engine's query results are compared with.
#include <sqlite3.h>
