import ArgumentParser
import Foundation
import GuildStore
import GuildStoreEngine

/// `guildstore`: the operator's command line. Every command opens the database at `--db`
/// (created on first use, with the guild schema's migrations applied), prints its results on
/// standard output and its errors on standard error with a non-zero exit.
@main
struct GuildStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guildstore",
        abstract: "Operate a GuildStore database: seed, import, ingest, query, maintain.",
        subcommands: [
            DemoCommand.self, BenchCommand.self, SeedCommand.self, ImportSQLiteCommand.self, ExportSQLiteCommand.self, IngestCommand.self,
            QueryCommand.self, RetentionCommand.self, StatsCommand.self, CheckCommand.self, CheckpointCommand.self,
            VacuumCommand.self,
        ])
}

/// `--db PATH`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The database file (created on first use).")
    var db: String = "./data/guildstore.gsdb"

    /// Opens the database, creating its folder if needed.
    func open(synchronous: SynchronousMode = .normal) async throws -> GuildDatabase {
        let folder = (db as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        return try await GuildDatabase.open(DatabaseConfiguration(.file(db), synchronous: synchronous))
    }
}

/// Runs `body` with the store and closes it, whether `body` throws or not.
func withStore<T>(_ options: DatabaseOptions, synchronous: SynchronousMode = .normal,
                  _ body: (GuildDatabase) async throws -> T) async throws -> T {
    let store = try await options.open(synchronous: synchronous)
    do {
        let value = try await body(store)
        try await store.close()
        return value
    } catch {
        try? await store.close()
        throw error
    }
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// The current time, seconds since 1970.
func currentTime() -> Int64 {
    Int64(Date().timeIntervalSince1970)
}
