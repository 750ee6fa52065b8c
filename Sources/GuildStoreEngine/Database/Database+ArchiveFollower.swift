import Foundation

extension Database {
    /// Continuous archiving from a process of its own (AR-3), beside the process that owns the
    /// database: what `DatabaseConfiguration.archive` does inside the owner, done by a
    /// read-only opening (`guildstore archive --db D --to DIR`). Runs until its task is
    /// cancelled, then returns; the work runs off the cooperative pool.
    ///
    /// It first holds an archive mark, so that from then on the owner's log never restarts
    /// over a commit the archive lacks; writes a base when the archive does not reach the live
    /// log (AR-2: a new archive, or one that missed generations while no archiver ran); then,
    /// each time the owner is about to restart its log, copies the log's generation into a WAL
    /// segment and moves the mark past it, after which the owner restarts. After a restart it
    /// writes a new base when `archive` asks for one by age or size. `archived` hears the
    /// commits of each segment written.
    ///
    /// The owner waits at most its `archiverPatience` (a second) per restart; an archiver that
    /// is stopped or killed holds nothing back, and the commits its owner restarted over
    /// meanwhile are a gap, which the next archiver closes with a new base.
    /// Errors: `.invalidConfiguration` for an opening that is not read-only, `.busy` when
    /// another archiver writes into the directory, `.backupMismatch` for an archive of another
    /// database, `.databaseReplacedSinceOpen` once a file put at the path from outside the
    /// engine replaced it (vacuum and restore refuse while this opening is open, RO-4; the
    /// archive then needs a new archiver, which starts with a base), what writing the archive
    /// throws.
    public func followArchive(_ archive: ArchiveConfiguration,
                              archived: @escaping @Sendable (_ first: UInt64, _ last: UInt64) -> Void = { _, _ in }) async throws {
        guard configuration.readOnly else {
            throw GuildStoreError.invalidConfiguration("followArchive needs a read-only opening (the owner archives through DatabaseConfiguration.archive)")
        }
        do {
            try FileManager.default.createDirectory(atPath: archive.directory, withIntermediateDirectories: true)
        } catch {
            throw GuildStoreError.io(operation: "create archive directory", path: archive.directory, errno: EIO)
        }
        // One archiver per directory: two would write the same temporary names.
        let directoryLock = try configuration.fileSystem.open(archive.directory + "/.archiver-lock", create: true)
        defer { try? directoryLock.close() }
        do {
            try directoryLock.lockExclusive(patience: .zero)
        } catch GuildStoreError.locked(_, let holders) {
            throw GuildStoreError.busy("another archiver (\(holders.map(\.description).joined(separator: ", "))) writes into \(archive.directory)")
        }
        let (engine, logger) = (self.engine, configuration.logger)
        let stopped = Locked(false)
        try await withTaskCancellationHandler {
            try await Self.offload { try engine.followArchive(archive, logger: logger, stopped: stopped, archived: archived) }
        } onCancel: {
            stopped.withLock { $0 = true }
        }
    }
}
