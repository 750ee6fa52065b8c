// One SQLite connection with the seeds' pragmas and the statements the benchmarks run,
// prepared once. A connection is used by one thread at a time (SQLITE_OPEN_NOMUTEX); the
// concurrent benchmarks give every writer thread a connection of its own.

import BenchmarkSupport
import CSQLite3

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum SQLiteSynchronous: String, Sendable {
    case FULL, NORMAL

    /// `PRAGMA synchronous` reads back 2 for FULL, 1 for NORMAL.
    var pragmaValue: Int64 { self == .FULL ? 2 : 1 }
}

final class SQLiteConnection: @unchecked Sendable, SQLiteConnectionOwner {
    // One thread at a time uses a connection: the benchmark runner's, then during an
    // iteration the one writer (or reader) thread it is handed to.
    static let busyTimeoutMilliseconds: Int32 = 10_000

    private(set) var db: OpaquePointer?
    private var beginImmediate: OpaquePointer?
    private var commit: OpaquePointer?
    private var insert: OpaquePointer?
    private var select: OpaquePointer?

    /// Opens `path` with journal_mode=WAL and the seeds' pragmas (synchronous, cache_size=10000,
    /// temp_store=MEMORY, mmap_size=268435456, foreign_keys=ON), a busy timeout, and the
    /// `kv` table (made when missing).
    init(path: String, synchronous: SQLiteSynchronous) throws {
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK else {
            let error = BenchError.sqlite("open \(path): \(message)")
            sqlite3_close_v2(db)
            throw error
        }
        sqlite3_busy_timeout(db, Self.busyTimeoutMilliseconds)
        guard try queryText("PRAGMA journal_mode=WAL") == "wal" else { throw BenchError.sqlite("journal_mode=WAL refused") }
        try exec("PRAGMA synchronous=\(synchronous.rawValue)")
        try exec("PRAGMA cache_size=10000")
        try exec("PRAGMA temp_store=MEMORY")
        _ = try queryText("PRAGMA mmap_size=268435456")
        try exec("PRAGMA foreign_keys=ON")
        guard try queryInt("PRAGMA synchronous") == synchronous.pragmaValue else {
            throw BenchError.sqlite("synchronous=\(synchronous.rawValue) did not take")
        }
        try exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
        beginImmediate = try prepare("BEGIN IMMEDIATE")
        commit = try prepare("COMMIT")
        insert = try prepare("INSERT INTO kv(k, v) VALUES (?1, ?2)")
        select = try prepare("SELECT v FROM kv WHERE k = ?1")
    }

