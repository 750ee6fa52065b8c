import GuildStoreEngine

/// The three contenders of `guildstore bench`, in report order: GuildStore (whose speed the
/// ratios are about), SQLite with seed 004's indexes (whose answers are the specification),
/// SQLite with the covering indexes too.
@_spi(Benchmarks) public enum BenchContenders {
    @_spi(Benchmarks) public static let guildStoreKey = "guildstore"
    @_spi(Benchmarks) public static let seedKey = "sqlite_seed"
    @_spi(Benchmarks) public static let seedName = "SQLite (seed indexes)"
    @_spi(Benchmarks) public static let coveringKey = "sqlite_covering"
    package static let coveringName = "SQLite (covering indexes)"

    /// Index of the contender whose speed the ratios measure.
    package static let measured = 0
    /// Index of the contender whose answers the others must equal.
    package static let reference = 1

    /// What each contender is, for the report.
    package static let descriptions: [ContenderDescription] = [
        ContenderDescription(key: guildStoreKey, name: "GuildStore",
                             details: "the public API: typed query methods inside Database.read / write"),
        ContenderDescription(key: seedKey, name: seedName,
                             details: "SQLite C API, prepared statements; seed 004's schema (integer ids), indexes and pragmas"),
        ContenderDescription(key: coveringKey, name: coveringName,
                             details: "the same file plus the covering indexes GuildStore declares, then ANALYZE"),
    ]

    /// The contenders on `database` and the twin's two files.
    @_spi(Benchmarks) public static func make(database: Database, twin: SQLiteTwin) throws -> [any BenchContender] {
        [GuildStoreContender(database: database),
         try SQLiteContender(key: seedKey, name: seedName, path: twin.seedPath),
         try SQLiteContender(key: coveringKey, name: coveringName, path: twin.coveringPath, indexStatements: CoveringIndexes.statements)]
    }

    /// GuildStore alone, on `database` (the Backup suite's restored copy).
    @_spi(Benchmarks) public static func guildStore(database: Database) -> any BenchContender {
        GuildStoreContender(database: database)
    }

    /// SQLite with seed 004's pragmas on the file at `path` as it is (no indexes added): the
    /// Backup suite's restored SQLite copies.
    @_spi(Benchmarks) public static func sqlite(path: String, key: String, name: String) throws -> any BenchContender {
        try SQLiteContender(key: key, name: name, path: path)
    }
}

/// A contender as the report names it.
package struct ContenderDescription: Sendable, Hashable, Codable {
    package var key: String
    package var name: String
    package var details: String
}
