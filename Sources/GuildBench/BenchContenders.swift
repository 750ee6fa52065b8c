import GuildStoreEngine

/// The three contenders of `guildstore bench`, in report order: GuildStore (whose speed the
/// ratios are about), SQLite with seed 004's indexes (whose answers are the specification),
/// SQLite with the covering indexes too.
public enum BenchContenders {
    public static let guildStoreKey = "guildstore"
    public static let seedKey = "sqlite_seed"
    public static let seedName = "SQLite (seed indexes)"
    public static let coveringKey = "sqlite_covering"
    public static let coveringName = "SQLite (covering indexes)"

    /// Index of the contender whose speed the ratios measure.
    public static let measured = 0
    /// Index of the contender whose answers the others must equal.
    public static let reference = 1

    /// What each contender is, for the report.
    public static let descriptions: [ContenderDescription] = [
        ContenderDescription(key: guildStoreKey, name: "GuildStore",
                             details: "the public API: typed query methods inside Database.read / write"),
        ContenderDescription(key: seedKey, name: seedName,
                             details: "SQLite C API, prepared statements; seed 004's schema (integer ids), indexes and pragmas"),
        ContenderDescription(key: coveringKey, name: coveringName,
                             details: "the same file plus the covering indexes GuildStore declares, then ANALYZE"),
    ]

    /// The contenders on `database` and the twin's two files.
    public static func make(database: Database, twin: SQLiteTwin) throws -> [any BenchContender] {
        [GuildStoreContender(database: database),
         try SQLiteContender(key: seedKey, name: seedName, path: twin.seedPath),
         try SQLiteContender(key: coveringKey, name: coveringName, path: twin.coveringPath, indexStatements: CoveringIndexes.statements)]
    }
}

/// A contender as the report names it.
public struct ContenderDescription: Sendable, Hashable, Codable {
    public var key: String
    public var name: String
    public var details: String
}
