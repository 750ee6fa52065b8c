import Foundation

/// `check()` of a backup's snapshot, run on a thread of its own while the backup copies and
/// compresses the pages on the caller's (BK-6): on two cores each takes one, so the check
/// costs the backup little time.
///
/// The check reads through a second read transaction on the same snapshot
/// (`StorageEngine.beginRead(sharing:)`), ended by the thread when it finishes.
final class SnapshotCheck: @unchecked Sendable {
    // Safe to share: `outcome` is written once, by the checking thread before it signals
    // `finished`; the owner reads it only after waiting on `finished` (a happens-before edge).
    // `waited` is touched only by the owner's thread.
    private var outcome: Result<IntegrityReport, any Error>?
    private let finished = DispatchSemaphore(value: 0)
    private var waited = false

    init(engine: StorageEngine, sharing tx: ReadTransaction) throws {
        let checking = UncheckedBox(try engine.beginRead(sharing: tx))
        let thread = Thread { [self] in
            let tx = checking.value
            outcome = Result { try engine.check(tx) }
            tx.end()
            finished.signal()
        }
        thread.name = "guildstore.backup-check"
        thread.stackSize = 8 << 20  // the check descends trees recursively (depth-limited)
        thread.start()
    }

    /// Waits for the check to finish. The owner calls it on every path, so no check outlives
    /// its backup.
    func wait() {
        guard !waited else { return }
        finished.wait()
        waited = true
    }

    /// The check's report, once it finished; rethrows what stopped it.
    func report() throws -> IntegrityReport {
        wait()
        guard let outcome else { throw GuildStoreError.closed }
        return try outcome.get()
    }
}

/// Hands a value that is not `Sendable` to exactly one other thread, which then owns it.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
