import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) import GuildStoreEngine
@testable @_spi(Benchmarks) import GuildStore

/// The seeds' write patterns: create a guild with its owner (all or nothing), get / update /
/// delete with cascade, batch updates, cached member counts, retention, and the activity
/// rollups equal to the patterns they summarize.
@Suite("Guild writes")
struct GuildWritesTests {
    @Test("create guild with owner is one transaction; update moves updated_at; delete cascades to everything of the guild")
    func guildLifecycle() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let db = store.database
        let guildID: UInt64 = 81384788765712384, ownerID: UInt64 = 80351110224678912
        try await db.write { tx in
            try tx.createGuild(Guild(id: guildID, name: "Mocha ☕", createdAt: 1_700_000_000, updatedAt: 1_700_000_000),
                               owner: User(id: ownerID, username: "ann"), joinedAt: 1_700_000_000)
            try tx.insert(Channel(id: 1, guildID: guildID, name: "general"))
            try tx.insert(MessageEvent(id: 10, guildID: guildID, channelID: 1, userID: ownerID, characterCount: 3, createdAt: 1_700_000_100))
            try tx.insert(VoiceEvent(id: 11, guildID: guildID, channelID: 1, userID: ownerID, eventType: "leave", duration: 5_000,
                                     createdAt: 1_700_000_200))
            try tx.insert(PresenceEvent(id: 12, guildID: guildID, userID: ownerID, status: "online", createdAt: 1_700_000_300))
            try tx.insert(ReminderEvent(id: 13, messageID: 99, channelID: 1, guildID: guildID, title: "Standup"))
            try tx.insert(Reaction(id: 14, eventID: 13, userID: ownerID, emoji: "✅", reactedAt: 1_700_000_400))
        }
        let (guild, members) = try await db.read { tx in
            (try tx.get(Guild.self, key: [.uint(guildID)]), try tx.guildMemberCount(guild: guildID))
        }
        #expect(guild?.ownerID == ownerID && guild?.memberCount == 1 && guild?.updatedAt == 1_700_000_000)
        #expect(members?.memberCount == 1)

        // The same guild again: the whole transaction rolls back, the second user is not kept.
        await #expect(throws: GuildStoreError.self) {
            try await db.write { tx in try tx.createGuild(Guild(id: guildID, name: "again"), owner: User(id: 5, username: "bob")) }
        }
        #expect(try await db.read { try $0.get(User.self, key: [.uint(5)]) } == nil)

        try await db.write { tx throws in
            #expect(try tx.update("guilds", key: [.uint(guildID)], set: ["name": "Mocha"]))
            #expect(try tx.setActive(false, guilds: [guildID, 424242]) == 1)
        }
        let updated = try #require(try await db.read { try $0.get(Guild.self, key: [.uint(guildID)]) })
        #expect(updated.name == "Mocha" && !updated.isActive)
        #expect((updated.updatedAt ?? 0) > 1_700_000_000, "updated_at moved to the write's time")
        #expect(updated.createdAt == 1_700_000_000)
        #expect(try await db.read { try $0.activeGuilds(limit: 10) }.isEmpty)

        try await db.write { tx throws in #expect(try tx.delete(updated)) }
        try await db.read { tx throws in
            for table in ["channels", "members", "message_events", "voice_events", "presence_events", "reminder_events", "reactions"] {
                #expect(try tx.count(table) == 0, "\(table) emptied by the cascade")
            }
            #expect(try tx.get(User.self, key: [.uint(ownerID)]) != nil, "users outlive a guild")
        }
        try await store.close()
    }

    @Test("retention deletes exactly the older events of every table; rollups equal the hourly pattern; member counts refresh")
    func retentionAndRollups() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let db = store.database
        let generator = try FixtureGenerator(profile: .small)
        try await generator.load(into: db, batchSize: 1_000)
        let now = generator.now
        let guild = generator.plannedTie.guild

        // Rollups: per hour, the sum of messages and the number of users equal hourly activity.
        let written = try await db.write { tx in try tx.refreshActivityRollups(guild: guild, since: now - 90 * 86_400, until: now + 1) }
        #expect(written > 0)
        try await db.read { tx throws in
            let hourly = try tx.hourlyActivity(guild: guild, since: 0)
            let rollup = try tx.aggregate("hourly_activity", where: ["guild_id": .uint(guild)], groupBy: [.column("hour")],
                                          [.sum("messages"), .count])
            #expect(rollup.map { [$0.group[0], $0.values[0], $0.values[1]] }
                    == hourly.map { [.timestamp($0.hour), .int($0.messages), .int($0.uniqueUsers)] })
            let daily = try tx.aggregate("daily_activity", where: ["guild_id": .uint(guild)], [.sum("messages"), .sum("voice_milliseconds")])
            let voice = try tx.aggregate("voice_events", where: ["guild_id": .uint(guild), "event_type": "leave"], [.sum("duration")])
            #expect(daily.first?.int(0) == (try tx.count("message_events", where: ["guild_id": .uint(guild)])))
            #expect(daily.first?.int(1) == voice.first?.int(0))
        }
        // A second refresh rebuilds the same rows.
        #expect(try await db.write { tx in try tx.refreshActivityRollups(guild: guild, since: now - 90 * 86_400, until: now + 1) } == written)

        // Retention: each table loses exactly its rows older than the cutoff.
        let cutoff = now - 30 * 86_400
        let before = try await db.read { tx in
            try GuildTables.eventTables.map { table in
                (try tx.count(table.name), try tx.count(table.name, filter: { row in
                    if case .timestamp(let t)? = row["created_at"] { t < cutoff } else { false }
                }))
            }
        }
        let result = try await db.write { tx in try tx.deleteEvents(olderThan: cutoff) }
        #expect([result.messageEvents, result.voiceEvents, result.memberEvents, result.presenceEvents] == before.map { Int($0.1) })
        #expect(result.total > 0)
        let after = try await db.read { tx in try GuildTables.eventTables.map { try tx.count($0.name) } }
        #expect(after == before.map { $0.0 - $0.1 })
        #expect(try await db.write { tx in try tx.deleteEvents(olderThan: cutoff) }.total == 0)

        // Cached member counts follow the members table.
        try await db.write { tx throws in
            _ = try tx.refreshMemberCounts()
            #expect(try tx.refreshMemberCounts() == 0, "a second refresh changes nothing")
            for row in try tx.select("guilds", columns: ["id", "member_count"]) {
                #expect(try row.optional("member_count", Row.int) == (try tx.memberCount(guild: try row.uint("id"))))
            }
        }
        #expect(try await store.database.check().isOK)
        try await store.close()
    }
}
