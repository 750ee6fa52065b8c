/// The write-ahead log file, `NAME.gsdb-wal`. All integers little-endian.
///
/// WAL header, 64 bytes:
///
///     offset size  field
///          0    8  magic "GSWAL\0\0\u{1}"
///          8    4  format version (3: commit numbers and commit times, WAL-6)
///         12    4  page size
///         16    8  salt: random, low bit set, new on every restart of the log
///         24    4  checkpoint sequence: how many times the log restarted
///         28    4  zero
///         32    8  commit number of the last commit before this generation (WAL-6)
///         40    8  that commit's time, microseconds since 1970; 0 when unknown
///         48    8  the database file's nonce (WAL-7)
///         56    4  CRC32C of bytes 0..<56
///         60    4  zero
///
/// Then frames, each a 32-byte header followed by one page image:
///
///     offset size  field
///          0    4  page number
///          4    4  database size in pages after this commit; 0 for a frame that is not the
///                  last of its transaction (the commit marker)
///          8    4  salt: the low 32 bits of the WAL header's salt
///         12    4  frame header check (WALR-8): CRC32C over this header's bytes 0..<12 and
///                  20..<32 and the page image's own checksum (its bytes 0..<4)
///         16    4  running checksum: CRC32C over this header's bytes 0..<16 and 20..<32 and the
///                  page image's own checksum, seeded with the previous frame's running
///                  checksum (the header's CRC for the first frame)
///         20    4  sync watermark (WALR-7): how many frames of this generation were synced
///                  before this frame was written; never more than the frame's own index
///         24    8  commit time: microseconds since 1970, the same on every frame of a commit
///
/// Versions 1 and 2 had a 32-byte header and 24-byte frame headers (version 1 with the full
/// salt at 8..<16 and no watermark; version 2 as above without the commit time). A log of an
/// older version that still holds a frame of its generation is refused
/// (`.unsupportedFormatVersion` naming the log); one without is treated as no log.
///
/// Invariants:
/// (WAL-1) A frame is valid only if its salt equals the header's, its page image matches the
///      image's own checksum as the page the frame names (WALR-4), its header check holds
///      (WALR-8) and its running checksum matches the chain; the first invalid
///      frame ends the log. Stale frames from before a restart carry the old salt.
/// (WAL-2) Only frames up to the last commit marker are ever applied: a transaction is all or
///      nothing.
/// (WAL-3) The log restarts (new salt) only when every frame in it has been copied into the
///      database file and that file was synced.
/// (WAL-4) Unless `synchronous` is `.off`, a new generation's header is durable before any of its
///      frames is written (`restart`). Otherwise a power loss could keep some
///      new frames but not the new header, and the old header would validate a prefix of the
///      old generation, whose images are older than the database file's: recovery would roll
///      checkpointed commits back (SQLite ticket ff5be73dee).
/// (WAL-5) One append writes each page once, in increasing page order. A commit whose
///      transaction spilled (TS-1) also owns the frames its spills appended before it, where a
///      page may appear again: the last frame of a page up to the commit marker is the page's
///      version in that commit; earlier ones are dead. Recovery, the archive's replay and the
///      live WAL index all take the last.
/// (WALR-7) The sync watermark is a promise: a frame carrying watermark w was written after a
///      sync of the log had completed while frames 0..<w of this generation were in it, so
///      those frames were durable (on a disk that honours fsync) before this frame existed.
///      The writer learns the count from `StorageEngine.syncWAL` (group commit and the
///      checkpoint's WAL sync), only from a sync that really ran and only for the generation
///      it synced; a restart starts the new generation at 0. Under `.off` nothing is synced
///      and every watermark is 0. After a reopen the log goes on from the highest watermark
///      of the frames recovery applied. Frames below a watermark are never rewritten within
///      their generation: appends only go past the last valid commit, which is at or past
///      every watermark.
/// (WAL-6) Commits are numbered from 1 for the database's whole life, across restarts of the
///      log and of the process: the header records the number and time of the last commit
///      before its generation, and the k-th commit marker of the generation is commit
///      `commitsBefore + k`. A restart writes the new header (durably, WAL-4) even when it
///      truncates, so the number survives a truncating checkpoint and a clean close; only a
///      log deleted from outside starts again from 0, which a backup chain sees as a break.
///      Commit times never decrease within a database's life as the writer records them
///      (`StorageEngine.appendCommit`). A file with no log of its own (a new, vacuumed or
///      restored one) starts from the base commit its header records.
/// (WAL-7) A log belongs to one database file: its header names the file's nonce, which every
///      file written whole (created, vacuumed, restored) draws anew. Recovery applies no log
///      whose nonce differs from the file's (a log left beside a file that replaced its own, by
///      a restore or a vacuum that crashed between renaming the file and restarting the log):
///      its frames are another file's pages. Such a log is set aside as stale, never replayed.
final class WriteAheadLog {
    static let headerSize = 64
    static let frameHeaderSize = 32
    /// Header and frame-header sizes of versions 1 and 2.
    static let legacyHeaderSize = 32
    static let magic: [UInt8] = Array("GSWAL".utf8) + [0, 0, 1]
    static let formatVersion: UInt32 = 3

