import Foundation
import Testing
import TestSupport
import GuildStoreEngine
@testable import GuildStore

@Suite("Guild tables")
struct GuildTablesTests {
    @Test("the migrations create every table once; the catalog holds each schema as declared, with its rollups; foreign keys use indexes")
    func migrationsCreateTheSchema() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let names = try await store.database.read { tx in try tx.tables().map(\.name) }
        #expect(Set(names) == Set(GuildTables.all.map(\.name)))
        #expect(!GuildTables.rollups.isEmpty)
        for schema in GuildTables.all {
            var expected = schema
            expected.rollups = GuildTables.rollups.filter { $0.table == schema.name }.map(\.rollup)
            #expect(try await store.database.read { try $0.table(schema.name) } == expected)
            for key in schema.foreignKeys { #expect(schema.childLookup(for: key) != .scan, "\(schema.name).\(key.columns)") }
        }
        #expect(try await store.database.migrate(GuildTables.migrations).isEmpty)
        try await store.close()
    }

    /// The bytes and modification dates of the files in `directory`, by name.
    private func snapshot(_ directory: TemporaryDirectory) throws -> [String: (Data, Date?)] {
        var files: [String: (Data, Date?)] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let path = directory.file(name)
            files[name] = (try Data(contentsOf: URL(fileURLWithPath: path)),
                           try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        }
        return files
    }

    private func same(_ a: [String: (Data, Date?)], _ b: [String: (Data, Date?)]) -> Bool {
        a.keys.sorted() == b.keys.sorted() && a.allSatisfy { name, file in b[name].map { $0.0 == file.0 && $0.1 == file.1 } ?? false }
    }

    @Test("requireApplied: a database lacking migrations is refused with .migrationsPending and not written; an up-to-date one opens without a write")
    func requireApplied() async throws {
        let directory = try TemporaryDirectory("guild-tables")
        defer { directory.remove() }
        let path = directory.file("old.gsdb")
        // A database made before the rollup migrations existed.
        let old = try Database.open(DatabaseConfiguration(.file(path)))
        try await old.migrate(Array(GuildTables.migrations.prefix(1)))
        try await old.close()
        let before = try snapshot(directory)
        await #expect(throws: GuildStoreError.migrationsPending(path: path, names: ["0002_activity_rollups", "0003_member_rollup", "0004_member_growth_days", "0005_all_time_rankings", "0006_voice_leaves"])) {
            _ = try await GuildDatabase.open(DatabaseConfiguration(.file(path), createIfMissing: false), migrations: .requireApplied)
        }
        #expect(same(try snapshot(directory), before), "the refused open wrote nothing")

