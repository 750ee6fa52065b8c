import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// One flipped byte anywhere is detected: a database page gives `.checksumMismatch` when read,
/// a WAL frame ends the valid log before it, the header page refuses to open.
@Suite("Checksums")
struct ChecksumTests {
    static let pageSize = 4096
    static let frameSize = WriteAheadLog.frameHeaderSize + pageSize
    static let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .full, checkpointThreshold: 0,
                                                   mapReservation: 1 << 24)

    /// A database with one multi-level tree "t" (inline and overflow values), checkpointed
    /// into the file with an empty WAL. Returns the model.
    static func buildCheckpointed(at path: String) throws -> DatabaseModel {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        var model = DatabaseModel()
        try commit(engine, &model) { tx, m in
            for key in UInt64(0)..<400 {
                try tx.put(key, makeValue(tag: key, length: key % 50 == 0 ? 6000 : 60), tree: "t", model: &m)
            }
        }
        let result = try engine.checkpoint(.truncate)
        precondition(result.walRestarted)
        try engine.close()
        precondition(fileSize(path + "-wal") == WriteAheadLog.headerSize, "a truncated log keeps its header (WAL-6)")
        return model
    }

    /// Reads every key with a point lookup: each must give the right value or
    /// `.checksumMismatch` for `page`, never a wrong value or another error. Returns how many
    /// lookups hit the mismatch.
    static func pointReads(_ engine: StorageEngine, model: TreeModel, page: UInt32, path: String) throws -> Int {
        var mismatches = 0
        try engine.read { tx in
            let tree = try #require(try tx.tree("t"))
            for (key, value) in model {
                do {
                    let found = try tx.get(bigEndianKey(key), in: tree)
                    #expect(found == value, "page \(page) flipped: key \(key) read a wrong value")
                } catch GuildStoreError.checksumMismatch(let errorPath, let errorPage) {
                    #expect(errorPath == path && errorPage == page, "mismatch reported for \(errorPath) page \(errorPage), flipped \(page)")
                    mismatches += 1
                }
            }
        }
        return mismatches
    }

    @Test("a flipped byte in a database page gives .checksumMismatch when that page is read",
          arguments: [0, 3, 4, 9, 100, 2048, 4095])
    func databasePage(offset: Int) throws {
        let directory = try TemporaryDirectory("gs-checksum-page")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let model = try Self.buildCheckpointed(at: path)
        let pages = UInt32(fileSize(path) / Self.pageSize)
        // The catalog, the tree's root, a leaf, an overflow page, the last page.
        for page in Set([1, 2, 3, pages / 2, pages - 1]) {
            let copy = directory.file("copy-\(page).gsdb")
            try writeFile(copy, try readFile(path))
            try flipByte(in: copy, at: Int(page) * Self.pageSize + offset)
            if page == 1 {
                // Opening reads the catalog to check the header points at one (WALR-5).
                #expect(throws: GuildStoreError.checksumMismatch(path: copy, page: page),
                        "flipped byte \(offset) of the catalog page: opening must fail on it") {
                    _ = try StorageEngine.open(path: copy, configuration: Self.configuration)
                }
                continue
            }
            let engine = try StorageEngine.open(path: copy, configuration: Self.configuration)
            defer { try? engine.close() }
            // A full scan reads every page of the tree.
            #expect(throws: GuildStoreError.checksumMismatch(path: copy, page: page),
                    "flipped byte \(offset) of page \(page): a full scan must fail on that page") {
                _ = try readDatabase(engine)
            }
            let mismatches = try Self.pointReads(engine, model: model["t"]!, page: page, path: copy)
            #expect(mismatches > 0, "flipped byte \(offset) of page \(page): no lookup noticed")
            // The integrity check reports it (or fails with the mismatch).
            do {
                let report = try engine.check()
                #expect(!report.isOK, "flipped byte \(offset) of page \(page): integrity check passed")
            } catch GuildStoreError.checksumMismatch(_, let errorPage) {
                #expect(errorPage == page)
            }
        }
    }

    /// Offsets in a frame: the frame header's page number, commit size, salt, header check,
    /// running checksum, sync watermark and commit time, then the page image's checksum, type, body and
    /// last byte.
    @Test("a flipped byte in a WAL frame ends the log before that frame's transaction and keeps the log until it is set aside",
          arguments: [0, 5, 8, 11, 12, 15, 16, 19, 20, 23, 24, 31, 32, 35, 36, 37, 500, 32 + 4095])
    func walFrame(offsetInFrame: Int) throws {
        let directory = try TemporaryDirectory("gs-checksum-wal")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        var model = DatabaseModel()
        var states: [(walEnd: Int, model: DatabaseModel)] = [(0, model)]
        for t in 0..<5 {
            try commit(engine, &model) { tx, m in
                // Transaction 2 is large: it splits the root, so it has several frames.
                let count = t == 2 ? 120 : 8
                for i in 0..<count {
                    try tx.put(UInt64(t * 1000 + i), makeValue(tag: UInt64(t * 1000 + i), length: 70), tree: "t", model: &m)
                }
            }
            states.append((fileSize(path + "-wal"), model))
        }
        try engine.close()
        let wal = try readFile(path + "-wal")
        let target = 3  // states[3]: after transaction 2
        let firstFrame = (states[target - 1].walEnd - WriteAheadLog.headerSize) / Self.frameSize
        let lastFrame = (states[target].walEnd - WriteAheadLog.headerSize) / Self.frameSize - 1
        #expect(lastFrame - firstFrame >= 2, "transaction 2 should span several frames")

        for frame in Set([firstFrame, (firstFrame + lastFrame) / 2, lastFrame]) {
            let copyDirectory = try TemporaryDirectory("gs-checksum-wal-copy")
            defer { copyDirectory.remove() }
            let copy = copyDirectory.file("db.gsdb")
            try writeFile(copy, try readFile(path))
            try writeFile(copy + "-wal", wal)
            try flipByte(in: copy + "-wal", at: WriteAheadLog.headerSize + frame * Self.frameSize + offsetInFrame)
            let reopened = try StorageEngine.open(path: copy, configuration: Self.configuration)
            let expected = states[target - 1].model
            let actual = try readDatabase(reopened)
            #expect(actual == expected, "flipped byte \(offsetInFrame) of frame \(frame): \(difference(actual, expected))")
            // The log ends there. Commits follow the flip, and under .full they record the
            // flipped frame as synced (WALR-7): they are lost, and the log is not written
            // until it is set aside (WALR-2, WALR-3); then a new commit goes on from the
            // state before the flip, and nothing after it ever comes back.
            #expect(reopened.walRecovery.lostCommits >= 2, "flipped byte \(offsetInFrame) of frame \(frame): \(reopened.walRecovery)")
            #expect(throws: GuildStoreError.self) { try reopened.write { tx in _ = try tx.openTree("t") } }
            try reopened.close()
            #expect(try StorageEngine.setAsideDamagedLog(path: copy).savedAs != nil)
            let resumed = try StorageEngine.open(path: copy, configuration: Self.configuration)
            var after = actual
            try commit(resumed, &after) { tx, m in
                try tx.put(424_242, makeValue(tag: 1, length: 10), tree: "t", model: &m)
            }
            try resumed.close()
            let again = try StorageEngine.open(path: copy, configuration: Self.configuration)
            defer { try? again.close() }
            let final = try readDatabase(again)
            #expect(final == after, "flipped byte \(offsetInFrame) of frame \(frame), then a commit: \(difference(final, after))")
        }
    }

    /// What a flipped byte of the header page (page 0) must produce.
    static func expectedHeaderError(offset: Int, path: String) -> (GuildStoreError) -> Bool {
        switch offset {
        case 8..<16: return { $0 == .notADatabase(path: path) }
        case 16..<20: return { if case .unsupportedFormatVersion = $0 { true } else { false } }
        default: return { if case .corruptHeader = $0 { true } else { false } }
        }
    }

    @Test("a flipped byte in the header page refuses to open",
          arguments: [0, 2, 4, 7, 8, 13, 16, 20, 21, 24, 28, 32, 36, 40, 48, 56, 1000, 4095])
    func headerPage(offset: Int) throws {
        let directory = try TemporaryDirectory("gs-checksum-header")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        _ = try Self.buildCheckpointed(at: path)
        try flipByte(in: path, at: offset)
        let matches = Self.expectedHeaderError(offset: offset, path: path)
        do {
            let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
            try? engine.close()
            Issue.record("flipped header byte \(offset): open succeeded")
        } catch let error as GuildStoreError {
            #expect(matches(error), "flipped header byte \(offset): \(error)")
        }
    }
}
