import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// After a checkpoint restarts the log, the next commits overwrite the old generation's frames
/// in place. If the new header is not durable before those frames are written, a power loss
/// may keep some later new frames and lose the new header and the first new frames: the old
/// header then validates a *prefix* of the old generation, whose page images are older than
/// what the checkpoint put in the database file, and recovery rolls checkpointed commits back
/// (SQLite ticket ff5be73dee; SQLite syncs a new WAL header before writing frames after it).
@Suite("WAL restart")
struct WALRestartTests {
    static let pageSize = 4096
    static let frameSize = WriteAheadLog.frameHeaderSize + pageSize

    @Test("stale frames of the previous log generation are never replayed over newer pages")
    func staleGenerationPrefix() throws {
        let directory = try TemporaryDirectory("gs-wal-restart")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let walPath = path + "-wal"
        let plan = FaultPlan()
        // .normal: commits are not synced one by one, so the disk may reorder them.
        let configuration = EngineConfiguration(pageSize: Self.pageSize, synchronous: .normal, checkpointThreshold: 0,
                                                mapReservation: 1 << 24)
        let engine = try StorageEngine.open(path: path, configuration: configuration, fileSystem: FaultyFileSystem(plan))
        var model = DatabaseModel()
        // Generation 1: T1 creates the trees (4 frames, commit marker on frame 3), T2 and T3
        // rewrite the same leaf (frames 4 and 5).
        try commit(engine, &model) { tx, m in
            try tx.put(1, [1], tree: "a", model: &m)
            try tx.put(1, [1], tree: "b", model: &m)
        }
        try commit(engine, &model) { tx, m in try tx.put(2, [2, 2], tree: "a", model: &m) }
        try commit(engine, &model) { tx, m in try tx.put(2, [3, 3, 3], tree: "a", model: &m) }
        #expect(fileSize(walPath) == WriteAheadLog.headerSize + 6 * Self.frameSize)
        let result = try engine.checkpoint(.passive)
        #expect(result.walRestarted)

        // Generation 2: six one-frame commits overwrite old frames 0...5 in place.
        var states = [model]
        for i in UInt64(0)..<6 {
            try commit(engine, &model) { tx, m in try tx.put(10 + i, [UInt8(i)], tree: "a", model: &m) }
            states.append(model)
        }
        // The disk wrote back only the last commit's frame (over old frame 5); the new header
        // and the first five new frames were still in its cache when the power went.
        let cut = Int64(WriteAheadLog.headerSize + 5 * Self.frameSize)
        plan.simulatePowerLoss { change in change.path.hasSuffix("-wal") && change.offset >= cut }

        let reopened = try StorageEngine.open(path: path, configuration: configuration)
        defer { try? reopened.close() }
        let actual = try readDatabase(reopened)
        // Under .normal the unsynced commits may be lost, but the checkpointed T3 may not, and
        // the result is always some committed state.
        #expect(states.contains(actual), "recovered no committed state: \(difference(actual, states[0]))")
        let report = try reopened.check()
        #expect(report.isOK, "\(report.problems.prefix(3))")
    }
}
