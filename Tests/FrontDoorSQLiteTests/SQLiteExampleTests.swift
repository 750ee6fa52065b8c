import Foundation
import GuildStore
import GuildStoreSQLite
import Testing

/// README's "SQLite import and export" example (the GuildStoreSQLite DocC landing page makes
/// the same calls), run as a bot would run it: `import GuildStore` and `import GuildStoreSQLite`, public API
/// only (this target has no package access).
@Suite("SQLite import and export, as README shows it")
struct SQLiteExampleTests {
    @Test("README: import a seed 004 SQLite file, export it with TEXT and with integer ids")
    func readmeExample() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-example-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("exports"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        // The SQLite file a bot ran on: made here by exporting a small guild.
        let source = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        try await source.database.write { tx in
            try tx.createGuild(Guild(id: 81384788765712384, name: "Mocha"), owner: User(id: 80351110224678912, username: "ann"))
            try tx.insert(Channel(id: 81384788765712385, guildID: 81384788765712384, name: "general"))
            try tx.insert(MessageEvent(id: 1100000000000000001, guildID: 81384788765712384, channelID: 81384788765712385,
                                       userID: 80351110224678912, characterCount: 42, createdAt: 1_748_000_000))
        }
        let written = try await SQLiteExport.export(from: source.database, to: path("data/stats.db"))
        try await source.close()

        // README "SQLite import and export"
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(path("data/bot.gsdb"))))
        let summary = try await SQLiteImport.import(from: path("data/stats.db"), into: store.database) { p in
            print("\(p.table): \(p.tableRows)/\(p.tableTotal)")             // after each committed batch
        }
        try await SQLiteExport.export(from: store.database, to: path("exports/stats.db"))            // TEXT ids, like Mocha
        try await SQLiteExport.export(from: store.database, to: path("check.db"), ids: .integer)     // numeric ids for SQL checks
        // end of README "SQLite import and export"

        #expect(summary.totalRows == written.totalRows)
        #expect(summary["message_events"] == 1)
        let board = try await store.database.read { tx in
            try tx.leaderboard(guild: 81384788765712384, since: 0, limit: 10)
        }
        #expect(board.map(\.userID) == [80351110224678912])
        try await store.close()
        #expect(FileManager.default.fileExists(atPath: path("exports/stats.db")))
        #expect(FileManager.default.fileExists(atPath: path("check.db")))
        // An existing file is never overwritten without `replace: true`.
        let again = try await GuildDatabase.open(DatabaseConfiguration(.file(path("data/bot.gsdb"))))
        await #expect(throws: GuildSQLiteError.self) {
            try await SQLiteExport.export(from: again.database, to: path("check.db"))
        }
        try await again.close()
    }
}
