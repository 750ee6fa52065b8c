import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The writer's catch-up after a background checkpoint: the commits appended while the
/// background copy ran are copied in the writer's turn and the log restarts, at once or at the
/// next write that can, so a steady writer's log wraps instead of growing to 4x the threshold.
/// Each test builds the state a background run leaves by hand (`restart: .never`), so nothing
/// depends on when a background thread runs.
@Suite("Writer catch-up after a background checkpoint")
struct WriterCatchUpTests {
    /// An engine with a tree, `commits` commits copied by a checkpoint that leaves the restart
    /// to the writer (as the background one does), then `after` more commits not yet copied.
    static func engineWithLaggingCopy(_ path: String, commits: Int, after: Int) throws -> (StorageEngine, Tree) {
        let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(synchronous: .normal, checkpointThreshold: 0))
        let tree = try engine.write { tx in try tx.createTree("t") }
        for i in 0..<commits {
            try engine.write { tx in try tx.put(bigEndianKey(UInt64(i)), [UInt8](repeating: 1, count: 40), in: tree) }
        }
        _ = try engine.checkpoint(mode: .passive, timeout: .zero, restart: .never)
        for i in commits..<(commits + after) {
            try engine.write { tx in try tx.put(bigEndianKey(UInt64(i)), [UInt8](repeating: 2, count: 40), in: tree) }
        }
        return (engine, tree)
    }

    @Test("a few commits after the copy: the predicate says the writer can copy them and restart")
    func predicate() throws {
        let directory = try TemporaryDirectory("gs-catchup")
        defer { directory.remove() }
        let (engine, _) = try Self.engineWithLaggingCopy(directory.file("a.gsdb"), commits: 50, after: 1)
        defer { try? engine.close() }
        #expect(!engine.isFullyCheckpointed, "one commit came after the copy")
        #expect(engine.canCatchUpAndRestart(copyingAtMost: 10))
        #expect(!engine.canCatchUpAndRestart(copyingAtMost: 0), "a page waits, and the bound allows none")
        let snapshot = try engine.beginRead()
        try engine.write { tx in try tx.put(bigEndianKey(9_999), [3], in: try #require(try tx.tree("t"))) }
        #expect(!engine.canCatchUpAndRestart(copyingAtMost: 10), "a snapshot older than the last commit keeps the log")
        snapshot.end()
        #expect(engine.canCatchUpAndRestart(copyingAtMost: 10))
    }

    @Test("the writer copies what the background run left and restarts the log; nothing is lost")
    func restartsAtOnce() async throws {
        let directory = try TemporaryDirectory("gs-catchup")
        defer { directory.remove() }
        let path = directory.file("b.gsdb")
        let (engine, tree) = try Self.engineWithLaggingCopy(path, commits: 50, after: 3)
        let writer = WriterActor(engine: engine)
        #expect(try await writer.restartLogIfCheckpointed(threshold: 100))
        #expect(engine.walFrameCount == 0)
        try engine.close()
        let reopened = try StorageEngine.open(path: path, configuration: EngineConfiguration(synchronous: .normal))
        defer { try? reopened.close() }
        try reopened.read { tx throws in
            for i in 0..<53 {
                let expected = [UInt8](repeating: i < 50 ? 1 : 2, count: 40)
                #expect(try tx.get(bigEndianKey(UInt64(i)), in: tree) == expected, "key \(i)")
            }
        }
    }

    @Test("when a snapshot blocks the restart, the next write that finds the way clear catches up first")
    func catchesUpAtNextWrite() async throws {
        let directory = try TemporaryDirectory("gs-catchup")
        defer { directory.remove() }
        let (engine, tree) = try Self.engineWithLaggingCopy(directory.file("c.gsdb"), commits: 50, after: 2)
        defer { try? engine.close() }
        let writer = WriterActor(engine: engine)
        let snapshot = try engine.beginRead()
        try engine.write { tx in try tx.put(bigEndianKey(500), [4], in: tree) }
        #expect(try await writer.restartLogIfCheckpointed(threshold: 100) == false, "the snapshot holds the log")
        let framesBefore = engine.walFrameCount
        snapshot.end()
        _ = try await writer.perform { tx in try tx.put(bigEndianKey(501), [5], in: tree) }
        #expect(engine.walFrameCount < framesBefore, "the log restarted before the write: only its frames are in it")
        try engine.read { tx throws in
            #expect(try tx.get(bigEndianKey(500), in: tree) == [4])
            #expect(try tx.get(bigEndianKey(501), in: tree) == [5])
        }
    }

    @Test("more pages left than half a threshold: the writer leaves them to the next background run")
    func leavesLargeBacklog() async throws {
        let directory = try TemporaryDirectory("gs-catchup")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("d.gsdb"), configuration: EngineConfiguration(synchronous: .normal, checkpointThreshold: 0))
        defer { try? engine.close() }
        let tree = try engine.write { tx in try tx.createTree("t") }
        try engine.write { tx in try tx.put(bigEndianKey(0), [0], in: tree) }
        _ = try engine.checkpoint(mode: .passive, timeout: .zero, restart: .never)
        // One commit of many pages (large values, each on overflow pages).
        try engine.write { tx in
            for i in 1...40 { try tx.put(bigEndianKey(UInt64(i)), [UInt8](repeating: 7, count: 6_000), in: tree) }
        }
        let frames = engine.walFrameCount
        let writer = WriterActor(engine: engine)
        #expect(try await writer.restartLogIfCheckpointed(threshold: 40) == false)
        #expect(engine.walFrameCount == frames, "nothing copied or restarted in the writer's turn")
    }
}
