import Foundation
@_spi(Benchmarks) import GuildStoreSQLite
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The engine against SQLite: one seeded random workload of inserts, upserts, updates and
/// deletes applied to both, then the seeds' query patterns (point gets, index range scans
/// with order, aggregates, leaderboards, hourly and daily buckets) asked of both, every
/// result compared row for row.
///
/// Values compare as SQLite sees them: ids, timestamps and bools are integers, doubles are
/// reals (equal within 1e-9 relative, since the two sum in different orders). Every ORDER BY
/// is made total by ending with the key, so ties cannot order differently.
@Suite("Differential: GuildStore against SQLite")
struct DifferentialTests {
    static let guilds = TableSchema(
        "guilds",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("name", .text),
            ColumnDefinition("is_active", .bool),
            ColumnDefinition("created_at", .timestamp),
        ],
        primaryKey: ["id"],
        indexes: [IndexDefinition("active_by_created", on: ["created_at"], descending: [true], where: .equals("is_active", .bool(true)))])

    static let members = TableSchema(
        "members",
        columns: [
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("user_id", .uint),
            ColumnDefinition("nickname", .text, nullable: true),
            ColumnDefinition("joined_at", .timestamp),
            ColumnDefinition("score", .int, nullable: true),
        ],
        primaryKey: ["guild_id", "user_id"],
        indexes: [IndexDefinition("by_joined", on: ["guild_id", "joined_at"], descending: [false, true])])

    static let messageEvents = TableSchema(
        "message_events",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("channel_id", .uint),
            ColumnDefinition("user_id", .uint),
            ColumnDefinition("character_count", .int),
            ColumnDefinition("has_attachment", .bool),
            ColumnDefinition("rating", .double, nullable: true),
            ColumnDefinition("created_at", .timestamp),
        ],
        primaryKey: ["id"],
        indexes: [
            IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
            IndexDefinition("by_user_created", on: ["user_id", "created_at"]),
            IndexDefinition("by_created", on: ["created_at"], descending: [true]),
        ])

    static let schemas = [guilds, members, messageEvents]
    static let t0: Int64 = 1_760_000_000
    static let span: Int64 = 3 * 86_400

    @Test("a seeded random workload, then the seeds' queries: every result equals SQLite's")
    func differential() throws {
        let directory = try TemporaryDirectory("differential")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("d.gsdb"))
        let sqlite = try SQLiteConnection.inMemory()
        try engine.write { tx in
            for schema in Self.schemas { try tx.createTable(schema) }
        }
        for schema in Self.schemas {
            for statement in Self.ddl(schema) { try sqlite.execute(statement) }
        }

        // The workload: 40 transactions of 150 statements each.
        var generator = SplitMix64(seed: 4_2026)
        var nextMessage: UInt64 = 1
        for round in 0..<40 {
            try sqlite.execute("BEGIN")
            try engine.write { tx in
                for _ in 0..<150 {
                    try Self.randomStatement(tx, sqlite, &generator, nextMessage: &nextMessage, round: round)
                }
            }
            try sqlite.execute("COMMIT")
        }

        var compared = 0
        try engine.read { tx in
            func same(_ ours: [[Cell]], _ theirs: [[Cell]], _ what: @autoclosure () -> String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
                compared += 1
                let equal = ours.count == theirs.count && zip(ours, theirs).allSatisfy { $0 == $1 }
                #expect(equal, "\(what()): GuildStore \(ours.prefix(8)) (\(ours.count) rows), SQLite \(theirs.prefix(8)) (\(theirs.count) rows)",
                        sourceLocation: sourceLocation)
            }
            func cells(_ rows: [Row]) -> [[Cell]] { rows.map { $0.values.map(Cell.init) } }
            func cells(_ rows: [AggregateRow]) -> [[Cell]] { rows.map { ($0.group + $0.values).map(Cell.init) } }
            var queries = SplitMix64(seed: 77)

            // Whole tables in primary-key order.
            for schema in Self.schemas {
                same(cells(try tx.select(schema.name)),
                     try sqlite.cells("SELECT * FROM \(schema.name) ORDER BY \(schema.primaryKey.joined(separator: ", "))"), "table \(schema.name)")
            }

            // Point gets, present and absent.
            for id in 0..<10 as Range<UInt64> {
                same(cells(try tx.get("guilds", key: [.uint(id)]).map { [$0] } ?? []),
                     try sqlite.cells("SELECT * FROM guilds WHERE id = ?", [.uint(id)]), "guild \(id)")
            }
            for _ in 0..<100 {
                let id = UInt64.random(in: 0..<nextMessage + 5, using: &queries)
                same(cells(try tx.get("message_events", key: [.uint(id)]).map { [$0] } ?? []),
                     try sqlite.cells("SELECT * FROM message_events WHERE id = ?", [.uint(id)]), "message \(id)")
                let guild = UInt64.random(in: 0..<8, using: &queries), user = UInt64.random(in: 0..<40, using: &queries)
                same(cells(try tx.get("members", key: [.uint(guild), .uint(user)]).map { [$0] } ?? []),
                     try sqlite.cells("SELECT * FROM members WHERE guild_id = ? AND user_id = ?", [.uint(guild), .uint(user)]),
                     "member \(guild)/\(user)")
            }

            // Active guilds, newest first: the partial index gives the order.
            let activePlan = try tx.planScan("guilds", equals: ["is_active": true], orderBy: [.descending("created_at"), .ascending("id")])
            #expect(activePlan.index == "active_by_created")
            same(cells(try tx.select("guilds", where: ["is_active": true], orderBy: [.descending("created_at"), .ascending("id")])),
                 try sqlite.cells("SELECT * FROM guilds WHERE is_active = 1 ORDER BY created_at DESC, id ASC"), "active guilds")

            for guild in 0..<8 as Range<UInt64> {
                let g = Value.uint(guild)
                let from = Self.t0 + Int64.random(in: 0..<Self.span, using: &queries)
                let below = from + Int64.random(in: 0..<Self.span / 2, using: &queries)
                let window = ColumnRange("created_at", from: .timestamp(from), below: .timestamp(below))
                let params: [Value] = [g, .timestamp(from), .timestamp(below)]
                let windowSQL = "guild_id = ? AND created_at >= ? AND created_at < ?"

                // Index range scans with order, both directions, with and without a limit.
                #expect(try tx.planScan("message_events", equals: ["guild_id": g], range: window).index == "by_guild_created")
                same(cells(try tx.select("message_events", where: ["guild_id": g], range: window,
                                         orderBy: [.descending("created_at"), .descending("id")], limit: 25)),
                     try sqlite.cells("SELECT * FROM message_events WHERE \(windowSQL) ORDER BY created_at DESC, id DESC LIMIT 25", params),
                     "recent messages of guild \(guild)")
                same(cells(try tx.select("message_events", where: ["guild_id": g], range: window, orderBy: [.ascending("created_at"), .ascending("id")])),
                     try sqlite.cells("SELECT * FROM message_events WHERE \(windowSQL) ORDER BY created_at, id", params),
                     "messages of guild \(guild) in a window")
                // An order no index gives: sorted, with a filter.
                same(cells(try tx.select("message_events", where: ["guild_id": g], filter: { $0["has_attachment"] == true },
                                         orderBy: [.descending("character_count"), .ascending("id")], limit: 10)),
                     try sqlite.cells("SELECT * FROM message_events WHERE guild_id = ? AND has_attachment = 1 ORDER BY character_count DESC, id LIMIT 10", [g]),
                     "longest attachments of guild \(guild)")
                // Members, latest joins first.
                same(cells(try tx.select("members", where: ["guild_id": g], orderBy: [.descending("joined_at"), .ascending("user_id")])),
                     try sqlite.cells("SELECT * FROM members WHERE guild_id = ? ORDER BY joined_at DESC, user_id", [g]), "members of guild \(guild)")

                // Guild stats over the window.
                same(cells(try tx.aggregate("message_events", where: ["guild_id": g], range: window,
                                            [.count, .sum("character_count"), .min("character_count"), .max("character_count"),
                                             .avg("character_count"), .countDistinct("user_id"), .countNonNull("rating"),
                                             .sum("rating"), .avg("rating"), .min("rating"), .max("created_at")])),
                     try sqlite.cells("""
                         SELECT COUNT(*), SUM(character_count), MIN(character_count), MAX(character_count), AVG(character_count),
                                COUNT(DISTINCT user_id), COUNT(rating), SUM(rating), AVG(rating), MIN(rating), MAX(created_at)
                         FROM message_events WHERE \(windowSQL)
                         """, params), "stats of guild \(guild)")

                // User stats (seed 004).
                let user = Value.uint(UInt64.random(in: 0..<40, using: &queries))
                same(cells(try tx.aggregate("message_events", where: ["guild_id": g, "user_id": user], range: ColumnRange("created_at", from: .timestamp(from)),
                                            [.count, .sum("character_count"), .countWhere("has_attachment", equals: true)])),
                     try sqlite.cells("""
                         SELECT COUNT(*), SUM(character_count), COUNT(CASE WHEN has_attachment = 1 THEN 1 END)
                         FROM message_events WHERE guild_id = ? AND user_id = ? AND created_at >= ?
                         """, [g, user, .timestamp(from)]), "stats of user \(user) in guild \(guild)")

                // Leaderboard (seed 004): top 5 by messages, ties by user.
                same(cells(try tx.aggregate("message_events", where: ["guild_id": g], range: ColumnRange("created_at", from: .timestamp(from)),
                                            groupBy: [.column("user_id")], [.count, .sum("character_count")], orderBy: [.aggregate(0)], limit: 5)),
                     try sqlite.cells("""
                         SELECT user_id, COUNT(*), SUM(character_count) FROM message_events WHERE guild_id = ? AND created_at >= ?
                         GROUP BY user_id ORDER BY 2 DESC, 1 LIMIT 5
                         """, [g, .timestamp(from)]), "leaderboard of guild \(guild)")
                // By characters, smallest first, every user.
                same(cells(try tx.aggregate("message_events", where: ["guild_id": g], groupBy: [.column("user_id")],
                                            [.sum("character_count"), .avg("rating"), .max("rating")], orderBy: [.aggregate(0, descending: false)])),
                     try sqlite.cells("""
                         SELECT user_id, SUM(character_count), AVG(rating), MAX(rating) FROM message_events WHERE guild_id = ?
                         GROUP BY user_id ORDER BY 2, 1
                         """, [g]), "characters by user in guild \(guild)")

                // Hourly activity with distinct users (seed 001).
                same(cells(try tx.aggregate("message_events", where: ["guild_id": g], range: ColumnRange("created_at", from: .timestamp(from)),
                                            groupBy: [.hour("created_at")], [.sum("character_count"), .countDistinct("user_id"), .count])),
                     try sqlite.cells("""
                         SELECT created_at - ((created_at % 3600) + 3600) % 3600 AS hour, SUM(character_count), COUNT(DISTINCT user_id), COUNT(*)
                         FROM message_events WHERE guild_id = ? AND created_at >= ? GROUP BY hour ORDER BY hour
                         """, [g, .timestamp(from)]), "hourly activity of guild \(guild)")
            }

            // Across guilds: channels by guild (two group columns), daily buckets, member growth.
            same(cells(try tx.aggregate("message_events", groupBy: [.column("guild_id"), .column("channel_id")],
                                        [.count, .countDistinct("user_id"), .min("rating")])),
                 try sqlite.cells("""
                     SELECT guild_id, channel_id, COUNT(*), COUNT(DISTINCT user_id), MIN(rating) FROM message_events
                     GROUP BY guild_id, channel_id ORDER BY 1, 2
                     """), "channels by guild")
            same(cells(try tx.aggregate("message_events", groupBy: [.day("created_at")], [.count, .countDistinct("guild_id")],
                                        orderBy: [.group(0, descending: true)])),
                 try sqlite.cells("""
                     SELECT created_at - ((created_at % 86400) + 86400) % 86400 AS day, COUNT(*), COUNT(DISTINCT guild_id)
                     FROM message_events GROUP BY day ORDER BY day DESC
                     """), "messages by day")
            same(cells(try tx.aggregate("members", groupBy: [.column("guild_id"), .day("joined_at")], [.count])),
                 try sqlite.cells("""
                     SELECT guild_id, joined_at - ((joined_at % 86400) + 86400) % 86400 AS day, COUNT(*)
                     FROM members GROUP BY guild_id, day ORDER BY 1, 2
                     """), "member growth")
            // Nullable columns: NULL groups, sums of nothing.
            same(cells(try tx.aggregate("members", groupBy: [.column("guild_id")],
                                        [.count, .countNonNull("score"), .sum("score"), .avg("score"), .min("score"), .max("score"),
                                         .countDistinct("nickname")])),
                 try sqlite.cells("""
                     SELECT guild_id, COUNT(*), COUNT(score), SUM(score), AVG(score), MIN(score), MAX(score), COUNT(DISTINCT nickname)
                     FROM members GROUP BY guild_id ORDER BY 1
                     """), "member scores by guild")
            same(cells(try tx.aggregate("members", groupBy: [.column("nickname")], [.count, .sum("score")], orderBy: [.aggregate(0)], limit: 6)),
                 try sqlite.cells("SELECT nickname, COUNT(*), SUM(score) FROM members GROUP BY nickname ORDER BY 2 DESC, 1 LIMIT 6"),
                 "common nicknames")
            // No rows: one row of zero counts and NULLs.
            same(cells(try tx.aggregate("message_events", where: ["guild_id": .uint(999)], [.count, .sum("character_count"), .avg("rating"), .max("id")])),
                 try sqlite.cells("SELECT COUNT(*), SUM(character_count), AVG(rating), MAX(id) FROM message_events WHERE guild_id = 999"),
                 "no rows")
            // Guild with member count (seed 000).
            same(cells(try tx.aggregate("members", groupBy: [.column("guild_id")], [.countNonNull("user_id")], orderBy: [.aggregate(0)], limit: 3)),
                 try sqlite.cells("SELECT guild_id, COUNT(user_id) FROM members GROUP BY guild_id ORDER BY 2 DESC, 1 LIMIT 3"),
                 "largest guilds")
        }
        #expect(compared > 100)
        #expect(try engine.check().isOK)
        try engine.close()
    }

    // MARK: The workload

    /// One random statement, applied to both; where the engine says whether it changed a row,
    /// SQLite must agree.
    static func randomStatement(_ tx: WriteTransaction, _ sqlite: SQLiteConnection, _ g: inout SplitMix64,
                                nextMessage: inout UInt64, round: Int) throws {
        func time() -> Value { .timestamp(t0 + Int64.random(in: 0..<span, using: &g)) }
        func maybe(_ value: Value) -> Value { Int.random(in: 0..<4, using: &g) == 0 ? .null : value }
        let guild = Value.uint(UInt64.random(in: 0..<8, using: &g))
        let user = Value.uint(UInt64.random(in: 0..<40, using: &g))
        switch Int.random(in: 0..<100, using: &g) {
        case 0..<4:  // upsert a guild
            let row: [String: Value] = ["id": guild, "name": .text("guild \(Int.random(in: 0..<5, using: &g))"),
                                        "is_active": .bool(Int.random(in: 0..<3, using: &g) > 0), "created_at": time()]
            try tx.insert(row, into: "guilds", onConflict: .replace)
            try sqlite.insert(row, into: guilds, or: "REPLACE")
        case 4..<6:  // toggle a guild
            let active = Value.bool(Bool.random(using: &g))
            let changed = try tx.update("guilds", key: [guild], set: ["is_active": active])
            #expect(try sqlite.change("UPDATE guilds SET is_active = ? WHERE id = ?", [active, guild]) == changed)
        case 6..<7:
            let changed = try tx.delete(from: "guilds", key: [guild])
            #expect(try sqlite.change("DELETE FROM guilds WHERE id = ?", [guild]) == changed)
        case 7..<20:  // a member joins (or is already there)
            let row: [String: Value] = ["guild_id": guild, "user_id": user, "joined_at": time(),
                                        "nickname": maybe(.text("nick\(Int.random(in: 0..<12, using: &g))")),
                                        "score": maybe(.int(Int64.random(in: -1_000...1_000, using: &g)))]
            let inserted = try tx.insert(row, into: "members", onConflict: .ignore)
            #expect(try sqlite.insert(row, into: members, or: "IGNORE") == inserted)
        case 20..<26:
            let nickname = maybe(.text("nick\(Int.random(in: 0..<12, using: &g))")), score = maybe(.int(Int64.random(in: -50...50, using: &g)))
            let changed = try tx.update("members", key: [guild, user], set: ["nickname": nickname, "score": score])
            #expect(try sqlite.change("UPDATE members SET nickname = ?, score = ? WHERE guild_id = ? AND user_id = ?",
                                      [nickname, score, guild, user]) == changed)
        case 26..<30:
            let changed = try tx.delete(from: "members", key: [guild, user])
            #expect(try sqlite.change("DELETE FROM members WHERE guild_id = ? AND user_id = ?", [guild, user]) == changed)
        case 30..<80:  // a message: mostly new, sometimes a redelivery that replaces or is ignored
            let id: UInt64
            if nextMessage > 1, Int.random(in: 0..<10, using: &g) == 0 {
                id = UInt64.random(in: 1..<nextMessage, using: &g)
            } else {
                id = nextMessage
                nextMessage += 1
            }
            let row: [String: Value] = ["id": .uint(id), "guild_id": guild, "channel_id": .uint(UInt64.random(in: 0..<4, using: &g)),
                                        "user_id": user, "character_count": .int(Int64.random(in: 0..<500, using: &g)),
                                        "has_attachment": .bool(Int.random(in: 0..<5, using: &g) == 0),
                                        "rating": maybe(.double(Double(Int.random(in: 0..<1_000, using: &g)) / 7)), "created_at": time()]
            let replace = Bool.random(using: &g)
            let changed = try tx.insert(row, into: "message_events", onConflict: replace ? .replace : .ignore)
            #expect(try sqlite.insert(row, into: messageEvents, or: replace ? "REPLACE" : "IGNORE") == changed)
        case 80..<92:
            let id = Value.uint(UInt64.random(in: 0..<nextMessage + 2, using: &g))
            let count = Value.int(Int64.random(in: 0..<500, using: &g)), rating = maybe(.double(Double(Int.random(in: 0..<100, using: &g)) / 3))
            let changed = try tx.update("message_events", key: [id], set: ["character_count": count, "rating": rating])
            #expect(try sqlite.change("UPDATE message_events SET character_count = ?, rating = ? WHERE id = ?", [count, rating, id]) == changed)
        case 92..<99:
            let id = Value.uint(UInt64.random(in: 0..<nextMessage + 2, using: &g))
            let changed = try tx.delete(from: "message_events", key: [id])
            #expect(try sqlite.change("DELETE FROM message_events WHERE id = ?", [id]) == changed)
        default:  // retention cleanup of one guild's oldest messages
            let cutoff = Value.timestamp(t0 + Int64(round) * 600)
            let deleted = try tx.delete(from: "message_events", where: { $0["guild_id"] == guild && $0["created_at"].map { $0 < cutoff } == true })
            try sqlite.execute("DELETE FROM message_events WHERE guild_id = ? AND created_at < ?", [guild, cutoff])
            #expect(sqlite.changes == deleted)
        }
    }

    /// CREATE TABLE and CREATE INDEX statements equal to a schema.
    static func ddl(_ schema: TableSchema) -> [String] {
        let columns = schema.columns.map { column -> String in
            let type = switch column.type {
            case .double: "REAL"
            case .text, .json: "TEXT"
            case .bytes: "BLOB"
            case .int, .uint, .bool, .timestamp: "INTEGER"
            }
            return "\(column.name) \(type)\(column.nullable ? "" : " NOT NULL")"
        }
        var statements = ["CREATE TABLE \(schema.name) (\(columns.joined(separator: ", ")), PRIMARY KEY (\(schema.primaryKey.joined(separator: ", "))))"]
        for index in schema.indexes {
            let keys = zip(index.columns, index.descending).map { $0 + ($1 ? " DESC" : "") }.joined(separator: ", ")
            var statement = "CREATE \(index.unique ? "UNIQUE " : "")INDEX \(schema.name)_\(index.name) ON \(schema.name) (\(keys))"
            switch index.predicate {
            case .equals(let column, let value): statement += " WHERE \(column) = \(SQLiteConnection.literal(value))"
            case .isNotNull(let column): statement += " WHERE \(column) IS NOT NULL"
            case nil: break
            }
            statements.append(statement)
        }
        return statements
    }
}