    let file: any FileHandleIO
    let pageSize: Int
    private(set) var salt: UInt64
    private(set) var checkpointSequence: UInt32
    /// Valid frames in the file since the last restart.
    private(set) var frameCount: Int
    /// Running checksum of the last valid frame (or the header's CRC).
    private var chain: UInt32
    /// False after a restart until the next append writes the new header.
    private var headerWritten: Bool
    /// WAL-6: the last commit before this generation, and its time (microseconds).
    private(set) var commitsBefore: UInt64
    private(set) var timeBefore: UInt64
    /// WAL-7: the nonce of the database file this log belongs to.
    private(set) var fileNonce: UInt64

    /// The salt as frames carry it (bytes 8..<12).
    var frameSalt: UInt32 { UInt32(truncatingIfNeeded: salt) }

    var frameSize: Int { Self.frameHeaderSize + pageSize }

    /// Goes on from `recovered`'s generation when it holds committed frames; otherwise starts a
    /// new one numbered after `recovered`'s last commit, or after `base` without a log.
    init(file: any FileHandleIO, pageSize: Int, recovered: RecoveredLog?, fileNonce: UInt64, base: CommitStamp) {
        self.file = file
        self.pageSize = pageSize
        self.fileNonce = fileNonce
        if let recovered, recovered.committedFrameCount > 0 {
            salt = recovered.salt
            checkpointSequence = recovered.checkpointSequence
            frameCount = recovered.committedFrameCount
            chain = recovered.chain
            headerWritten = true
            commitsBefore = recovered.commitsBefore
            timeBefore = recovered.timeBefore
        } else {
            salt = Self.randomSalt()
            checkpointSequence = recovered.map { $0.checkpointSequence &+ 1 } ?? 0
            frameCount = 0
            chain = 0
            headerWritten = false
            commitsBefore = recovered?.commitsBefore ?? base.number
            timeBefore = recovered?.timeBefore ?? base.time
        }
    }

