import Foundation
import GuildStore
import Testing

/// The code of every DocC article (Sources/*/*.docc), run as a bot would run it: through
/// `import GuildStore` alone. A change that breaks an article's example fails here.
@Suite("DocC articles' examples")
struct ArticleExampleTests {
    let now = Int64(Date().timeIntervalSince1970)

    /// GuildStore.md (the module's landing page).
    @Test func landingPage() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        try await store.database.write { tx in
            try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "ann"))
        }
        let top = try await store.database.read { tx in
            try tx.leaderboard(guild: 1, since: 0, limit: 10)
        }
        try await store.close()
        #expect(top.isEmpty)  // a guild with no messages yet
    }

    /// GettingStarted.md, every step in order.
    @Test func gettingStarted() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("article-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bot.gsdb").path

        // Open
        let store = try await GuildDatabase.open(DatabaseConfiguration(
            .file(path),
            synchronous: .normal))
        let db = store.database

        // Observe changes (subscribed before the writes, as the article does)
        let changes = db.changes(in: [GuildTables.messageEvents.name])
        let watcher = Task { () -> [ChangeSet] in
            var seen: [ChangeSet] = []
            for await change in changes {
                seen.append(change)
            }
            return seen
        }

        // Write events
        try await db.write { tx in
            try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "ann"))
            try tx.insert(Channel(id: 2, guildID: 1, name: "general"))
            try tx.insert(MessageEvent(id: 100, guildID: 1, channelID: 2, userID: 7,
                                       characterCount: 42, createdAt: now))
        }

        // Answer a slash command
        let (board, stats) = try await db.read { tx in
            (try tx.leaderboard(guild: 1, since: now - 86_400, limit: 10),
             try tx.userStats(guild: 1, user: 7, since: now - 7 * 86_400))
        }
        var lines: [String] = []
        for entry in board {
            lines.append("#\(entry.rank) <@\(entry.userID)>: \(entry.messageCount) messages")
        }
        #expect(lines == ["#1 <@7>: 1 messages"])
        #expect(stats.messageCount == 1)

        // Close
        try await store.close()
        let seen = await watcher.value
        #expect(seen.count == 1)  // the commit that wrote a message event, and no other
        #expect(seen.first?.tables.contains(GuildTables.messageEvents.name) == true)
    }

    /// ConcurrencyModel.md: one snapshot answers two patterns consistently.
    @Test func snapshotReads() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let db = store.database
        try await db.write { tx in
            try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "ann"))
            try tx.insert(Channel(id: 2, guildID: 1, name: "general"))
            try tx.insert(MessageEvent(id: 100, guildID: 1, channelID: 2, userID: 7, createdAt: now))
        }
        let (board, hourly) = try await db.read { tx in
            (try tx.leaderboard(guild: 1, since: now - 86_400, limit: 10),
             try tx.hourlyActivity(guild: 1, since: now - 86_400))
        }
        #expect(board.map(\.messageCount).reduce(0, +) == hourly.map(\.messages).reduce(0, +))
        try await store.close()
    }

    /// Durability.md: a durable store, and an emptied log before a copy.
    @Test func durabilityAndBackups() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("article-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bot.gsdb").path

        let store = try await GuildDatabase.open(DatabaseConfiguration(
            .file(path), synchronous: .full))
        let db = store.database
        try await db.write { tx in
            try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "ann"))
        }
        let result = try await db.checkpoint(.truncate)
        #expect(result.walRestarted)
        // The database file alone now holds every commit: a copy of it, without the log, opens
        // with the guild in it.
        let copy = directory.appendingPathComponent("copy.gsdb").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try await store.close()
        let copied = try await GuildDatabase.open(DatabaseConfiguration(.file(copy), createIfMissing: false))
        #expect(try await copied.database.read { try $0.get(Guild.self, key: [.uint(1)]) }?.name == "Mocha")
        try await copied.close()
    }

    /// Backups.md: a full backup and an incremental, verify, restore to the latest and to a
    /// commit; continuous archiving and a restore to a moment.
    @Test func backupsArticle() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("article-backups-\(UUID().uuidString)").path
        let backups = directory + "/backups", archive = directory + "/bot-archive"
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await GuildDatabase.open(DatabaseConfiguration(
            .file(directory + "/bot.gsdb"), archive: ArchiveConfiguration(directory: archive)))
        let db = store.database
        try await db.write { tx in try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "ann")) }
        let full = try await db.backup(to: backups + "/bot-sunday.gsbackup")
        try await db.write { tx in try tx.insert(User(id: 8, username: "bea")) }
        let monday = try await db.backup(to: backups + "/bot-monday.gsbackup", since: full.path)
        let info = try Database.verifyBackup(at: monday.path)
        #expect(info.kind == .incremental && info.parentID == full.backupID)
        let twoPM = Date()
        try await db.write { tx in _ = try tx.delete(from: "users", key: [.uint(8)]) }
        try await store.close()

        let latest = try Database.restore(from: [backups], to: directory + "/restored.gsdb")
        let sunday = try Database.restore(from: [backups], to: directory + "/sunday.gsdb", at: .commit(full.commitNumber))
        let undone = try Database.restore(from: [archive], to: directory + "/undone.gsdb", at: .time(twoPM))
        #expect(latest.commitNumber == monday.commitNumber && sunday.commitNumber == full.commitNumber)
        #expect(undone.commitNumber == monday.commitNumber, "the last commit at or before the moment")
        for (path, users) in [(latest.path, 2), (sunday.path, 1), (undone.path, 2)] {
            let copy = try Database.open(DatabaseConfiguration(.file(path), createIfMissing: false))
            #expect(try await copy.read { try $0.count("users") } == users)
            try await copy.close()
        }
    }

    /// GuildStoreEngine.md: a program's own table, without the guild schema.
    @Test func ownTable() async throws {
        let db = try Database.open(DatabaseConfiguration(.temporary))
        try await db.migrate([
            Migration("001_notes") { tx in
                try tx.createTable(TableSchema("notes",
                    columns: [ColumnDefinition("id", .uint), ColumnDefinition("text", .text)],
                    primaryKey: ["id"]))
            },
        ])
        try await db.write { tx in
            try tx.insert(["id": .uint(1), "text": .text("hello")], into: "notes")
        }
        let notes = try await db.read { tx in try tx.select("notes") }
        try await db.close()
        #expect(notes.count == 1)
        #expect(notes.first?["text"] == .text("hello"))
    }
}
