import Foundation
import Testing
import GuildStore

// A bot's whole life with GuildStore through its one import: open, create a guild, write the
// gateway's events, answer slash commands, watch commits, keep a table of its own, migrate,
// maintain the file, close. Nothing here may need more than `import GuildStore`: this target sits
// outside the package (see Package.swift), so only `public` declarations compile.

/// A bot's own table: a reminder a member set with `/remind`.
private struct Reminder: TableRecord, Equatable {
    static let schema = TableSchema("bot_reminders",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("user_id", .uint),
                  ColumnDefinition("text", .text), ColumnDefinition("due_at", .timestamp)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_user_due", on: ["user_id", "due_at"])])

    var id: UInt64
    var guildID: UInt64
    var userID: UInt64
    var text: String
    var dueAt: Int64

    init(id: UInt64, guildID: UInt64, userID: UInt64, text: String, dueAt: Int64) {
        self.id = id
        self.guildID = guildID
        self.userID = userID
        self.text = text
        self.dueAt = dueAt
    }

    init(row: Row) throws {
        id = try row.uint("id")
        guildID = try row.uint("guild_id")
        userID = try row.uint("user_id")
        text = try row.text("text")
        dueAt = try row.timestamp("due_at")
    }

    var values: [String: Value] {
        ["id": .uint(id), "guild_id": .uint(guildID), "user_id": .uint(userID), "text": .text(text), "due_at": .timestamp(dueAt)]
    }
}

/// The bot's migrations: the table, then a column added in a later release.
private let botMigrations = [
    Migration("bot_001_reminders") { tx in try tx.createTable(Reminder.schema) },
    Migration("bot_002_reminder_channel") { tx in
        try tx.addColumn(to: "bot_reminders", ColumnDefinition("channel_id", .uint, nullable: true))
    },
]

@Suite("The front door: what a bot does with `import GuildStore`")
struct BotSurfaceTests {
    static let now: Int64 = 1_748_736_000  // an hour boundary
    static let (guild, channel, voice): (UInt64, UInt64, UInt64) = (1_000, 1_001, 1_002)
    static let (ann, bob, cat): (UInt64, UInt64, UInt64) = (10, 11, 12)

    /// A guild owned by ann with bob and cat as members, a text and a voice channel, and the
    /// gateway's events: ann 3 messages, bob 3, cat 1; bob 2 voice sessions, ann 1; presences.
    static func openGuild() async throws -> GuildDatabase {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        try await store.database.write { tx in
            try tx.createGuild(Guild(id: guild, name: "Mocha ☕"), owner: User(id: ann, username: "ann"), joinedAt: now - 86_400)
            for (user, name) in [(bob, "bob"), (cat, "cat")] {
                try tx.insert(User(id: user, username: name))
                try tx.insert(Member(guildID: guild, userID: user, joinedAt: now - 3_600))
            }
            try tx.insert(Channel(id: channel, guildID: guild, name: "general"))
            try tx.insert(Channel(id: voice, guildID: guild, name: "voice", type: 2))
            try tx.refreshMemberCounts()
        }
        var id: UInt64 = 1
        for (user, count) in [(ann, 3), (bob, 3), (cat, 1)] {
            for i in 0..<count {
                let event = MessageEvent(id: id, guildID: guild, channelID: channel, userID: user,
                                         characterCount: 10, createdAt: now + Int64(i) * 60)
                id += 1
                // One event a commit, as a gateway handler does; `write`'s result is not needed.
                try await store.database.write { tx in try tx.insert(event) }
            }
        }
        try await store.database.write { tx in
            for (user, milliseconds) in [(bob, Int64(60_000)), (bob, 30_000), (ann, 10_000)] {
                try tx.insert(VoiceEvent(id: id, guildID: guild, channelID: voice, userID: user, eventType: "leave",
                                         duration: milliseconds, createdAt: now + 300))
                id += 1
            }
            for (user, status) in [(ann, "online"), (bob, "offline"), (cat, "idle")] {
                try tx.insert(PresenceEvent(id: id, guildID: guild, userID: user, status: status, createdAt: now + 400))
                id += 1
            }
        }
        return store
    }

