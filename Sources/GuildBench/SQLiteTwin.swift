import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreSQLite
@_spi(Benchmarks) import GuildStoreEngine

/// The two SQLite files the benchmark compares with, holding exactly the GuildStore
/// database's rows: `seed` is `SQLiteExport`'s file with integer ids (seed 004's schema and
/// indexes) switched to WAL mode; `covering` is a copy of it given `CoveringIndexes`.
///
/// Invariants:
/// - (BN-2) A file is reused only when it holds as many rows in every guild table as the
///   GuildStore database, with integer ids, in WAL mode (and, for `covering`, with every
///   covering index); otherwise it is written anew. (The answers are checked equal before any
///   timing anyway, so a stale file would stop the run rather than skew it.)
/// - (BN-3) `covering` is rebuilt whenever `seed` is.
@_spi(Benchmarks) public struct SQLiteTwin: Sendable {
    @_spi(Benchmarks) public var seedPath: String
    @_spi(Benchmarks) public var coveringPath: String

    package init(seedPath: String, coveringPath: String) {
        self.seedPath = seedPath
        self.coveringPath = coveringPath
    }

    /// The files beside a GuildStore database at `databasePath`: `NAME.sqlite` and
    /// `NAME.covering.sqlite`.
    @_spi(Benchmarks) public init(besideDatabase databasePath: String) {
        let base = databasePath.hasSuffix(".gsdb") ? String(databasePath.dropLast(5)) : databasePath
        self.init(seedPath: base + ".sqlite", coveringPath: base + ".covering.sqlite")
    }

    /// What `make` did.
    @_spi(Benchmarks) public struct Outcome: Sendable, Hashable {
        package var exported: Bool
        package var coveringBuilt: Bool
        package var seconds: Double
    }

    /// Makes both files hold `database`'s rows, reusing what matches (BN-2, BN-3); `status`
    /// hears what it is doing.
    @_spi(Benchmarks) public func make(from database: Database, status: (String) -> Void = { _ in }) async throws -> Outcome {
        let start = ContinuousClock.now
        let counts = try await database.read { tx in try GuildTables.all.map { ($0.name, try tx.count($0.name)) } }
        var exported = false
        if try !Self.matches(seedPath, counts: counts, indexes: []) {
            status("exporting to SQLite (\(seedPath))")
            try DatabaseFiles.remove(seedPath)
            try await SQLiteExport.export(from: database, to: seedPath, ids: .integer, replace: true)
            let connection = try SQLiteConnection(path: seedPath, mode: .readWrite)
            try connection.execute("PRAGMA journal_mode = WAL")
            exported = true
        }
        var built = false
        if try exported || !Self.matches(coveringPath, counts: counts, indexes: CoveringIndexes.names) {  // (BN-3)
            status("building the covering-index copy (\(coveringPath))")
            try Self.checkpoint(seedPath)
            try DatabaseFiles.copy(seedPath, to: coveringPath)
            let connection = try SQLiteConnection(path: coveringPath, mode: .readWrite)
            try connection.execute("PRAGMA journal_mode = WAL")
            for statement in CoveringIndexes.statements { try connection.execute(statement) }
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            built = true
        }
        return Outcome(exported: exported, coveringBuilt: built, seconds: seconds(since: start))
    }

    /// Whether the SQLite file at `path` has `counts` rows per table, integer ids, WAL mode
    /// and every index of `indexes` (BN-2).
    static func matches(_ path: String, counts: [(String, Int64)], indexes: [String]) throws -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWrite)
            guard try connection.query("PRAGMA journal_mode") == [[.text("wal")]] else { return false }
            let idTypes = try connection.query("SELECT DISTINCT typeof(id) FROM guilds")
            guard idTypes.isEmpty || idTypes == [[.text("integer")]] else { return false }
            for (table, count) in counts {
                guard try connection.query("SELECT COUNT(*) FROM \"\(table)\"") == [[.integer(count)]] else { return false }
            }
            let present = Set(try connection.query("SELECT name FROM sqlite_master WHERE type = 'index'").compactMap { row -> String? in
                if case .text(let name)? = row.first { name } else { nil }
            })
            return indexes.allSatisfy(present.contains)
        } catch is SQLiteError {
            return false  // not a SQLite file, or not ours: written anew
        }
    }

    /// Moves everything in `path`'s WAL into the file itself and empties the WAL.
    static func checkpoint(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
