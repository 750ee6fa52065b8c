// GuildStore's `Database` under concurrency, against SQLite (C API through GuildStoreSQLite's
// `SQLiteConnection`, WAL, the seeds' pragmas) in the same run, on real files in mkdtemp
// directories (so fdatasync reaches the device):
//
//   Commits/AppendFdatasync            a bare 4 KiB pwrite at the end of a file + fdatasync
//   Commits/OverwriteFdatasync         the same into blocks already written (no size change)
//   Commits/GuildStore.full/<n>w       single-row `db.write` commits by n = 1, 8, 64 writer tasks
//   Commits/GuildStore.normal/<n>w     the same under `.normal` (no sync per commit)
//   Commits/SQLite.FULL/<n>w           single-row BEGIN IMMEDIATE / INSERT / COMMIT by n threads,
//   Commits/SQLite.NORMAL/<n>w         one connection each, busy timeout, retry on SQLITE_BUSY
//   ReadLatency/<engine>/idle          point lookups, one read transaction each, on 100k rows
//   ReadLatency/<engine>/bulkWriter    the same while a writer commits 1,000-row transactions
//
// Rows: 8-byte big-endian keys, 100-byte values derived from the key (Support.swift). See
// Commits.swift and ReadLatency.swift for what each iteration does and checks, and README.md
// for the results.

import BenchmarkSupport
import Benchmark

let benchmarks: @Sendable () -> Void = {
    bareFdatasync(append: true)
    bareFdatasync(append: false)

    for writers in [1, 8, 64] {
        guildCommits(.full, writers: writers)
        sqliteCommits(.FULL, writers: writers)
    }
    for writers in [1, 8, 64] {
        guildCommits(.normal, writers: writers)
        sqliteCommits(.NORMAL, writers: writers)
    }

    guildReadLatency(bulkWriter: false)
    guildReadLatency(bulkWriter: true)
    guildReadLatency(bulkWriter: false, readOnlyOpening: true)
    guildReadLatency(bulkWriter: true, readOnlyOpening: true)
    sqliteReadLatency(bulkWriter: false)
    sqliteReadLatency(bulkWriter: true)
}
