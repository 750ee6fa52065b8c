// The three engines behind one small interface, so every benchmark and check runs the same
// loop against each. The loops are generic over `KVStore` and live in this module, so the
// optimizer specializes them per engine: no dynamic dispatch in the measured code.

import BenchmarkSupport
import CLMDB
import CSQLite3
@_spi(Benchmarks) import GuildStoreEngine

protocol KVStore: AnyObject {
    static var engineName: String { get }
    /// An empty database in a new temporary directory, with its one table / tree made.
    init() throws
    /// Stores key(i) -> value(i) for each i of `indices`, in that order, in one write
    /// transaction, and commits it.
    func load(_ indices: [Int]) throws
    /// Moves everything into the main database file so reads do not go through a log.
    func settle() throws
    /// Starts / ends the read transaction that `get` and `scan` use.
    func beginRead() throws
    func endRead() throws
    /// The value under `key`, or nil. Reads the value bytes.
    func get(_ key: UInt64) throws -> UInt64?
    /// Calls `body` with up to `limit` entries from the first key >= `key`, in key order;
    /// returns how many it visited.
    func scan(from key: UInt64, limit: Int, _ body: (UInt64, UInt64) -> Void) throws -> Int
    /// Closes the database and removes its files.
    func close()
}

// MARK: - GuildStore

final class GuildStoreKV: KVStore {
    static let engineName = "GuildStore"
    let directory: TemporaryDirectory
    let engine: StorageEngine
    let tree: Tree
    var reader: ReadTransaction?

    init() throws {
        directory = try TemporaryDirectory("guildstore")
        engine = try StorageEngine.open(
            path: directory.file("bench.gsdb"),
            configuration: EngineConfiguration(synchronous: .off))
        tree = try engine.write { try $0.createTree("kv") }
    }

    func load(_ indices: [Int]) throws {
        let tree = self.tree
        try engine.write { tx in
            for i in indices {
                var k = Workload.key(i).bigEndian
                var v = Workload.value(i)
                try withUnsafeBytes(of: &k) { kb in
                    try withUnsafeBytes(of: &v) { vb in try tx.put(kb, vb, in: tree) }
                }
            }
        }
    }

    func settle() throws {
        let result = try engine.checkpoint(.truncate)
        guard result.walRestarted || result.framesInWAL == 0, !result.blockedByReaders else {
            throw BenchError.setup("GuildStore checkpoint left frames in the WAL: \(result)")
        }
    }

    func beginRead() throws { reader = try engine.beginRead() }

    func endRead() throws {
        reader?.end()
        reader = nil
    }

    @inline(__always)
    func get(_ key: UInt64) throws -> UInt64? {
        var k = key.bigEndian
        return try withUnsafeBytes(of: &k) { kb in
            try reader!.withValue(kb, in: tree) { value -> UInt64 in
                guard value.count == 8 else { return .max }
                return value.loadUnaligned(as: UInt64.self)
            }
        }
    }

    func scan(from key: UInt64, limit: Int, _ body: (UInt64, UInt64) -> Void) throws -> Int {
        var visited = 0
        guard limit > 0 else { return 0 }
        let lower = withUnsafeBytes(of: key.bigEndian) { Array($0) }
        try reader!.scan(tree, KeyRange(lower: .inclusive(lower))) { k, v in
            let key = k.count == 8 ? UInt64(bigEndian: k.loadUnaligned(as: UInt64.self)) : .max
            let value = v.count == 8 ? v.loadUnaligned(as: UInt64.self) : .max
            body(key, value)
            visited += 1
            return visited < limit
        }
        return visited
    }

    func close() {
        try? endRead()
        try? engine.close()
        directory.remove()
    }
}

// MARK: - SQLite

/// SQLite through its C API: one `WITHOUT ROWID` table, WAL journal, synchronous=OFF, prepared
/// statements, default page cache, no mmap. The connection is opened with
/// SQLITE_OPEN_NOMUTEX (one thread uses it).
final class SQLiteKV: KVStore, SQLiteConnectionOwner {
    static let engineName = "SQLite"
    let directory: TemporaryDirectory
    var db: OpaquePointer?
    var insertStatement: OpaquePointer?
    var getStatement: OpaquePointer?
    var scanStatement: OpaquePointer?
    var beginStatement: OpaquePointer?
    var commitStatement: OpaquePointer?

