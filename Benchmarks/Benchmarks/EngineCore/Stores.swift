// The three engines behind one small interface, so every benchmark and check runs the same
// loop against each. The loops are generic over `KVStore` and live in this module, so the
// optimizer specializes them per engine: no dynamic dispatch in the measured code.

import BenchmarkSupport
import CLMDB
@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

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

/// The reads both GuildStore stores share: one tree of one engine, through a read transaction.
protocol GuildStoreTreeReads: AnyObject {
    var engine: StorageEngine { get }
    var tree: Tree { get }
    var reader: ReadTransaction? { get set }
}

extension GuildStoreTreeReads {
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
}

final class GuildStoreKV: KVStore, GuildStoreTreeReads {
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


    func close() {
        try? endRead()
        try? engine.close()
        directory.remove()
    }
}

/// The GuildStore fixture's file opened a second time, read-only (RO-1), while its owner keeps
/// it open: the path a second process's lookups take (issue 15's goal: within 1.2x of the
/// owner's own lookups). Two openings in one process hold separate open file descriptions,
/// locked as two processes' would be.
final class GuildStoreReadOnlyKV: KVStore, GuildStoreTreeReads {
    static let engineName = "GuildStore read-only opening"
    let engine: StorageEngine
    let tree: Tree
    var reader: ReadTransaction?

    /// A read-only opening needs an owner's database: `init(beside:)`.
    init() throws { throw BenchError.setup("a read-only opening is made beside an owner (init(beside:))") }

    init(beside owner: GuildStoreKV) throws {
        engine = try StorageEngine.open(
            path: owner.directory.file("bench.gsdb"),
            configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
        guard let tree = try engine.read({ try $0.tree("kv") }) else { throw BenchError.setup("the read-only opening has no tree kv") }
        self.tree = tree
    }

    func load(_ indices: [Int]) throws { throw BenchError.setup("a read-only opening loads nothing") }
    func settle() throws {}

    func close() {
        try? endRead()
        try? engine.close()
    }
}

// MARK: - SQLite

/// SQLite through GuildStoreSQLite's `SQLiteConnection` (the C API, one call each): one
/// `WITHOUT ROWID` table, WAL journal, synchronous=OFF, prepared statements binding the key
/// and value bytes in place, default page cache, no mmap. The connection is opened with
/// SQLITE_OPEN_NOMUTEX (one thread uses it).
final class SQLiteKV: KVStore {
    static let engineName = "SQLite"
    let directory: TemporaryDirectory
    /// The connection and its statements; nil once closed.
    private var open: Statements?

    final class Statements {
        let connection: SQLiteConnection
        let insert: SQLiteStatement
        let get: SQLiteStatement
        let scan: SQLiteStatement
        let begin: SQLiteStatement
        let commit: SQLiteStatement

        init(path: String) throws {
            connection = try SQLiteConnection(path: path, mode: .create)
            try connection.execute("PRAGMA journal_mode=WAL")
            try connection.execute("PRAGMA synchronous=OFF")
            try connection.execute("CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
            insert = try connection.prepare("INSERT INTO kv(k, v) VALUES (?1, ?2)", persistent: true)
            get = try connection.prepare("SELECT v FROM kv WHERE k = ?1", persistent: true)
            scan = try connection.prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2", persistent: true)
            begin = try connection.prepare("BEGIN", persistent: true)
            commit = try connection.prepare("COMMIT", persistent: true)
        }
    }

    init() throws {
        directory = try TemporaryDirectory("sqlite")
        open = try Statements(path: directory.file("bench.sqlite"))
    }

    @inline(__always)
    private func statements() throws -> Statements {
        guard let open else { throw BenchError.setup("the SQLite store is closed") }
        return open
    }

    func load(_ indices: [Int]) throws {
        let s = try statements()
        try s.begin.run()
        do {
            for i in indices {
                var k = Workload.key(i).bigEndian
                var v = Workload.value(i)
                try withUnsafeBytes(of: &k) { kb in
                    try withUnsafeBytes(of: &v) { vb in
                        try s.insert.bind(unsafeBlob: kb, at: 1)
                        try s.insert.bind(unsafeBlob: vb, at: 2)
                        try s.insert.run()
                    }
                }
            }
        } catch {
            try? s.connection.execute("ROLLBACK")
            throw error
        }
        try s.commit.run()
    }

    func settle() throws {
        try statements().connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    func beginRead() throws { try statements().begin.run() }
    func endRead() throws { try statements().commit.run() }

    @inline(__always)
    func get(_ key: UInt64) throws -> UInt64? {
        let get = try statements().get
        var k = key.bigEndian
        return try withUnsafeBytes(of: &k) { kb in
            try get.bind(unsafeBlob: kb, at: 1)
            defer { get.reset() }
            guard try get.step() else { return nil }
            return get.withBlob(0) { value in value.count == 8 ? value.loadUnaligned(as: UInt64.self) : .max }
        }
    }

    func scan(from key: UInt64, limit: Int, _ body: (UInt64, UInt64) -> Void) throws -> Int {
        let scan = try statements().scan
        var k = key.bigEndian
        var visited = 0
        try withUnsafeBytes(of: &k) { kb in
            try scan.bind(unsafeBlob: kb, at: 1)
            try scan.bind(integer: Int64(limit), at: 2)
            defer { scan.reset() }
            while try scan.step() {
                let key = scan.withBlob(0) { $0.count == 8 ? UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) : .max }
                let value = scan.withBlob(1) { $0.count == 8 ? $0.loadUnaligned(as: UInt64.self) : .max }
                body(key, value)
                visited += 1
            }
        }
        return visited
    }

    func close() {
        open = nil
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