/// A value as SQLite holds it. Reals are equal within 1e-9 relative (sums in another order).
enum Cell: Equatable, CustomStringConvertible {
    case null
    case int(Int64)
    case real(Double)
    case text(String)

    init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .int(let v), .timestamp(let v): self = .int(v)
        case .uint(let v): self = .int(Int64(bitPattern: v))
        case .bool(let v): self = .int(v ? 1 : 0)
        case .double(let v): self = .real(v)
        case .text(let s), .json(let s): self = .text(s)
        case .bytes(let b): self = .text(b.map { String($0, radix: 16) }.joined())
        }
    }

    init(_ value: SQLiteValue) {
        switch value {
        case .null: self = .null
        case .integer(let v): self = .int(v)
        case .real(let v): self = .real(v)
        case .text(let s): self = .text(s)
        case .blob(let b): self = .text(b.map { String($0, radix: 16) }.joined())
        }
    }

    /// The cell as a bound parameter.
    var sqliteValue: SQLiteValue {
        switch self {
        case .null: .null
        case .int(let v): .integer(v)
        case .real(let v): .real(v)
        case .text(let s): .text(s)
        }
    }

    static func == (lhs: Cell, rhs: Cell) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.int(let a), .int(let b)): a == b
        case (.text(let a), .text(let b)): Array(a.utf8) == Array(b.utf8)
        case (.real(let a), .real(let b)): a == b || abs(a - b) <= 1e-9 * max(abs(a), abs(b))
        default: false
        }
    }

    var description: String {
        switch self {
        case .null: "NULL"
        case .int(let v): "\(v)"
        case .real(let v): "\(v)r"
        case .text(let s): "'\(s)'"
        }
    }
}

