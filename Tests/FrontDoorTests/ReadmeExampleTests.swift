import Foundation
import Testing
import GuildStore

// README.md's Swift examples, one test per README section, each written as the README shows it
// (a temporary database instead of a file), with `import GuildStore` as the only import: so every
// example keeps compiling against the public API alone and keeps doing what its comments say.
// The code between a test's `// README "<section>"` and `// end of README "<section>"` lines is
// the README's code block for that section; the `#expect`s after it are the test's own.
@Suite("README examples")
struct ReadmeExampleTests {
    @Test("README \"Using the database\": open, write, read on a snapshot, observe, maintain, close")
    func usingTheDatabase() async throws {
        // README "Using the database"
        let db = try Database.open(DatabaseConfiguration(
            .temporary,                      // or .file("data/bot.gsdb")
            synchronous: .full))             // .normal (the default, like the seeds' SQLite), .off

        let notes = TableSchema("notes",
            columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint),
                      ColumnDefinition("text", .text), ColumnDefinition("created_at", .timestamp, default: .now)],
            primaryKey: ["id"],
            indexes: [IndexDefinition("by_guild", on: ["guild_id", "created_at"])])
        try await db.migrate([Migration("001_notes") { tx in try tx.createTable(notes) }])

        // What each durable commit touched, in commit order; never rolled-back work.
        let changes = db.changes(in: ["notes"])

        // One write transaction at a time, on the writer actor. It commits when the closure returns
        // and `write` returns once the commit is durable; a throw or a cancelled task rolls it back.
        // Writers that queue while a sync is in flight share the next sync (group commit).
        try await db.write { tx in
            try tx.insert(["id": .uint(1), "guild_id": .uint(42), "text": "hello"], into: "notes")
            try tx.insert(["id": .uint(2), "guild_id": .uint(42), "text": "world"], into: "notes")
        }

        // Any number of concurrent readers, each on a snapshot consistent across every table.
        let latest = try await db.read { snapshot in
            try snapshot.select("notes", where: ["guild_id": .uint(42)], orderBy: [.descending("id")], limit: 50)
        }

        var first: ChangeSet?
        for await change in changes {
            print(change.tables, change.sequence)   // ["notes"] and the commit's position
            first = change
            break                                   // a bot keeps listening, in a task of its own
        }

        let stats = db.statistics()      // WAL frames and bytes, oldest snapshot's age, frames it holds back
        try await db.checkpoint(.truncate)
        let report = try await db.check()  // every page, tree and checksum; report.isOK
        try await db.vacuum()            // rewrite the file without free pages (no open snapshots)
        try await db.close()
        // end of README "Using the database"

        #expect(try latest.map { try $0.text("text") } == ["world", "hello"])
        #expect(first?.tables == ["notes"])
        #expect(stats.commits >= 2)
        #expect(report.isOK)
    }

    @Test("README \"Tables, indexes and queries\": schema, migrations, writes, select and aggregate")
    func tablesIndexesAndQueries() async throws {
        // README "Tables, indexes and queries"
        let db = try Database.open(DatabaseConfiguration(.temporary))  // or .file("data/bot.gsdb")
        let guild: UInt64 = 10, user: UInt64 = 20, message: UInt64 = 30, since: Int64 = 1_748_736_000

        let guilds = TableSchema("guilds",
            columns: [ColumnDefinition("id", .uint), ColumnDefinition("name", .text, nullable: true),
                      ColumnDefinition("is_active", .bool, default: .value(.bool(true))),
                      ColumnDefinition("created_at", .timestamp, default: .now),
                      ColumnDefinition("updated_at", .timestamp, default: .now, updatedAtNow: true)],
            primaryKey: ["id"])
        let users = TableSchema("users", columns: [ColumnDefinition("id", .uint)], primaryKey: ["id"])
        let messageEvents = TableSchema("message_events",
            columns: [
                ColumnDefinition("id", .uint),                       // snowflakes are UInt64
                ColumnDefinition("guild_id", .uint),
                ColumnDefinition("user_id", .uint),
                ColumnDefinition("character_count", .int, default: .value(.int(0))),
                ColumnDefinition("has_attachment", .bool, default: .value(.bool(false))),
                ColumnDefinition("created_at", .timestamp, default: .now),  // seconds since 1970
            ],
            primaryKey: ["id"],
            indexes: [
                IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
                IndexDefinition("by_user", on: ["user_id", "created_at"], including: ["character_count"]),
            ],
            foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

        // Migrations: named, ordered, each in its own transaction, the applied list kept in the file.
        try await db.migrate([
            Migration("001_guilds") { tx in try tx.createTable(guilds); try tx.createTable(users) },
            Migration("002_message_events") { tx in try tx.createTable(messageEvents) },
            Migration("003_active_guilds") { tx in
                try tx.addIndex(to: "guilds", IndexDefinition("active", on: ["created_at"], descending: [true],
                                                               where: .equals("is_active", .bool(true))))
            },
        ])

        try await db.write { tx in
            try tx.insert(["id": .uint(guild), "name": "Mocha ☕"], into: "guilds")
            try tx.insert(["id": .uint(message), "guild_id": .uint(guild), "user_id": .uint(user),
                           "character_count": .int(42), "created_at": .timestamp(since)], into: "message_events")  // .fail on a duplicate key
            try tx.insert(["id": .uint(user)], into: "users", onConflict: .ignore)       // insert-or-ignore; .replace upserts
            try tx.update("guilds", key: [.uint(guild)], set: ["name": "Mocha"])         // updated_at columns move too
        }

        let (recent, leaderboard, hourly) = try await db.read { tx in
            // The index is chosen from the equality prefix and the range, and logged with the query.
            let recent = try tx.select("message_events", where: ["guild_id": .uint(guild)],
                                       range: ColumnRange("created_at", from: .timestamp(since)),
                                       orderBy: [.descending("created_at")], limit: 20)
            // SELECT user_id, COUNT(*), SUM(character_count) ... GROUP BY user_id ORDER BY 2 DESC LIMIT 10
            let leaderboard = try tx.aggregate("message_events", where: ["guild_id": .uint(guild)],
                                               groupBy: [.column("user_id")], [.count, .sum("character_count")],
                                               orderBy: [.aggregate(0)], limit: 10)
            // Hourly activity with distinct users.
            let hourly = try tx.aggregate("message_events", where: ["guild_id": .uint(guild)],
                                          groupBy: [.hour("created_at")], [.count, .countDistinct("user_id")])
            return (recent, leaderboard, hourly)
        }

        try await db.write { tx in
            try tx.delete(from: "guilds", key: [.uint(guild)])                           // cascades to its events
        }
        // end of README "Tables, indexes and queries"

        #expect(try recent.map { try $0.uint("id") } == [message])
        #expect(leaderboard.map { [$0.group, $0.values] } == [[[.uint(user)], [.int(1), .int(42)]]])
        #expect(hourly.map(\.values) == [[.int(1), .int(1)]])
        let left = try await db.read { tx in (try tx.count("guilds"), try tx.count("message_events"), try tx.count("users")) }
        #expect(left == (0, 0, 1))
        let applied = try await db.read { try $0.appliedMigrations().map(\.name) }
        #expect(applied == ["001_guilds", "002_message_events", "003_active_guilds"])
        try await db.close()
    }

    @Test("README \"Tables, indexes and queries\" (prepared): prepared aggregates and scans answer as the where: forms")
    func preparedQueries() async throws {
        let db = try Database.open(DatabaseConfiguration(.temporary))
        let guild: UInt64 = 10, user: UInt64 = 20, since: Int64 = 1_748_736_000
        try await db.write { tx in
            try tx.createTable(TableSchema("message_events",
                columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("user_id", .uint),
                          ColumnDefinition("character_count", .int), ColumnDefinition("created_at", .timestamp)],
                primaryKey: ["id"], indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])]))
            for id in 1...40 {
                try tx.insert(["id": .uint(UInt64(id)), "guild_id": .uint(guild - UInt64(id % 2)), "user_id": .uint(user + UInt64(id % 3)),
                               "character_count": .int(Int64(id)), "created_at": .timestamp(since - 20 + Int64(id))], into: "message_events")
            }
        }
        // README "Tables, indexes and queries" (prepared)
        // Once, for the process (a query is Sendable; it may serve any number of databases).
        let userStats = PreparedAggregate("message_events", equals: ["guild_id", "user_id"], range: "created_at",
                                          [.count, .sum("character_count")])
        let newest = PreparedScan("message_events", equals: ["guild_id"], range: "created_at",
                                  orderBy: [.descending("created_at")], reading: ["user_id", "created_at"])

        // Each run binds values, in the order the query names its columns.
        let (stats, page) = try await db.read { tx in
            (try tx.aggregate(userStats, equals: [.uint(guild), .uint(user)], from: .timestamp(since)),
             try tx.select(try tx.planScan(newest, equals: [.uint(guild)], from: .timestamp(since)),
                           orderBy: [.descending("created_at")], limit: 20))
        }
        // end of README "Tables, indexes and queries" (prepared)

        let (expectedStats, expectedPage) = try await db.read { tx in
            (try tx.aggregate("message_events", where: ["guild_id": .uint(guild), "user_id": .uint(user)],
                              range: ColumnRange("created_at", from: .timestamp(since)), [.count, .sum("character_count")]),
             try tx.select("message_events", where: ["guild_id": .uint(guild)], range: ColumnRange("created_at", from: .timestamp(since)),
                           orderBy: [.descending("created_at")], limit: 20))
        }
        // ids 20...40 are at or after `since`; the 11 even ones are guild 10, and of those 24, 30 and 36 are user 20.
        #expect(stats == expectedStats && stats.first?.int(0) == 3)
        #expect(try page.map { try $0.timestamp("created_at") } == expectedPage.map { try $0.timestamp("created_at") })
        #expect(page.count == 11)

        // README "Tables, indexes and queries" (prepared insert)
        let addMessage = PreparedInsert(into: "message_events",
                                        columns: ["id", "guild_id", "user_id", "character_count", "created_at"])
        try await db.write { tx in
            for (id, author, length) in [(41, user, 12), (42, user + 1, 7)] {
                try tx.insert([.uint(UInt64(id)), .uint(guild), .uint(author), .int(Int64(length)), .timestamp(since + 5)], addMessage)
            }
        }
        // end of README "Tables, indexes and queries" (prepared insert)

        let after = try await db.read { tx in try tx.aggregate(userStats, equals: [.uint(guild), .uint(user)], from: .timestamp(since)) }
        // Message 41 is user 20's fourth in the range, with 12 characters more than the three before.
        #expect(after.first?.int(0) == 4)
        #expect(after.first?.int(1) == (stats.first?.int(1)).map { $0 + 12 })
        try await db.close()
    }

    @Test("README \"Quick start for a bot\": the guild schema example runs and its reads see its writes")
    func quickStartForABot() async throws {
        // README "Quick start for a bot"
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))  // or .file("data/bot.gsdb")
        let db = store.database
        let guild: UInt64 = 81384788765712384, user: UInt64 = 80351110224678912    // snowflakes
        let now: Int64 = 1_748_736_000                                               // seconds since 1970

        try await db.write { tx in
            // Seed 000's createGuildWithOwner: user (kept if present), guild, owner membership — all or nothing.
            try tx.createGuild(Guild(id: guild, name: "Mocha ☕"), owner: User(id: user, username: "ann"))
            try tx.insert(Channel(id: 81384788765712385, guildID: guild, name: "general"))
            try tx.insert(MessageEvent(id: 1100000000000000001, guildID: guild, channelID: 81384788765712385,
                                       userID: user, characterCount: 42, createdAt: now))
            try tx.insert(User(id: 7, username: "bob"), onConflict: .ignore)      // insert-or-ignore seeding
            try tx.update("guilds", key: [.uint(guild)], set: ["name": "Mocha"])   // updated_at moves
            if var mocha = try tx.get(Guild.self, key: [.uint(guild)]) {
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
        // end of README "Quick start for a bot"

        #expect(board.map { [$0.userID, UInt64($0.messageCount), UInt64($0.rank)] } == [[user, 1, 1]])
        #expect(hourly.map { [$0.hour, $0.messages, $0.uniqueUsers] } == [[now - now % 3_600, 1, 1]])
        #expect([stats.messageCount, stats.totalCharacters, stats.attachments] == [1, 42, 0])
        #expect(removed.total == 0)
        let mocha = try await db.read { try $0.get(Guild.self, key: [.uint(guild)]) }
        #expect(mocha?.name == "Mocha" && mocha?.icon == "a_1f2e" && mocha?.ownerID == user)
        try await store.close()
    }

    @Test("README \"Rollups: maintained aggregates\": a rollup answers the same rows as the events")
    func rollups() async throws {
        let db = try Database.open(DatabaseConfiguration(.temporary))
        let guild: UInt64 = 1, since: Int64 = 1_748_736_000
        try await db.migrate([Migration("001_message_events") { tx in
            try tx.createTable(TableSchema("message_events",
                columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("user_id", .uint),
                          ColumnDefinition("character_count", .int, default: .value(.int(0))),
                          ColumnDefinition("created_at", .timestamp)],
                primaryKey: ["id"], indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])]))
        }])
        try await db.write { tx in
            for (i, (user, offset)) in [(UInt64(7), Int64(10)), (7, 20), (8, 3_700), (9, 3_800)].enumerated() {
                try tx.insert(["id": .uint(UInt64(i + 1)), "guild_id": .uint(guild), "user_id": .uint(user),
                               "character_count": .int(5), "created_at": .timestamp(since + offset)], into: "message_events")
            }
        }
        let withoutRollup = try await db.read { tx in
            try tx.aggregate("message_events", where: ["guild_id": .uint(guild)], range: ColumnRange("created_at", from: .timestamp(since)),
                             groupBy: [.hour("created_at")], [.count, .countDistinct("user_id")])
        }

        // README "Rollups: maintained aggregates"
        try await db.write { tx in
            try tx.addRollup(to: "message_events",        // builds it from the rows already stored
                RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")],
                                 [.countDistinct("user_id"), .sum("character_count")]))
        }
        // Answered from the rollup's whole hours plus the rows of the two partial edges: the same rows
        // as without it, at the cost of the hours in the range.
        let hourlyViaRollup = try await db.read { tx in
            try tx.aggregate("message_events", where: ["guild_id": .uint(guild)],
                             range: ColumnRange("created_at", from: .timestamp(since)),
                             groupBy: [.hour("created_at")], [.count, .countDistinct("user_id")])
        }
        // end of README "Rollups: maintained aggregates"

        #expect(hourlyViaRollup == withoutRollup)
        #expect(hourlyViaRollup.map(\.values) == [[.int(2), .int(1)], [.int(2), .int(2)]])

        // The first hour goes, by rewriting the table (the README's `deleteRewriting` example).
        let cutoff = since + 3_600
        let removed = try await db.write { tx in
            try tx.deleteRewriting(from: "message_events", range: ColumnRange("created_at", below: .timestamp(cutoff)))
        }
        #expect(removed == 2)
        let afterRewrite = try await db.read { tx in
            try tx.aggregate("message_events", where: ["guild_id": .uint(guild)],
                             range: ColumnRange("created_at", from: .timestamp(since)),
                             groupBy: [.hour("created_at")], [.count, .countDistinct("user_id")])
        }
        #expect(afterRewrite.map(\.values) == [[.int(2), .int(2)]])
        #expect(try await db.read { try $0.checkTables() } == [])
        try await db.close()
    }

    @Test("README \"Using the database\" (read-only): an opening beside the writer reads, follows and backs up its commits")
    func readOnlyOpening() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-readonly-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/backups", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bot = try Database.open(DatabaseConfiguration(.file(folder + "/bot.gsdb")))
        let notes = TableSchema("notes", columns: [ColumnDefinition("id", .uint), ColumnDefinition("text", .text)], primaryKey: ["id"])
        try await bot.migrate([Migration("001_notes") { tx in try tx.createTable(notes) }])
        try await bot.write { tx in
            try tx.insert(["id": .uint(1), "text": "hello"], into: "notes")
            try tx.insert(["id": .uint(2), "text": "world"], into: "notes")
        }

        // README "Using the database" (read-only)
        var configuration = DatabaseConfiguration(.file(folder + "/bot.gsdb"))
        configuration.readOnly = true                 // the bot keeps writing meanwhile
        let view = try Database.open(configuration)
        let count = try await view.read { try $0.count("notes") }       // as of the open
        let backup = try await view.backup(to: folder + "/backups/bot.gsbackup")  // a backup of a live bot
        try await view.close()
        // end of README "Using the database" (read-only)

        #expect(count == 2)
        #expect(backup.commitNumber == bot.statistics().commitNumber)
        let again = try Database.open(configuration)
        let pinned = try again.beginRead()
        try await bot.write { tx in try tx.insert(["id": .uint(3), "text": "later"], into: "notes") }
        #expect(try pinned.count("notes") == 2, "a snapshot keeps its view")
        pinned.end()
        #expect(try await again.read { try $0.count("notes") } == 3, "the next snapshot sees the later commit")
        await #expect(throws: GuildStoreError.readOnlyDatabase(path: folder + "/bot.gsdb")) {
            try await again.write { tx in try tx.insert(["id": .uint(4), "text": "no"], into: "notes") }
        }
        try await again.close()
        try await bot.close()
    }

    @Test("README \"Backups\": a full backup, an incremental, verify, list, restore to the latest and to a commit, prune")
    func backups() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-backups-\(UUID().uuidString)").path
        let backups = folder + "/backups", restored = folder + "/restored"
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = try Database.open(DatabaseConfiguration(.file(folder + "/bot.gsdb")))
        let notes = TableSchema("notes",
            columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("text", .text)],
            primaryKey: ["id"])
        try await db.migrate([Migration("001_notes") { tx in try tx.createTable(notes) }])
        try await db.write { tx in
            try tx.insert(["id": .uint(1), "guild_id": .uint(42), "text": "hello"], into: "notes")
            try tx.insert(["id": .uint(2), "guild_id": .uint(42), "text": "world"], into: "notes")
        }

        // README "Backups"
        // A full backup of the last commit (writers are not stopped), then an incremental on it.
        let sunday = try await db.backup(to: backups + "/bot-sunday.gsbackup")
        print(sunday.kind, sunday.commitNumber, sunday.fileBytes)     // full, the commit it holds, its size
        try await db.write { tx in try tx.insert(["id": .uint(3), "guild_id": .uint(42), "text": "later"], into: "notes") }
        let monday = try await db.backup(to: backups + "/bot-monday.gsbackup", since: sunday.path)

        let checked = try Database.verifyBackup(at: monday.path)     // reads it whole: checksums, manifest, frame
        let listed = try Database.backups(in: backups)              // from the headers, oldest commit first

        // The latest commit the backups hold, or exactly a commit (.commit(n)) or a time (.time(date)).
        let latest = try Database.restore(from: [backups], to: restored + "/bot.gsdb")
        let asOfSunday = try Database.restore(from: [backups], to: restored + "/sunday.gsdb", at: .commit(sunday.commitNumber))
        print(latest.commitNumber, latest.backupsApplied)            // monday's commit, [sunday, monday]

        // Keep the 7 newest restorable backups and every backup their chains need; remove the rest.
        let removed = try Database.pruneBackups(in: backups, keep: 7)
        // end of README "Backups"

        #expect(sunday.kind == .full && monday.kind == .incremental)
        #expect(monday.parentID == sunday.backupID && monday.commitNumber > sunday.commitNumber)
        #expect(checked.pagesStored == monday.pagesStored)
        #expect(listed.map(\.path) == [sunday.path, monday.path])
        #expect(latest.commitNumber == monday.commitNumber && latest.backupsApplied == [sunday.path, monday.path])
        #expect(asOfSunday.commitNumber == sunday.commitNumber && asOfSunday.backupsApplied == [sunday.path])
        #expect(removed.isEmpty, "both are kept: monday needs sunday")
        try await db.close()
        for (path, count) in [(latest.path, 3), (asOfSunday.path, 2)] {
            let copy = try Database.open(DatabaseConfiguration(.file(path), createIfMissing: false))
            #expect(try await copy.read { try $0.count("notes") } == count)
            try await copy.close()
        }
    }

    @Test("README \"Continuous archiving and point-in-time restore\": archive, undo a mistake by restoring the commit before it")
    func archiving() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-archive-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let notes = TableSchema("notes",
            columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("text", .text)],
            primaryKey: ["id"])
        // README "Continuous archiving and point-in-time restore"
        let archive = folder + "/archive"
        let db = try Database.open(DatabaseConfiguration(
            .file(folder + "/bot.gsdb"),
            archive: ArchiveConfiguration(directory: archive,          // created when missing
                                          newBaseEvery: .seconds(86_400), newBaseAfterBytes: 1 << 30)))
        try await db.migrate([Migration("001_notes") { tx in try tx.createTable(notes) }])
        try await db.write { tx in try tx.insert(["id": .uint(1), "guild_id": .uint(42), "text": "hello"], into: "notes") }
        let beforeMistake = db.statistics().commitNumber             // commits are numbered over the database's life
        try await db.write { tx in try tx.delete(from: "notes", key: [.uint(1)]) }
        try await db.close()                                         // archives what is still in the log

        print(try Database.restorableRanges(from: [archive]))        // e.g. [0...3]
        let undone = try Database.restore(from: [archive], to: folder + "/undone.gsdb", at: .commit(beforeMistake))
        // or at: .time(date): the last commit made at or before that moment
        // end of README "Continuous archiving and point-in-time restore"

        #expect(undone.commitNumber == beforeMistake)
        #expect(try Database.restorableRanges(from: [archive]).last?.upperBound == beforeMistake + 1)
        let copy = try Database.open(DatabaseConfiguration(.file(undone.path), createIfMissing: false))
        #expect(try await copy.read { try $0.count("notes") } == 1)
        try await copy.close()
    }
}
