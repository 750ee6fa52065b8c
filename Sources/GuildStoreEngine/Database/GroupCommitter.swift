import Dispatch

/// Shares WAL syncs among writers (group commit).
///
/// A committed transaction waits here until a sync covers its sequence. One sync runs at a
/// time on a dedicated queue; every commit appended while it runs waits for the next one, so
/// N writers that queue up behind a sync share one more sync instead of paying N.
///
/// Invariant (DB-1): a waiter is resumed only after `StorageEngine.syncWAL()` returned a
/// published sequence at or past its own (TX-5), or with the error that poisoned the engine.
final class GroupCommitter: @unchecked Sendable {
    // Safe to share: `waiting` is guarded by its lock; `engine` is thread-safe.
    private struct Waiting {
        var waiters: [(sequence: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
        var syncing = false
    }

    private let engine: StorageEngine
    private let queue = DispatchQueue(label: "guildstore.group-commit")
    private let waiting = Locked(Waiting())

    init(engine: StorageEngine) {
        self.engine = engine
    }

    /// Returns once commit `sequence` is durable and published.
    func waitUntilDurable(_ sequence: UInt64) async throws {
        if engine.publishedSequence >= sequence { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let start = waiting.withLock { w -> Bool in
                w.waiters.append((sequence, continuation))
                guard !w.syncing else { return false }
                w.syncing = true
                return true
            }
            if start { queue.async { self.syncUntilNoneWait() } }
        }
    }

    private func syncUntilNoneWait() {
        while true {
            let outcome = Result { try engine.syncWAL() }
            let (ready, failed, more) = waiting.withLock { w -> ([CheckedContinuation<Void, Error>], Error?, Bool) in
                var ready: [CheckedContinuation<Void, Error>] = []
                switch outcome {
                case .success(let published):
                    w.waiters.removeAll { waiter in
                        guard waiter.sequence <= published else { return false }
                        ready.append(waiter.continuation)
                        return true
                    }
                    w.syncing = !w.waiters.isEmpty
                    return (ready, nil, w.syncing)
                case .failure(let error):
                    ready = w.waiters.map(\.continuation)
                    w.waiters = []
                    w.syncing = false
                    return (ready, error, false)
                }
            }
            for continuation in ready {
                if let failed { continuation.resume(throwing: failed) } else { continuation.resume() }
            }
            if !more { return }
        }
    }
}