/// The differential test's vocabulary over `SQLiteConnection` (GuildStoreSQLite): engine values
/// bound as SQLite holds them, rows read back as cells.
extension SQLiteConnection {
    /// Runs a statement to its end; returns its rows.
    @discardableResult
    func cells(_ sql: String, _ parameters: [Value] = []) throws -> [[Cell]] {
        try query(sql, parameters.map { Cell($0).sqliteValue }).map { $0.map(Cell.init) }
    }

    func execute(_ sql: String, _ parameters: [Value]) throws {
        try run(sql, parameters.map { Cell($0).sqliteValue })
    }

    /// Runs a statement; returns whether it changed a row.
    func change(_ sql: String, _ parameters: [Value]) throws -> Bool {
        try run(sql, parameters.map { Cell($0).sqliteValue }) > 0
    }

    /// `INSERT OR <conflict>` of a row given by column name; whether it wrote.
    @discardableResult
    func insert(_ row: [String: Value], into schema: TableSchema, or conflict: String) throws -> Bool {
        let columns = schema.columns.map(\.name).filter { row[$0] != nil }
        let sql = "INSERT OR \(conflict) INTO \(schema.name) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
        return try change(sql, columns.compactMap { row[$0] })
    }

    /// A value as an SQL literal (index predicates).
    static func literal(_ value: Value) -> String {
        Cell(value).sqliteValue.description
    }
}
