/// What recovery found in a WAL file: every frame up to the last commit marker (WAL-2).
struct RecoveredLog {
    var salt: UInt64
    var checkpointSequence: UInt32
    var pageSize: Int
    /// The salt the frames' page images were checked with (WALR-9).
    var checksumSalt: UInt32
    /// The frame (index in the generation, from 0) holding the newest committed image of
    /// each page; the images stay in the file (`readFrameImage`), checked as they were read.
    var pages: [UInt32: Int]
    /// Database size in pages at the last commit marker.
    var databaseSize: UInt32
    var committedFrameCount: Int
    var chain: UInt32
    /// The highest sync watermark among the applied frames (WALR-7): where the writer's
    /// watermark goes on from.
    var syncedFrames: Int
    /// WAL-6: the last commit before this generation and its time, from the header.
    var commitsBefore: UInt64
    var timeBefore: UInt64
    /// Commit markers among the applied frames.
    var commits: Int
    /// The time of the last applied commit (`timeBefore` when none).
    var lastCommitTime: UInt64

    /// The commit number of the last applied commit (WAL-6).
    var lastCommitNumber: UInt64 { commitsBefore + UInt64(commits) }
}

/// What recovery left out of the WAL when the database opened.
///
/// Invariant (WALR-2), the rule that tells a torn tail from lost commits. Recovery applies the
/// log up to its first frame that fails WAL-1 (or none, when the log header fails its own
/// checksum) and stops there. Every frame after the last applied commit that carries the
/// log's salt (with a damaged header: the salt of the first *sound* frame) is *discarded*. A
/// frame is sound when its page image passes its own checksum and its header check holds
/// (WALR-8): its header is as it was written, whatever came before it.
/// - If a sound frame of the generation carries a sync watermark (WALR-7) above the frames
///   applied, frames recovery could not apply had been synced: damage to durable data (a bad
///   sector, a lost write). Every sound discarded frame with a commit marker is a *lost
///   commit*; the engine opens what it recovered, read-only (WALR-3), until the log is set
///   aside (`StorageEngine.setAsideDamagedLog`).
/// - Otherwise the break is in frames no sync had covered: a torn tail, what a crash or a
///   power loss leaves, even when a disk wrote its cache back out of order and kept later
///   unsynced commits after a hole. Nothing promised durable is missing (`.normal` and
///   `.full` promise only synced commits); it is counted, reported at info level, and the
///   log goes on from the last applied commit, overwriting the tail.
/// A watermark falls on a commit boundary (a sync counts whole commits) and no commit marker
/// lies between the last applied commit and the break, so "a watermark above the frames
/// applied" is "a watermark beyond the first frame recovery could not use".
/// Watermarks only rise after syncs, so under `.off` every break is a torn tail; so is damage
/// in the last synced frames when no frame was written after that sync (nothing records
/// it), and every break of a log whose writer had not synced since the last restart.
/// The rule trusts the disk: a completed fsync made the frames durable, and writing later
/// frames never disturbs synced bytes that share a sector with them (frames are not
/// sector-aligned; SQLite's "powersafe overwrite"). A disk that breaks either reports loss.
package struct WALRecoveryReport: Sendable, Equatable {
    /// Frames applied: the log up to its last valid commit.
    package var recoveredFrames = 0
    /// Frames of the log's generation after the recovered ones, not applied.
    package var discardedFrames = 0
    /// Commit markers among the discarded sound frames: commits written after the break, lost
    /// or (in a torn tail) never synced.
    package var discardedCommits = 0
    /// Commits lost when the damage was in synced frames (WALR-2): `discardedCommits`, at
    /// least 1; 0 for a torn tail.
    package var lostCommits = 0
    /// Frames from the last recovered commit through the last lost commit (or the last
    /// synced frame, if later): what the lost commits were made of (0 without lost commits).
    package var lostFrames = 0
    /// The first frame (from 0) recovery could not use when frames were discarded; nil when
    /// nothing was, or when the log header is what failed.
    package var firstBadFrame: Int?
    /// True when the file holds frames but its header fails its checksum.
    package var headerDamaged = false
    /// True when the log belongs to another database file (WAL-7): it was not read at all.
    package var staleLogIgnored = false
    /// The highest sync watermark a sound frame of the log's generation carries (WALR-7):
    /// frames 0..<syncedFrames were durable at some point. Above `recoveredFrames`, the
    /// discarded frames include synced ones and their commits are lost.
    package var syncedFrames = 0

    package init() {}

    /// Whether committed data was lost behind damage (WALR-2): the engine refuses writes.
    package var lostCommittedData: Bool { lostCommits > 0 }

    /// Whether recovery discarded frames that had been synced (WALR-2): damage, not a torn
    /// tail.
    package var syncedFramesDiscarded: Bool { syncedFrames > recoveredFrames }
}

