import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The frame header's sync watermark (WALR-7) and header check (WALR-8), on logs crafted byte
/// by byte: a watermark is believed only from a frame whose header check holds and which
/// claims no more than the frames before it; version-1 logs are refused unless they are empty.
@Suite("WAL sync watermark")
struct WALWatermarkTests {
    static let pageSize = 4096
    static let frameSize = WriteAheadLog.frameHeaderSize + pageSize
    static let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .normal, checkpointThreshold: 0,
                                                   mapReservation: 1 << 24)

    /// A database whose WAL holds five commits of a few keys each, never synced (`.normal`
    /// without a checkpoint): every watermark is 0. Returns the WAL's size after each commit.
    static func build(at path: String) throws -> [Int] {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        var ends: [Int] = []
        for t in UInt64(0)..<5 {
            try engine.write { tx in
                let tree = try tx.openTree("t")
                for i in UInt64(0)..<8 { try tx.put(bigEndianKey(t * 100 + i), [UInt8](repeating: UInt8(t), count: 70), in: tree) }
            }
            ends.append(Int(try FileHandle(forReadingFrom: URL(fileURLWithPath: path + "-wal")).seekToEnd()))
        }
        try engine.close()
        return ends
    }

    static func keys(_ engine: StorageEngine) throws -> Int {
        try engine.read { tx in
            guard let tree = try tx.tree("t") else { return 0 }
            var n = 0
            try tx.scan(tree) { _, _ in n += 1; return true }
            return n
        }
    }

    static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// Sets frame `index`'s watermark to `watermark` and seals its header check again, as a
    /// writer would have written it (the running checksum is left: the frame is past a break).
    static func forgeWatermark(_ wal: inout [UInt8], frame index: Int, _ watermark: UInt32) {
        wal.withUnsafeMutableBytes { raw in
            let frame = raw.baseAddress! + WriteAheadLog.headerSize + index * frameSize
            frame.setU32(20, watermark)
            let pageChecksum = (frame + WriteAheadLog.frameHeaderSize).load(as: UInt32.self)
            frame.setU32(12, WriteAheadLog.frameHeaderCheck(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum))
        }
    }

    @Test("a watermark beyond the break from a sound frame means lost commits; one above the frame's own index is not believed",
          arguments: [false, true])
    func soundWatermark(aboveOwnIndex: Bool) throws {
        let directory = try TemporaryDirectory("gs-watermark")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let ends = try Self.build(at: path)
        let frameOf = { (end: Int) in (end - WriteAheadLog.headerSize) / Self.frameSize }
        var wal = try Self.read(path + "-wal")
        #expect(WALDamageWatermarks.all(wal, frameSize: Self.frameSize).allSatisfy { $0 == 0 })
        // Damage in commit 2; the last frame (commit 5's marker) claims a sync. Commits 2 to
        // 5 are one frame each: the damaged frame is commit 2's marker.
        #expect((1..<5).allSatisfy { frameOf(ends[$0]) - frameOf(ends[$0 - 1]) == 1 })
        let damaged = frameOf(ends[0])
        wal[WriteAheadLog.headerSize + damaged * Self.frameSize + WriteAheadLog.frameHeaderSize + 200] ^= 0x5A
        let last = frameOf(ends[4]) - 1
        Self.forgeWatermark(&wal, frame: last, UInt32(aboveOwnIndex ? last + 1 : last))
        try Self.write(path + "-wal", wal)

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let report = engine.walRecovery
        #expect(report.recoveredFrames == damaged && report.firstBadFrame == damaged)
        #expect(try Self.keys(engine) == 8)
        if aboveOwnIndex {
            // No writer writes that: the frame is not sound, its marker and watermark ignored.
            #expect(report.syncedFrames == 0 && !report.lostCommittedData && report.discardedCommits == 2, "\(report)")
            try engine.write { tx in try tx.put(bigEndianKey(999), [1], in: try tx.openTree("t")) }
        } else {
            #expect(report.syncedFrames == last && report.lostCommits == 3 && report.lostFrames == last + 1 - damaged, "\(report)")
            #expect(throws: GuildStoreError.walRecoveryRequired(path: path, lostCommits: 3, lostFrames: last + 1 - damaged)) {
                try engine.write { tx in try tx.put(bigEndianKey(999), [1], in: try tx.openTree("t")) }
            }
        }
    }

    /// Rewrites a current log as version 1 or 2 wrote it: a 32-byte header (CRC at 28) and
    /// 24-byte frame headers; version 1 with the whole salt at frame bytes 8..<16 and zero at
    /// 20..<24, version 2 with the salt's low half at 8..<12, the header check at 12 and the
    /// watermark at 20; the running checksums chained again.
    static func downgrade(_ wal: inout [UInt8], to version: UInt32 = 1) {
        let legacyHeader = 32, legacyFrameHeader = 24
        let frames = (wal.count - WriteAheadLog.headerSize) / frameSize
        var out = [UInt8](repeating: 0, count: legacyHeader + frames * (legacyFrameHeader + pageSize))
        wal.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { raw in
                let old = source.baseAddress!, base = raw.baseAddress!
                base.copyMemory(from: old, byteCount: 28)
                base.setU32(8, version)
                base.setU32(28, crc32c(UnsafeRawBufferPointer(start: base, count: 28)))
                let salt = old.u64(16)
                var chain = UnsafeRawPointer(base).u32(28)
                for index in 0..<frames {
                    let from = old + WriteAheadLog.headerSize + index * frameSize
                    let frame = base + legacyHeader + index * (legacyFrameHeader + pageSize)
                    (frame + legacyFrameHeader).copyMemory(from: from + WriteAheadLog.frameHeaderSize, byteCount: pageSize)
                    let pageChecksum = UnsafeRawPointer(frame + legacyFrameHeader).load(as: UInt32.self)
                    frame.setU32(0, from.u32(0))
                    frame.setU32(4, from.u32(4))
                    if version == 1 {
                        frame.setU64(8, salt)
                    } else {
                        frame.setU32(8, UInt32(truncatingIfNeeded: salt))
                        frame.setU32(20, from.u32(20))
                    }
                    var crc = crc32c(UnsafeRawBufferPointer(start: frame, count: 16), seed: chain)
                    crc = crc32c(UnsafeRawBufferPointer(start: frame + 20, count: 4), seed: crc)
                    var image = pageChecksum
                    withUnsafeBytes(of: &image) { crc = crc32c($0, seed: crc) }
                    chain = crc
                    frame.setU32(16, chain)
                }
            }
        }
        wal = out
    }

    @Test("a log cut fewer bytes into a frame than its salt reaches: the cut frame is reported discarded (a torn tail), never a silent rollback",
          arguments: [1, 7, 11])
    func cutBeforeTheSalt(bytesIntoFrame: Int) throws {
        let directory = try TemporaryDirectory("gs-wal-short-cut")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.write { tx in try tx.put(bigEndianKey(1), [1], in: try tx.openTree("t")) }
        try engine.close()
        var wal = try Self.read(path + "-wal")
        let frames = (wal.count - WriteAheadLog.headerSize) / Self.frameSize
        // The next commit's first frame, cut short.
        wal += [UInt8](repeating: 0x5A, count: bytesIntoFrame)
        try Self.write(path + "-wal", wal)
        let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? reopened.close() }
        #expect(reopened.walRecovery.recoveredFrames == frames)
        #expect(reopened.walRecovery.discardedFrames == 1 && !reopened.walRecovery.lostCommittedData)
        #expect(reopened.walRecoveryNotice?.contains("torn") == true)
    }

    @Test("a version-1 or -2 log with frames of its generation is refused naming the log, and left as it is",
          arguments: [UInt32(1), 2])
    func legacyVersionRefused(version: UInt32) throws {
        let directory = try TemporaryDirectory("gs-wal-v1")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        _ = try Self.build(at: path)
        var wal = try Self.read(path + "-wal")
        Self.downgrade(&wal, to: version)
        try Self.write(path + "-wal", wal)
        let database = try Self.read(path)
        #expect(throws: GuildStoreError.unsupportedFormatVersion(path: path + "-wal", version: version)) {
            try StorageEngine.open(path: path, configuration: Self.configuration)
        }
        #expect(try Self.read(path + "-wal") == wal && (try Self.read(path)) == database, "nothing written")
    }

    @Test("a version-1 or -2 log without a frame of its generation holds nothing: it opens, and the log starts again as the current version",
          arguments: [UInt32(1), 2])
    func emptyLegacyLog(version: UInt32) throws {
        let directory = try TemporaryDirectory("gs-wal-v1")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.write { tx in try tx.put(bigEndianKey(1), [1], in: try tx.openTree("t")) }
        // A full checkpoint restarts the log: a new header, the old frames stale behind it.
        #expect(try engine.checkpoint(.full).walRestarted)
        try engine.close()
        var wal = try Self.read(path + "-wal")
        #expect(wal.count > WriteAheadLog.headerSize)
        Self.downgrade(&wal, to: version)
        // The stale frames carry the previous generation's salt.
        wal.withUnsafeMutableBytes { raw in
            let frame = raw.baseAddress! + 32
            frame.setU32(8, UnsafeRawPointer(frame).u32(8) ^ 0xFF00)
        }
        try Self.write(path + "-wal", wal)

        let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
        #expect(reopened.walRecovery == WALRecoveryReport())
        try reopened.write { tx in try tx.put(bigEndianKey(2), [2], in: try tx.openTree("t")) }
        try reopened.close()
        let header = try Self.read(path + "-wal").prefix(WriteAheadLog.headerSize)
        #expect(header.withUnsafeBytes { $0.baseAddress!.u32(8) } == WriteAheadLog.formatVersion)
        let again = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? again.close() }
        #expect(try Self.keys(again) == 2)
    }
}

/// Watermarks of a WAL's whole frames, from frame 0.
enum WALDamageWatermarks {
    static func all(_ wal: [UInt8], frameSize: Int) -> [UInt32] {
        wal.withUnsafeBytes { raw in
            stride(from: WriteAheadLog.headerSize, to: raw.count - frameSize + 1, by: frameSize).map { raw.baseAddress!.u32($0 + 20) }
        }
    }
}
