// The engines behind one small interface, so every benchmark and check runs the same loop
// against each. The loops are generic over `MessageStore` and live in this module, so the
// optimizer specializes them per engine.

import BenchmarkSupport
import CSQLite3
import GuildStore
import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

protocol MessageStore: AnyObject {
    static var engineName: String { get }
    /// An empty database in a new temporary directory, with message_events and its four
    /// indexes made.
    init() throws
    /// Inserts rows `range` of the workload in one write transaction and commits it.
    func insert(_ range: Range<Int>) throws
    /// Moves everything into the main database file and empties the log.
    func settle() throws
    /// Bytes in the main database file.
    var fileBytes: Int { get }
    /// Rows, sum of character_count, and rows per guild (through the (guild_id, created_at)
    /// index).
    func totals() throws -> Workload.Totals
    /// COUNT(*) and SUM(character_count) of one guild's rows in a created_at range.
    func rangeAggregate(_ query: Workload.RangeQuery) throws -> (count: Int64, sum: Int64)
    /// Closes the database and removes its files.
    func close()
}

func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : 0
}

// MARK: - GuildStore

/// GuildStore's table API on a `StorageEngine` (the synchronous layer `Database` runs on):
/// `synchronous: .normal` (the seeds' setting), defaults otherwise (4 KiB pages, automatic
/// checkpoint past 1,000 WAL frames). The table is seed 004's message_events as its SQLite
/// file declares it (`SQLiteTable.fileSchema`: the four indexes, no foreign keys).
final class GuildStoreMessages: MessageStore {
    static let engineName = "GuildStore"
    static let schema = SQLiteTable(GuildTables.messageEvents).fileSchema

    let directory: TemporaryDirectory
    let path: String
    let engine: StorageEngine

    init() throws {
        directory = try TemporaryDirectory("tables-guildstore")
        path = directory.file("bench.gsdb")
        engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(synchronous: .normal))
        try engine.write { try $0.createTable(Self.schema) }
    }

    func insert(_ range: Range<Int>) throws {
        try engine.write { tx in
            for i in range {
                let row = Workload.row(i)
                try tx.insert([
                    "id": .uint(row.id),
                    "guild_id": .uint(row.guildID),
                    "channel_id": .uint(row.channelID),
                    "user_id": .uint(row.userID),
                    "message_type": .int(row.messageType),
                    "has_attachment": .bool(row.hasAttachment),
                    "has_embed": .bool(row.hasEmbed),
                    "character_count": .int(row.characterCount),
                    "word_count": .int(row.wordCount),
                    "created_at": .timestamp(row.createdAt),
                ], into: "message_events")
            }
        }
    }

    func settle() throws {
        let result = try engine.checkpoint(.truncate)
        guard result.walRestarted || result.framesInWAL == 0, !result.blockedByReaders else {
            throw BenchError.setup("GuildStore checkpoint left frames in the WAL: \(result)")
        }
    }

    var fileBytes: Int { fileSize(path) }

    func totals() throws -> Workload.Totals {
        try engine.read { tx in
            var totals = Workload.Totals()
            let all = try tx.aggregate("message_events", [.count, .sum("character_count")])
            totals.rows = Int(all.first?.int(0) ?? -1)
            totals.characters = all.first?.int(1) ?? -1
            for (g, id) in Workload.guildIDs.enumerated() {
                let plan = try tx.planScan("message_events", equals: ["guild_id": .uint(id)],
                                           range: ColumnRange("created_at", from: .timestamp(0)))
                guard plan.index == "idx_message_events_guild_time" else {
                    verificationFailed("GuildStore planned \(plan) for a guild's time range")
                }
                totals.perGuild[g] = Int(try tx.aggregate(plan, [.count]).first?.int(0) ?? -1)
            }
            return totals
        }
    }

    @inline(__always)
    func rangeAggregate(_ query: Workload.RangeQuery) throws -> (count: Int64, sum: Int64) {
        try engine.read { tx in
            let result = try tx.aggregate(
                "message_events", where: ["guild_id": .uint(Workload.guildIDs[query.guild])],
                range: ColumnRange("created_at", from: .timestamp(query.from), below: .timestamp(query.below)),
                [.count, .sum("character_count")])
            // SUM over no rows is NULL, as in SQL; read it as 0 like the SQLite side.
            return (result.first?.int(0) ?? -1, result.first?.int(1) ?? 0)
        }
    }

    func close() {
        try? engine.close()
        directory.remove()
    }
}

// MARK: - SQLite

/// SQLite through its C API with the seeds' pragmas (WAL, synchronous=NORMAL, cache_size=10000,
/// temp_store=MEMORY, mmap_size=256 MiB), message_events as the export creates it
/// (`SQLiteTable.createStatements`: seed 004's columns and four indexes), one prepared INSERT
/// (values bound, text with SQLITE_STATIC), BEGIN / COMMIT per batch. `textIDs`: the ids are
/// TEXT columns holding decimal snowflakes, as seed 004 declares them (`id text PRIMARY KEY`);
/// otherwise INTEGER, with `id integer PRIMARY KEY` (the rowid).
class SQLiteMessages: SQLiteConnectionOwner {
    let directory: TemporaryDirectory
    let path: String
    let textIDs: Bool
    var db: OpaquePointer?
    var insertStatement: OpaquePointer?
    var rangeStatement: OpaquePointer?
    var beginStatement: OpaquePointer?
    var commitStatement: OpaquePointer?

