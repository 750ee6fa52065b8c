import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// A write transaction past `transactionCacheBytes` spills its changed pages to the WAL ahead
/// of its commit (TS-1..TS-3): its memory stays within the budget, it reads its own spilled
/// changes, no snapshot sees them before the commit, the commit is whole after a reopen, and a
/// rollback or a crash leaves nothing of it.
@Suite("Transaction spill")
struct TransactionSpillTests {
    static let pageSize = 4096
    static let budgetPages = 24

    static func configuration(budgetPages: Int = budgetPages) -> EngineConfiguration {
        EngineConfiguration(pageSize: pageSize, synchronous: .normal, checkpointThreshold: 0,
                            transactionCacheBytes: budgetPages * pageSize)
    }

    /// Random puts and deletes over `keys` keys (a few values large enough for overflow
    /// pages), checking after each that the transaction holds at most its budget in memory
    /// (changed pages and read pins, TS-3), plus what one operation can touch. Returns the most
    /// pages it held.
    static func churn(_ tx: WriteTransaction, _ tree: Tree, _ model: inout ReferenceMap, rng: inout SplitMix64,
                      operations: Int, keys: UInt64) throws -> Int {
        var most = 0
        for _ in 0..<operations {
            let key = bigEndianKey(UInt64.random(in: 0..<keys, using: &rng))
            if Int.random(in: 0..<6, using: &rng) == 0 {
                _ = try tx.delete(key, in: tree)
                model.remove(key)
            } else {
                let length = Int.random(in: 0..<40, using: &rng) == 0 ? Int.random(in: 5000...9000, using: &rng)
                                                                       : Int.random(in: 20...300, using: &rng)
                let value = [UInt8](repeating: UInt8.random(in: 0...255, using: &rng), count: length)
                try tx.put(key, value, in: tree)
                model.put(key, value)
            }
            most = max(most, tx.dirty.count + tx.readPins.count)
        }
        return most
    }

