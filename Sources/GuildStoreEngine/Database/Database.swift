import Dispatch
import Foundation
import Logging

/// The public face of GuildStore: a database a bot calls from many tasks at once.
///
/// ```swift
/// let db = try Database.open(DatabaseConfiguration(.file("data/bot.gsdb")))
/// try await db.migrate([Migration("001_notes") { tx in try tx.createTable(Note.schema) }])
/// try await db.write { tx in try tx.insert(Note(id: 1, text: "hello")) }
/// let note = try await db.read { snapshot in try snapshot.get(Note.self, key: [.uint(1)]) }
/// try await db.close()
/// ```
///
/// - `write` runs on the writer actor, one transaction at a time, and returns once the commit
///   is as durable as `synchronous` demands. Writers queued behind a sync share the next one.
/// - `read` runs on the caller's task, concurrently with any number of readers and with the
///   writer, on a snapshot consistent across every tree; it never waits for the writer.
/// - Checkpoints run in the background; `changes(in:)` streams what each commit touched.
///
/// Opening a file that is already open in this process returns the same database (one engine,
/// one writer); another process gets `GuildStoreError.locked`.
public final class Database: Sendable {
    package let engine: StorageEngine
    public let configuration: DatabaseConfiguration
    let writer: WriterActor
    let committer: GroupCommitter
    let checkpointer: BackgroundCheckpointer
    private let registryKey: String?
    private let temporaryDirectory: String?
    private let opens = Locked(1)

    private static let registry = Locked<[String: WeakDatabase]>([:])

    private init(engine: StorageEngine, configuration: DatabaseConfiguration, registryKey: String?, temporaryDirectory: String?) {
        self.engine = engine
        self.configuration = configuration
        self.registryKey = registryKey
        self.temporaryDirectory = temporaryDirectory
        writer = WriterActor(engine: engine)
        committer = GroupCommitter(engine: engine)
        checkpointer = BackgroundCheckpointer(
            engine: engine, writer: writer, threshold: configuration.checkpointThreshold,
            readerWarningAge: configuration.readerWarningAge, logger: configuration.logger)
    }

    /// Opens the database, recovering committed work from its WAL. A missing one is created,
    /// unless `configuration.createIfMissing` is false: then `.databaseNotFound`. Commits
    /// recovery lost behind damage to synced frames are logged as a warning
    /// (`StorageEngine.walRecoveryWarning`) and the database refuses writes (WALR-3); a torn
    /// tail it discarded is logged at info level (`walRecoveryNotice`).
    public static func open(_ configuration: DatabaseConfiguration) throws -> Database {
        switch configuration.location {
        case .temporary:
            guard !configuration.readOnly else {
                throw GuildStoreError.invalidConfiguration("a temporary database cannot be opened read-only")
            }
            let directory = try makeTemporaryDirectory()
            do {
                var engineConfiguration = configuration.engineConfiguration
                engineConfiguration.createIfMissing = true  // a temporary database is always new
                let engine = try StorageEngine.open(path: directory + "/temporary.gsdb",
                                                    configuration: engineConfiguration,
                                                    fileSystem: configuration.fileSystem)
                return Database(engine: engine, configuration: configuration, registryKey: nil, temporaryDirectory: directory)
            } catch {
                try? FileManager.default.removeItem(atPath: directory)
                throw error
            }
        case .file(let path):
            // A read-only opening is an engine of its own (RO-1), never the writable one.
            let key = (configuration.readOnly ? "read-only:" : "") + canonicalPath(path)
            return try registry.withLock { databases in
                if let existing = databases[key]?.database, existing.retain() { return existing }
                let engine = try StorageEngine.open(path: path, configuration: configuration.engineConfiguration,
                                                    fileSystem: configuration.fileSystem)
                if let warning = engine.walRecoveryWarning { configuration.logger.warning("\(warning)") }
                // Beside a writer, a read-only opening meets the owner's append in progress as a
                // torn tail: nothing to report.
                if !configuration.readOnly, let notice = engine.walRecoveryNotice { configuration.logger.info("\(notice)") }
                let database = Database(engine: engine, configuration: configuration, registryKey: key, temporaryDirectory: nil)
                do {
                    try database.startArchive()
                    if configuration.archive != nil {
                        database.checkpointer.afterRestart.withLock { $0 = { [weak database] in database?.archiveMaintenance() } }
                    }
                } catch {
                    try? engine.close()
                    throw error
                }
                databases[key] = WeakDatabase(database: database)
                return database
            }
        }
    }

    // MARK: Transactions

    /// Runs `body` in a write transaction on the writer actor and commits it; returns after the
    /// commit is durable (under `.full`, synced). A thrown error or a cancelled task rolls the
    /// whole transaction back.
    @discardableResult
    public func write<T: Sendable>(_ body: sending (WriteTransaction) throws -> T) async throws -> T {
        let (value, sequence) = try await writer.perform(body)
        if let sequence {
            try await committer.waitUntilDurable(sequence)
            checkpointer.commitHappened()
        }
        return value
    }

    /// Applies the migrations of `migrations` not yet applied, in order, each in a write
    /// transaction of its own (MG-1, MG-2 in Migrations.swift); returns the names this run applied.
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [String] {
        try Migration.checkNamesAreUnique(migrations)
        var applied: [String] = []
        for migration in migrations {
            if try await write({ tx in try tx.apply(migration) }) { applied.append(migration.name) }
        }
        return applied
    }

    /// Runs `body` on a snapshot of the last durable commit, on the caller's task.
    nonisolated(nonsending)
    public func read<T>(_ body: (ReadTransaction) throws -> T) async throws -> T {
        try engine.read(body)
    }

