import Foundation
import GuildStore
import GuildStoreSQLite
import GuildStoreEngine

/// Throwaway copies of the three databases for the write workloads (durable commits,
/// retention, ...), in a folder of their own that `remove()` deletes: the databases the reads
/// are timed on are never written. Each contender makes the files of its bulk ingest and
/// open-with-WAL runs in a folder of its own inside it (`work-KEY`).
///
/// Each copy is the original's file after a checkpoint that empties its log (plus the log,
/// should a reader have kept the checkpoint from emptying it: opening the copy recovers it).
/// The copies open with every commit synced, GuildStore `.full` and SQLite `synchronous =
/// FULL`, so the write workloads compare durable writes with durable writes.
@_spi(Benchmarks) public final class ScratchCopies {
    package let folder: String
    package let guildStorePath: String
    package let seedPath: String
    package let coveringPath: String
    private var store: GuildDatabase?

    /// Copies the GuildStore database at `databasePath` (open as `database`) and the twin's
    /// files into a new `folder`.
    @_spi(Benchmarks) public init(database: Database, databasePath: String, twin: SQLiteTwin, folder: String) async throws {
        self.folder = folder
        guildStorePath = folder + "/guildstore.gsdb"
        seedPath = folder + "/seed.sqlite"
        coveringPath = folder + "/covering.sqlite"
        if FileManager.default.fileExists(atPath: folder) { try DatabaseFiles.removeFolder(folder) }
        try DatabaseFiles.makeFolder(folder)
        _ = try await database.checkpoint(.truncate)
        try DatabaseFiles.copy(databasePath, to: guildStorePath)
        for (source, target) in [(twin.seedPath, seedPath), (twin.coveringPath, coveringPath)] {
            try SQLiteTwin.checkpoint(source)
            try DatabaseFiles.copy(source, to: target)
        }
    }

    /// The three contenders on the copies, durable.
    @_spi(Benchmarks) public func contenders() async throws -> [any BenchContender] {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(guildStorePath), synchronous: .full))
        self.store = store
        func work(_ key: String) -> String { folder + "/work-" + key }
        return [GuildStoreContender(database: store.database, workFolder: work(BenchContenders.guildStoreKey)),
                try SQLiteContender(key: BenchContenders.seedKey, name: BenchContenders.seedName, path: seedPath,
                                    pragmas: SQLitePragmas.durable, workFolder: work(BenchContenders.seedKey)),
                try SQLiteContender(key: BenchContenders.coveringKey, name: BenchContenders.coveringName, path: coveringPath,
                                    pragmas: SQLitePragmas.durable, indexStatements: CoveringIndexes.statements,
                                    workFolder: work(BenchContenders.coveringKey))]
    }

    /// Closes the GuildStore copy and deletes the folder (SQLite contenders must be released
    /// first).
    @_spi(Benchmarks) public func remove() async throws {
        if let store { try await store.close() }
        store = nil
        try DatabaseFiles.removeFolder(folder)
    }
}
