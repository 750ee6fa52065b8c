import Foundation

/// An archived WAL segment (`.gswal`): one generation of the log as it stood when the log
/// restarted, so that continuous archiving loses no commit (AR-1). One LZ4 frame (block and
/// content checksums on, like a backup) holding a 128-byte header and the log's bytes, its
/// header and every frame through the generation's last commit, exactly as the log file held
/// them. All integers little-endian.
///
///     offset size  field
///          0    8  magic "GSWALSEG"
///          8    4  format version (1)
///         12    4  page size
///         16   16  database identity (BK-3)
///         32    8  first commit number in the segment
///         40    8  last commit number in the segment
///         48    8  first commit's time, microseconds since 1970
///         56    8  last commit's time
///         64    8  bytes of log that follow
///         72    8  the database file's nonce (WAL-7), as the log's header names it
///         80   44  zero
///        124    4  CRC32C of bytes 0..<124
///
/// Its frames are checked as recovery checks the live log (WAL-1, WALR-8): a segment whose
/// frames do not hold exactly the commits its header names, whole, is damaged.
struct WALSegment: Equatable {
    static let headerSize = 128
    static let magic: [UInt8] = Array("GSWALSEG".utf8)
    static let formatVersion: UInt32 = 1
    static let fileExtension = ".gswal"

    var pageSize: Int
    var identity: DatabaseIdentity
    var first: CommitStamp
    var last: CommitStamp
    var logBytes: Int64
    var fileNonce: UInt64

    /// The file name a segment gets in an archive: sorts by commit number, and names the file
    /// nonce, so two timelines (a restored database archiving beside the original) never
    /// overwrite each other's segments.
    var fileName: String {
        "wal-\(Self.padded(first.number))-\(Self.padded(last.number))-\(Self.hex(fileNonce))\(Self.fileExtension)"
    }

    static func padded(_ n: UInt64) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func hex(_ n: UInt64) -> String {
        let digits = String(n, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    func encode() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.headerSize)
        bytes.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            for (i, byte) in Self.magic.enumerated() { p.setU8(i, byte) }
            p.setU32(8, Self.formatVersion)
            p.setU32(12, UInt32(pageSize))
            p.setU64(16, identity.high)
            p.setU64(24, identity.low)
            p.setU64(32, first.number)
            p.setU64(40, last.number)
            p.setU64(48, first.time)
            p.setU64(56, last.time)
            p.setU64(64, UInt64(logBytes))
            p.setU64(72, fileNonce)
            p.setU32(124, crc32c(UnsafeRawBufferPointer(start: p, count: 124)))
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> WALSegment {
        try bytes.withUnsafeBytes { raw in
            guard raw.count >= headerSize, let p = raw.baseAddress, Array(raw[0..<8]) == magic else {
                throw GuildStoreError.backupDamaged(path: path, reason: "not a GuildStore WAL segment (no GSWALSEG magic)")
            }
            guard p.u32(124) == crc32c(UnsafeRawBufferPointer(start: p, count: 124)) else {
                throw GuildStoreError.backupDamaged(path: path, reason: "segment header checksum mismatch")
            }
            guard p.u32(8) == formatVersion else {
                throw GuildStoreError.backupDamaged(path: path, reason: "segment format version \(p.u32(8)); this build reads version \(formatVersion)")
            }
            let segment = WALSegment(pageSize: Int(p.u32(12)), identity: DatabaseIdentity(high: p.u64(16), low: p.u64(24)),
                                     first: CommitStamp(number: p.u64(32), time: p.u64(48)),
                                     last: CommitStamp(number: p.u64(40), time: p.u64(56)), logBytes: Int64(p.u64(64)),
                                     fileNonce: p.u64(72))
            // DISK-10: commit numbers below 2^62, so `last + 1` never wraps.
            guard PageFormat.isValidPageSize(segment.pageSize), segment.first.number >= 1,
                  segment.last.number < CommitStamp.maximumNumber,
                  segment.first.number <= segment.last.number, segment.logBytes >= Int64(WriteAheadLog.headerSize),
                  segment.logBytes <= Int64(WriteAheadLog.headerSize) + Int64(UInt32.max) * Int64(WriteAheadLog.frameHeaderSize + segment.pageSize)
            else {
                throw GuildStoreError.backupDamaged(path: path, reason: "impossible segment fields (page size \(segment.pageSize), commits \(segment.first.number)...\(segment.last.number))")
            }
            return segment
        }
    }

    /// Writes the log's first `logBytes` bytes (its header and whole commits) as a segment at
    /// `path`: to `PATH.partial`, synced, renamed, the directory synced (AR-1). It takes
    /// `permissions`, the database file's (FILE-2), when given.
    static func write(_ segment: WALSegment, from log: any FileHandleIO, to path: String, permissions: FilePermissions?,
                      fileSystem: any FileSystem) throws {
        let temporary = path + ".partial"
        try fileSystem.remove(temporary)
        let file = try fileSystem.createForStreaming(temporary, with: permissions)
        do {
            let writer = try LZ4FrameWriter(file: file)
            try writer.write(segment.encode())
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { chunk.deallocate() }
            var offset: Int64 = 0
            while offset < segment.logBytes {
                let want = Int(min(Int64(chunk.count), segment.logBytes - offset))
                let n = try log.read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), at: offset)
                guard n == want else {
                    throw GuildStoreError.corruptWAL(path: log.path, reason: "ended at byte \(offset + Int64(n)) while being archived (\(segment.logBytes) expected)")
                }
                try writer.write(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                offset += Int64(n)
            }
            try writer.finish()
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            try? fileSystem.remove(temporary)
            throw error
        }
        try fileSystem.rename(temporary, to: path)
        try fileSystem.syncDirectory(containing: path)
    }