    @Test("a transaction far past its budget stays within it, reads its own spilled pages, and commits whole")
    func largeTransaction() throws {
        let directory = try TemporaryDirectory("gs-spill")
        defer { directory.remove() }
        let path = directory.file("s.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration())
        let tree = try engine.write { tx in try tx.createTree("t") }
        let deferredTree = try engine.write { tx in try tx.createTree("d") }
        var rng = SplitMix64(seed: 7)
        var model = ReferenceMap()
        var deferredModel = ReferenceMap()
        let before = try engine.beginRead()

        let tx = try engine.beginWrite()
        let most = try Self.churn(tx, tree, &model, rng: &rng, operations: 6000, keys: 4000)
        // Reads inside the transaction find its spilled changes.
        for k in stride(from: UInt64(0), to: 4000, by: 37) {
            let key = bigEndianKey(k)
            let expected = model.lowerBound(key).found ? model.values[model.lowerBound(key).index] : nil
            #expect(try tx.get(key, in: tree) == expected, "key \(k) inside the transaction")
        }
        // Deferred entries (DP-1) in random order, applied at the commit past the budget.
        for _ in 0..<5000 {
            let key = bigEndianKey(rng.next() % 1_000_000)
            let value = bigEndianKey(rng.next())
            try tx.deferPut(key, value, in: deferredTree)
            deferredModel.put(key, value)
        }
        #expect(engine.statistics().spilledPages > 0, "the transaction spilled")
        #expect(most <= tx.spillPageLimit + 16, "held \(most) pages against a budget of \(tx.spillPageLimit)")
        // Nobody else sees the spilled pages.
        try CheckpointTests.expectSame(before, tree, ReferenceMap(), "a snapshot from before the transaction")
        try engine.read { reader in try CheckpointTests.expectSame(reader, tree, ReferenceMap(), "a snapshot during the transaction") }
        try tx.commit()

        let spilled = engine.statistics().spilledPages
        try CheckpointTests.expectSame(before, tree, ReferenceMap(), "the old snapshot after the commit")
        before.end()
        try engine.read { reader in
            try CheckpointTests.expectSame(reader, tree, model, "after the commit")
            try CheckpointTests.expectSame(reader, deferredTree, deferredModel, "the deferred entries after the commit")
        }
        #expect(try engine.check().isOK)
        try engine.close()

        // The log recovered at open holds the spilled frames and their later copies: the last
        // frame of each page is its version (WAL-5).
        engine = try StorageEngine.open(path: path, configuration: Self.configuration())
        #expect(engine.statistics().walFramesDiscarded == 0)
        try engine.read { reader in
            try CheckpointTests.expectSame(reader, tree, model, "after reopen")
            try CheckpointTests.expectSame(reader, deferredTree, deferredModel, "the deferred entries after reopen")
        }
        #expect(try engine.check().isOK)
        _ = try engine.checkpoint(.truncate)
        try engine.read { reader in try CheckpointTests.expectSame(reader, tree, model, "after the checkpoint") }
        #expect(try engine.check().isOK)
        try engine.close()
        #expect(spilled > 3 * Self.budgetPages, "spilled \(spilled) pages")
    }

    @Test("pages a transaction reads from a long WAL count in its budget: it holds at most the budget of them")
    func readPinsWithinBudget() throws {
        let directory = try TemporaryDirectory("gs-spill-reads")
        defer { directory.remove() }
        // No WAL cache and no automatic checkpoint: every committed page the transaction reads
        // is a buffer of its own, read back from the log and pinned (TX-7).
        let configuration = EngineConfiguration(pageSize: Self.pageSize, synchronous: .normal, checkpointThreshold: 0,
                                                walCacheBytes: 0, transactionCacheBytes: Self.budgetPages * Self.pageSize)
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"), configuration: configuration)
        let (big, small) = try engine.write { tx in (try tx.createTree("big"), try tx.createTree("small")) }
        let keys: UInt64 = 20_000  // about 80 pages, all in the log
        for start in stride(from: UInt64(0), to: keys, by: 2_000) {
            try engine.write { tx in
                for k in start..<start + 2_000 { try tx.put(bigEndianKey(k), bigEndianKey(k &* 31), in: big) }
            }
        }
        var rng = SplitMix64(seed: 23)
        var most = 0
        try engine.write { tx in
            // Lookups all over the big tree, each followed by a put (a spill point) that
            // changes only a few pages of the small one: the changed pages stay far inside the
            // budget while the pages read would pass it three times over.
            for i in 0..<3_000 {
                let k = rng.next() % keys
                #expect(try tx.get(bigEndianKey(k), in: big) == bigEndianKey(k &* 31))
                try tx.put(bigEndianKey(UInt64(i)), [1], in: small)
                most = max(most, tx.dirty.count + tx.readPins.count)
            }
            #expect(tx.dirty.count < tx.spillPageLimit / 2)
            #expect(most <= tx.spillPageLimit + 16, "held \(most) pages against a budget of \(tx.spillPageLimit)")
        }
        #expect(engine.statistics().spilledPages == 0, "the read pins went, not the changed pages")
        try engine.read { reader throws in
            #expect(try reader.get(bigEndianKey(2_999), in: small) == [1])
            #expect(try reader.get(bigEndianKey(keys - 1), in: big) == bigEndianKey((keys - 1) &* 31))
        }
        #expect(try engine.check().isOK)
        try engine.close()
    }

    @Test("a rolled-back transaction that spilled leaves nothing in the log, and the next commit recovers alone")
    func rollbackAfterSpill() throws {
        let directory = try TemporaryDirectory("gs-spill-rollback")
        defer { directory.remove() }
        let path = directory.file("s.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration())
        let tree = try engine.write { tx in try tx.createTree("t") }
        var rng = SplitMix64(seed: 19)
        var model = ReferenceMap()
        try engine.write { tx in _ = try Self.churn(tx, tree, &model, rng: &rng, operations: 300, keys: 4000) }
        let frames = engine.statistics().walFrames
        let walBytes = engine.statistics().walBytes

        struct Abandon: Error {}
        var discarded = model
        #expect(throws: Abandon.self) {
            try engine.write { tx in
                _ = try Self.churn(tx, tree, &discarded, rng: &rng, operations: 4000, keys: 4000)
                throw Abandon()
            }
        }
        #expect(engine.statistics().spilledPages > 0, "the abandoned transaction spilled")
        #expect(engine.statistics().walFrames == frames)
        #expect(engine.statistics().walBytes == walBytes, "the spilled frames are cut off the log")
        // An explicit rollback rewinds the same way.
        let tx = try engine.beginWrite()
        _ = try Self.churn(tx, tree, &discarded, rng: &rng, operations: 4000, keys: 4000)
        tx.rollback()
        #expect(engine.statistics().walBytes == walBytes)

        // A small commit after it; its commit marker must not take in the dead frames.
        try engine.write { tx in
            let key = bigEndianKey(123_456)
            try tx.put(key, [1, 2, 3], in: tree)
            model.put(key, [1, 2, 3])
        }
        try engine.read { reader in try CheckpointTests.expectSame(reader, tree, model, "after the rollback") }
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: Self.configuration())
        #expect(engine.statistics().walFramesDiscarded == 0, "nothing of the rolled-back transaction is left to discard")
        try engine.read { reader in try CheckpointTests.expectSame(reader, tree, model, "after reopen") }
        #expect(try engine.check().isOK)
        try engine.close()
    }

    @Test("a crash while a transaction has spilled recovers the last commit, as a torn tail")
    func crashAfterSpill() throws {
        let directory = try TemporaryDirectory("gs-spill-crash")
        defer { directory.remove() }
        let path = directory.file("s.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration())
        let tree = try engine.write { tx in try tx.createTree("t") }
        var rng = SplitMix64(seed: 31)
        var model = ReferenceMap()
        try engine.write { tx in _ = try Self.churn(tx, tree, &model, rng: &rng, operations: 500, keys: 4000) }

        let tx = try engine.beginWrite()
        var lost = model
        _ = try Self.churn(tx, tree, &lost, rng: &rng, operations: 3000, keys: 4000)
        #expect(engine.statistics().spilledPages > 0)
        // The files as a crash now would leave them.
        let copy = directory.file("crash.gsdb")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        tx.rollback()
        try engine.close()

        let recovered = try StorageEngine.open(path: copy, configuration: Self.configuration())
        let stats = recovered.statistics()
        #expect(stats.walFramesDiscarded > 0, "the spilled frames were in the log")
        #expect(stats.walCommitsLost == 0, "unsynced spills are a torn tail, not damage")
        try recovered.read { reader in try CheckpointTests.expectSame(reader, tree, model, "after the crash") }
        try recovered.write { tx in try tx.put(bigEndianKey(9_999_999), [9], in: tree) }
        model.put(bigEndianKey(9_999_999), [9])
        try recovered.read { reader in try CheckpointTests.expectSame(reader, tree, model, "a commit after recovery") }
        #expect(try recovered.check().isOK)
        try recovered.close()
    }
}
