import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The WAL's page images beyond `walCacheBytes` live only in the log file (WI-1, WI-2): every
/// snapshot still reads its own version of every page, the checkpoint copies them from the
/// file, memory stays within the limit, and a frame damaged after it was written is an error,
/// never a page.
@Suite("WAL page cache")
struct WALCacheTests {
    static let pageSize = 4096

    static func configuration(cachePages: Int) -> EngineConfiguration {
        EngineConfiguration(pageSize: pageSize, synchronous: .normal, checkpointThreshold: 0, walCacheBytes: cachePages * pageSize)
    }

    @Test("versions past the cache are read back from the log by old and new snapshots and by the checkpoint",
          arguments: [0, 8])
    func spilledVersions(cachePages: Int) throws {
        let directory = try TemporaryDirectory("gs-walcache")
        defer { directory.remove() }
        let path = directory.file("w.gsdb")
        let configuration = Self.configuration(cachePages: cachePages)
        var engine = try StorageEngine.open(path: path, configuration: configuration)
        var rng = SplitMix64(seed: UInt64(cachePages) + 11)
        var latest = ReferenceMap()
        let tree = try engine.write { tx in try tx.createTree("t") }
        try CheckpointTests.churn(engine, tree, &latest, rng: &rng, transactions: 6, changesPerTransaction: 300)
        let old = latest
        let snapshot = try engine.beginRead()
        try CheckpointTests.churn(engine, tree, &latest, rng: &rng, transactions: 6, changesPerTransaction: 300)

        var stats = engine.statistics()
        #expect(stats.walFrames > 4 * max(cachePages, 8), "the log holds many more images than the cache")
        #expect(stats.walCachedBytes <= cachePages * Self.pageSize)
        try CheckpointTests.expectSame(snapshot, tree, old, "the pinned snapshot")
        try engine.read { tx in try CheckpointTests.expectSame(tx, tree, latest, "a new snapshot") }
        #expect(engine.statistics().walCachedBytes <= cachePages * Self.pageSize, "reads promote within the limit")

        // The checkpoint copies what the pinned snapshot allows, from the file where needed.
        let passive = try engine.checkpoint(.passive)
        #expect(passive.blockedByReaders)
        try CheckpointTests.expectSame(snapshot, tree, old, "the pinned snapshot after a passive checkpoint")
        snapshot.end()
        let full = try engine.checkpoint(.full)
        #expect(full.walRestarted)
        stats = engine.statistics()
        #expect(stats.walFrames == 0 && stats.walCachedBytes == 0)
        try engine.read { tx throws in
            try CheckpointTests.expectSame(tx, tree, latest, "after the log restarted")
            _ = try checkStructure(tx)
        }
        // The restarted log's frames overwrite the old ones in place; its versions are read
        // from the new frames.
        try CheckpointTests.churn(engine, tree, &latest, rng: &rng, transactions: 3, changesPerTransaction: 200)
        try engine.read { tx in try CheckpointTests.expectSame(tx, tree, latest, "after commits over the restarted log") }
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.read { tx in try CheckpointTests.expectSame(tx, tree, latest, "after reopen") }
        #expect(try engine.check().isOK)
        try engine.close()
    }

    @Test("a log recovered at open is read from its frames, and only what readers touch is kept in memory")
    func recoveredLog() throws {
        let directory = try TemporaryDirectory("gs-walcache-open")
        defer { directory.remove() }
        let path = directory.file("w.gsdb")
        var rng = SplitMix64(seed: 5)
        var latest = ReferenceMap()
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration(cachePages: 1024))
        let tree = try engine.write { tx in try tx.createTree("t") }
        try CheckpointTests.churn(engine, tree, &latest, rng: &rng, transactions: 8, changesPerTransaction: 250)
        let frames = engine.statistics().walFrames
        try engine.close()

        engine = try StorageEngine.open(path: path, configuration: Self.configuration(cachePages: 16))
        var stats = engine.statistics()
        #expect(stats.walFrames == frames, "close leaves the log to the next open")
        #expect(stats.walCachedBytes <= 16 * Self.pageSize, "recovery keeps frame positions, not images")
        try engine.read { tx in try CheckpointTests.expectSame(tx, tree, latest, "the recovered log") }
        stats = engine.statistics()
        #expect(stats.walCachedBytes > 0 && stats.walCachedBytes <= 16 * Self.pageSize)
        let truncate = try engine.checkpoint(.truncate)
        #expect(truncate.walRestarted)
        try engine.read { tx in try CheckpointTests.expectSame(tx, tree, latest, "after the truncating checkpoint") }
        try engine.close()
    }

    @Test("a frame damaged after it was written is a corruptWAL error for readers and the checkpoint, and the file keeps its page")
    func damagedFrame() throws {
        let directory = try TemporaryDirectory("gs-walcache-damage")
        defer { directory.remove() }
        let path = directory.file("w.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration(cachePages: 0))
        var rng = SplitMix64(seed: 9)
        var latest = ReferenceMap()
        let tree = try engine.write { tx in try tx.createTree("t") }
        try CheckpointTests.churn(engine, tree, &latest, rng: &rng, transactions: 4, changesPerTransaction: 300)

        // The last frame of the log is the highest page of the last commit: a page of the tree.
        let frames = engine.statistics().walFrames
        let frameSize = WriteAheadLog.frameHeaderSize + Self.pageSize
        let frameOffset = WriteAheadLog.headerSize + (frames - 1) * frameSize
        let wal = try #require(FileHandle(forUpdatingAtPath: path + "-wal"))
        try wal.seek(toOffset: UInt64(frameOffset))
        let header = try #require(try wal.read(upToCount: 4))
        let page = header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        let damagedAt = UInt64(frameOffset + WriteAheadLog.frameHeaderSize + Self.pageSize / 2)
        try wal.seek(toOffset: damagedAt)
        let byte = try #require(try wal.read(upToCount: 1)).first ?? 0
        try wal.seek(toOffset: damagedAt)
        try wal.write(contentsOf: Data([byte ^ 0x40]))
        try wal.close()
        let fileBefore = try Data(contentsOf: URL(fileURLWithPath: path))

        func expectCorruptWAL(_ error: GuildStoreError?, _ what: Comment) {
            guard case .corruptWAL(_, let reason)? = error else {
                Issue.record("\(what): \(String(describing: error)) is not corruptWAL")
                return
            }
            #expect(reason.contains("page \(page)"), what)
        }
        expectCorruptWAL(#expect(throws: GuildStoreError.self) {
            try engine.read { tx in try CheckpointTests.expectSame(tx, tree, latest, "a scan over the damaged frame") }
        }, "a reader")
        expectCorruptWAL(#expect(throws: GuildStoreError.self) { _ = try engine.checkpoint(.full) }, "the checkpoint")
        let fileAfter = try Data(contentsOf: URL(fileURLWithPath: path))
        let start = Int(page) * Self.pageSize
        func image(_ data: Data) -> Data? { data.count >= start + Self.pageSize ? data[start..<(start + Self.pageSize)] : nil }
        #expect(image(fileAfter) == image(fileBefore), "the damaged image never reaches the database file")
        try? engine.close()
    }
}