    /// Reads only the header.
    static func readHeader(path: String, fileSystem: any FileSystem) throws -> WALSegment {
        let file = try fileSystem.open(path, create: false)
        defer { try? file.close() }
        return try decode(try LZ4FrameReader(file: file).read(count: headerSize), path: path)
    }

    /// One commit of a segment: its number and time, the database size it left, and its pages.
    struct Commit {
        var stamp: CommitStamp
        var databaseSize: UInt32
        var pages: [(page: UInt32, image: [UInt8])]
    }

    /// Reads the whole segment, checking every frame as recovery does (WAL-1, WALR-8) and that
    /// its commits are exactly `first...last`, whole, with times that never go back; hands each
    /// commit to `commit` in order. Throws `.backupDamaged` otherwise.
    static func scan(path: String, fileSystem: any FileSystem, commit: (Commit) throws -> Void) throws -> WALSegment {
        let file = try fileSystem.open(path, create: false)
        defer { try? file.close() }
        let reader = try LZ4FrameReader(file: file)
        let segment = try decode(try reader.read(count: headerSize), path: path)
        func damaged(_ reason: String) -> GuildStoreError { .backupDamaged(path: path, reason: reason) }
        let logHeader = try reader.read(count: WriteAheadLog.headerSize)
        let (salt, commitsBefore, crc) = try logHeader.withUnsafeBytes { raw -> (UInt32, UInt64, UInt32) in
            let p = raw.baseAddress!
            guard Array(raw[0..<8]) == WriteAheadLog.magic, p.u32(8) == WriteAheadLog.formatVersion,
                  Int(p.u32(12)) == segment.pageSize, p.u64(48) == segment.fileNonce,
                  p.u32(56) == crc32c(UnsafeRawBufferPointer(start: p, count: 56)) else {
                throw damaged("the archived log's header is not sound")
            }
            return (UInt32(truncatingIfNeeded: p.u64(16)), p.u64(32), p.u32(56))
        }
        guard commitsBefore == segment.first.number - 1 else {  // first >= 1: no wrap (DISK-10)
            throw damaged("its log starts after commit \(commitsBefore), its header names commit \(segment.first.number)")
        }
        let pageSize = segment.pageSize
        let frameSize = WriteAheadLog.frameHeaderSize + pageSize
        let frames = (segment.logBytes - Int64(WriteAheadLog.headerSize)) / Int64(frameSize)
        guard Int64(WriteAheadLog.headerSize) + frames * Int64(frameSize) == segment.logBytes else {
            throw damaged("\(segment.logBytes) bytes of log are not whole frames")
        }
        var chain = crc
        var number = commitsBefore
        var previousTime = segment.first.time
        var pending: [(page: UInt32, image: [UInt8])] = []
        var frame = [UInt8](repeating: 0, count: frameSize)
        for index in 0..<frames {
            try frame.withUnsafeMutableBytes { try reader.read(into: $0) }
            let done: Commit? = try frame.withUnsafeBytes { raw in
                let p = raw.baseAddress!
                let image = p + WriteAheadLog.frameHeaderSize
                let pageChecksum = image.load(as: UInt32.self)
                let expected = WriteAheadLog.chainChecksum(frameHeader: p, pageChecksum: pageChecksum, previous: chain)
                guard p.u32(8) == salt, pageChecksumHolds(image, number: p.u32(0), size: pageSize, identity: segment.identity),
                      p.u32(12) == WriteAheadLog.frameHeaderCheck(frameHeader: p, pageChecksum: pageChecksum),
                      p.u32(16) == expected else {
                    throw damaged("frame \(index) fails its checks")
                }
                chain = expected
                pending.append((p.u32(0), Array(UnsafeRawBufferPointer(start: image, count: pageSize))))
                let size = p.u32(4)
                guard size != 0 else { return nil }
                let time = p.u64(24)
                guard time >= previousTime else { throw damaged("commit \(number + 1)'s time goes back") }
                previousTime = time
                number += 1
                defer { pending.removeAll() }
                return Commit(stamp: CommitStamp(number: number, time: time), databaseSize: size, pages: pending)
            }
            if let done { try commit(done) }
        }
        guard pending.isEmpty, number == segment.last.number, previousTime == segment.last.time else {
            throw damaged("its frames hold commits through \(number), its header names \(segment.last.number)")
        }
        try reader.finish()
        return segment
    }
}
