import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Checkpoints against a pinned old snapshot: the snapshot keeps reading its own version of
/// every page while commits, automatic checkpoints and passive / full checkpoints go on; once
/// it ends, a truncate checkpoint empties the log.
@Suite("Checkpoints and snapshots")
struct CheckpointTests {
    /// Applies `changes` random changes (updates, inserts, deletes, some overflow values) to
    /// `tree` and `reference`, over `transactions` commits.
    static func churn(_ engine: StorageEngine, _ tree: Tree, _ reference: inout ReferenceMap,
                      rng: inout SplitMix64, transactions: Int, changesPerTransaction: Int) throws {
        for _ in 0..<transactions {
            try engine.write { tx throws in
                for _ in 0..<changesPerTransaction {
                    let k = UInt64.random(in: 0..<6000, using: &rng)
                    let key = bigEndianKey(k)
                    if Int.random(in: 0..<5, using: &rng) == 0 {
                        _ = try tx.delete(key, in: tree)
                        reference.remove(key)
                    } else {
                        let length = Int.random(in: 0..<50, using: &rng) == 0 ? Int.random(in: 5000...12000, using: &rng) : Int.random(in: 1...120, using: &rng)
                        let value = [UInt8](repeating: UInt8.random(in: 0...255, using: &rng), count: length)
                        try tx.put(key, value, in: tree)
                        reference.put(key, value)
                    }
                }
            }
        }
    }

    /// The engine's entries of `tree` equal `reference`.
    static func expectSame(_ tx: Transaction, _ tree: Tree, _ reference: ReferenceMap, _ what: String) throws {
        do {
            try compareTree(tx, tree, reference, context: what)
        } catch let failure as ModelFailure {
            Issue.record("\(failure)")
        }
    }

