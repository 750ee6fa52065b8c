import Foundation
import Synchronization
import Testing
import TestSupport
import GuildStore
import GuildStoreEngine
@_spi(Benchmarks) @testable import GuildStoreSQLite

@Suite("SQLite import")
struct SQLiteImportTests {
    typealias Fixture = MochaFixture

    @Test("a Mocha file imports: TEXT ids become UInt64, NULLs stay or take NOT NULL columns' defaults, member keys split")
    func importsAMochaFile() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        try Fixture.create(at: directory.file("stats.db"))
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let reports = Mutex<[SQLiteImport.Progress]>([])
        let summary = try await SQLiteImport.import(from: directory.file("stats.db"), into: store.database) { p in
            reports.withLock { $0.append(p) }
        }
        #expect(summary.tables.map(\.name) == GuildTables.all.map(\.name))
        #expect(summary["guilds"] == 2 && summary["users"] == 3 && summary["channels"] == 2 && summary["members"] == 2)
        #expect(summary["message_events"] == 3 && summary["voice_events"] == 2 && summary["member_events"] == 2
                && summary["presence_events"] == 2)
        #expect(summary.skippedTables == ["reminder_events", "reactions", "reminder_logs", "hourly_activity", "daily_activity"])
        #expect(reports.withLock { $0.last?.totalRows } == summary.totalRows)

        let t0 = Fixture.t0
        let mocha = Value.uint(111_111_111_111_111_111), cafe = Value.uint(222_222_222_222_222_222)
        let big = Value.uint(18_000_000_000_000_000_000)
        try await store.database.read { tx in
            let guild = try #require(try tx.get("guilds", key: [mocha]))
            #expect(guild["name"] == "Mocha" && guild["icon"] == .null && guild["member_count"] == .null)
            #expect(guild["owner_id"] == .null && guild["is_active"] == .bool(true))  // not in the file: defaults
            #expect(guild["created_at"] == .timestamp(t0) && guild["updated_at"] == .timestamp(t0 + 10))
            #expect(try tx.get("guilds", key: [cafe])?["member_count"] == .int(42))

            #expect(try tx.get("users", key: [.uint(9)])?["bot"] == .bool(false))  // NULL, NOT NULL here: the default
            #expect(try tx.get("users", key: [.uint(10)])?["bot"] == .bool(true))
            let bigUser = try #require(try tx.get("users", key: [big]))
            #expect(bigUser["bot"] == .bool(false) && bigUser["global_name"] == .null && bigUser["username"] == .null)

            let voiceChannel = try #require(try tx.get("channels", key: [.uint(334)]))
            #expect(voiceChannel["guild_id"] == cafe && voiceChannel["parent_id"] == .uint(333) && voiceChannel["type"] == .int(2))
            #expect(try tx.get("channels", key: [.uint(333)])?["position"] == .null)

            let member = try #require(try tx.get("members", key: [cafe, big]))
            #expect(member["nickname"] == .null && member["joined_at"] == .null && member["premium_since"] == .timestamp(t0 + 30))
            #expect(member["roles"] == .json("[]"))

            let first = try #require(try tx.get("message_events", key: [.uint(1000)]))
            #expect(first["message_type"] == .int(0) && first["has_embed"] == .bool(false) && first["has_attachment"] == .bool(true))
            #expect(first["user_id"] == .uint(9) && first["created_at"] == .timestamp(t0 + 100))
            #expect(try tx.get("message_events", key: [.uint(1001)])?["word_count"] == .int(0))
            #expect(try tx.get("message_events", key: [.uint(1002)])?["user_id"] == big)

            let join = try #require(try tx.get("voice_events", key: [.uint(2000)]))
            #expect(join["duration"] == .int(0) && join["session_end"] == .null && join["muted"] == .bool(true))
            #expect(try tx.get("voice_events", key: [.uint(2001)])?["channel_id"] == .null)
            #expect(try tx.get("member_events", key: [.uint(3001)])?["member_count"] == .null)
            #expect(try tx.get("presence_events", key: [.uint(4001)])?["status"] == .null)
        }
        try await store.close()
    }

    @Test("a non-numeric id is a typed error naming table, row and column; only the batches before it are in the store")
    func nonNumericID() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("stats.db")
        func message(_ id: String, user: String) -> (table: String, values: [String: SQLiteValue]) {
            ("message_events", ["id": .text(id), "guild_id": .text(Fixture.mocha), "channel_id": .text("333"),
                                "user_id": .text(user), "created_at": Fixture.time(500)])
        }
        // message_events rowids 1-3 are the standard rows; 4 and 5 are good, 6 is not.
        try Fixture.create(at: path, rows: Fixture.standardRows + [message("1003", user: "9"), message("1004", user: "10"),
                                                                   message("1005", user: "12abc")])
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let expected = GuildSQLiteError.invalidID(SourceRow(table: "message_events", rowid: 6, key: "1005"),
                                                  column: "user_id", found: "'12abc'")
        await #expect(throws: expected) {
            try await SQLiteImport.import(from: path, into: store.database, batchSize: 2)
        }
        let rows = try await Fixture.allRows(store.database)
        // Batches of two: [1000, 1001] and [1002, 1003] committed; [1004, 1005] never was.
        #expect(rows["message_events"]?.map { $0["id"] } == [.uint(1000), .uint(1001), .uint(1002), .uint(1003)])
        #expect(rows["guilds"]?.count == 2 && rows["users"]?.count == 3 && rows["channels"]?.count == 2 && rows["members"]?.count == 2)
        #expect(rows["voice_events"]?.isEmpty == true)
        try await store.close()
    }

    @Test("ids that are not canonical decimal snowflakes are refused", arguments: ["abc", "-5", "0012", " 7", "7 ", "+7", "", "1.5",
                                                                                   "18446744073709551616"])
    func refusedIDs(_ id: String) async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("stats.db")
        try Fixture.create(at: path, rows: [("guilds", ["id": .text(id), "created_at": Fixture.time(0), "updated_at": Fixture.time(0)])])
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        await #expect(throws: GuildSQLiteError.invalidID(SourceRow(table: "guilds", rowid: 1, key: id), column: "id",
                                                         found: SQLiteValue.text(id).description)) {
            try await SQLiteImport.import(from: path, into: store.database)
        }
        #expect(try await store.database.read { try $0.rows("guilds") }.isEmpty)
        try await store.close()
    }

    @Test("integer-affinity ids are accepted; a negative one is not")
    func integerIDs() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("stats.db")
        let db = try SQLiteConnection(path: path, mode: .create)
        try db.execute("CREATE TABLE guilds (id INTEGER PRIMARY KEY, name TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)")
        try db.run("INSERT INTO guilds VALUES (9223372036854775807, 'max', 1, 2)")
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        #expect(try await SQLiteImport.import(from: path, into: store.database)["guilds"] == 1)
        #expect(try await store.database.read { try $0.get("guilds", key: [.uint(UInt64(Int64.max))])?["name"] } == "max")

        try db.run("INSERT INTO guilds VALUES (-3, 'negative', 1, 2)")
        let fresh = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        await #expect(throws: GuildSQLiteError.invalidID(SourceRow(table: "guilds", rowid: -3, key: "-3"), column: "id", found: "-3")) {
            try await SQLiteImport.import(from: path, into: fresh.database)
        }
        try await store.close()
        try await fresh.close()
    }

    @Test("an event whose channel the file lacks is a typed error; its whole batch is rolled back")
    func missingParent() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("stats.db")
        // rowid 4 names channel 999: the batch [1002, 1003] fails on its second row.
        try Fixture.create(at: path, rows: Fixture.standardRows + [
            ("message_events", ["id": .text("1003"), "guild_id": .text(Fixture.mocha), "channel_id": .text("999"),
                                "user_id": .text(Fixture.nine), "created_at": Fixture.time(500)]),
        ])
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let error = await #expect(throws: GuildSQLiteError.self) {
            try await SQLiteImport.import(from: path, into: store.database, batchSize: 2)
        }
        guard case .missingParent(let row, let column, let value, let parent)? = error else {
            Issue.record("expected missingParent, got \(String(describing: error))")
            return
        }
        #expect(row == SourceRow(table: "message_events", rowid: 4, key: "1003"))
        #expect(column == "channel_id" && parent == "channels" && value.contains("999"))
        let events = try await store.database.read { try $0.rows("message_events") }
        #expect(events.map { $0["id"] } == [.uint(1000), .uint(1001)])  // not 1002, which shared the failed batch
        try await store.close()
    }

    @Test("a member whose text key disagrees with its guild_id and user_id is refused")
    func inconsistentMemberKey() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("stats.db")
        var rows = Fixture.standardRows.filter { $0.table != "members" && !$0.table.hasSuffix("_events") }
        rows.append(("members", ["id": .text("\(Fixture.cafe):\(Fixture.nine)"), "guild_id": .text(Fixture.mocha),
                                 "user_id": .text(Fixture.nine), "created_at": Fixture.time(0), "updated_at": Fixture.time(0)]))
        try Fixture.create(at: path, rows: rows)
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        await #expect(throws: GuildSQLiteError.inconsistentMemberID(
            SourceRow(table: "members", rowid: 1, key: "\(Fixture.cafe):\(Fixture.nine)"), id: "\(Fixture.cafe):\(Fixture.nine)")) {
            try await SQLiteImport.import(from: path, into: store.database)
        }
        try await store.close()
    }

    @Test("tables the file lacks are skipped and counted 0; a table lacking a required column is refused before any row")
    func partialFiles() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("partial.db")
        let db = try SQLiteConnection(path: path, mode: .create)
        for statement in Fixture.statements.prefix(2) { try db.execute(statement) }  // guilds, users
        try Fixture.insert(Fixture.standardRows[0].values, into: "guilds", db)
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let summary = try await SQLiteImport.import(from: path, into: store.database)
        #expect(summary["guilds"] == 1 && summary["users"] == 0 && summary.totalRows == 1)
        #expect(summary.skippedTables == GuildTables.all.map(\.name).filter { $0 != "guilds" && $0 != "users" })
        #expect(summary.tables.count == GuildTables.all.count)

        try db.execute("CREATE TABLE message_events (id TEXT PRIMARY KEY, guild_id TEXT, channel_id TEXT, user_id TEXT)")
        let fresh = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        await #expect(throws: GuildSQLiteError.missingColumn(table: "message_events", column: "created_at")) {
            try await SQLiteImport.import(from: path, into: fresh.database)
        }
        try await store.close()
        try await fresh.close()
    }

    @Test("values SQLite let through that our columns cannot take are typed errors")
    func invalidValues() async throws {
        let directory = try TemporaryDirectory("sqlite-import")
        defer { directory.remove() }
        let path = directory.file("stats.db")
        var rows = Fixture.standardRows.filter { $0.table == "guilds" || $0.table == "users" }
        rows[2].values["bot"] = .integer(2)
        try Fixture.create(at: path, rows: rows)
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        await #expect(throws: GuildSQLiteError.invalidValue(SourceRow(table: "users", rowid: 1, key: "9"), column: "bot",
                                                            expected: "a boolean 0 or 1", found: "2")) {
            try await SQLiteImport.import(from: path, into: store.database)
        }
        try await store.close()
    }

    @Test("the value mapping: canonical ids, seconds as integers or digits")
    func valueMapping() throws {
        #expect(SQLiteValueMapping.parseID("0") == 0)
        #expect(SQLiteValueMapping.parseID("18446744073709551615") == .max)
        #expect(SQLiteValueMapping.parseID("18446744073709551616") == nil)
        #expect(SQLiteValueMapping.parseID("012") == nil)
        let createdAt = ColumnDefinition("created_at", .timestamp)
        let row = SourceRow(table: "t", rowid: 1, key: "1")
        #expect(try SQLiteValueMapping.importValue(.text("1700000000"), for: createdAt, row: row) == .timestamp(1_700_000_000))
        #expect(try SQLiteValueMapping.importValue(.integer(-1), for: createdAt, row: row) == .timestamp(-1))
        #expect(throws: GuildSQLiteError.invalidValue(row, column: "created_at", expected: "whole seconds since 1970", found: "'2023-11-14'")) {
            try SQLiteValueMapping.importValue(.text("2023-11-14"), for: createdAt, row: row)
        }
        #expect(throws: GuildSQLiteError.missingValue(row, column: "created_at")) {
            try SQLiteValueMapping.importValue(.null, for: createdAt, row: row)
        }
    }
}