        let migrated = try await GuildDatabase.open(DatabaseConfiguration(.file(path)))
        #expect(try await migrated.database.read { try $0.appliedMigrations().map(\.name) } == GuildTables.migrations.map(\.name))
        try await migrated.close()
        let current = try snapshot(directory)
        for policy: GuildDatabase.MigrationPolicy in [.requireApplied, .apply] {
            let store = try await GuildDatabase.open(DatabaseConfiguration(.file(path), createIfMissing: false), migrations: policy)
            #expect(try await store.database.read { try $0.count("guilds") } == 0)
            try await store.close()
            #expect(same(try snapshot(directory), current), "\(policy): opening an up-to-date database wrote nothing")
        }
    }

    @Test("0006_voice_leaves builds the leaves index in a database made without it; voice activity then walks it, with the same answers")
    func voiceLeavesMigration() async throws {
        let directory = try TemporaryDirectory("guild-tables-voice")
        defer { directory.remove() }
        let path = directory.file("old.gsdb")
        // The first migration as it was before the index was declared.
        let old = try Database.open(DatabaseConfiguration(.file(path)))
        try await old.migrate([Migration("0001_guild_schema") { tx in
            for var table in GuildTables.all {
                table.indexes.removeAll { $0.name == GuildTables.voiceLeavesIndex.name }
                try tx.createTable(table)
            }
        }])
        let guild: UInt64 = 1_000
        try await old.write { tx in
            try tx.insert(Guild(id: guild, name: "g", createdAt: 0, updatedAt: 0))
            // Events scattered over users, kinds and time by multiplicative steps.
            for id in 1...600 as ClosedRange<Int64> {
                try tx.insert(VoiceEvent(id: UInt64(id), guildID: guild, channelID: nil, userID: UInt64(id * 7 % 40 + 1),
                                         eventType: ["join", "leave", "move"][Int(id * 5 % 3)], duration: id * 7_919 % 9_000_000,
                                         createdAt: id * 104_729 % 100_000))
            }
        }
        let before = try await old.read { tx in try tx.voiceActivity(guild: guild, since: 20_000, until: 70_000, limit: 100) }
        #expect(try await old.read { try $0.table("voice_events") }.indexes.contains { $0.name == GuildTables.voiceLeavesIndex.name } == false)
        try await old.close()

        let migrated = try await GuildDatabase.open(DatabaseConfiguration(.file(path)))
        let voice = try await migrated.database.read { try $0.table("voice_events") }
        var expected = GuildTables.voiceEvents
        expected.rollups = GuildTables.rollups.filter { $0.table == "voice_events" }.map(\.rollup)
        #expect(voice == expected)
        let plan = try await migrated.database.read { tx in
            try tx.planScan("voice_events", equals: ["guild_id": .uint(guild), "event_type": "leave"],
                            range: ColumnRange("created_at", from: .timestamp(20_000), below: .timestamp(70_000)),
                            reading: ["user_id", "duration"])
        }
        #expect(plan.index == GuildTables.voiceLeavesIndex.name && plan.indexOnly, "\(plan)")
        let after = try await migrated.database.read { tx in try tx.voiceActivity(guild: guild, since: 20_000, until: 70_000, limit: 100) }
        #expect(!before.isEmpty && after == before)
        let report = try await migrated.database.check()  // throws on any inconsistency
        #expect(report.trees.contains { $0.name.contains(GuildTables.voiceLeavesIndex.name) && $0.entries > 0 })
        try await migrated.close()
    }

    @Test("seed 004's tables: user stats by index; a unique and a foreign-key violation; deleting a user or a guild removes everything of it")
    func seed004() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let now: Int64 = 1_700_000_000
        try await store.database.write { tx in
            for g in 1...2 as ClosedRange<UInt64> {
                try tx.insert(["id": .uint(g), "name": .text("guild \(g)")], into: "guilds")
                try tx.insert(["id": .uint(g * 100), "guild_id": .uint(g), "type": 0], into: "channels")
                try tx.insert(["id": .uint(g * 100 + 1), "guild_id": .uint(g), "type": 2], into: "channels")
            }
            for u in 1...4 as ClosedRange<UInt64> {
                try tx.insert(["id": .uint(u), "username": .text("user\(u)")], into: "users")
                for g in 1...2 as ClosedRange<UInt64> {
                    try tx.insert(["guild_id": .uint(g), "user_id": .uint(u), "joined_at": .timestamp(now - Int64(u) * 3600)], into: "members")
                    try tx.insert(["id": .uint(g * 1000 + u), "guild_id": .uint(g), "user_id": .uint(u), "event_type": "join", "created_at": .timestamp(now)], into: "member_events")
                    try tx.insert(["id": .uint(g * 1000 + u), "guild_id": .uint(g), "user_id": .uint(u), "status": "online", "created_at": .timestamp(now)], into: "presence_events")
                    try tx.insert(["id": .uint(g * 1000 + u), "guild_id": .uint(g), "channel_id": .uint(g * 100 + 1), "user_id": .uint(u),
                                   "event_type": "leave", "duration": .int(Int64(u) * 60_000), "created_at": .timestamp(now)], into: "voice_events")
                }
            }
            var id: UInt64 = 1 << 40  // snowflake-like, growing with time
            for i in 0..<40 as Range<Int64> {
                id += 1
                let g = UInt64(i % 2) + 1, u = UInt64(i % 4) + 1
                try tx.insert(["id": .uint(id), "guild_id": .uint(g), "channel_id": .uint(g * 100), "user_id": .uint(u),
                               "character_count": .int(i), "created_at": .timestamp(now - 86_400 + i * 60)], into: "message_events")
            }
        }
        try await store.database.write { tx throws in
            #expect(throws: GuildStoreError.uniqueViolation(table: "members", index: "primary key", key: "(1u, 1u)")) {
                try tx.insert(["guild_id": .uint(1), "user_id": .uint(1)], into: "members")
            }
            #expect(throws: GuildStoreError.foreignKeyViolation(table: "message_events", column: "channel_id", value: "(999u)", parent: "channels")) {
                try tx.insert(["id": .uint(1), "guild_id": .uint(1), "channel_id": .uint(999), "user_id": .uint(1), "created_at": .timestamp(now)], into: "message_events")
            }
            // User statistics: one user's messages in one guild, by (guild_id, user_id).
            let mine = try tx.rows("message_events", index: "idx_message_events_guild_user", equals: [.uint(1), .uint(1)])
            #expect(mine.count == 10)
            let since = try tx.rows("message_events", index: "idx_message_events_guild_time", equals: [.uint(2)], from: .timestamp(now - 86_400 + 20 * 60))
            #expect(since.count == 10)
            // Deleting a user removes their memberships and messages everywhere.
            #expect(try tx.delete(from: "users", key: [.uint(4)]))
            #expect(try tx.rows("members", index: "idx_members_user_id", equals: [.uint(4)]).isEmpty)
            #expect(try tx.rows("message_events", index: "idx_message_events_user_time", equals: [.uint(4)]).isEmpty)
            #expect(try tx.rows("message_events").count == 30)
            // Deleting a guild removes its channels, members and events of every kind.
            #expect(try tx.delete(from: "guilds", key: [.uint(1)]))
            for table in ["channels", "members", "message_events", "voice_events", "member_events", "presence_events"] {
                #expect(try tx.rows(table).allSatisfy { $0["guild_id"] == .uint(2) }, "\(table)")
                #expect(!(try tx.rows(table).isEmpty), "\(table)")
            }
            #expect(try tx.rows("message_events", index: "idx_message_events_guild_time", equals: [.uint(1)]).isEmpty)
            #expect(try tx.rows("users").count == 3)
        }
        try await store.close()
    }
}
