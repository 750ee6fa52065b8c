import ArgumentParser
import Foundation
import GuildStore
import GuildStoreEngine

/// `guildstore`: the operator's command line. Every command works on the database at `--db`,
/// prints its results on standard output and its errors on standard error with a non-zero exit.
///
/// Only the commands that bring data in create a database (with the guild schema's migrations
/// applied): `demo`, `seed`, `ingest`, `import-sqlite` (and `bench`, on its own file), and
/// `restore`, which writes one from backups (replacing an existing one only with `--force`).
/// Every other command on a path with no database exits 1 with "no database at PATH" and leaves
/// nothing behind, so a mistyped `--db` is never answered from an empty database. The commands
/// that only read (`query`, `stats`, `export-sqlite`, `check`, `backup`) write nothing to the
/// database; `backup list` and `backup verify` read backup files and no database.
@main
struct GuildStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guildstore",
        abstract: "Operate a GuildStore database: seed, import, ingest, query, maintain, back up, restore.",
        discussion: """
            demo, seed, ingest and import-sqlite create the database at --db when there is none; \
            restore writes it from backups (an existing one only with --force). \
            Every other command needs one there and otherwise exits 1 with "no database at PATH", creating nothing. \
            query, stats, export-sqlite, check and backup only read the database: they write nothing to it \
            (backup writes its backup file; backup list and backup verify read backup files only); query, stats and export-sqlite \
            refuse a database whose schema migrations are not all applied (guildstore migrate applies them). \
            A database whose write-ahead log lost commits behind damage opens as of the damage and refuses writes \
            (check exits 1) until guildstore recover saves the log aside.
            """,
        subcommands: [
            DemoCommand.self, BenchCommand.self, SeedCommand.self, ImportSQLiteCommand.self, ExportSQLiteCommand.self, IngestCommand.self,
            QueryCommand.self, RetentionCommand.self, StatsCommand.self, CheckCommand.self, CheckpointCommand.self,
            VacuumCommand.self, MigrateCommand.self, RecoverCommand.self, BackupCommand.self, ArchiveCommand.self, RestoreCommand.self,
        ])
}

/// `--db PATH`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The database file. demo, seed, ingest and import-sqlite create it; other commands need it to exist.")
    var db: String = "./data/guildstore.gsdb"

    @Option(name: .long, help: "Seconds a command that writes waits while another process holds the database (then exits 1 naming it). Reading commands do not wait for a writer.")
    var busyTimeout: Double = 0.2

    func validate() throws {
        guard busyTimeout >= 0, busyTimeout.isFinite else { throw ValidationError("--busy-timeout must be a number of seconds, 0 or more") }
    }

    /// The database at `db` with these options.
    func configuration(synchronous: SynchronousMode = .normal, createIfMissing: Bool, readOnly: Bool) -> DatabaseConfiguration {
        var configuration = DatabaseConfiguration(.file(db), synchronous: synchronous, createIfMissing: createIfMissing)
        configuration.readOnly = readOnly
        configuration.busyTimeout = .milliseconds(Int64((busyTimeout * 1_000).rounded()))
        return configuration
    }
}

/// The help text of the commands that create a database.
let creatingDiscussion = "Creates the database (and its folder) when there is none."

/// The help text of the commands that need a database and may write to it.
let existingDiscussion = "Needs a database at --db (otherwise exits 1 with \"no database at PATH\", creating nothing)."

/// The help text of the commands that read the guild tables and nothing else.
let readOnlyDiscussion = """
    Reads only: needs a database at --db with every schema migration applied (otherwise exits 1 with \
    "no database at PATH", or naming the migrations), and writes nothing to it. Opens it read-only, so it works \
    while a bot has the database open, on the database as of the moment it opened.
    """

/// What a command may do to the database at `--db`.
enum StoreAccess {
    /// Creates it (and its folder) when there is none; applies the migrations it lacks.
    case create
    /// Needs it to exist; applies the migrations it lacks (a command that writes anyway).
    case write
    /// Needs it to exist with every migration applied, and writes nothing to it: opens it
    /// read-only (RO-1), so it works beside a bot that has the database open.
    case read
}

/// Runs `body` with the guild database at `--db`, opened as `access` allows, and closes it,
/// whether `body` throws or not.
func withStore<T>(_ options: DatabaseOptions, _ access: StoreAccess, synchronous: SynchronousMode = .normal,
                  _ body: (GuildDatabase) async throws -> T) async throws -> T {
    let path = options.db
    if access == .create {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }
    let configuration = options.configuration(synchronous: synchronous, createIfMissing: access == .create, readOnly: access == .read)
    let store: GuildDatabase
    do {
        store = try await GuildDatabase.open(configuration, migrations: access == .read ? .requireApplied : .apply)
    } catch let error as GuildStoreError {
        guard case .migrationsPending = error else { throw error }
        report("\(error); `guildstore migrate --db \(path)` applies them")
        throw ExitCode.failure
    }
    return try await closing(store.database) { try await body(store) }
}

/// Runs `body` with the database at `--db`, which must exist, as the engine sees it: any
/// GuildStore database, whatever migrations it has; nothing is migrated. Closes it after.
/// `readOnly` opens it read-only (RO-1): beside a bot that has it open, on its last commit.
func withDatabase<T>(_ options: DatabaseOptions, readOnly: Bool = false, _ body: (Database) async throws -> T) async throws -> T {
    let database = try Database.open(options.configuration(createIfMissing: false, readOnly: readOnly))
    return try await closing(database) { try await body(database) }
}

/// Runs `body`, then closes `database`, whether `body` throws or not.
private func closing<T>(_ database: Database, _ body: () async throws -> T) async throws -> T {
    do {
        let value = try await body()
        try await database.close()
        return value
    } catch {
        try? await database.close()
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
