import Foundation
import Testing
import TestSupport
import GuildStore
import GuildStoreEngine
@_spi(Benchmarks) @testable import GuildStoreSQLite

@Suite("SQLite export")
struct SQLiteExportTests {
    typealias Fixture = MochaFixture

    /// A store holding the Mocha fixture plus what only our schema has: extra columns set, a
    /// row in every extra table.
    static func richStore(_ directory: TemporaryDirectory) async throws -> GuildDatabase {
        try Fixture.create(at: directory.file("mocha.db"))
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        try await SQLiteImport.import(from: directory.file("mocha.db"), into: store.database)
        let mocha = Value.uint(111_111_111_111_111_111), t = Fixture.t0
        try await store.database.write { tx in
            try tx.update("guilds", key: [mocha], set: ["owner_id": .uint(9), "is_active": false, "updated_at": .timestamp(t + 50)])
            try tx.update("users", key: [.uint(10)], set: ["global_name": "Ten Ten", "updated_at": .timestamp(t + 50)])
            try tx.update("members", key: [mocha, .uint(9)], set: ["roles": .json(#"["admin","it's"]"#), "updated_at": .timestamp(t + 50)])
            try tx.insert(["id": .uint(7000), "message_id": .uint(1000), "channel_id": .uint(333), "guild_id": mocha, "title": "Raid",
                           "description": nil, "interval_minutes": 30, "is_paused": true, "last_reminder": .timestamp(t + 600),
                           "required_reactions": .json(#"["👍"]"#), "created_at": .timestamp(t), "updated_at": .timestamp(t)],
                          into: "reminder_events")
            try tx.insert(["id": .uint(7100), "event_id": .uint(7000), "user_id": .uint(9), "emoji": "👍",
                           "reacted_at": .timestamp(t + 1), "created_at": .timestamp(t + 1), "updated_at": .timestamp(t + 1)],
                          into: "reactions")
            try tx.insert(["id": .uint(7200), "event_id": .uint(7000), "scheduled_at": .timestamp(t + 1800), "sent_at": nil,
                           "users_notified": 0, "status": "failed", "error_message": "no perms",
                           "created_at": .timestamp(t + 2), "updated_at": .timestamp(t + 2)], into: "reminder_logs")
            try tx.insert(["guild_id": mocha, "hour": .timestamp(t), "user_id": .uint(9), "messages": 3, "characters": 40],
                          into: "hourly_activity")
            try tx.insert(["guild_id": mocha, "day": .timestamp(t), "user_id": .uint(10), "messages": 1, "characters": 0,
                           "voice_milliseconds": 60_000], into: "daily_activity")
        }
        return store
    }

    @Test("round trip: Mocha file → import → export → import into a fresh store gives identical rows in every table")
    func roundTrip() async throws {
        let directory = try TemporaryDirectory("sqlite-export")
        defer { directory.remove() }
        let store = try await Self.richStore(directory)
        let exported = try await SQLiteExport.export(from: store.database, to: directory.file("export.db"))
        let again = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let imported = try await SQLiteImport.import(from: directory.file("export.db"), into: again.database)
        #expect(imported.skippedTables.isEmpty)
        #expect(imported.tables.map(\.name) == exported.tables.map(\.name))
        #expect(imported.tables.map(\.rows) == exported.tables.map(\.rows))

        let before = try await Fixture.allRows(store.database), after = try await Fixture.allRows(again.database)
        for table in GuildTables.all {
            #expect(before[table.name] == after[table.name], "table \(table.name)")
            #expect(before[table.name]?.isEmpty == false, "table \(table.name) has rows to compare")
        }

        // The export spells ids as seed 004 does: decimal TEXT, members keyed "guild:user".
        let file = try SQLiteConnection(path: directory.file("export.db"), mode: .readOnly)
        #expect(try file.query("SELECT id, typeof(guild_id) FROM members ORDER BY id")
                == [[.text("111111111111111111:9"), .text("text")], [.text("222222222222222222:18000000000000000000"), .text("text")]])
        #expect(try file.query("SELECT roles FROM members WHERE user_id = '9'") == [[.text(#"["admin","it's"]"#)]])
        try await store.close()
        try await again.close()
    }

    @Test("the export's DDL is seed 004's: the same CREATE TABLE statements (our columns appended) and index names")
    func seedDDL() async throws {
        let directory = try TemporaryDirectory("sqlite-export")
        defer { directory.remove() }
        let store = try await Self.richStore(directory)
        try await SQLiteExport.export(from: store.database, to: directory.file("export.db"))
        let mocha = try SQLiteConnection(path: directory.file("mocha.db"), mode: .readOnly)
        let export = try SQLiteConnection(path: directory.file("export.db"), mode: .readOnly)
        func schema(_ db: SQLiteConnection) throws -> [String: String] {
            var result: [String: String] = [:]
            for row in try db.query("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL") {
                if case .text(let name) = row[0], case .text(let sql) = row[1] { result[name] = sql }
            }
            return result
        }
        let seed = try schema(mocha), ours = try schema(export)
        for (name, sql) in seed {
            let exported = try #require(ours[name], "\(name) missing from the export")
            if ["guilds", "users", "members"].contains(name) {
                // Seed columns first, ours after: the seed's statement up to its closing parenthesis is a prefix.
                #expect(exported.hasPrefix(String(sql.dropLast(2)) + ",\n\t"), "\(name): \(exported)")
            } else {
                #expect(exported == sql, "\(name)")
            }
        }
        #expect(ours["guilds"]?.hasSuffix("`owner_id` text,\n\t`is_active` integer DEFAULT true NOT NULL\n)") == true)
        #expect(ours["members"]?.hasSuffix("`roles` text DEFAULT '[]' NOT NULL\n)") == true)
        for table in ["reminder_events", "reactions", "reminder_logs", "hourly_activity", "daily_activity"] {
            #expect(ours[table] != nil, "\(table)")
        }
        try await store.close()
    }

    @Test("with .integer ids, SQLite orders user_id numerically; with .text, as text")
    func integerIDsOrderNumerically() async throws {
        let directory = try TemporaryDirectory("sqlite-export")
        defer { directory.remove() }
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let users: [UInt64] = [2_000_000_000_000_000_000, 300, 9, 40, 5, 1 << 62]
        try await store.database.write { tx in
            try tx.insert(["id": .uint(1), "created_at": .timestamp(0), "updated_at": .timestamp(0)], into: "guilds")
            try tx.insert(["id": .uint(2), "guild_id": .uint(1), "type": 0, "created_at": .timestamp(0), "updated_at": .timestamp(0)],
                          into: "channels")
            for (i, user) in users.enumerated() {
                try tx.insert(["id": .uint(user), "created_at": .timestamp(0), "updated_at": .timestamp(0)], into: "users")
                try tx.insert(["id": .uint(UInt64(100 + i)), "guild_id": .uint(1), "channel_id": .uint(2), "user_id": .uint(user),
                               "created_at": .timestamp(Int64(i))], into: "message_events")
            }
        }
        let query = "SELECT user_id FROM message_events ORDER BY user_id"
        try await SQLiteExport.export(from: store.database, to: directory.file("integer.db"), ids: .integer)
        let numeric = try SQLiteConnection(path: directory.file("integer.db"), mode: .readOnly).query(query)
        #expect(numeric == users.sorted().map { [.integer(Int64($0))] })

        try await SQLiteExport.export(from: store.database, to: directory.file("text.db"), ids: .text)
        let text = try SQLiteConnection(path: directory.file("text.db"), mode: .readOnly).query(query)
        #expect(text == users.map(String.init).sorted().map { [.text($0)] })
        #expect(text.map { $0[0] } != users.sorted().map { .text(String($0)) })

        // And the integer file imports back to the same rows.
        let again = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        try await SQLiteImport.import(from: directory.file("integer.db"), into: again.database)
        #expect(try await Fixture.allRows(again.database) == Fixture.allRows(store.database))
        try await store.close()
        try await again.close()
    }

    @Test("with .integer ids, an id at or above 2^63 fails the export and leaves no file behind")
    func integerIDOutOfRange() async throws {
        let directory = try TemporaryDirectory("sqlite-export")
        defer { directory.remove() }
        let store = try await Self.richStore(directory)
        let before = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        await #expect(throws: GuildSQLiteError.idOutOfRange(table: "users", column: "id", value: 18_000_000_000_000_000_000)) {
            try await SQLiteExport.export(from: store.database, to: directory.file("integer.db"), ids: .integer)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == before)
        try await store.close()
    }

    @Test("export refuses to overwrite an existing file unless replace is true")
    func refusesToOverwrite() async throws {
        let directory = try TemporaryDirectory("sqlite-export")
        defer { directory.remove() }
        let store = try await Self.richStore(directory)
        let path = directory.file("stats.db")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        await #expect(throws: GuildSQLiteError.fileExists(path: path)) {
            try await SQLiteExport.export(from: store.database, to: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("keep me".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["mocha.db", "stats.db"])

        let summary = try await SQLiteExport.export(from: store.database, to: path, replace: true)
        #expect(summary["message_events"] == 3 && summary["reminder_events"] == 1)
        let file = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(try file.query("SELECT COUNT(*) FROM message_events") == [[.integer(3)]])
        #expect(try file.query("PRAGMA integrity_check") == [[.text("ok")]])
        try await store.close()
    }
}