    @Test("a guild's slash commands: /leaderboard, /stats, /voice, /online, /server")
    func slashCommands() async throws {
        let store = try await Self.openGuild()
        let (now, guild) = (Self.now, Self.guild)
        let answers = try await store.database.read { tx in
            (leaderboard: try tx.leaderboard(guild: guild, since: now - 86_400, limit: 10),
             stats: try tx.userStats(guild: guild, user: Self.bob, since: now - 86_400),
             voice: try tx.voiceActivity(guild: guild, since: now - 86_400, limit: 10),
             online: try tx.activeUsers(guild: guild),
             server: try tx.guildMemberCount(guild: guild),
             hourly: try tx.hourlyActivity(guild: guild, since: now, until: now + 3_600),
             active: try tx.activeGuilds(limit: 5))
        }
        // Ties share a rank (SQL's RANK()), the lower user id first.
        #expect(answers.leaderboard.map { [$0.userID, UInt64($0.messageCount), UInt64($0.rank)] }
                == [[Self.ann, 3, 1], [Self.bob, 3, 1], [Self.cat, 1, 3]])
        #expect([answers.stats.messageCount, answers.stats.totalCharacters, answers.stats.attachments] == [3, 30, 0])
        #expect(answers.voice.map { [$0.userID, UInt64($0.totalVoiceTime), UInt64($0.sessionCount)] }
                == [[Self.bob, 90_000, 2], [Self.ann, 10_000, 1]])
        #expect(answers.online.map(\.userID) == [Self.ann, Self.cat])
        #expect(answers.server?.memberCount == 3 && answers.server?.name == "Mocha ☕")
        #expect(answers.hourly.map { [$0.hour, $0.messages, $0.uniqueUsers] } == [[now, 7, 3]])
        #expect(answers.active.map(\.id) == [guild] && answers.active.first?.memberCount == 3)
        try await store.close()
    }

    @Test("a snapshot keeps its view while the bot writes; retention removes old events")
    func snapshotsAndRetention() async throws {
        let store = try await Self.openGuild()
        let db = store.database
        let snapshot = try db.beginRead()
        let removed = try await db.write { tx in try tx.deleteEvents(olderThan: Self.now + 120) }
        // Messages at now, +60 and +120 for ann and bob, at now for cat: five before now + 120.
        #expect(removed.messageEvents == 5 && removed.voiceEvents == 0 && removed.total == 5)
        #expect(try snapshot.count("message_events") == 7)  // the snapshot predates the delete
        snapshot.end()
        #expect(try await db.read { try $0.count("message_events") } == 2)
        try await store.close()
    }

    @Test("a failed write throws a GuildStoreError and leaves nothing behind")
    func failedWriteRollsBack() async throws {
        let store = try await Self.openGuild()
        let db = store.database
        let duplicate = MessageEvent(id: 1, guildID: Self.guild, channelID: Self.channel, userID: Self.ann, createdAt: Self.now)
        let error = await #expect(throws: GuildStoreError.self) {
            try await db.write { tx in
                try tx.insert(MessageEvent(id: 99, guildID: Self.guild, channelID: Self.channel, userID: Self.ann, createdAt: Self.now))
                try tx.insert(duplicate)
            }
        }
        guard case .uniqueViolation(let table, _, _)? = error else {
            Issue.record("expected a unique violation, got \(String(describing: error))")
            return
        }
        #expect(table == "message_events")
        #expect(try await db.read { try $0.get(MessageEvent.self, key: [.uint(99)]) } == nil)
        // A message from a user the guild has never seen breaks the users foreign key.
        await #expect(throws: GuildStoreError.self) {
            try await db.write { tx in
                try tx.insert(MessageEvent(id: 100, guildID: Self.guild, channelID: Self.channel, userID: 999, createdAt: Self.now))
            }
        }
        try await store.close()
    }

    @Test("the bot watches the commits that write its tables, in order, never rolled-back ones")
    func observeChanges() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let db = store.database
        let messages = db.changes(in: ["message_events"])
        try await db.write { tx in
            try tx.createGuild(Guild(id: 1, name: "g"), owner: User(id: 2, username: "u"))
            try tx.insert(Channel(id: 3, guildID: 1, name: "c"))
        }
        struct Abandon: Error {}
        _ = try? await db.write { tx in
            try tx.insert(MessageEvent(id: 10, guildID: 1, channelID: 3, userID: 2, createdAt: Self.now))
            throw Abandon()
        }
        try await db.write { tx in try tx.insert(MessageEvent(id: 11, guildID: 1, channelID: 3, userID: 2, createdAt: Self.now)) }
        try await db.write { tx in try tx.delete(from: "guilds", key: [.uint(1)]) }  // cascades to the message
        var received: [ChangeSet] = []
        for await change in messages {
            received.append(change)
            if received.count == 2 { break }
        }
        #expect(received.map { $0.tables.contains("message_events") } == [true, true])
        #expect(received[1].tables.isSuperset(of: ["guilds", "members", "channels", "message_events"]))
        #expect(received[0].sequence < received[1].sequence)
        try await store.close()
    }

    @Test("the bot's own table: TableSchema + TableRecord, migrated twice, the second run a no-op")
    func ownTableAndMigrations() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let db = store.database
        #expect(try await db.migrate(botMigrations) == ["bot_001_reminders", "bot_002_reminder_channel"])
        #expect(try await db.migrate(botMigrations) == [])

        let tea = Reminder(id: 1, guildID: 7, userID: 42, text: "tea", dueAt: Self.now + 600)
        let standup = Reminder(id: 2, guildID: 7, userID: 42, text: "standup", dueAt: Self.now + 60)
        try await db.write { tx in
            try tx.insert(tea)
            try tx.insert(standup)
            try tx.insert(Reminder(id: 3, guildID: 7, userID: 43, text: "other user", dueAt: Self.now))
        }
        try await db.write { tx in
            var later = tea
            later.dueAt += 3_600
            try tx.update(later)
            try tx.update("bot_reminders", key: [.uint(2)], set: ["channel_id": .uint(5)])  // the migrated column
        }
        let (mine, channel, schema, applied) = try await db.read { tx in
            (try tx.records(Reminder.self, index: "by_user_due", equals: [.uint(42)]),
             try tx.get("bot_reminders", key: [.uint(2)])?["channel_id"],
             try tx.table("bot_reminders"),
             try tx.appliedMigrations().map(\.name))
        }
        #expect(mine.map(\.text) == ["standup", "tea"])  // by due time
        #expect(mine.last?.dueAt == Self.now + 600 + 3_600)
        #expect(channel == .uint(5))
        #expect(schema.columns.map(\.name) == ["id", "guild_id", "user_id", "text", "due_at", "channel_id"])
        #expect(applied == GuildTables.migrations.map(\.name) + botMigrations.map(\.name))

        try await db.write { tx in try tx.delete(standup) }
        #expect(try await db.read { try $0.get(Reminder.self, key: [.uint(2)]) } == nil)
        try await store.close()
    }

    @Test("maintenance on a file: statistics, checkpoint, check, vacuum, close and reopen")
    func maintenance() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("frontdoor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bot.gsdb").path
        let configuration = DatabaseConfiguration(.file(path), synchronous: .full, checkpointThreshold: 0)

        let store = try await GuildDatabase.open(configuration)
        let db = store.database
        try await db.write { tx in
            try tx.createGuild(Guild(id: 1, name: "g"), owner: User(id: 2, username: "u"))
            try tx.insert(Channel(id: 3, guildID: 1, name: "c"))
            for id in UInt64(10)..<UInt64(2_010) {
                try tx.insert(MessageEvent(id: id, guildID: 1, channelID: 3, userID: 2, characterCount: 100, createdAt: Self.now))
            }
        }
        let before = db.statistics()
        #expect(before.walFrames > 0 && before.commits > 0)

        let checkpoint = try await db.checkpoint(.truncate)
        #expect(checkpoint.walRestarted && !checkpoint.blockedByReaders)
        #expect(db.statistics().walFrames == 0)

        try await db.write { tx in _ = try tx.deleteEvents(olderThan: Self.now + 1) }
        try await db.checkpoint(.truncate)
        let vacuum = try await db.vacuum()
        #expect(vacuum.pagesAfter < vacuum.pagesBefore)
        let report = try await db.check()
        #expect(report.isOK && report.problems.isEmpty)
        try await store.close()

        let reopened = try await GuildDatabase.open(configuration)
        let (guilds, events) = try await reopened.database.read { tx in
            (try tx.activeGuilds(limit: 10).map(\.id), try tx.count("message_events"))
        }
        #expect(guilds == [1] && events == 0)
        try await reopened.close()
    }
}
