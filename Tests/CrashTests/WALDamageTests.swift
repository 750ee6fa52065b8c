import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// A WAL damaged in frames a sync had made durable loses the commits after the damage:
/// recovery says so (log, statistics) and never overwrites the log until it is set aside. A
/// break in frames no sync covered, whatever follows it, is a torn tail: only reported, at
/// info level (WALR-2, WALR-3). What a frame records as synced (WALR-7) and whether its
/// header can be believed (WALR-8) decide.
@Suite("WAL damage")
struct WALDamageTests {
    static let pageSize = 4096
    static let frameSize = WriteAheadLog.frameHeaderSize + pageSize
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
            ((states[n - 1].walEnd - WriteAheadLog.headerSize) / WALDamageTests.frameSize)...((states[n].walEnd - WriteAheadLog.headerSize) / WALDamageTests.frameSize - 1)
        }

        /// Writes the files into `directory` with `wal` in place of the WAL; returns the path.
        func install(in directory: TemporaryDirectory, wal: [UInt8]) throws -> String {
            let path = directory.file("db.gsdb")
            try writeFile(path, database)
            try writeFile(path + "-wal", wal)
            return path
        }
    }

    /// Under `.full` (the default) every commit is synced before the next is written, so each
    /// commit's frames record every frame before them as synced. With `syncAfter`, the
    /// commits run under `synchronous` and the log is synced once, after commit `syncAfter`
    /// (`syncWAL`), the way a `.normal` checkpoint that could not restart the log leaves it.
    static func buildSource(synchronous: SynchronousMode = .full, syncAfter: Int? = nil) throws -> Source {
        let directory = try TemporaryDirectory("gs-wal-damage-source")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        var configuration = Self.configuration
        configuration.synchronous = synchronous
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        var model = DatabaseModel()
        var states: [(walEnd: Int, model: DatabaseModel)] = [(0, model)]
        for t in 0..<5 {
            if t == syncAfter { try engine.syncWAL() }
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

    @Test("a damaged synced frame followed by commits that record it synced: the commits before it are read, writes are refused, the log is left as it is until set aside")
    func damageBeforeCommits() throws {
        let source = try Self.buildSource()
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        let damaged = source.frames(ofCommit: 3).lowerBound + 1
        wal[WriteAheadLog.headerSize + damaged * Self.frameSize + WriteAheadLog.frameHeaderSize + 500] ^= 0x5A
        let path = try source.install(in: directory, wal: wal)
        let totalFrames = source.frames(ofCommit: 5).upperBound + 1
        let recovered = source.frames(ofCommit: 3).lowerBound

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        var expected = WALRecoveryReport()
        expected.recoveredFrames = recovered
        expected.discardedFrames = totalFrames - recovered
        expected.discardedCommits = 3
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

        // RO-1: a read-only opening's snapshot reads the recovered commits from the log, and its
        // mark (RM-1) counts that log's frames: the log must not go while it is live.
        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
        #expect(try readDatabase(reader) == source.states[2].model)
        let pinned = try reader.beginRead()
        do {
            _ = try StorageEngine.setAsideDamagedLog(path: path)
            Issue.record("the log was set aside under a read-only opening's snapshot")
        } catch GuildStoreError.busy(let message) {
            #expect(message.contains("read-only opening"), "\(message)")
        }
        #expect(try readFile(path + "-wal") == wal)
        #expect(try readDatabase(pinned) == source.states[2].model, "the live snapshot is unchanged")
        pinned.end()

        // Set aside: the log moves, whole; the recovered commits are in the database file.
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let result = try StorageEngine.setAsideDamagedLog(path: path, now: now)
        #expect(result.report == expected)
        #expect(result.savedAs == path + "-wal.damaged-20231114T221320Z")
        #expect(try readFile(try #require(result.savedAs)) == wal)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        // RO-2: the opening, idle meanwhile, now reads the recovered commits from the file.
        #expect(try readDatabase(reader) == source.states[2].model)
        try reader.close()
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
        expected.discardedCommits = 5
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

    @Test("a torn tail (the WAL cut inside its last frame) is what a crash leaves: reported as discarded at info level, writes go on")
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
        #expect(messages.messages.filter { $0.level >= .warning }.isEmpty, "\(messages.messages)")
        let notes = messages.messages.filter { $0.level == .info }.map(\.message)
        #expect(notes.count == 1 && notes.allSatisfy { $0.contains("discarded 1 frame ") && $0.contains("torn") }, "\(notes)")
        try await database.write { tx in try tx.put(bigEndianKey(99), [1], in: try tx.openTree("t")) }
        try await database.close()
    }

    /// The sync watermark of every whole frame of `wal` (WALR-7), from frame 0.
    static func watermarks(_ wal: [UInt8]) -> [Int] {
        stride(from: WriteAheadLog.headerSize, to: wal.count - frameSize + 1, by: frameSize).map { offset in
            Int(wal[offset + 20]) | Int(wal[offset + 21]) << 8 | Int(wal[offset + 22]) << 16 | Int(wal[offset + 23]) << 24
        }
    }

    @Test("the watermark decides: damage in frames a sync covered, with later commits recording it, is lost commits; damage past the last sync is a torn tail",
          arguments: [2, 3])
    func watermarkDecides(damagedCommit: Int) async throws {
        // .normal: commits 1 and 2, a sync, commits 3 to 5 (never synced).
        let source = try Self.buildSource(synchronous: .normal, syncAfter: 2)
        let synced = source.frames(ofCommit: 3).lowerBound
        let marks = Self.watermarks(source.wal)
        #expect(marks == Array(repeating: 0, count: synced) + Array(repeating: synced, count: marks.count - synced), "\(marks)")

        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        let damaged = source.frames(ofCommit: damagedCommit).lowerBound
        wal[WriteAheadLog.headerSize + damaged * Self.frameSize + WriteAheadLog.frameHeaderSize + 300] ^= 0x5A  // in the page image
        let path = try source.install(in: directory, wal: wal)
        let totalFrames = source.frames(ofCommit: 5).upperBound + 1
        let recovered = source.frames(ofCommit: damagedCommit).lowerBound
        // Commit markers on sound frames after the damage: the damaged commit's own, unless
        // the damaged frame is its marker.
        let markers = 5 - damagedCommit + (source.frames(ofCommit: damagedCommit).count > 1 ? 1 : 0)

        let (logger, messages) = CapturingLogHandler.logger()
        let database = try Database.open(DatabaseConfiguration(.file(path), pageSize: Self.pageSize, checkpointThreshold: 0, logger: logger))
        let report = database.engine.walRecovery
        var expected = WALRecoveryReport()
        expected.recoveredFrames = recovered
        expected.discardedFrames = totalFrames - recovered
        expected.discardedCommits = markers
        expected.firstBadFrame = damaged
        expected.syncedFrames = synced
        #expect(try readDatabase(database.engine) == source.states[damagedCommit - 1].model)
        if damagedCommit == 2 {
            // Commit 2 was synced, and commits 3 to 5 say so: lost commits, writes refused.
            expected.lostCommits = markers
            expected.lostFrames = totalFrames - recovered
            #expect(report == expected)
            #expect(report.syncedFramesDiscarded && report.lostCommittedData)
            #expect(messages.messages.filter { $0.level == .warning }.count == 1, "\(messages.messages)")
            await #expect(throws: GuildStoreError.walRecoveryRequired(path: path, lostCommits: markers, lostFrames: totalFrames - recovered)) {
                try await database.write { tx in try tx.put(bigEndianKey(99), [1], in: try tx.openTree("t")) }
            }
            try await database.close()
            #expect(try readFile(path + "-wal") == wal, "the damaged log is left as it is")
            let result = try StorageEngine.setAsideDamagedLog(path: path)
            #expect(result.report == expected && result.savedAs != nil)
            let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
            defer { try? reopened.close() }
            #expect(reopened.walRecovery == WALRecoveryReport())
            var model = try readDatabase(reopened)
            #expect(model == source.states[1].model)
            try commit(reopened, &model) { tx, m in try tx.put(99, [1], tree: "t", model: &m) }
            #expect(try readDatabase(reopened) == model)
        } else {
            // Commit 3 was never synced: a torn tail, though commits 4 and 5 follow it whole.
            #expect(report == expected)
            #expect(!report.syncedFramesDiscarded && !report.lostCommittedData)
            #expect(database.statistics().walFramesDiscarded == totalFrames - recovered && database.statistics().walCommitsLost == 0)
            #expect(messages.messages.filter { $0.level >= .warning }.isEmpty, "\(messages.messages)")
            #expect(messages.messages.contains { $0.level == .info && $0.message.contains("torn tail") }, "\(messages.messages)")
            // The log is reused: the next commit overwrites the tail, and commits 4 and 5
            // never come back.
            var model = source.states[2].model
            try await database.write { tx in
                try tx.put(bigEndianKey(99), [1], in: try tx.openTree("t"))
            }
            model["t", default: [:]][99] = [1]
            try await database.close()
            let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
            defer { try? reopened.close() }
            #expect(try readDatabase(reopened) == model)
            // The stale frames of commits 4 and 5 past the new commit still carry the log's salt
            // and are sound, but they record only commits 1 and 2 as synced: a torn tail again.
            #expect(!reopened.walRecovery.lostCommittedData && !reopened.walRecovery.syncedFramesDiscarded, "\(reopened.walRecovery)")
            #expect(try reopened.check().isOK)
        }
    }

    @Test("under .off nothing is synced: every watermark is 0 and damage anywhere is a torn tail")
    func offNeverLoses() throws {
        let source = try Self.buildSource(synchronous: .off, syncAfter: 2)
        #expect(Self.watermarks(source.wal).allSatisfy { $0 == 0 })
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        let damaged = source.frames(ofCommit: 2).lowerBound
        wal[WriteAheadLog.headerSize + damaged * Self.frameSize + WriteAheadLog.frameHeaderSize + 300] ^= 0x5A
        let path = try source.install(in: directory, wal: wal)
        var configuration = Self.configuration
        configuration.synchronous = .off
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        defer { try? engine.close() }
        #expect(engine.walRecovery.discardedCommits >= 3 && engine.walRecovery.syncedFrames == 0 && !engine.walRecovery.lostCommittedData,
                "\(engine.walRecovery)")
        var model = source.states[1].model
        #expect(try readDatabase(engine) == model)
        try commit(engine, &model) { tx, m in try tx.put(99, [1], tree: "t", model: &m) }
    }

    @Test("a later frame whose watermark was damaged is not believed: its header check fails (WALR-8)")
    func damagedWatermarkIgnored() throws {
        // Damage in commit 3, past the sync after commit 2: a torn tail. Commit 5's frame
        // also claims every frame synced, but its header check no longer holds.
        let source = try Self.buildSource(synchronous: .normal, syncAfter: 2)
        let directory = try TemporaryDirectory("gs-wal-damage")
        defer { directory.remove() }
        var wal = source.wal
        wal[WriteAheadLog.headerSize + source.frames(ofCommit: 3).lowerBound * Self.frameSize + WriteAheadLog.frameHeaderSize + 300] ^= 0x5A
        let last = source.frames(ofCommit: 5).upperBound
        wal[WriteAheadLog.headerSize + last * Self.frameSize + 20] = UInt8(truncatingIfNeeded: last)
        let path = try source.install(in: directory, wal: wal)
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let report = engine.walRecovery
        #expect(report.syncedFrames == source.frames(ofCommit: 3).lowerBound && !report.lostCommittedData, "\(report)")
        // Commit 5's marker is on a frame that is not sound: not counted; commit 4's is, and
        // commit 3's when the damaged frame is not its marker.
        #expect(report.discardedCommits == 1 + (source.frames(ofCommit: 3).count > 1 ? 1 : 0), "\(report)")
    }

    @Test("the watermark: what the syncs of this generation covered; 0 after a restart; after a reopen, what the recovered frames recorded")
    func watermarkLifecycle() throws {
        let directory = try TemporaryDirectory("gs-wal-watermark")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        var model = DatabaseModel()
        func put(_ engine: StorageEngine, _ key: UInt64) throws {
            try commit(engine, &model) { tx, m in try tx.put(key, makeValue(tag: key, length: 70), tree: "t", model: &m) }
        }
        func frames() throws -> Int { (try readFile(path + "-wal").count - WriteAheadLog.headerSize) / Self.frameSize }
        // .full: each commit is synced before the next is written.
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try put(engine, 1)
        let a = try frames()
        try put(engine, 2)
        let b = try frames()
        try put(engine, 3)
        var marks = Self.watermarks(try readFile(path + "-wal"))
        #expect(marks == Array(repeating: 0, count: a) + Array(repeating: a, count: b - a) + Array(repeating: b, count: marks.count - b), "\(marks)")
        // A restart begins a generation with nothing synced, overwriting from frame 0.
        #expect(try engine.checkpoint(.full).walRestarted)
        try put(engine, 4)
        let d = engine.walFrameCount
        try put(engine, 5)
        let e = engine.walFrameCount
        marks = Array(Self.watermarks(try readFile(path + "-wal")).prefix(e))
        #expect(marks == Array(repeating: 0, count: d) + Array(repeating: d, count: e - d), "\(marks)")
        try engine.close()

        // Reopened under .normal (no sync at commit): the log goes on from the highest
        // watermark recovery applied, until a sync of this process raises it.
        var normal = Self.configuration
        normal.synchronous = .normal
        let reopened = try StorageEngine.open(path: path, configuration: normal)
        #expect(reopened.walRecovery.syncedFrames == d)
        try put(reopened, 6)
        let f = reopened.walFrameCount
        try reopened.syncWAL()
        try put(reopened, 7)
        let g = reopened.walFrameCount
        marks = Array(Self.watermarks(try readFile(path + "-wal")).prefix(g))
        #expect(Array(marks[e..<f]) == Array(repeating: d, count: f - e) && Array(marks[f..<g]) == Array(repeating: f, count: g - f), "\(marks)")
        // A truncating restart: the next frames start again at 0.
        #expect(try reopened.checkpoint(.truncate).walRestarted)
        try put(reopened, 8)
        #expect(Self.watermarks(try readFile(path + "-wal")).allSatisfy { $0 == 0 })
        try reopened.close()
        let again = try StorageEngine.open(path: path, configuration: normal)
        defer { try? again.close() }
        #expect(try readDatabase(again) == model)
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
