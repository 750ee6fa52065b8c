// One SQLite connection (GuildStoreSQLite's `SQLiteConnection`) with the seeds' pragmas and the
// statements the benchmarks run, prepared once. A connection is used by one thread at a time
// (SQLITE_OPEN_NOMUTEX); the concurrent benchmarks give every writer thread a connection of
// its own.

import BenchmarkSupport
@_spi(Benchmarks) import GuildStoreSQLite

enum SQLiteSynchronous: String, Sendable {
    case FULL, NORMAL

    /// `PRAGMA synchronous` reads back 2 for FULL, 1 for NORMAL.
    var pragmaValue: Int64 { self == .FULL ? 2 : 1 }
}

final class SQLiteKVConnection: @unchecked Sendable {
    // One thread at a time uses a connection: the benchmark runner's, then during an
    // iteration the one writer (or reader) thread it is handed to.
    static let busyTimeoutMilliseconds = 10_000

    /// The connection and its statements; nil once closed.
    private var open: Statements?

    final class Statements {
        let connection: SQLiteConnection
        let beginImmediate: SQLiteStatement
        let commit: SQLiteStatement
        let insert: SQLiteStatement
        let select: SQLiteStatement

        init(_ connection: SQLiteConnection) throws {
            self.connection = connection
            beginImmediate = try connection.prepare("BEGIN IMMEDIATE", persistent: true)
            commit = try connection.prepare("COMMIT", persistent: true)
            insert = try connection.prepare("INSERT INTO kv(k, v) VALUES (?1, ?2)", persistent: true)
            select = try connection.prepare("SELECT v FROM kv WHERE k = ?1", persistent: true)
        }
    }

    /// Opens `path` with journal_mode=WAL and the seeds' pragmas (synchronous, cache_size=10000,
    /// temp_store=MEMORY, mmap_size=268435456, foreign_keys=ON), a busy timeout, and the
    /// `kv` table (made when missing).
    init(path: String, synchronous: SQLiteSynchronous) throws {
        let connection = try SQLiteConnection(path: path, mode: .create)
        try connection.execute("PRAGMA busy_timeout=\(Self.busyTimeoutMilliseconds)")
        guard try connection.query("PRAGMA journal_mode=WAL") == [[.text("wal")]] else {
            throw BenchError.sqlite("journal_mode=WAL refused")
        }
        try connection.execute("PRAGMA synchronous=\(synchronous.rawValue)")
        try connection.execute("PRAGMA cache_size=10000")
        try connection.execute("PRAGMA temp_store=MEMORY")
        try connection.query("PRAGMA mmap_size=268435456")
        try connection.execute("PRAGMA foreign_keys=ON")
        guard try connection.query("PRAGMA synchronous") == [[.integer(synchronous.pragmaValue)]] else {
            throw BenchError.sqlite("synchronous=\(synchronous.rawValue) did not take")
        }
        try connection.execute("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
        open = try Statements(connection)
    }

    private func statements() throws -> Statements {
        guard let open else { throw BenchError.setup("the SQLite connection is closed") }
        return open
    }

    /// Runs `statement` (BEGIN IMMEDIATE or COMMIT) until it is not refused with SQLITE_BUSY
    /// (the busy handler waits up to the timeout before each refusal); returns the refusals.
    @inline(__always)
    private func runRetryingBusy(_ statement: SQLiteStatement) throws -> Int {
        var busy = 0
        while true {
            do {
                try statement.run()
                return busy
            } catch let error as SQLiteError where error.isBusy {
                busy += 1
            }
        }
    }

    /// One single-row durable commit: `BEGIN IMMEDIATE` (the busy handler waits up to the
    /// timeout; on SQLITE_BUSY it is retried), one INSERT, COMMIT. Returns how many times
    /// `BEGIN IMMEDIATE` or `COMMIT` came back busy.
    @inline(__always)
    func insertCommit(key: UInt64, value: UnsafeRawPointer) throws -> Int {
        let s = try statements()
        var busy = try runRetryingBusy(s.beginImmediate)
        do {
            try insertRow(s, key: key, value: value)
            busy += try runRetryingBusy(s.commit)
        } catch {
            try? s.connection.execute("ROLLBACK")
            throw error
        }
        return busy
    }

    /// INSERT of one row inside the caller's transaction.
    @inline(__always)
    private func insertRow(_ s: Statements, key: UInt64, value: UnsafeRawPointer) throws {
        var k = key.bigEndian
        try withUnsafeBytes(of: &k) { kb in
            try s.insert.bind(unsafeBlob: kb, at: 1)
            try s.insert.bind(unsafeBlob: UnsafeRawBufferPointer(start: value, count: Rows.valueSize), at: 2)
            try s.insert.run()
        }
    }

    /// Rows `keys` in one transaction (fixtures, the bulk writer): BEGIN IMMEDIATE ... COMMIT.
    func insertTransaction(_ keys: some Sequence<UInt64>) throws {
        let s = try statements()
        try withUnsafeTemporaryAllocation(byteCount: Rows.valueSize, alignment: 8) { value in
            _ = try runRetryingBusy(s.beginImmediate)
            do {
                for k in keys {
                    Rows.fillValue(k, value.baseAddress!)
                    try insertRow(s, key: k, value: value.baseAddress!)
                }
                try s.commit.run()
            } catch {
                try? s.connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Point lookup in an autocommit read transaction of its own: copies the value into
    /// `into` (at least `Rows.valueSize` bytes) and returns its length, or -1 when absent.
    @inline(__always)
    func lookup(_ key: UInt64, into: UnsafeMutableRawPointer) throws -> Int {
        let select = try statements().select
        var k = key.bigEndian
        return try withUnsafeBytes(of: &k) { kb in
            try select.bind(unsafeBlob: kb, at: 1)
            defer { select.reset() }
            guard try select.step() else { return -1 }
            return select.withBlob(0) { value in
                if value.count <= Rows.valueSize, let bytes = value.baseAddress {
                    into.copyMemory(from: bytes, byteCount: value.count)
                }
                return value.count
            }
        }
    }

    func count() throws -> Int {
        let rows = try statements().connection.query("SELECT count(*) FROM kv")
        guard case .integer(let count)? = rows.first?.first else { throw BenchError.sqlite("SELECT count(*) gave \(rows)") }
        return Int(count)
    }

    /// Every row in key order, in one read transaction.
    func scanAll(_ body: (UInt64?, UnsafeRawBufferPointer) throws -> Void) throws {
        let scan = try statements().connection.prepare("SELECT k, v FROM kv ORDER BY k")
        while try scan.step() {
            let key = scan.withBlob(0, Rows.decodeKey)
            try scan.withBlob(1) { value in try body(key, value) }
        }
    }

    func checkpointTruncate() throws {
        try statements().connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Finalizes the statements and closes the connection.
    func close() {
        open = nil
    }
}