    @Test("a pinned snapshot survives passive and full checkpoints; truncate empties the log after it ends")
    func pinnedSnapshot() throws {
        let directory = try TemporaryDirectory("gs-checkpoint")
        defer { directory.remove() }
        let path = directory.file("c.gsdb")
        let configuration = EngineConfiguration(synchronous: .normal, checkpointThreshold: 50)
        var engine = try StorageEngine.open(path: path, configuration: configuration)
        var rng = SplitMix64(seed: 42)
        var latest = ReferenceMap()
        let tree = try engine.write { tx in try tx.createTree("t") }
        try Self.churn(engine, tree, &latest, rng: &rng, transactions: 10, changesPerTransaction: 500)

        let old = latest
        let snapshot = try engine.beginRead()
        #expect(engine.statistics().checkpoints > 0, "automatic checkpoints ran before the snapshot")

        // Many commits: the WAL passes the threshold again and again, but the automatic
        // checkpoints cannot pass the snapshot, so the log keeps every frame after it.
        try Self.churn(engine, tree, &latest, rng: &rng, transactions: 40, changesPerTransaction: 150)
        var stats = engine.statistics()
        #expect(stats.activeReaders == 1)
        #expect(stats.framesHeldByReaders > 0)
        #expect(stats.walFrames > 50, "the reader holds the log back")
        try Self.expectSame(snapshot, tree, old, "old snapshot after automatic checkpoints")

        let passive = try engine.checkpoint(.passive)
        #expect(passive.blockedByReaders)
        #expect(!passive.walRestarted)
        try Self.expectSame(snapshot, tree, old, "old snapshot after a passive checkpoint")

        let started = ContinuousClock.now
        let full = try engine.checkpoint(.full, timeout: .milliseconds(100))
        let waited = ContinuousClock.now - started
        #expect(full.blockedByReaders)
        #expect(!full.walRestarted)
        #expect(waited >= .milliseconds(100), "full waits for the reader up to the timeout")
        let truncateBlocked = try engine.checkpoint(.truncate, timeout: .milliseconds(10))
        #expect(truncateBlocked.blockedByReaders && !truncateBlocked.walRestarted)
        try Self.expectSame(snapshot, tree, old, "old snapshot after full and truncate checkpoints")
        // Point reads too, key by key.
        for (key, value) in zip(old.keys, old.values) where key.last! % 7 == 0 {
            #expect(try snapshot.get(key, in: tree) == value)
        }
        // New snapshots meanwhile see the latest data.
        try engine.read { tx in try Self.expectSame(tx, tree, latest, "new snapshot while the old one lives") }
        #expect(engine.statistics().oldestReaderAge > 0)

        snapshot.end()
        #expect(throws: GuildStoreError.transactionFinished) { _ = try snapshot.get(bigEndianKey(1), in: tree) }
        let truncate = try engine.checkpoint(.truncate)
        #expect(truncate.walRestarted)
        #expect(!truncate.blockedByReaders)
        stats = engine.statistics()
        #expect(stats.walFrames == 0)
        #expect(stats.walBytes == Int64(WriteAheadLog.headerSize), "truncate leaves the header alone (WAL-6)")
        #expect(stats.activeReaders == 0)
        #expect(stats.framesHeldByReaders == 0)
        try engine.read { tx throws in
            try Self.expectSame(tx, tree, latest, "new snapshot after truncate")
            _ = try checkStructure(tx)
        }

        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: configuration)
        #expect(engine.statistics().walFrames == 0)
        try engine.read { tx in try Self.expectSame(tx, tree, latest, "after reopen") }
        // And the log works again after the restart.
        try Self.churn(engine, tree, &latest, rng: &rng, transactions: 3, changesPerTransaction: 100)
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.read { tx in try Self.expectSame(tx, tree, latest, "after churn, reopen") }
        try engine.close()
    }

    @Test("a snapshot taken on an empty log keeps its version while later frames are checkpointed")
    func snapshotOnEmptyLog() throws {
        let directory = try TemporaryDirectory("gs-checkpoint-empty")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"), configuration: EngineConfiguration(synchronous: .off, checkpointThreshold: 20))
        var rng = SplitMix64(seed: 7)
        var latest = ReferenceMap()
        let tree = try engine.write { tx in try tx.createTree("t") }
        try Self.churn(engine, tree, &latest, rng: &rng, transactions: 5, changesPerTransaction: 400)
        _ = try engine.checkpoint(.truncate)
        #expect(engine.statistics().walFrames == 0)
        #expect(engine.statistics().walBytes == Int64(WriteAheadLog.headerSize), "a truncated log keeps its header (WAL-6)")

        // The index is empty: this snapshot reads everything from the database file.
        let old = latest
        let snapshot = try engine.beginRead()
        var snapshots: [(ReadTransaction, ReferenceMap)] = [(snapshot, old)]
        for round in 0..<6 {
            try Self.churn(engine, tree, &latest, rng: &rng, transactions: 4, changesPerTransaction: 120)
            _ = try engine.checkpoint(round % 2 == 0 ? .passive : .full, timeout: .milliseconds(5))
            // A second generation of snapshots, pinned at different points.
            snapshots.append((try engine.beginRead(), latest))
            for (tx, reference) in snapshots { try Self.expectSame(tx, tree, reference, "snapshot in round \(round)") }
        }
        // End them oldest first: each end lets a checkpoint copy more.
        var lastFramesCheckpointed = engine.statistics().framesCheckpointed
        for (tx, _) in snapshots {
            tx.end()
            _ = try engine.checkpoint(.passive)
            let now = engine.statistics().framesCheckpointed
            #expect(now >= lastFramesCheckpointed)
            lastFramesCheckpointed = now
        }
        let result = try engine.checkpoint(.truncate)
        #expect(result.walRestarted || result.framesInWAL == 0)
        #expect(engine.statistics().walFrames == 0)
        try engine.read { tx throws in
            try Self.expectSame(tx, tree, latest, "latest after all snapshots ended")
            _ = try checkStructure(tx)
        }
        try engine.close()
    }

    @Test("a full checkpoint waits for a reader that ends during the wait")
    func fullWaitsForReader() throws {
        let directory = try TemporaryDirectory("gs-checkpoint-wait")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"), configuration: EngineConfiguration(synchronous: .off, checkpointThreshold: 0))
        let tree = try engine.write { tx in try tx.createTree("t") }
        try engine.write { tx in for i in 0..<500 { try tx.put(bigEndianKey(UInt64(i)), [1], in: tree) } }

        final class Handoff: @unchecked Sendable {
            // Safe to share: the transaction moves to one other thread, which alone uses it.
            let tx: ReadTransaction
            init(_ tx: ReadTransaction) { self.tx = tx }
        }
        let reader = Handoff(try engine.beginRead())
        try engine.write { tx in for i in 0..<500 { try tx.put(bigEndianKey(UInt64(i)), [2], in: tree) } }
        // The reader ends on a thread of its own a moment after the checkpoint starts waiting.
        // Nothing here depends on how late a loaded machine runs that thread: the checkpoint's
        // patience is minutes, and a checkpoint that had not waited for the reader would have
        // come back blocked by it, without restarting the log.
        let ended = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            usleep(150_000)
            #expect((try? reader.tx.get(bigEndianKey(9), in: tree)) == [1])
            reader.tx.end()
            ended.signal()
        }
        let result = try engine.checkpoint(.full, timeout: .seconds(300))
        ended.wait()
        #expect(result.walRestarted)
        #expect(!result.blockedByReaders)
        #expect(engine.statistics().walFrames == 0)
        try engine.read { tx throws in #expect(try tx.get(bigEndianKey(9), in: tree) == [2]) }
        try engine.close()
    }
}
