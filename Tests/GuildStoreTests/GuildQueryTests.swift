import Foundation
import Logging
@_spi(Benchmarks) import GuildBench
import Testing
import TestSupport
@_spi(Benchmarks) import GuildStoreSQLite
@_spi(Benchmarks) import GuildStoreEngine
@testable @_spi(Benchmarks) import GuildStore

/// Every query pattern against SQLite running the issue's SQL on the same data: the small
/// fixture is loaded into a GuildStore, exported with integer ids (so SQLite orders ids as
/// numbers), and each pattern's rows must equal SQLite's, row for row and in order, for every
/// guild (the empty ones too), several users and several time ranges.
@Suite("Guild query patterns against SQLite")
struct GuildQueryTests {
    /// The loaded store, its SQLite twin and the captured query log.
    struct Fixture {
        let directory: TemporaryDirectory
        let store: GuildDatabase
        let sqlite: SQLiteConnection
        let log: CapturingLogHandler.Store
        let now: Int64
        let guilds: [UInt64]

        /// Time ranges: everything, the last week, an older month, and one empty range.
        var ranges: [(since: Int64, until: Int64?)] {
            [(0, nil), (now - 7 * 86_400, now), (now - 60 * 86_400, now - 30 * 86_400), (now + 1, now + 86_400)]
        }

        static func make(_ name: String) async throws -> Fixture {
            let directory = try TemporaryDirectory(name)
            var (logger, log) = CapturingLogHandler.logger()
            logger.logLevel = .debug
            let store = try await GuildDatabase.open(DatabaseConfiguration(.file(directory.file("guild.gsdb")), queryLog: logger))
            let generator = try FixtureGenerator(profile: .small)
            try await generator.load(into: store.database, batchSize: 2_000)
            try await SQLiteExport.export(from: store.database, to: directory.file("twin.sqlite"), ids: .integer)
            let sqlite = try SQLiteConnection(path: directory.file("twin.sqlite"), mode: .readOnly)
            let guilds = try sqlite.query("SELECT id FROM guilds ORDER BY id").map { row -> UInt64 in
                guard case .integer(let id)? = row.first else { throw SQLiteError(code: 0, message: "id is not an integer") }
                return UInt64(bitPattern: id)
            }
            return Fixture(directory: directory, store: store, sqlite: sqlite, log: log, now: generator.now, guilds: guilds)
        }

        func close() async throws {
            try await store.close()
            directory.remove()
        }

        /// SQLite's rows for `sql` with `parameters` bound.
        func expected(_ sql: String, _ parameters: [SQLiteValue]) throws -> [[SQLiteValue]] {
            try sqlite.query(sql, parameters)
        }

        /// The users with the most messages in `guild` (and one who has none), to ask about.
        func users(of guild: UInt64) throws -> [UInt64] {
            let top = try sqlite.query("SELECT user_id FROM message_events WHERE guild_id = ? GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT 3",
                                       [id(guild)])
            return top.compactMap { row in if case .integer(let v)? = row.first { UInt64(bitPattern: v) } else { nil } } + [424242]
        }
    }

    static func id(_ value: UInt64) -> SQLiteValue { .integer(Int64(bitPattern: value)) }
    static func id(_ value: UInt64?) -> SQLiteValue { value.map { id($0) } ?? .null }
    static func int(_ value: Int64?) -> SQLiteValue { value.map { .integer($0) } ?? .null }
    static func text(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }
    static func real(_ value: Double?) -> SQLiteValue { value.map { .real($0) } ?? .null }
    func id(_ value: UInt64) -> SQLiteValue { Self.id(value) }
    static func until(_ value: Int64?) -> SQLiteValue { .integer(value ?? .max) }

