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

    /// What `open` does with the schema's migrations (`GuildTables.migrations`) that the
    /// database has not applied.
    ///
    /// ```swift
    /// let store = try await GuildDatabase.open(DatabaseConfiguration(.file("data/bot.gsdb")),
    ///                                          migrations: .requireApplied)  // a read-only tool
    /// let board = try await store.database.read { tx in try tx.leaderboard(guild: guild, since: now - 86_400, limit: 10) }
    /// ```
    public enum MigrationPolicy: Sendable {
        /// Applies them, each in a write transaction of its own.
        case apply
        /// Throws `.migrationsPending` naming them: for a reader that must not write.
        case requireApplied
    }

    /// Opens the database (creating it if missing, unless `configuration.createIfMissing` is
    /// false: then `.databaseNotFound`) and deals with the migrations it lacks as `migrations`
    /// says. A database with every migration applied is only read: opening it writes nothing.
    public static func open(_ configuration: DatabaseConfiguration,
                            migrations: MigrationPolicy = .apply) async throws -> GuildDatabase {
        let database = try Database.open(configuration)
        do {
            let applied = Set(try await database.read { try $0.appliedMigrations() }.map(\.name))
            let pending = GuildTables.migrations.map(\.name).filter { !applied.contains($0) }
            if !pending.isEmpty {
                guard migrations == .apply else {
                    let path = switch configuration.location {
                    case .file(let path): path
                    case .temporary: "a temporary database"
                    }
                    throw GuildStoreError.migrationsPending(path: path, names: pending)
                }
                try await database.migrate(GuildTables.migrations)
            }
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