    /// Pins a snapshot for longer work; `end()` it when done.
    public func beginRead() throws -> ReadTransaction {
        try engine.beginRead()
    }

    // MARK: Maintenance

    /// A checkpoint now: copies committed pages from the log into the database file.
    /// `.passive` copies what no open snapshot still needs and never waits; `.full` waits up to
    /// `timeout` for snapshots older than the last commit, copies everything and restarts the
    /// log; `.truncate` does the same, then shrinks the log file to zero bytes. The copying,
    /// and the wait, run off the cooperative pool and alongside writers; the log restart then
    /// takes one turn of the writer actor.
    @discardableResult
    public func checkpoint(_ mode: CheckpointMode = .passive, timeout: Duration = .seconds(5)) async throws -> CheckpointResult {
        let engine = self.engine
        let copied = try await Self.offload { try engine.checkpoint(mode: mode, timeout: timeout, restart: .never) }
        var finished = try await writer.checkpoint(mode)
        // A background restart may have come between the two steps: the log restarted all
        // the same.
        if copied.framesInWAL > 0 && finished.framesInWAL == 0 && !finished.blockedByReaders {
            finished.walRestarted = true
        }
        finished.framesInWAL = copied.framesInWAL
        finished.framesCheckpointed = max(finished.framesCheckpointed, copied.framesCheckpointed)
        return finished
    }

    /// Compacts the file, in the writer's turn: every table and index is copied in key order
    /// into a new file with full leaves and no free pages, which then replaces the old one by
    /// an atomic rename (a crash leaves one or the other, never a mix). Refuses a damaged
    /// database (`.integrityCheckFailed`, naming the damage) and, with snapshots open,
    /// answers `.busy`.
    @discardableResult
    public func vacuum() async throws -> VacuumResult {
        let result = try await writer.vacuum()
        // AR-2: the vacuumed file is a new file; the archive needs a base of it.
        if configuration.archive != nil { archiveMaintenance() }
        return result
    }

    /// Sizes and counters of the file, the WAL, commits and readers; cheap to read.
    public func statistics() -> EngineStatistics {
        engine.statistics()
    }

    /// Walks every page of a snapshot of the last commit and reports what is inconsistent:
    /// checksums, key order and bounds in every tree, overflow chains, the free list, and
    /// pages reached twice or never. Like `read`, it runs on the caller's task alongside the
    /// writer. `isOK` on the report is the one-line answer; `Transaction.checkTables()`
    /// compares every index with its rows.
    nonisolated(nonsending)
    public func check() async throws -> IntegrityReport {
        try engine.check()
    }

    /// Committed change sets that wrote rows of any of `tables` (nil: every commit), in commit
    /// order, each delivered once it is durable and visible. Rolled-back work never appears.
    /// The stream ends when the database closes or the consumer stops iterating.
    ///
    /// ```swift
    /// for await change in db.changes(in: ["message_events"]) { refreshLeaderboard(change.tables) }
    /// ```
    public func changes(in tables: Set<String>? = nil) -> AsyncStream<ChangeSet> {
        engine.changes(in: tables.map { Set($0.map(TableSchema.rowTreeName)) })
    }

    /// As `changes(in:)`, by tree name (the byte-level trees of the engine's tests and tools).
    package func changes(inTrees trees: Set<String>?) -> AsyncStream<ChangeSet> {
        engine.changes(in: trees)
    }

    /// Closes this opening. The engine closes when the last opening of the file closes;
    /// `.busy` while transactions are open. A temporary database is deleted.
    ///
    /// Invariant (DB-2): a database stays registered (the opening a later `open` of its path
    /// returns) exactly while its engine is open. A close that fails releasing the engine's
    /// files still closes it, unregisters it, and then throws that error.
    public func close() async throws {
        let last = opens.withLock { count -> Bool in
            count -= 1
            return count == 0
        }
        guard last else { return }
        await checkpointer.stop()
        // AR-1: a clean close archives the commits still in the log (best effort: a reader
        // still open, or a failure, leaves them for the next restart to archive); AR-3: so
        // does one with an archiver of another process behind its last commit.
        if configuration.archive != nil || (!configuration.readOnly && engine.archiverBehindLastCommit) {
            _ = try? await writer.checkpoint(.full)
        }
        var releaseError: (any Error)?
        do {
            try engine.close()
        } catch {
            // DB-2: only a close the engine refused (`.busy`) leaves this opening open. One
            // that failed releasing a file (an I/O error, the files of a crashed process)
            // closed the engine all the same: unregister below, or every later open of the
            // path in this process would get back a database that answers `.closed`.
            guard engine.isClosed else {
                opens.withLock { $0 += 1 }
                checkpointer.resume()
                throw error
            }
            releaseError = error
        }
        if let registryKey {
            Self.registry.withLock { databases in
                if databases[registryKey]?.database === self { databases[registryKey] = nil }
            }
        }
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
        if let releaseError { throw releaseError }
    }

    /// Counts one more opening, unless the database already closed.
    private func retain() -> Bool {
        opens.withLock { count in
            guard count > 0, !engine.isClosed else { return false }  // DB-2
            count += 1
            return true
        }
    }

    static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    private static func canonicalPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let directory = url.deletingLastPathComponent().resolvingSymlinksInPath()
        return directory.appendingPathComponent(url.lastPathComponent).path
    }

    private static func makeTemporaryDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("guildstore-\(UUID().uuidString)").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw GuildStoreError.io(operation: "create temporary directory", path: directory, errno: EIO)
        }
        return directory
    }
}

private struct WeakDatabase {
    weak var database: Database?
}

extension WriterActor {
    func vacuum() throws -> VacuumResult {
        try engine.vacuum()
    }
}