    init(textIDs: Bool) throws {
        self.textIDs = textIDs
        directory = try TemporaryDirectory(textIDs ? "tables-sqlite-text" : "tables-sqlite-int")
        path = directory.file("bench.sqlite")
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK else {
            throw BenchError.sqlite("open: \(message)")
        }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=NORMAL")
        try exec("PRAGMA cache_size=10000")
        try exec("PRAGMA temp_store=MEMORY")
        try exec("PRAGMA mmap_size=268435456")
        for statement in SQLiteTable(GuildTables.messageEvents).createStatements(ids: textIDs ? .text : .integer) {
            try exec(statement)
        }
        insertStatement = try prepare("""
            INSERT INTO message_events(id, guild_id, channel_id, user_id, message_type, has_attachment, has_embed,
              character_count, word_count, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """)
        rangeStatement = try prepare("""
            SELECT COUNT(*), SUM(character_count) FROM message_events WHERE guild_id = ?1 AND created_at >= ?2 AND created_at < ?3
            """)
        beginStatement = try prepare("BEGIN")
        commitStatement = try prepare("COMMIT")
    }

    @inline(__always)
    func run(_ statement: OpaquePointer?) throws {
        let rc = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard rc == SQLITE_DONE else { throw BenchError.sqlite("step: \(message)") }
    }

    /// Binds id column `index` (1-based): an integer, or its decimal text from `scratch` (21
    /// bytes a column, kept until the statement runs).
    @inline(__always)
    func bindID(_ index: Int32, _ value: UInt64, _ scratch: UnsafeMutablePointer<CChar>) {
        guard textIDs else {
            sqlite3_bind_int64(insertStatement, index, Int64(bitPattern: value))
            return
        }
        let text = scratch + Int(index) * 21
        var digits = 0
        var v = value
        repeat { digits += 1; v /= 10 } while v > 0
        v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            text[i] = CChar(48 + v % 10)
            v /= 10
        }
        sqlite3_bind_text(insertStatement, index, text, Int32(digits), nil)  // SQLITE_STATIC
    }

    func insert(_ range: Range<Int>) throws {
        try run(beginStatement)
        let statement = insertStatement
        let scratch = UnsafeMutablePointer<CChar>.allocate(capacity: 5 * 21)
        defer { scratch.deallocate() }
        for i in range {
            let row = Workload.row(i)
            bindID(1, row.id, scratch)
            bindID(2, row.guildID, scratch)
            bindID(3, row.channelID, scratch)
            bindID(4, row.userID, scratch)
            sqlite3_bind_int64(statement, 5, row.messageType)
            sqlite3_bind_int64(statement, 6, row.hasAttachment ? 1 : 0)
            sqlite3_bind_int64(statement, 7, row.hasEmbed ? 1 : 0)
            sqlite3_bind_int64(statement, 8, row.characterCount)
            sqlite3_bind_int64(statement, 9, row.wordCount)
            sqlite3_bind_int64(statement, 10, row.createdAt)
            let rc = sqlite3_step(statement)
            sqlite3_reset(statement)
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

    var fileBytes: Int { fileSize(path) }

    /// Runs `sql` with `bind`, calling `row` for each result row.
    func query(_ sql: String, bind: (OpaquePointer?) -> Void = { _ in }, _ row: (OpaquePointer?) -> Void) throws {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        bind(statement)
        var rc = sqlite3_step(statement)
        while rc == SQLITE_ROW {
            row(statement)
            rc = sqlite3_step(statement)
        }
        guard rc == SQLITE_DONE else { throw BenchError.sqlite("\(sql): \(message)") }
    }

    func totals() throws -> Workload.Totals {
        var totals = Workload.Totals()
        try query("SELECT COUNT(*), SUM(character_count) FROM message_events") { s in
            totals.rows = Int(sqlite3_column_int64(s, 0))
            totals.characters = sqlite3_column_int64(s, 1)
        }
        for (g, id) in Workload.guildIDs.enumerated() {
            try query("SELECT COUNT(*) FROM message_events INDEXED BY idx_message_events_guild_time WHERE guild_id = ?1 AND created_at >= 0",
                      bind: { s in
                          if self.textIDs {
                              sqlite3_bind_text(s, 1, String(id), -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                          } else {
                              sqlite3_bind_int64(s, 1, Int64(bitPattern: id))
                          }
                      }) { s in totals.perGuild[g] = Int(sqlite3_column_int64(s, 0)) }
        }
        return totals
    }

    @inline(__always)
    func rangeAggregate(_ query: Workload.RangeQuery) throws -> (count: Int64, sum: Int64) {
        precondition(!textIDs, "the range benchmark runs on integer ids")
        let statement = rangeStatement
        sqlite3_bind_int64(statement, 1, Int64(bitPattern: Workload.guildIDs[query.guild]))
        sqlite3_bind_int64(statement, 2, query.from)
        sqlite3_bind_int64(statement, 3, query.below)
        let rc = sqlite3_step(statement)
        let result = rc == SQLITE_ROW ? (sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1)) : (-1, -1)
        sqlite3_reset(statement)
        guard rc == SQLITE_ROW else { throw BenchError.sqlite("range aggregate: \(message)") }
        return result
    }

    func close() {
        for statement in [insertStatement, rangeStatement, beginStatement, commitStatement] {
            sqlite3_finalize(statement)
        }
        insertStatement = nil; rangeStatement = nil; beginStatement = nil; commitStatement = nil
        sqlite3_close_v2(db)
        db = nil
        directory.remove()
    }
}

/// SQLite with INTEGER ids.
final class SQLiteIntMessages: SQLiteMessages, MessageStore {
    static let engineName = "SQLite.int"
    required init() throws { try super.init(textIDs: false) }
}

/// SQLite with TEXT ids, as seed 004 declares them.
final class SQLiteTextMessages: SQLiteMessages, MessageStore {
    static let engineName = "SQLite.text"
    required init() throws { try super.init(textIDs: true) }
}