    @Test("guild patterns: active guilds, guild member count, guild stats")
    func guildPatterns() async throws {
        let fixture = try await Fixture.make("guild-patterns")
        let db = fixture.store.database
        for limit in [1, 3, 100] {
            let ours = try await db.read { try $0.activeGuilds(limit: limit) }
            let sql = try fixture.expected(GuildQueryPattern.activeGuilds.sql, [.integer(Int64(limit))])
            #expect(ours.map { [Self.id($0.id), Self.text($0.name), Self.int($0.memberCount), .integer($0.createdAt)] } == sql)
        }
        #expect(fixture.log.messages.contains { $0.message.contains("idx_guilds_active_created") && $0.message.contains("index only") })
        for guild in fixture.guilds + [999] {
            let ours = try await db.read { try $0.guildMemberCount(guild: guild) }
            let sql = try fixture.expected(GuildQueryPattern.guildMemberCount.sql, [Self.id(guild)])
            #expect((ours.map { [[Self.id($0.id), Self.text($0.name), .integer($0.memberCount)]] } ?? []) == sql)
        }
        let now = fixture.now
        let stats = try await db.read { try $0.guildStats(now: now) }
        let sql = try fixture.expected(GuildQueryPattern.guildStats.sql, [.integer(now)])
        #expect(stats.map { [Self.id($0.id), Self.text($0.name), .integer($0.memberCount), Self.int($0.lastJoin), Self.real($0.averageMemberAgeSeconds)] } == sql)
        #expect(stats.contains { $0.memberCount == 0 }, "an empty active guild is in the fixture")
        try await fixture.close()
    }

    @Test("message patterns: user stats, leaderboard with rank, hourly activity — from the index alone, only the guild's range")
    func messagePatterns() async throws {
        let fixture = try await Fixture.make("message-patterns")
        let db = fixture.store.database
        var sawTie = false
        for guild in fixture.guilds {
            for (since, until) in fixture.ranges {
                let range: [SQLiteValue] = [id(guild), .integer(since), Self.until(until)]
                for user in try fixture.users(of: guild) {
                    let ours = try await db.read { try $0.userStats(guild: guild, user: user, since: since, until: until) }
                    let sql = try fixture.expected(GuildQueryPattern.userStats.sql, [id(guild), id(user), .integer(since), Self.until(until)])
                    #expect([[.integer(ours.messageCount), .integer(ours.totalCharacters), .integer(ours.attachments)]] == sql)
                }
                for limit in [3, 50] {
                    let ours = try await db.read { try $0.leaderboard(guild: guild, since: since, until: until, limit: limit) }
                    let sql = try fixture.expected(GuildQueryPattern.leaderboard.sql, range + [.integer(Int64(limit))])
                    #expect(ours.map { [id($0.userID), .integer($0.messageCount), .integer($0.rank)] } == sql, "guild \(guild)")
                    if Set(ours.map(\.rank)).count < ours.count { sawTie = true }
                }
                let hourly = try await db.read { try $0.hourlyActivity(guild: guild, since: since, until: until) }
                let sql = try fixture.expected(GuildQueryPattern.hourlyActivity.sql, range)
                #expect(hourly.map { [.integer($0.hour), .integer($0.messages), .integer($0.uniqueUsers)] } == sql)
            }
        }
        #expect(sawTie, "the fixture has users tied on message count, sharing a rank")
        try await checkReadsOnlyTheRange(fixture)
        try await fixture.close()
    }