    private static func randomSalt() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next() | 1
    }

    /// Where the log's appends go on from: what a transaction that spilled (TS-1) rewinds to
    /// when it rolls back.
    struct Tail: Equatable {
        var frameCount: Int
        var chain: UInt32
        var headerWritten: Bool
    }

    var tail: Tail { Tail(frameCount: frameCount, chain: chain, headerWritten: headerWritten) }

    /// Forgets the frames appended after `tail` (a spilled transaction that rolled back,
    /// TS-2): the next append overwrites them, and since none of them carries a commit marker
    /// recovery never applies them (WAL-2). The file is cut back to `tail` so that a reopen
    /// does not report them as a torn tail; a cut that fails leaves only that report.
    func rewind(to tail: Tail) {
        precondition(tail.frameCount <= frameCount, "a rewind goes back, never forward")
        frameCount = tail.frameCount
        chain = tail.chain
        headerWritten = tail.headerWritten
        if headerWritten { try? file.truncate(to: Int64(Self.headerSize) + Int64(frameCount) * Int64(frameSize)) }
    }

    /// Appends one transaction's pages as frames; with `databaseSize` the last frame carries
    /// the commit marker, without it (a spill, TS-1) none does. Every frame carries the
    /// commit's time (WAL-6, microseconds since 1970).
    /// The images must already be sealed (their own checksum written). `syncedFrames` is the
    /// sync watermark every frame records (WALR-7): frames of this generation a completed
    /// sync made durable. On a failed write nothing is published and the same offset is
    /// overwritten by the next commit, so the torn bytes never form a valid chain (WAL-1).
    func append(pages: [(page: UInt32, image: PageBuffer)], databaseSize: UInt32?, syncedFrames: Int, commitTime: UInt64) throws {
        assert(syncedFrames >= 0 && syncedFrames <= frameCount, "the watermark counts frames already in the log")
        // Never above the first new frame's index: recovery distrusts a frame claiming more.
        let watermark = UInt32(clamping: min(max(0, syncedFrames), frameCount))
        precondition(!pages.isEmpty, "a commit appends at least one frame")
        assert(zip(pages, pages.dropFirst()).allSatisfy { $0.page < $1.page }, "WAL-5: an append's pages in increasing order, each once")
        assert(databaseSize != 0, "a commit marker names a database of at least its header page")
        var headerBytes: [UInt8] = []
        var newChain = chain
        if !headerWritten {
            headerBytes = encodeHeader()
            newChain = headerBytes.withUnsafeBytes { $0.baseAddress!.u32(56) }
        }
        // Frame headers in one small buffer; the page images are written from where they are.
        let headers = UnsafeMutableRawPointer.allocate(byteCount: max(1, pages.count * Self.frameHeaderSize), alignment: 8)
        defer { headers.deallocate() }
        var pieces: [UnsafeRawBufferPointer] = []
        pieces.reserveCapacity(pages.count * 2 + 1)
        for (i, entry) in pages.enumerated() {
            let frame = headers + i * Self.frameHeaderSize
            frame.setU32(0, entry.page)
            frame.setU32(4, i == pages.count - 1 ? databaseSize ?? 0 : 0)
            frame.setU32(8, frameSalt)
            frame.setU32(20, watermark)
            frame.setU64(24, commitTime)
            let pageChecksum = entry.image.pointer.load(as: UInt32.self)
            frame.setU32(12, Self.frameHeaderCheck(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum))
            newChain = Self.chainChecksum(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum, previous: newChain)
            frame.setU32(16, newChain)
            pieces.append(UnsafeRawBufferPointer(start: frame, count: Self.frameHeaderSize))
            pieces.append(UnsafeRawBufferPointer(start: entry.image.pointer, count: pageSize))
        }
        let fileOffset = headerBytes.isEmpty
            ? Int64(Self.headerSize + frameCount * frameSize)
            : 0
        try headerBytes.withUnsafeBytes { header in
            if !header.isEmpty { pieces.insert(header, at: 0) }
            try withExtendedLifetime(pages) { try file.write(pieces, at: fileOffset) }
        }
        headerWritten = true
        chain = newChain
        frameCount += pages.count
    }

    /// Writes the new generation's header alone, so it can be synced before the first frame
    /// (WAL-4).
    private func writeHeader() throws {
        precondition(!headerWritten, "the header of this generation is written already")
        let bytes = encodeHeader()
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
        headerWritten = true
        chain = bytes.withUnsafeBytes { $0.baseAddress!.u32(56) }
    }

    /// The frame header check (WALR-8): CRC32C of the header's bytes 0..<12 and 20..<32 and
    /// the image's own checksum. Unlike the running checksum it needs no earlier frame, so a
    /// frame past a break in the chain can still show its header was written as it reads.
    static func frameHeaderCheck(frameHeader: UnsafeRawPointer, pageChecksum: UInt32) -> UInt32 {
        var crc = crc32c(UnsafeRawBufferPointer(start: frameHeader, count: 12))
        crc = crc32c(UnsafeRawBufferPointer(start: frameHeader + 20, count: frameHeaderSize - 20), seed: crc)
        var pageCRC = pageChecksum
        withUnsafeBytes(of: &pageCRC) { crc = crc32c($0, seed: crc) }
        return crc
    }

    static func chainChecksum(frameHeader: UnsafeRawPointer, pageChecksum: UInt32, previous: UInt32) -> UInt32 {
        var crc = crc32c(UnsafeRawBufferPointer(start: frameHeader, count: 16), seed: previous)
        crc = crc32c(UnsafeRawBufferPointer(start: frameHeader + 20, count: frameHeaderSize - 20), seed: crc)
        var pageCRC = pageChecksum  // stored little-endian bytes, hashed as they are on disk
        withUnsafeBytes(of: &pageCRC) { crc = crc32c($0, seed: crc) }
        return crc
    }

    /// Reads the page image of frame `frame` (its index in the generation) of `file` and
    /// checks it as page `page` (WALR-4): a frame damaged since it was written, or a short
    /// read, is an error naming the log, never an image.
    static func readImage(file: any FileHandleIO, pageSize: Int, frame: Int, page: UInt32, salt: UInt32) throws -> PageBuffer {
        let buffer = PageBuffer(size: pageSize)
        let offset = Int64(headerSize) + Int64(frame) * Int64(frameHeaderSize + pageSize) + Int64(frameHeaderSize)
        let n = try file.read(into: UnsafeMutableRawBufferPointer(start: buffer.pointer, count: pageSize), at: offset)
        guard n == pageSize else {
            throw GuildStoreError.corruptWAL(path: file.path, reason: "frame \(frame) of page \(page) is cut short (\(n) of \(pageSize) bytes)")
        }
        guard pageChecksumHolds(buffer.pointer, number: page, size: pageSize, salt: salt) else {
            throw GuildStoreError.corruptWAL(path: file.path, reason: "frame \(frame) no longer holds a sound image of page \(page)")
        }
        return buffer
    }

    func sync() throws {
        try file.sync()
    }

    /// Starts a new generation of the log (WAL-3) after commit `commitNumber` (made at
    /// `commitTime`): a new salt and a new header. `truncate` also shrinks the file to the
    /// header alone.
    ///
    /// WAL-4: the new header is written (and synced when `durable`) before this returns, so no
    /// frame of the new generation can reach the disk ahead of it. WAL-6: it carries the
    /// commit number on, truncated or not. `written` runs once the header is in the file and
    /// before its sync: what only needs the file's new content, not its durability (the
    /// read-only openings the restart kept out, RO-1), need not wait for the disk.
    func restart(truncate: Bool, durable: Bool, commitNumber: UInt64, commitTime: UInt64, fileNonce: UInt64? = nil,
                 written: () -> Void = {}) throws {
        if let fileNonce { self.fileNonce = fileNonce }
        salt = Self.randomSalt()
        checkpointSequence &+= 1
        frameCount = 0
        chain = 0
        headerWritten = false
        commitsBefore = commitNumber
        timeBefore = commitTime
        if truncate { try file.truncate(to: 0) }
        try writeHeader()
        written()
        if durable { try sync() }
    }

    private func encodeHeader() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.headerSize)
        bytes.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            for (i, byte) in Self.magic.enumerated() { p.setU8(i, byte) }
            p.setU32(8, Self.formatVersion)
            p.setU32(12, UInt32(pageSize))
            p.setU64(16, salt)
            p.setU32(24, checkpointSequence)
            p.setU64(32, commitsBefore)
            p.setU64(40, timeBefore)
            p.setU64(48, fileNonce)
            p.setU32(56, crc32c(UnsafeRawBufferPointer(start: p, count: 56)))
        }
        return bytes
    }
}
