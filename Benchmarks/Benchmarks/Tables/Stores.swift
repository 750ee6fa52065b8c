// The engines behind one small interface, so every benchmark and check runs the same loop
// against each. The loops are generic over `MessageStore` and live in this module, so the
// optimizer specializes them per engine.

import BenchmarkSupport
@_spi(Benchmarks) import GuildStoreEngine
import GuildStore
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

/// SQLite through GuildStoreSQLite's `SQLiteConnection` (the C API, one call each) with the
/// seeds' pragmas (WAL, synchronous=NORMAL, cache_size=10000, temp_store=MEMORY, mmap_size=256
/// MiB), message_events as the export creates it (`SQLiteTable.createStatements`: seed 004's
/// columns and four indexes), one prepared INSERT (values bound in place, text with
/// SQLITE_STATIC), BEGIN / COMMIT per batch. `textIDs`: the ids are TEXT columns holding
/// decimal snowflakes, as seed 004 declares them (`id text PRIMARY KEY`); otherwise INTEGER,
/// with `id integer PRIMARY KEY` (the rowid).
class SQLiteMessages {
    let directory: TemporaryDirectory
    let path: String
    let textIDs: Bool
    /// The connection and its statements; nil once closed.
    private var open: Statements?

    final class Statements {
        let connection: SQLiteConnection
        let insert: SQLiteStatement
        let range: SQLiteStatement
        let begin: SQLiteStatement
        let commit: SQLiteStatement

        init(path: String, ids: IDAffinity) throws {
            connection = try SQLiteConnection(path: path, mode: .create)
            try connection.execute("PRAGMA journal_mode=WAL")
            try connection.execute("PRAGMA synchronous=NORMAL")
            try connection.execute("PRAGMA cache_size=10000")
            try connection.execute("PRAGMA temp_store=MEMORY")
            try connection.execute("PRAGMA mmap_size=268435456")
            for statement in SQLiteTable(GuildTables.messageEvents).createStatements(ids: ids) {
                try connection.execute(statement)
            }
            insert = try connection.prepare("""
                INSERT INTO message_events(id, guild_id, channel_id, user_id, message_type, has_attachment, has_embed,
                  character_count, word_count, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                """, persistent: true)
            range = try connection.prepare("""
                SELECT COUNT(*), SUM(character_count) FROM message_events WHERE guild_id = ?1 AND created_at >= ?2 AND created_at < ?3
                """, persistent: true)
            begin = try connection.prepare("BEGIN", persistent: true)
            commit = try connection.prepare("COMMIT", persistent: true)
        }
    }

    init(textIDs: Bool) throws {
        self.textIDs = textIDs
        directory = try TemporaryDirectory(textIDs ? "tables-sqlite-text" : "tables-sqlite-int")
        path = directory.file("bench.sqlite")
        open = try Statements(path: path, ids: textIDs ? .text : .integer)
    }

    @inline(__always)
    private func statements() throws -> Statements {
        guard let open else { throw BenchError.setup("the SQLite store is closed") }
        return open
    }

    /// Binds id column `index` (1-based) of the INSERT: an integer, or its decimal text from
    /// `scratch` (21 bytes a column, kept until the statement runs).
    @inline(__always)
    func bindID(_ insert: SQLiteStatement, _ index: Int32, _ value: UInt64, _ scratch: UnsafeMutablePointer<CChar>) throws {
        guard textIDs else {
            try insert.bind(integer: Int64(bitPattern: value), at: index)
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
        try insert.bind(unsafeText: UnsafeRawBufferPointer(start: text, count: digits), at: index)
    }

    func insert(_ range: Range<Int>) throws {
        let s = try statements()
        let insert = s.insert
        try s.begin.run()
        let scratch = UnsafeMutablePointer<CChar>.allocate(capacity: 5 * 21)
        defer { scratch.deallocate() }
        do {
            for i in range {
                let row = Workload.row(i)
                try bindID(insert, 1, row.id, scratch)
                try bindID(insert, 2, row.guildID, scratch)
                try bindID(insert, 3, row.channelID, scratch)
                try bindID(insert, 4, row.userID, scratch)
                try insert.bind(integer: row.messageType, at: 5)
                try insert.bind(integer: row.hasAttachment ? 1 : 0, at: 6)
                try insert.bind(integer: row.hasEmbed ? 1 : 0, at: 7)
                try insert.bind(integer: row.characterCount, at: 8)
                try insert.bind(integer: row.wordCount, at: 9)
                try insert.bind(integer: row.createdAt, at: 10)
                try insert.run()
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

    var fileBytes: Int { fileSize(path) }

    /// The first row of `sql` with `parameters`, whose columns are all integers.
    func integers(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [Int64] {
        let rows = try statements().connection.query(sql, parameters)
        return try (rows.first ?? []).map { value in
            guard case .integer(let v) = value else { throw BenchError.sqlite("\(sql) gave \(value)") }
            return v
        }
    }

    func totals() throws -> Workload.Totals {
        var totals = Workload.Totals()
        let all = try integers("SELECT COUNT(*), SUM(character_count) FROM message_events")
        totals.rows = Int(all.first ?? -1)
        totals.characters = all.last ?? -1
        for (g, id) in Workload.guildIDs.enumerated() {
            let guild: SQLiteValue = textIDs ? .text(String(id)) : .integer(Int64(bitPattern: id))
            let count = try integers(
                "SELECT COUNT(*) FROM message_events INDEXED BY idx_message_events_guild_time WHERE guild_id = ?1 AND created_at >= 0",
                [guild])
            totals.perGuild[g] = Int(count.first ?? -1)
        }
        return totals
    }

    @inline(__always)
    func rangeAggregate(_ query: Workload.RangeQuery) throws -> (count: Int64, sum: Int64) {
        precondition(!textIDs, "the range benchmark runs on integer ids")
        let range = try statements().range
        try range.bind(integer: Int64(bitPattern: Workload.guildIDs[query.guild]), at: 1)
        try range.bind(integer: query.from, at: 2)
        try range.bind(integer: query.below, at: 3)
        defer { range.reset() }
        guard try range.step() else { throw BenchError.sqlite("the range aggregate returned no row") }
        return (range.integer(0), range.integer(1))
    }

    func close() {
        open = nil
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