    /// The leaderboard reads exactly the guild's entries in the range, from a covering index;
    /// hourly activity and user stats read their rollups' whole buckets, no event (the range
    /// starts on a day boundary, so it has no partial edge). The query log names the plan and
    /// what it read.
    func checkReadsOnlyTheRange(_ fixture: Fixture) async throws {
        let guild = try #require(fixture.guilds.max { a, b in
            (try? fixture.store.database.engine.read { try $0.count("message_events", where: ["guild_id": .uint(a)]) }) ?? 0
                < (try? fixture.store.database.engine.read { try $0.count("message_events", where: ["guild_id": .uint(b)]) }) ?? 0
        })
        let since = fixture.now - 7 * 86_400
        let inRange = try fixture.expected("SELECT COUNT(*) FROM message_events WHERE guild_id = ? AND created_at >= ?", [id(guild), .integer(since)])
        guard case .integer(let expected)? = inRange.first?.first else { Issue.record("no count"); return }
        let total = try fixture.expected("SELECT COUNT(*) FROM message_events", [])
        #expect(total.first?.first != .integer(expected), "the range excludes rows, so reading only it is visible")
        #expect(since % 86_400 == 0, "the range starts on a bucket boundary")
        fixture.log.clear()
        _ = try await fixture.store.database.read { try $0.leaderboard(guild: guild, since: since, limit: 5) }
        var lines = fixture.log.messages.map(\.message)
        #expect(lines.count == 1 && lines[0].contains("idx_message_events_guild_time") && lines[0].contains("index only")
                && lines[0].contains(": \(expected) index entries read"), "leaderboard: \(lines)")
        // Voice activity walks the guild's leaves alone, not its joins and moves.
        let leaves = try fixture.expected("SELECT COUNT(*) FROM voice_events WHERE guild_id = ? AND created_at >= ? AND event_type = 'leave'",
                                          [id(guild), .integer(since)])
        let voiceEvents = try fixture.expected("SELECT COUNT(*) FROM voice_events WHERE guild_id = ? AND created_at >= ?", [id(guild), .integer(since)])
        guard case .integer(let leaveCount)? = leaves.first?.first else { Issue.record("no count"); return }
        #expect(voiceEvents.first?.first != .integer(leaveCount), "the guild has joins in the range, so reading only leaves is visible")
        fixture.log.clear()
        _ = try await fixture.store.database.read { try $0.voiceActivity(guild: guild, since: since, until: fixture.now + 1, limit: 10) }
        lines = fixture.log.messages.map(\.message)
        #expect(lines.count == 1 && lines[0].contains("idx_voice_events_guild_leaves") && lines[0].contains("index only")
                && lines[0].contains(": \(leaveCount) index entries read"), "voice activity: \(lines)")
        /// The number before " groups read" in a rollup's query log line.
        func groupsRead(_ line: String) -> Int? {
            line.components(separatedBy: ": ").last?.split(separator: " ").first.flatMap { Int($0) }
        }
        fixture.log.clear()
        let hours = try await fixture.store.database.read { try $0.hourlyActivity(guild: guild, since: since) }
        lines = fixture.log.messages.map(\.message)
        #expect(lines.count == 1 && lines[0].contains("via rollup by_guild_hour") && lines[0].contains("0 partial edges")
                && groupsRead(lines[0]) == hours.count && hours.count <= 7 * 24 && Int64(hours.count) < expected, "hourly activity: \(lines)")
        // User stats: the guild's top user, through (guild_id, user_id, created_at).
        let user = try #require(try fixture.users(of: guild).first)
        let userRows = try fixture.expected("SELECT COUNT(*) FROM message_events WHERE guild_id = ? AND user_id = ? AND created_at >= ?",
                                            [id(guild), id(user), .integer(since)])
        guard case .integer(let userExpected)? = userRows.first?.first, userExpected > 0 else { Issue.record("no user rows"); return }
        fixture.log.clear()
        let stats = try await fixture.store.database.read { try $0.userStats(guild: guild, user: user, since: since) }
        lines = fixture.log.messages.map(\.message)
        #expect(stats.messageCount == userExpected)
        #expect(lines.count == 1 && lines[0].contains("via rollup by_guild_user_day") && (groupsRead(lines[0]) ?? .max) <= 7,
                "user stats: \(lines)")
        // All time: the leaderboard and voice activity read one rollup entry per user (the range
        // holds every event of the guild), not one per event; the answers are checked above.
        for (table, rollup, filter) in [("message_events", "by_guild_user", ""), ("voice_events", "leaves_by_guild_user", " AND event_type = 'leave'")] {
            let counts = try fixture.expected("SELECT COUNT(DISTINCT user_id), COUNT(*) FROM \(table) WHERE guild_id = ?\(filter)", [id(guild)])
            guard case .integer(let users)? = counts.first?.first, case .integer(let events)? = counts.first?.last, users > 0 else {
                Issue.record("no \(table) in guild \(guild)")
                continue
            }
            #expect(users < events, "\(table): fewer users than events, so reading per user is visible")
            fixture.log.clear()
            let ranked = try await fixture.store.database.read { tx in
                table == "message_events" ? try tx.leaderboard(guild: guild, since: 0, limit: 3).count
                    : try tx.voiceActivity(guild: guild, since: 0, limit: 3).count
            }
            lines = fixture.log.messages.map(\.message)
            #expect(ranked == min(3, Int(users)))
            #expect(lines.count == 1 && lines[0].contains("via rollup \(rollup)") && groupsRead(lines[0]) == Int(users), "\(table): \(lines)")
        }
    }

    @Test("voice activity, member growth (hour and day buckets), presence distribution")
    func eventPatterns() async throws {
        let fixture = try await Fixture.make("event-patterns")
        let db = fixture.store.database
        for guild in fixture.guilds {
            for (since, until) in fixture.ranges {
                let range: [SQLiteValue] = [id(guild), .integer(since), Self.until(until)]
                let voice = try await db.read { try $0.voiceActivity(guild: guild, since: since, until: until, limit: 10) }
                let voiceSQL = try fixture.expected(GuildQueryPattern.voiceActivity.sql, range + [.integer(10)])
                #expect(voice.map { [id($0.userID), .integer($0.totalVoiceTime), .integer($0.sessionCount)] } == voiceSQL)
                for bucket in TimeBucket.allCases {
                    let growth = try await db.read { try $0.memberGrowth(guild: guild, since: since, until: until, bucket: bucket) }
                    let growthSQL = try fixture.expected(GuildQueryPattern.memberGrowth.sql,
                                                         [.integer(bucket.rawValue), .integer(bucket.rawValue)] + range)
                    #expect(growth.map { [.integer($0.bucket), .integer($0.joins), .integer($0.leaves)] } == growthSQL)
                }
                let presence = try await db.read { try $0.presenceDistribution(guild: guild, since: since, until: until) }
                let presenceSQL = try fixture.expected(GuildQueryPattern.presenceDistribution.sql, range)
                #expect(presence.map { [Self.text($0.status), .integer($0.events)] } == presenceSQL)
            }
        }
        try await fixture.close()
    }

    @Test("active users, due reminders at several times, reminder targets of every event")
    func membershipPatterns() async throws {
        let fixture = try await Fixture.make("membership-patterns")
        let db = fixture.store.database
        var anyActive = false
        for guild in fixture.guilds {
            let ours = try await db.read { try $0.activeUsers(guild: guild) }
            let sql = try fixture.expected(GuildQueryPattern.activeUsers.sql, [id(guild)])
            #expect(ours.map { [id($0.userID), .text($0.status)] } == sql)
            anyActive = anyActive || !ours.isEmpty
        }
        #expect(anyActive)
        for now in [fixture.now - 30 * 86_400, fixture.now, fixture.now + 30 * 86_400] {
            let ours = try await db.read { try $0.dueReminders(now: now) }
            let sql = try fixture.expected(GuildQueryPattern.dueReminders.sql, [.integer(now)])
            #expect(ours.map { [id($0.id), id($0.guildID), id($0.channelID), id($0.messageID), .text($0.title), Self.int($0.dueAt)] } == sql)
        }
        let events = try fixture.expected("SELECT id FROM reminder_events ORDER BY id", []).compactMap { row -> UInt64? in
            if case .integer(let v)? = row.first { UInt64(bitPattern: v) } else { nil }
        }
        #expect(!events.isEmpty)
        for event in events + [1] {
            let ours = try await db.read { try $0.reminderTargets(event: event) }
            let sql = try fixture.expected(GuildQueryPattern.reminderTargets.sql, [id(event), id(event)])
            #expect(ours.map { [id($0)] } == sql)
        }
        try await fixture.close()
    }

    @Test("latest event time: SQLite's MAX(created_at) over the four event tables, one index entry per guild and table; nil without events")
    func latestEventTime() async throws {
        let fixture = try await Fixture.make("latest-event")
        let sql = "SELECT MAX(created_at) FROM ("
            + GuildTables.eventTables.map { "SELECT created_at FROM \($0.name)" }.joined(separator: " UNION ALL ") + ")"
        fixture.log.clear()
        let latest = try await fixture.store.database.read { try $0.latestEventTime() }
        #expect(try fixture.expected(sql, []) == [[.integer(try #require(latest))]])
        // One reverse seek per guild and table, each reading at most one index entry: no table is walked.
        let seeks = fixture.log.messages.map(\.message).filter { line in
            GuildTables.eventTables.contains { line.hasPrefix("query \($0.name) via index idx_\($0.name)_guild_time") }
        }
        #expect(seeks.count == GuildTables.eventTables.count * fixture.guilds.count, "\(fixture.log.messages.map(\.message))")
        #expect(seeks.allSatisfy { $0.contains(": 1 index entries read") || $0.contains(": 0 index entries read") }, "\(seeks)")
        try await fixture.close()

        let empty = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        #expect(try await empty.database.read { try $0.latestEventTime() } == nil)
        try await empty.close()
    }
}
