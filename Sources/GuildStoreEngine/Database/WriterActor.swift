/// The one place write transactions run: an actor, so they run one at a time, in arrival
/// order, whatever task they come from.
///
/// A transaction's closure runs synchronously inside the actor's turn and its pages are
/// appended to the WAL before the turn ends; waiting for the sync happens after the turn, off
/// the actor, so the next transaction runs while the previous one's sync is in flight (group
/// commit, see `GroupCommitter`).
actor WriterActor {
    let engine: StorageEngine

    init(engine: StorageEngine) {
        self.engine = engine
    }

    /// Runs `body` in a write transaction and appends it. A thrown error or a cancelled task
    /// rolls it back. Returns the body's value and the commit's sequence (nil: nothing
    /// changed).
    func perform<T: Sendable>(_ body: sending (WriteTransaction) throws -> T) throws -> (value: T, sequence: UInt64?) {
        try Task.checkCancellation()
        // A log the background checkpoint has fully copied restarts here, in the writer's own
        // turn, so a busy cooperative pool cannot starve the restart (and the WAL's growth).
        if engine.isFullyCheckpointed { _ = try checkpoint(.passive) }
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

    /// Restarts the WAL when a background checkpoint has copied everything: in the writer's
    /// turn, so no commit appends meanwhile. When the log has grown far past `threshold`
    /// (writes never paused long enough), it also syncs, copies the rest and restarts.
    func restartLogIfCheckpointed(threshold: Int) throws -> Bool {
        if engine.isFullyCheckpointed {
            return try checkpoint(.passive).walRestarted
        }
        guard engine.walFrameCount >= 4 * threshold else { return false }
        return try checkpoint(.full).walRestarted
    }

    /// A checkpoint in the writer's turn: copies what is left and restarts the log when it
    /// can, without waiting for readers.
    func checkpoint(_ mode: CheckpointMode) throws -> CheckpointResult {
        guard try engine.tryTakeWriterToken() else { throw GuildStoreError.writerBusy }
        defer { engine.releaseWriter() }
        return try engine.checkpoint(mode: mode, timeout: .zero, restart: .holdingWriter)
    }
}