    /// The first column of the first row of `sql`, as text.
    func queryText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_ROW || rc == SQLITE_DONE else { throw BenchError.sqlite("\(sql): \(message)") }
        guard rc == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }

    func queryInt(_ sql: String) throws -> Int64 {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw BenchError.sqlite("\(sql): \(message)") }
        return sqlite3_column_int64(statement, 0)
    }

    /// One single-row durable commit: `BEGIN IMMEDIATE` (the busy handler waits up to the
    /// timeout; on SQLITE_BUSY it is retried), one INSERT, COMMIT. Returns how many times
    /// `BEGIN IMMEDIATE` came back busy.
    @inline(__always)
    func insertCommit(key: UInt64, value: UnsafeRawPointer) throws -> Int {
        var busy = 0
        while true {
            let rc = sqlite3_step(beginImmediate)
            sqlite3_reset(beginImmediate)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_BUSY else { throw BenchError.sqlite("BEGIN IMMEDIATE: \(message)") }
            busy += 1
        }
        do {
            try insertRow(key: key, value: value)
            while true {
                let rc = sqlite3_step(commit)
                sqlite3_reset(commit)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_BUSY else { throw BenchError.sqlite("COMMIT: \(message)") }
                busy += 1
            }
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
        return busy
    }

    /// INSERT of one row inside the caller's transaction.
    @inline(__always)
    func insertRow(key: UInt64, value: UnsafeRawPointer) throws {
        var k = key.bigEndian
        let rc = withUnsafeBytes(of: &k) { kb in
            sqlite3_bind_blob(insert, 1, kb.baseAddress, 8, nil)  // SQLITE_STATIC
            sqlite3_bind_blob(insert, 2, value, Int32(Rows.valueSize), nil)
            let rc = sqlite3_step(insert)
            sqlite3_reset(insert)
            return rc
        }
        guard rc == SQLITE_DONE else { throw BenchError.sqlite("INSERT: \(message)") }
    }

    /// Rows `keys` in one transaction (fixtures, the bulk writer): BEGIN IMMEDIATE ... COMMIT.
    func insertTransaction(_ keys: some Sequence<UInt64>) throws {
        _ = try withUnsafeTemporaryAllocation(byteCount: Rows.valueSize, alignment: 8) { value in
            var rc = sqlite3_step(beginImmediate)
            sqlite3_reset(beginImmediate)
            while rc == SQLITE_BUSY {
                rc = sqlite3_step(beginImmediate)
                sqlite3_reset(beginImmediate)
            }
            guard rc == SQLITE_DONE else { throw BenchError.sqlite("BEGIN IMMEDIATE: \(message)") }
            do {
                for k in keys {
                    Rows.fillValue(k, value.baseAddress!)
                    try insertRow(key: k, value: value.baseAddress!)
                }
                rc = sqlite3_step(commit)
                sqlite3_reset(commit)
                guard rc == SQLITE_DONE else { throw BenchError.sqlite("COMMIT: \(message)") }
            } catch {
                try? exec("ROLLBACK")
                throw error
            }
        }
    }

    /// Point lookup in an autocommit read transaction of its own: copies the value into
    /// `into` (at least `Rows.valueSize` bytes) and returns its length, or -1 when absent.
    @inline(__always)
    func lookup(_ key: UInt64, into: UnsafeMutableRawPointer) throws -> Int {
        var k = key.bigEndian
        let statement = select
        let (rc, length) = withUnsafeBytes(of: &k) { kb -> (Int32, Int) in
            sqlite3_bind_blob(statement, 1, kb.baseAddress, 8, nil)
            let rc = sqlite3_step(statement)
            var length = -1
            if rc == SQLITE_ROW {
                length = Int(sqlite3_column_bytes(statement, 0))
                if length <= Rows.valueSize, let blob = sqlite3_column_blob(statement, 0) {
                    into.copyMemory(from: blob, byteCount: length)
                }
            }
            sqlite3_reset(statement)
            return (rc, length)
        }
        switch rc {
        case SQLITE_ROW, SQLITE_DONE: return length
        default: throw BenchError.sqlite("SELECT: \(message)")
        }
    }

    func count() throws -> Int { Int(try queryInt("SELECT count(*) FROM kv")) }

    /// Every row in key order, in one read transaction.
    func scanAll(_ body: (UInt64?, UnsafeRawBufferPointer) throws -> Void) throws {
        let statement = try prepare("SELECT k, v FROM kv ORDER BY k")
        defer { sqlite3_finalize(statement) }
        var rc = sqlite3_step(statement)
        while rc == SQLITE_ROW {
            let kp = sqlite3_column_blob(statement, 0)
            let kn = Int(sqlite3_column_bytes(statement, 0))
            let vp = sqlite3_column_blob(statement, 1)
            let vn = Int(sqlite3_column_bytes(statement, 1))
            let key = kp.flatMap { Rows.decodeKey(UnsafeRawBufferPointer(start: $0, count: kn)) }
            try body(key, UnsafeRawBufferPointer(start: vp, count: vp == nil ? 0 : vn))
            rc = sqlite3_step(statement)
        }
        guard rc == SQLITE_DONE else { throw BenchError.sqlite("scan: \(message)") }
    }

    func checkpointTruncate() throws {
        try exec("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    func close() {
        for statement in [beginImmediate, commit, insert, select] { sqlite3_finalize(statement) }
        beginImmediate = nil; commit = nil; insert = nil; select = nil
        sqlite3_close_v2(db)
        db = nil
    }

    deinit { if db != nil { close() } }
}
