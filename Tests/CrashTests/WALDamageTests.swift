import Foundation
import GuildStoreEngine
import Testing
import TestSupport

/// A WAL damaged before committed frames loses them: recovery says so (log, statistics) and
/// never overwrites the log until it is set aside; a torn tail is what a crash leaves and is
/// only reported (WALR-2, WALR-3).
@Suite("WAL damage")
struct WALDamageTests {
    static let pageSize = 4096
    static let frameSize = 24 + pageSize
    static let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .full, checkpointThreshold: 0,
                                                   mapReservation: 1 << 24)

    /// A database whose WAL holds five commits, none checkpointed: the database file, the WAL,
    /// and for each commit the WAL size after it and the model (the state before any first).
    struct Source {
        var database: [UInt8]
        var wal: [UInt8]
        var states: [(walEnd: Int, model: DatabaseModel)]

        /// The frame indexes of commit `n` (1-based, as `states`).
        func frames(ofCommit n: Int) -> ClosedRange<Int> {
            ((states[n - 1].walEnd - 32) / WALDamageTests.frameSize)...((states[n].walEnd - 32) / WALDamageTests.frameSize - 1)
        }

        /// Writes the files into `directory` with `wal` in place of the WAL; returns the path.
        func install(in directory: TemporaryDirectory, wal: [UInt8]) throws -> String {
            let path = directory.file("db.gsdb")
            try writeFile(path, database)
            try writeFile(path + "-wal", wal)
            return path
        }
    }

    static func buildSource() throws -> Source {
        let directory = try TemporaryDirectory("gs-wal-damage-source")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        var model = DatabaseModel()
        var states: [(walEnd: Int, model: DatabaseModel)] = [(0, model)]
        for t in 0..<5 {
            try commit(engine, &model) { tx, m in
                // Commit 3 splits the root: several frames.
                for i in 0..<(t == 2 ? 120 : 8) {
                    try tx.put(UInt64(t * 1000 + i), makeValue(tag: UInt64(t * 1000 + i), length: 70), tree: "t", model: &m)
                }
            }
            states.append((fileSize(path + "-wal"), model))
        }
        try engine.close()
        return Source(database: try readFile(path), wal: try readFile(path + "-wal"), states: states)
    }

    @Test("a damaged frame followed by valid commits: the commits before it are read, writes are refused, the log is left as it is until set aside")
    func damageBeforeCommits() throws {
        let source = try Self.buildSource()
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        let damaged = source.frames(ofCommit: 3).lowerBound + 1
        wal[32 + damaged * Self.frameSize + 24 + 500] ^= 0x5A
        let path = try source.install(in: directory, wal: wal)
        let totalFrames = source.frames(ofCommit: 5).upperBound + 1
        let recovered = source.frames(ofCommit: 3).lowerBound

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        var expected = WALRecoveryReport()
        expected.recoveredFrames = recovered
        expected.discardedFrames = totalFrames - recovered
        expected.lostCommits = 3
        expected.lostFrames = totalFrames - recovered
        expected.firstBadFrame = damaged
        // Under .full every commit is synced before the next: commit 5's frame records the
        // four before it (WALR-7).
        expected.syncedFrames = source.frames(ofCommit: 5).lowerBound
        #expect(engine.walRecovery == expected)
        #expect(engine.statistics().walCommitsLost == 3 && engine.statistics().walFramesDiscarded == totalFrames - recovered)
        let actual = try readDatabase(engine)
        #expect(actual == source.states[2].model, "\(difference(actual, source.states[2].model))")
        let refusal = GuildStoreError.walRecoveryRequired(path: path, lostCommits: 3, lostFrames: totalFrames - recovered)
        #expect(throws: refusal, "a write must be refused") {
            try engine.write { tx in try tx.put(bigEndianKey(99), [1], in: try tx.openTree("t")) }
        }
        #expect(throws: refusal, "a checkpoint copies, but must not restart the log") { try engine.checkpoint(.truncate) }
        #expect(throws: refusal, "vacuum must not restart the log") { try engine.vacuum() }
        #expect(try readDatabase(engine) == source.states[2].model)
        try engine.close()
        #expect(try readFile(path + "-wal") == wal, "the damaged log is left as it is")

        // Set aside: the log moves, whole; the recovered commits are in the database file.
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let result = try StorageEngine.setAsideDamagedLog(path: path, now: now)
        #expect(result.report == expected)
        #expect(result.savedAs == path + "-wal.damaged-20231114T221320Z")
        #expect(try readFile(try #require(result.savedAs)) == wal)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        // A second damaged log set aside in the same second does not replace the first.
        try writeFile(path + "-wal", wal)
        #expect(try StorageEngine.setAsideDamagedLog(path: path, now: now).savedAs == path + "-wal.damaged-20231114T221320Z-2")

        let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
        #expect(reopened.walRecovery == WALRecoveryReport())
        var model = try readDatabase(reopened)
        #expect(model == source.states[2].model)
        try commit(reopened, &model) { tx, m in try tx.put(99, [1], tree: "t", model: &m) }
        try reopened.close()
        let again = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? again.close() }
        #expect(try readDatabase(again) == model)
        #expect(try again.check().isOK)
        // Nothing left to set aside.
        try again.close()
        #expect(try StorageEngine.setAsideDamagedLog(path: path).savedAs == nil)
    }

    @Test("a damaged WAL header before committed frames: writes are refused, the log is left as it is")
    func damagedHeader() throws {
        let source = try Self.buildSource()
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        wal[20] ^= 0x5A  // the salt: the header's checksum fails
        let path = try source.install(in: directory, wal: wal)

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        let totalFrames = source.frames(ofCommit: 5).upperBound + 1
        var expected = WALRecoveryReport()
        expected.discardedFrames = totalFrames
        expected.lostCommits = 5
        expected.lostFrames = totalFrames
        expected.headerDamaged = true
        expected.syncedFrames = source.frames(ofCommit: 5).lowerBound
        #expect(engine.walRecovery == expected)
        #expect(try readDatabase(engine) == source.states[0].model)
        #expect(throws: GuildStoreError.walRecoveryRequired(path: path, lostCommits: 5, lostFrames: totalFrames), "a write must be refused") {
            try engine.write { tx in try tx.put(bigEndianKey(99), [1], in: try tx.openTree("t")) }
        }
        try engine.close()
        #expect(try readFile(path + "-wal") == wal, "the damaged log is left as it is")
    }

    @Test("a torn tail (the WAL cut inside its last frame) is what a crash leaves: reported as discarded, writes go on")
    func tornTail() async throws {
        let source = try Self.buildSource()
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        let wal = Array(source.wal.prefix(source.states[5].walEnd - 100))
        let path = try source.install(in: directory, wal: wal)

        let (logger, messages) = CapturingLogHandler.logger()
        let database = try Database.open(DatabaseConfiguration(.file(path), pageSize: Self.pageSize, logger: logger))
        let actual = try readDatabase(database.engine)
        #expect(actual == source.states[4].model, "\(difference(actual, source.states[4].model))")
        // Commit 5 is one frame, cut short.
        #expect(source.frames(ofCommit: 5).count == 1)
        #expect(database.engine.walRecovery.discardedFrames == 1 && !database.engine.walRecovery.lostCommittedData)
        #expect(database.statistics().walFramesDiscarded == 1 && database.statistics().walCommitsLost == 0)
        let warnings = messages.messages.filter { $0.level == .warning }.map(\.message)
        #expect(warnings.count == 1 && warnings.allSatisfy { $0.contains("discarded 1 frame ") && $0.contains("torn") }, "\(warnings)")
        try await database.write { tx in try tx.put(bigEndianKey(99), [1], in: try tx.openTree("t")) }
        try await database.close()
    }

    @Test("opening a database whose log lost commits logs a warning naming them and guildstore recover")
    func warning() async throws {
        let source = try Self.buildSource()
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        wal[32 + source.frames(ofCommit: 4).lowerBound * Self.frameSize + 16] ^= 0x01  // a running checksum
        let path = try source.install(in: directory, wal: wal)

        let (logger, messages) = CapturingLogHandler.logger()
        let database = try Database.open(DatabaseConfiguration(.file(path), pageSize: Self.pageSize, logger: logger))
        let warnings = messages.messages.filter { $0.level == .warning }.map(\.message)
        #expect(warnings.count == 1 && warnings.allSatisfy { $0.contains("2 commits") && $0.contains("guildstore recover --db \(path)") },
                "\(warnings)")
        try await database.close()
    }
}
