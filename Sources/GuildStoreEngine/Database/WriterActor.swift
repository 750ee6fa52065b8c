/// The one place write transactions run: an actor, so they run one at a time, in arrival
/// order, whatever task they come from.
///
/// A transaction's closure runs synchronously inside the actor's turn and its pages are
/// appended to the WAL before the turn ends; waiting for the sync happens after the turn, off
/// the actor, so the next transaction runs while the previous one's sync is in flight (group
/// commit, see `GroupCommitter`).
actor WriterActor {
    let engine: StorageEngine
    /// Set when a background checkpoint left commits to copy and the log could not restart
    /// at once (a group sync in flight, a snapshot in the way): the pages the next write may
    /// copy first to restart it (`restartLogIfCheckpointed`).
    private var catchUpPages: Int?

    init(engine: StorageEngine) {
        self.engine = engine
    }

    /// Runs `body` in a write transaction and appends it. A thrown error or a cancelled task
    /// rolls it back. Returns the body's value and the commit's sequence (nil: nothing
    /// changed).
    func perform<T: Sendable>(_ body: sending (WriteTransaction) throws -> T) throws -> (value: T, sequence: UInt64?) {
        try Task.checkCancellation()
        // A log the background checkpoint has fully copied (or nearly: `catchUpPages`) restarts
        // here, in the writer's own turn, so a busy cooperative pool cannot starve the restart
        // (and the WAL's growth).
        if engine.isFullyCheckpointed {
            _ = try checkpoint(.passive)
        } else if let pages = catchUpPages, engine.canCatchUpAndRestart(copyingAtMost: pages) {
            _ = try checkpoint(.passive)
        }
        let tx = try engine.beginWrite()
        do {
            let value = try body(tx)
            try Task.checkCancellation()
            let sequence = try tx.commitWithoutSync()
            return (value, sequence)
        } catch {
            tx.rollback()
            throw error
        }
    }

    /// Restarts the WAL after a background checkpoint, in the writer's turn, so no commit
    /// appends meanwhile.
    ///
    /// The background copy took the log as it was when it began; the commits appended while
    /// it copied are left. When they touched at most half a threshold of pages and the restart
    /// can succeed (no group sync in flight, no older snapshot), they are copied here (a short
    /// stall: those pages and one sync of the database file) and the log restarts; when it
    /// cannot succeed yet, the next write that finds it can does the same (`catchUpPages`).
    /// So under a steady writer the log wraps about every `threshold` frames, as SQLite's
    /// does, and the commits after the wrap overwrite blocks the WAL file already has: on ext4
    /// such an fdatasync needs no journal commit for the file's size, about half the cost of
    /// an appending one. When more is left (a bulk load outran the copy), the next background
    /// run takes it, unless the log has grown past 4x `threshold`: then this syncs, copies
    /// the rest and restarts.
    func restartLogIfCheckpointed(threshold: Int) throws -> Bool {
        if engine.isFullyCheckpointed || engine.canCatchUpAndRestart(copyingAtMost: threshold / 2) {
            return try checkpoint(.passive).walRestarted
        }
        catchUpPages = threshold / 2
        guard engine.walFrameCount >= 4 * threshold else { return false }
        return try checkpoint(.full).walRestarted
    }

    /// A checkpoint in the writer's turn: copies what is left and restarts the log when it
    /// can, without waiting for readers.
    func checkpoint(_ mode: CheckpointMode) throws -> CheckpointResult {
        guard try engine.tryTakeWriterToken() else { throw GuildStoreError.writerBusy }
        defer { engine.releaseWriter() }
        let result = try engine.checkpoint(mode: mode, timeout: .zero, restart: .holdingWriter)
        if result.walRestarted { catchUpPages = nil }
        return result
    }
}
