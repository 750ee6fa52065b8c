import Foundation
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// One small real database the corruption fuzzer damages: its files' bytes at two moments and
/// every row a reader saw before any damage.
///
/// Built through the engine's own API: three tables with secondary indexes (one unique, one
/// partial), rows with values long enough for overflow chains, deletes that leave a free list,
/// all checkpointed into the file (the `earlier` copy), then more commits left in the WAL, not
/// checkpointed (the `database` and `wal` bytes). `rows` is every table read back from those
/// files before any damage.
struct FuzzFixture: Sendable {
    static let pageSize = 4096
    /// Small pages, automatic checkpoints off (the WAL keeps its commits), `.full` so frames
    /// carry sync watermarks (WALR-7), and a small mapping so an open stays cheap.
    static let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .full, checkpointThreshold: 0,
                                                   mapReservation: 1 << 22)

    let name: String
    /// The database file after the last checkpoint; the WAL beside it was empty then.
    let earlier: [UInt8]
    /// The database file and its WAL when the engine closed, commits still in the WAL.
    let database: [UInt8]
    let wal: [UInt8]
    /// Every table's rows in primary-key order, as read from `database` and `wal`.
    let rows: [String: [Row]]

    var pageCount: Int { database.count / Self.pageSize }

    static let users = TableSchema(
        "users",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("email", .text),
            ColumnDefinition("name", .text, nullable: true),
            ColumnDefinition("bio", .bytes, nullable: true),
            ColumnDefinition("active", .bool),
        ],
        primaryKey: ["id"],
        indexes: [
            IndexDefinition("email_unique", on: ["email"], unique: true),
            IndexDefinition("active_by_name", on: ["name"], where: .equals("active", .bool(true))),
        ])

    static let events = TableSchema(
        "events",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("user_id", .uint),
            ColumnDefinition("created_at", .timestamp),
            ColumnDefinition("body", .text),
        ],
        primaryKey: ["id"],
        indexes: [
            IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
            IndexDefinition("by_created", on: ["created_at"], descending: [true]),
        ])

    static let settings = TableSchema(
        "settings",
        columns: [
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("key", .text),
            ColumnDefinition("value", .json),
        ],
        primaryKey: ["guild_id", "key"],
        indexes: [IndexDefinition("by_key", on: ["key"])])

    static let schemas = [users, events, settings]

    /// A text of `length` characters that names `tag` (so two rows never read alike).
    static func text(_ tag: UInt64, length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 ")
        var x = tag &* 0x9E37_79B9_7F4A_7C15 | 1
        return String((0..<length).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return alphabet[Int(x % UInt64(alphabet.count))]
        })
    }

    static func user(_ id: UInt64, version: UInt64 = 0) -> [String: Value] {
        // Every fifth user has a bio past the inline limit: an overflow chain of 1-2 pages.
        let bioLength = id % 5 == 0 ? 1500 + Int(id % 3) * 2500 : Int(id % 40)
        return ["id": .uint(id), "email": .text("user\(id)@example.com"),
                "name": id % 7 == 0 ? .null : .text("name \(id) v\(version)"),
                "bio": .bytes(Array(text(id &* 31 &+ version, length: bioLength).utf8)),
                "active": .bool((id + version) % 3 != 0)]
    }

    static func event(_ id: UInt64, version: UInt64 = 0) -> [String: Value] {
        ["id": .uint(id), "guild_id": .uint(id % 4), "user_id": .uint(id % 50),
         "created_at": .timestamp(Int64(1_700_000_000 + id * 60 + version)),
         "body": .text(text(id ^ version << 20, length: 20 + Int(id % 60)))]
    }

    static func setting(_ guild: UInt64, _ key: Int, version: UInt64 = 0) -> [String: Value] {
        ["guild_id": .uint(guild), "key": .text("key\(key)"), "value": .json("{\"v\":\(version),\"k\":\(key)}")]
    }

    /// Builds fixture `variant` in `directory` (the files are read back into memory; the
    /// directory can go). Variants differ in size and in how much the WAL holds.
    static func build(variant: Int, in directory: String) throws -> FuzzFixture {
        let path = directory + "/fixture\(variant).gsdb"
        let scale = UInt64(1 + variant)
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.write { tx in
            for schema in schemas { try tx.createTable(schema) }
            for id in 0..<(20 * scale) { try tx.insert(user(id), into: "users") }
            for id in 0..<(80 * scale) { try tx.insert(event(id), into: "events") }
            for guild in 0..<UInt64(4) { for key in 0..<6 { try tx.insert(setting(guild, key), into: "settings") } }
        }
        // Deletes that leave free pages (an overflow chain and emptied leaves among them).
        try engine.write { tx in
            for id in stride(from: UInt64(0), to: 20 * scale, by: 4) { _ = try tx.delete(from: "users", key: [.uint(id)]) }
            for id in (30 * scale)..<(60 * scale) { _ = try tx.delete(from: "events", key: [.uint(id)]) }
        }
        _ = try engine.checkpoint(.truncate)
        let earlier = try readFile(path)

        // Commits left in the WAL: updates, inserts that reuse free pages, deletes.
        try engine.write { tx in
            for id in stride(from: UInt64(1), to: 20 * scale, by: 3) { try tx.insert(user(id, version: 1), into: "users", onConflict: .replace) }
            for id in (80 * scale)..<(100 * scale) { try tx.insert(event(id), into: "events") }
        }
        try engine.write { tx in
            for id in stride(from: UInt64(0), to: 30 * scale, by: 5) { try tx.insert(event(id, version: 2), into: "events", onConflict: .replace) }
            for guild in 0..<UInt64(4) { _ = try tx.delete(from: "settings", key: [.uint(guild), .text("key1")]) }
            try tx.insert(setting(1, 3, version: 2), into: "settings", onConflict: .replace)
        }
        if variant % 2 == 1 {
            // A checkpoint that copies what came before, then one more commit: the WAL holds
            // only the last, and the file the rest.
            _ = try engine.checkpoint(.truncate)
            try engine.write { tx in
                for id in stride(from: UInt64(2), to: 20 * scale, by: 6) { try tx.insert(user(id, version: 3), into: "users", onConflict: .replace) }
            }
        }
        try engine.close()
        let database = try readFile(path), wal = try readFile(path + "-wal")

        // The rows a reader sees, read from a copy so the bytes above stay as written.
        let copy = directory + "/fixture\(variant)-read.gsdb"
        try writeFile(copy, database)
        try writeFile(copy + "-wal", wal)
        let reader = try StorageEngine.open(path: copy, configuration: configuration)
        let rows = try reader.read { tx in try readAllRows(tx) }
        let report = try reader.check()
        guard report.isOK, try reader.read({ try $0.checkTables() }).isEmpty else {
            throw GuildStoreError.integrityCheckFailed(path: copy, problems: report.problems)
        }
        try reader.close()
        return FuzzFixture(name: "fixture\(variant)", earlier: earlier, database: database, wal: wal, rows: rows)
    }

    /// Every row of each fixture table, in primary-key order.
    static func readAllRows(_ tx: Transaction) throws -> [String: [Row]] {
        var rows: [String: [Row]] = [:]
        for schema in schemas { rows[schema.name] = try tx.rows(schema.name) }
        return rows
    }
}

/// Replaces the file at `path` with `bytes`.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw GuildStoreError.io(operation: "open fuzz file", path: path, errno: errno) }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
        guard n > 0 else { throw GuildStoreError.io(operation: "write fuzz file", path: path, errno: errno) }
        done += n
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}
