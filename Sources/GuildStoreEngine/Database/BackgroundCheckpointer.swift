import Dispatch
import Logging

/// Runs automatic checkpoints off the commit path: a commit that leaves the WAL past the
/// threshold schedules one (at most one pending), which copies pages on its own queue,
/// syncing the database file there, so committers never wait for it. The log restart, which
/// must not race an append, is then asked of the writer actor.
///
/// It also watches for forgotten readers: a snapshot older than `readerWarningAge` that holds
/// back a checkpoint is logged once.
final class BackgroundCheckpointer: @unchecked Sendable {
    // Safe to share: `pending` is guarded by its lock; everything else is immutable or
    // thread-safe.
    private struct Pending {
        var scheduled = false
        var stopped = false
        /// WAL frames when the last checkpoint was scheduled (a restart brings the count back
        /// below it, which allows the next at once).
        var framesAtLastRun: Int?
        var warnedReaders: Set<UInt64> = []
        /// The log restart asked of the writer actor, if one is under way.
        var restart: Task<Void, Never>?
    }

    private let engine: StorageEngine
    private let writer: WriterActor
    private let threshold: Int
    private let readerWarningAge: Duration
    private let logger: Logger
    private let queue = DispatchQueue(label: "guildstore.checkpoint")
    private let pending = Locked(Pending())
    /// Runs on the checkpoint queue after a log restart (the archive's new bases).
    let afterRestart = Locked<(@Sendable () -> Void)?>(nil)

    init(engine: StorageEngine, writer: WriterActor, threshold: Int, readerWarningAge: Duration, logger: Logger) {
        self.engine = engine
        self.writer = writer
        self.threshold = threshold
        self.readerWarningAge = readerWarningAge
        self.logger = logger
    }

    /// Called after each commit: schedules a checkpoint when the WAL passed the threshold.
    ///
    /// While the log cannot restart (a reader holds it, or under `.full` a sync keeps the last
    /// commit unpublished when the writer looks), the WAL stays past the threshold; a new
    /// checkpoint then waits until another half threshold of frames has come, instead of one
    /// per commit, each with its database-file sync.
    func commitHappened() {
        let frames = engine.walFrameCount
        guard threshold > 0, frames >= threshold else { return }
        let schedule = pending.withLock { p -> Bool in
            guard !p.scheduled, !p.stopped else { return false }
            if let last = p.framesAtLastRun, frames >= last, frames - last < max(1, threshold / 2) { return false }
            p.scheduled = true
            p.framesAtLastRun = frames
            return true
        }
        if schedule { queue.async { self.run() } }
    }

    /// Waits for a scheduled checkpoint and the log restart it asked for to finish.
    func drain() async {
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
        await pending.withLock { $0.restart }?.value
    }

    /// Schedules nothing more, then drains (close).
    func stop() async {
        pending.withLock { $0.stopped = true }
        await drain()
    }

    /// Schedules again after a close that failed.
    func resume() {
        pending.withLock { $0.stopped = false }
    }

    private func run() {
        defer { pending.withLock { $0.scheduled = false } }
        do {
            let result = try engine.checkpoint(mode: .passive, timeout: .zero, restart: .never)
            if result.blockedByReaders {
                warnAboutOldReaders()
            } else {
                let writer = self.writer, threshold = self.threshold, logger = self.logger
                pending.withLock { p in
                    guard !p.stopped else { return }
                    p.restart = Task {
                        do {
                            if try await writer.restartLogIfCheckpointed(threshold: threshold),
                               let afterRestart = self.afterRestart.withLock({ $0 }) {
                                self.queue.async(execute: afterRestart)
                            }
                        } catch GuildStoreError.closed {
                            return
                        } catch {
                            logger.error("WAL restart after checkpoint failed: \(error)")
                        }
                    }
                }
            }
        } catch GuildStoreError.closed {
            return
        } catch {
            logger.error("background checkpoint failed: \(error)")
        }
    }

    private func warnAboutOldReaders() {
        let old = engine.snapshots(olderThan: readerWarningAge)
        let fresh = pending.withLock { p -> [(id: UInt64, age: Duration)] in
            let fresh = old.filter { !p.warnedReaders.contains($0.id) }
            p.warnedReaders.formUnion(fresh.map(\.id))
            // Forget readers that have ended, so the set stays small.
            p.warnedReaders.formIntersection(old.map(\.id))
            return fresh
        }
        guard !fresh.isEmpty else { return }
        let stats = engine.statistics()
        for reader in fresh {
            logger.warning("a snapshot open for \(reader.age) holds back the checkpoint: \(stats.framesHeldByReaders) WAL frames (\(stats.walBytes) bytes) wait for it; end read transactions promptly")
        }
    }
}