    init() throws {
        directory = try TemporaryDirectory("sqlite")
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(directory.file("bench.sqlite"), &db, flags, nil) == SQLITE_OK else {
            throw BenchError.sqlite("open: \(message)")
        }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=OFF")
        try exec("CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
        insertStatement = try prepare("INSERT INTO kv(k, v) VALUES (?1, ?2)")
        getStatement = try prepare("SELECT v FROM kv WHERE k = ?1")
        scanStatement = try prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2")
        beginStatement = try prepare("BEGIN")
        commitStatement = try prepare("COMMIT")
    }

    @inline(__always)
    func run(_ statement: OpaquePointer?) throws {
        let rc = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard rc == SQLITE_DONE else { throw BenchError.sqlite("step: \(message)") }
    }

    func load(_ indices: [Int]) throws {
        try run(beginStatement)
        let statement = insertStatement
        for i in indices {
            var k = Workload.key(i).bigEndian
            var v = Workload.value(i)
            let rc = withUnsafeBytes(of: &k) { kb in
                withUnsafeBytes(of: &v) { vb in
                    sqlite3_bind_blob(statement, 1, kb.baseAddress, 8, nil)  // SQLITE_STATIC
                    sqlite3_bind_blob(statement, 2, vb.baseAddress, 8, nil)
                    let rc = sqlite3_step(statement)
                    sqlite3_reset(statement)
                    return rc
                }
            }
            guard rc == SQLITE_DONE else {
                let error = BenchError.sqlite("insert: \(message)")
                try? exec("ROLLBACK")
                throw error
            }
        }
        try run(commitStatement)
    }

    func settle() throws {
        try exec("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    func beginRead() throws { try run(beginStatement) }
    func endRead() throws { try run(commitStatement) }

    @inline(__always)
    func get(_ key: UInt64) throws -> UInt64? {
        var k = key.bigEndian
        let statement = getStatement
        let (rc, value) = withUnsafeBytes(of: &k) { kb -> (Int32, UInt64) in
            sqlite3_bind_blob(statement, 1, kb.baseAddress, 8, nil)
            let rc = sqlite3_step(statement)
            var value: UInt64 = 0
            if rc == SQLITE_ROW {
                if let blob = sqlite3_column_blob(statement, 0), sqlite3_column_bytes(statement, 0) == 8 {
                    value = blob.loadUnaligned(as: UInt64.self)
                } else {
                    value = .max
                }
            }
            sqlite3_reset(statement)
            return (rc, value)
        }
        switch rc {
        case SQLITE_ROW: return value
        case SQLITE_DONE: return nil
        default: throw BenchError.sqlite("get: \(message)")
        }
    }

    func scan(from key: UInt64, limit: Int, _ body: (UInt64, UInt64) -> Void) throws -> Int {
        var k = key.bigEndian
        let statement = scanStatement
        var visited = 0
        let rc = withUnsafeBytes(of: &k) { kb -> Int32 in
            sqlite3_bind_blob(statement, 1, kb.baseAddress, 8, nil)
            sqlite3_bind_int64(statement, 2, Int64(limit))
            var rc = sqlite3_step(statement)
            while rc == SQLITE_ROW {
                let kp = sqlite3_column_blob(statement, 0)
                let kn = sqlite3_column_bytes(statement, 0)
                let vp = sqlite3_column_blob(statement, 1)
                let vn = sqlite3_column_bytes(statement, 1)
                let key = kn == 8 ? UInt64(bigEndian: kp!.loadUnaligned(as: UInt64.self)) : .max
                let value = vn == 8 ? vp!.loadUnaligned(as: UInt64.self) : .max
                body(key, value)
                visited += 1
                rc = sqlite3_step(statement)
            }
            sqlite3_reset(statement)
            return rc
        }
        guard rc == SQLITE_DONE else { throw BenchError.sqlite("scan: \(message)") }
        return visited
    }

    func close() {
        for statement in [insertStatement, getStatement, scanStatement, beginStatement, commitStatement] {
            sqlite3_finalize(statement)
        }
        insertStatement = nil; getStatement = nil; scanStatement = nil
        beginStatement = nil; commitStatement = nil
        sqlite3_close_v2(db)
        db = nil
        directory.remove()
    }
}

// MARK: - LMDB

/// LMDB with MDB_NOSYNC (no fsync at commit, like the others' synchronous=off), no
/// MDB_WRITEMAP, a 16 GiB map, plain `mdb_put` (no MDB_APPEND).
final class LMDBKV: KVStore {
    static let engineName = "LMDB"
    let directory: TemporaryDirectory
    var env: OpaquePointer?
    var dbi: MDB_dbi = 0
    var txn: OpaquePointer?

    init() throws {
        directory = try TemporaryDirectory("lmdb")
        try check(mdb_env_create(&env), "env_create")
        try check(mdb_env_set_mapsize(env, 1 << 34), "set_mapsize")
        try check(mdb_env_open(env, directory.path, UInt32(MDB_NOSYNC), 0o644), "env_open")
        var setup: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &setup), "txn_begin")
        try check(mdb_dbi_open(setup, nil, 0, &dbi), "dbi_open")
        try check(mdb_txn_commit(setup), "txn_commit")
    }

    @inline(__always)
    func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw BenchError.lmdb("\(what): \(String(cString: mdb_strerror(rc)))") }
    }

    func load(_ indices: [Int]) throws {
        var write: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &write), "txn_begin")
        let dbi = self.dbi
        for i in indices {
            var k = Workload.key(i).bigEndian
            var v = Workload.value(i)
            let rc = withUnsafeMutableBytes(of: &k) { kb in
                withUnsafeMutableBytes(of: &v) { vb in
                    var key = MDB_val(mv_size: 8, mv_data: kb.baseAddress)
                    var value = MDB_val(mv_size: 8, mv_data: vb.baseAddress)
                    return mdb_put(write, dbi, &key, &value, 0)
                }
            }
            if rc != 0 {
                mdb_txn_abort(write)
                try check(rc, "put")
            }
        }
        try check(mdb_txn_commit(write), "txn_commit")
    }

    func settle() throws {}

    func beginRead() throws { try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "txn_begin") }

    func endRead() throws {
        mdb_txn_abort(txn)
        txn = nil
    }

    @inline(__always)
    func get(_ key: UInt64) throws -> UInt64? {
        var k = key.bigEndian
        var value = MDB_val(mv_size: 0, mv_data: nil)
        let rc = withUnsafeMutableBytes(of: &k) { kb in
            var key = MDB_val(mv_size: 8, mv_data: kb.baseAddress)
            return mdb_get(txn, dbi, &key, &value)
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "get")
        return value.mv_size == 8 ? value.mv_data!.loadUnaligned(as: UInt64.self) : .max
    }

    func scan(from key: UInt64, limit: Int, _ body: (UInt64, UInt64) -> Void) throws -> Int {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "cursor_open")
        defer { mdb_cursor_close(cursor) }
        var k = key.bigEndian
        var visited = 0
        var rc: Int32 = 0
        withUnsafeMutableBytes(of: &k) { kb in
            var key = MDB_val(mv_size: 8, mv_data: kb.baseAddress)
            var value = MDB_val(mv_size: 0, mv_data: nil)
            rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
            while rc == 0 && visited < limit {
                let kv = key.mv_size == 8 ? UInt64(bigEndian: key.mv_data!.loadUnaligned(as: UInt64.self)) : .max
                let vv = value.mv_size == 8 ? value.mv_data!.loadUnaligned(as: UInt64.self) : .max
                body(kv, vv)
                visited += 1
                if visited < limit { rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT) }
            }
        }
        if rc != 0 && rc != MDB_NOTFOUND { try check(rc, "cursor_get") }
        return visited
    }

    func close() {
        if txn != nil { try? endRead() }
        mdb_dbi_close(env, dbi)
        mdb_env_close(env)
        env = nil
        directory.remove()
    }
}