extension WriteAheadLog {
    /// Reads the WAL: the frames up to its last commit marker (nil when the file has no valid
    /// header), and what recovery left out (WALR-2). A
    /// log whose header is valid but names another page size is an error: it belongs to
    /// another database; so is a version-1 log that still holds frames of its generation
    /// (`.unsupportedFormatVersion` naming the log).
    ///
    /// `fileNonce` is the database file's own (WAL-7) and `checksumSalt` the salt its header
    /// names (WALR-9), both nil when its header page cannot be read soundly (then the log is
    /// trusted: it may hold the only sound copy of the header, and the salt is the one the
    /// log's first sound header page names).
    ///
    /// A `follower` (a read-only opening reloading its owner's restarted log, RO-2) stops at
    /// the chain's end: what lies past it is the owner's recovery's to judge, so its report
    /// names nothing there, and its reads start at `firstCatchUpFrames` frames and double
    /// (the file of a restarted log runs on with the older generation's frames).
    static func recover(file: any FileHandleIO, expectedPageSize: Int, fileNonce: UInt64?,
                        checksumSalt: UInt32?, follower: Bool = false) throws -> (log: RecoveredLog?, report: WALRecoveryReport) {
        let size = try file.size()
        if let legacy = try legacyHeader(file: file, size: size) {
            // Versions 1 and 2: a generation without a frame is empty (everything in it was
            // checkpointed, WAL-3): nothing to read, start anew.
            if try !legacyLogHasFrames(file: file, version: legacy.version, salt: legacy.salt, size: size) {
                return (nil, WALRecoveryReport())
            }
            throw GuildStoreError.unsupportedFormatVersion(path: file.path, version: legacy.version)
        }
        var header = [UInt8](repeating: 0, count: headerSize)
        let n = size >= Int64(headerSize) ? try header.withUnsafeMutableBytes { try file.read(into: $0, at: 0) } : 0
        let fields: (version: UInt32, salt: UInt64, sequence: UInt32, pageSize: Int, crc: UInt32, commitsBefore: UInt64, timeBefore: UInt64, nonce: UInt64)? = n < headerSize ? nil : header.withUnsafeBytes { raw in
            guard let p = raw.baseAddress else { return nil }
            for (i, byte) in magic.enumerated() where p.u8(i) != byte { return nil }
            // DISK-10: a commit number beyond any database's life is a damaged header.
            guard p.u32(56) == crc32c(UnsafeRawBufferPointer(start: p, count: 56)),
                  PageFormat.isValidPageSize(Int(p.u32(12))), p.u64(32) < CommitStamp.maximumNumber else { return nil }
            return (p.u32(8), p.u64(16), p.u32(24), Int(p.u32(12)), p.u32(56), p.u64(32), p.u64(40), p.u64(48))
        }
        if let fields, fields.version != formatVersion {
            throw GuildStoreError.unsupportedFormatVersion(path: file.path, version: fields.version)
        }
        if let fields, let fileNonce, fields.nonce != fileNonce {
            // WAL-7: another file's log; none of its frames are this file's pages.
            var report = WALRecoveryReport()
            report.staleLogIgnored = true
            return (nil, report)
        }
        if let fields, fields.pageSize != expectedPageSize {
            throw GuildStoreError.corruptWAL(path: file.path, reason: "page size \(fields.pageSize) differs from the database's \(expectedPageSize)")
        }
        let pageSize = expectedPageSize
        let frameSize = frameHeaderSize + pageSize
        let parsed = fields.map { (salt: $0.salt, sequence: $0.sequence, crc: $0.crc) }

        var report = WALRecoveryReport()
        report.headerDamaged = parsed == nil && size >= Int64(headerSize + frameHeaderSize)
        // WALR-2: the salt of the log's generation; with a damaged header, the first sound
        // frame names it.
        var salt = parsed.map { UInt32(truncatingIfNeeded: $0.salt) }
        let pageSalt = try checksumSalt ?? loggedHeaderSalt(file: file, size: size, pageSize: pageSize, logSalt: salt) ?? 0
        var valid = parsed != nil  // still on the chain WAL-1 validates
        var pending: [(page: UInt32, frame: Int)] = []
        var pages: [UInt32: Int] = [:]
        var databaseSize: UInt32 = 0
        var committedFrames = 0
        var chain = parsed?.crc ?? 0
        var committedChain = chain
        var appliedWatermark = 0  // the highest watermark among the frames applied
        var commits = 0
        var lastCommitTime = fields?.timeBefore ?? 0
        var lastSoundCommitDiscarded: Int?
        var frameIndex = 0
        let maximumFrames = max(1, (1 << 20) / frameSize)
        var framesPerChunk = follower ? min(maximumFrames, firstCatchUpFrames) : maximumFrames
        var chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: framesPerChunk * frameSize, alignment: 4096)
        defer { chunk.deallocate() }
        scan: while true {
            let offset = Int64(headerSize) + Int64(frameIndex) * Int64(frameSize)
            guard offset < size, let chunkBase = chunk.baseAddress else { break }
            let read = try file.read(into: chunk, at: offset)
            let whole = read / frameSize
            for i in 0..<whole {
                let frame = UnsafeRawPointer(chunkBase + i * frameSize)
                let image = frame + frameHeaderSize
                let pageChecksum = image.load(as: UInt32.self)
                let watermark = Int(frame.u32(20))
                // WALR-8: a sound frame's header is as written, so its salt, commit marker and
                // watermark can be believed even past a break; a watermark above the frame's
                // own index is one no writer wrote.
                let sound = pageChecksumHolds(image, number: frame.u32(0), size: pageSize, salt: pageSalt)
                    && frame.u32(12) == frameHeaderCheck(frameHeader: frame, pageChecksum: pageChecksum)
                    && watermark <= frameIndex
                if valid {
                    let expected = chainChecksum(frameHeader: frame, pageChecksum: pageChecksum, previous: chain)
                    if frame.u32(8) == salt, sound, frame.u32(16) == expected {
                        chain = expected
                        report.syncedFrames = max(report.syncedFrames, watermark)
                        pending.append((frame.u32(0), frameIndex))
                        let commitSize = frame.u32(4)
                        if commitSize != 0 {
                            for (page, index) in pending { pages[page] = index }
                            committedFrames = frameIndex + 1
                            databaseSize = commitSize
                            committedChain = chain
                            appliedWatermark = report.syncedFrames
                            commits += 1
                            lastCommitTime = frame.u64(24)
                            pending.removeAll(keepingCapacity: true)
                        }
                        frameIndex += 1
                        continue
                    }
                    valid = false
                    if follower { break scan }
                }
                // Past the last frame WAL-1 accepts.
                if report.firstBadFrame == nil && parsed != nil { report.firstBadFrame = frameIndex }
                if salt == nil && sound { salt = frame.u32(8) }
                if let salt, frame.u32(8) == salt {
                    report.discardedFrames += 1
                    if sound {
                        report.syncedFrames = max(report.syncedFrames, watermark)
                        if frame.u32(4) != 0 {
                            report.discardedCommits += 1
                            lastSoundCommitDiscarded = frameIndex
                        }
                    }
                }
                frameIndex += 1
            }
            if whole < framesPerChunk {
                // A frame cut short by the end of the file: a torn write. One too short to hold
                // its salt is counted too: frames are whole in every generation, so bytes past
                // the last whole frame are a write cut short (most likely of this generation's
                // next commit), and a rollback to the commit before it is reported, never silent.
                let rest = read - whole * frameSize
                let tornOfThisLog = rest >= 12 ? salt.map { UnsafeRawPointer(chunkBase + whole * frameSize).u32(8) == $0 } ?? false
                                               : rest > 0 && parsed != nil
                if tornOfThisLog {
                    if report.firstBadFrame == nil && parsed != nil { report.firstBadFrame = frameIndex }
                    report.discardedFrames += 1
                }
                break
            }
            if framesPerChunk < maximumFrames {
                framesPerChunk = min(maximumFrames, 2 * framesPerChunk)
                chunk.deallocate()
                chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: framesPerChunk * frameSize, alignment: 4096)
            }
        }
        report.recoveredFrames = committedFrames
        report.discardedFrames += pending.count
        // WALR-2: commits after the break are lost only when synced frames were discarded.
        // A watermark falls on a commit boundary (syncs count whole commits), so frame
        // syncedFrames - 1 ended a synced commit: at least one, even when that frame is the
        // damaged one and no sound commit marker follows.
        if report.syncedFramesDiscarded {
            report.lostCommits = max(report.discardedCommits, 1)
            report.lostFrames = max((lastSoundCommitDiscarded ?? -1) + 1, report.syncedFrames) - committedFrames
        }
        if report.discardedFrames == 0 { report.firstBadFrame = nil }
        let log = fields.map {
            RecoveredLog(salt: $0.salt, checkpointSequence: $0.sequence, pageSize: pageSize, checksumSalt: pageSalt, pages: pages,
                         databaseSize: databaseSize, committedFrameCount: committedFrames, chain: committedChain,
                         syncedFrames: appliedWatermark, commitsBefore: $0.commitsBefore, timeBefore: $0.timeBefore,
                         commits: commits, lastCommitTime: lastCommitTime)
        }
        return (log, report)
    }

    /// WALR-9: the page checksum salt named by the first frame of page 0 whose image passes
    /// its checksum with the salt it names itself (of the log's generation, when the log
    /// header is sound), or nil when no frame does. Read only when the database file's own
    /// header is unsound.
    private static func loggedHeaderSalt(file: any FileHandleIO, size: Int64, pageSize: Int, logSalt: UInt32?) throws -> UInt32? {
        let frameSize = frameHeaderSize + pageSize
        let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: frameSize, alignment: 16)
        defer { frame.deallocate() }
        guard let base = UnsafeRawPointer(frame.baseAddress) else { return nil }
        var offset = Int64(headerSize)
        while offset + Int64(frameSize) <= size {
            guard try file.read(into: frame, at: offset) == frameSize else { return nil }
            if base.u32(0) == 0, logSalt.map({ base.u32(8) == $0 }) ?? true {
                let check = headerPageChecksum(base + frameHeaderSize, size: pageSize)
                if check.holds { return check.salt }
            }
            offset += Int64(frameSize)
        }
        return nil
    }

    /// The version and salt of a version-1 or -2 header (32 bytes, CRC at 28), or nil.
    private static func legacyHeader(file: any FileHandleIO, size: Int64) throws -> (version: UInt32, salt: UInt64)? {
        guard size >= Int64(legacyHeaderSize) else { return nil }
        var bytes = [UInt8](repeating: 0, count: legacyHeaderSize)
        let n = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        guard n == legacyHeaderSize else { return nil }
        return bytes.withUnsafeBytes { raw -> (UInt32, UInt64)? in
            guard let p = raw.baseAddress else { return nil }
            for (i, byte) in magic.enumerated() where p.u8(i) != byte { return nil }
            let version = p.u32(8)
            guard version == 1 || version == 2,
                  p.u32(28) == crc32c(UnsafeRawBufferPointer(start: p, count: 28)) else { return nil }
            return (version, p.u64(16))
        }
    }

    /// Whether a version-1 or -2 log holds a frame of its generation: frame 0 carries the
    /// header's whole salt at its bytes 8..<16 (version 1) or its low 32 bits at 8..<12.
    private static func legacyLogHasFrames(file: any FileHandleIO, version: UInt32, salt: UInt64, size: Int64) throws -> Bool {
        guard size >= Int64(legacyHeaderSize + 16) else { return false }
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: Int64(legacyHeaderSize)) }
        guard n == 16 else { return false }
        return bytes.withUnsafeBytes { raw in
            guard let p = raw.baseAddress else { return false }
            return version == 1 ? p.u64(8) == salt : p.u32(8) == UInt32(truncatingIfNeeded: salt)
        }
    }
}
