import Testing
import GuildStoreEngine
import GuildStore

/// The README's guild schema example, as written there (a temporary database instead of a
/// file), so the example keeps compiling and doing what its comments say.
@Suite("README example")
struct ReadmeExampleTests {
    @Test("the guild schema example runs and its reads see its writes")
    func guildExample() async throws {
        let now: Int64 = 1_748_736_000
        let guild: UInt64 = 81384788765712384, user: UInt64 = 80351110224678912
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let db = store.database

        try await db.write { tx in
            // Seed 000's createGuildWithOwner: user (kept if present), guild, owner membership — all or nothing.
            try tx.createGuild(Guild(id: 81384788765712384, name: "Mocha ☕"), owner: User(id: 80351110224678912, username: "ann"))
            try tx.insert(Channel(id: 81384788765712385, guildID: 81384788765712384, name: "general"))
            try tx.insert(MessageEvent(id: 1100000000000000001, guildID: 81384788765712384, channelID: 81384788765712385,
                                       userID: 80351110224678912, characterCount: 42, createdAt: now))
            try tx.insert(User(id: 7, username: "bob"), onConflict: .ignore)      // insert-or-ignore seeding
            try tx.update("guilds", key: [.uint(81384788765712384)], set: ["name": "Mocha"])   // updated_at moves
            if var mocha = try tx.get(Guild.self, key: [.uint(81384788765712384)]) {
                mocha.icon = "a_1f2e"
                try tx.update(mocha)                                             // a whole record back
            }
            try tx.setActive(false, guilds: [1, 2, 3])                            // batch update
        }

        let (board, hourly, stats) = try await db.read { tx in
            (try tx.leaderboard(guild: guild, since: now - 86_400, limit: 10),    // [LeaderboardEntry] with SQL RANK()
             try tx.hourlyActivity(guild: guild, since: now - 86_400),            // messages and distinct users per hour
             try tx.userStats(guild: guild, user: user, since: now - 7 * 86_400))
        }
        let removed = try await db.write { tx in try tx.deleteEvents(olderThan: now - 365 * 86_400) }  // retention

        #expect(board.map { [$0.userID, UInt64($0.messageCount), UInt64($0.rank)] } == [[user, 1, 1]])
        #expect(hourly.map { [$0.hour, $0.messages, $0.uniqueUsers] } == [[now - now % 3_600, 1, 1]])
        #expect([stats.messageCount, stats.totalCharacters, stats.attachments] == [1, 42, 0])
        #expect(removed.total == 0)
        let mocha = try await db.read { try $0.get(Guild.self, key: [.uint(guild)]) }
        #expect(mocha?.name == "Mocha" && mocha?.icon == "a_1f2e" && mocha?.ownerID == user)
        try await store.close()
    }
}
