@_exported import GuildStoreEngine

/// A GuildStore database with the guild schema: what a bot links.
///
/// ```swift
/// let store = try await GuildDatabase.open(DatabaseConfiguration(.file("bot.gsdb")))
/// try await store.database.write { tx in
///     try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "owner"))
///     try tx.insert(Channel(id: 2, guildID: 1, name: "general"))
///     try tx.insert(MessageEvent(id: 100, guildID: 1, channelID: 2, userID: 7, createdAt: now))
/// }
/// let top = try await store.database.read { try $0.leaderboard(guild: 1, since: now - 86_400, limit: 10) }
/// try await store.close()
/// ```
///
/// Every query pattern is a method of `Transaction` (so it runs inside `read { }` on a snapshot,
/// or inside `write { }` seeing that transaction's own changes); the writes are methods of
/// `WriteTransaction`.
public final class GuildDatabase: Sendable {
    /// The database itself: `read`, `write`, `changes`, maintenance.
    public let database: Database

    init(database: Database) {
        self.database = database
    }

    /// Opens (creating if needed) the database and applies the schema's migrations not yet
    /// applied (`GuildTables.migrations`).
    public static func open(_ configuration: DatabaseConfiguration) async throws -> GuildDatabase {
        let database = try Database.open(configuration)
        do {
            try await database.migrate(GuildTables.migrations)
        } catch {
            try? await database.close()
            throw error
        }
        return GuildDatabase(database: database)
    }

    /// Closes the database (see `Database.close`).
    public func close() async throws {
        try await database.close()
    }
}
