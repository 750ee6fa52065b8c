extension WriteAheadLog {
    /// A read-only opening's catch-up (RO-2): the frames appended to the same generation since
    /// `log` was read, followed along the chain exactly as `recover` follows it (WAL-1: the
    /// generation's salt, a sound image and header, the running checksum) from the last commit
    /// `log` holds, and applied to it commit by commit. Frames after the last commit marker
    /// found (a commit still being written, a spill) are left for the next catch-up. Nothing is
    /// judged past the chain's end: damage is the owner's recovery's to report.
    ///
    /// `log` is extended in place (its page map is the opening's own, so nothing is copied) and
    /// the pages of the frames applied come back, each with the newest frame that holds it,
    /// so the caller's index takes only those instead of walking the whole map.
    ///
    /// The caller has checked that the log's header is the one `log` was read under, and holds
    /// the readers' byte, so the generation cannot restart meanwhile.
    static func continueRecovery(file: any FileHandleIO, extending log: inout RecoveredLog) throws -> [(page: UInt32, frame: Int)] {
        let pageSize = log.pageSize
        let frameSize = frameHeaderSize + pageSize
        let salt = UInt32(truncatingIfNeeded: log.salt)
        let size = try file.size()
        var pending: [(page: UInt32, frame: Int)] = []
        var applied: [(page: UInt32, frame: Int)] = []
        var chain = log.chain
        var watermark = log.syncedFrames
        var frameIndex = log.committedFrameCount
        // The file usually runs on past the new frames (a restarted log keeps its length and
        // is overwritten from the start), and a catch-up usually follows a commit of a few
        // frames: the reads start small and double while every frame they bring is sound, up
        // to 1 MiB, so a catch-up reads about twice what it takes, not a megabyte of stale
        // frames each time.
        let maximumFrames = max(1, (1 << 20) / frameSize)
        var framesPerChunk = min(maximumFrames, Self.firstCatchUpFrames)
        var chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: framesPerChunk * frameSize, alignment: 4096)
        defer { chunk.deallocate() }
        scan: while true {
            let offset = Int64(headerSize) + Int64(frameIndex) * Int64(frameSize)
            guard offset + Int64(frameSize) <= size, let chunkBase = chunk.baseAddress else { break }
            let whole = try file.read(into: chunk, at: offset) / frameSize
            guard whole > 0 else { break }
            for i in 0..<whole {
                let frame = UnsafeRawPointer(chunkBase + i * frameSize)
                let image = frame + frameHeaderSize
                let pageChecksum = image.load(as: UInt32.self)
                let frameWatermark = Int(frame.u32(20))
                guard frame.u32(8) == salt,
                      pageChecksumHolds(image, number: frame.u32(0), size: pageSize, salt: log.checksumSalt),
                      frame.u32(12) == frameHeaderCheck(frameHeader: frame, pageChecksum: pageChecksum),
                      frameWatermark <= frameIndex,
                      frame.u32(16) == chainChecksum(frameHeader: frame, pageChecksum: pageChecksum, previous: chain) else { break scan }
                chain = frame.u32(16)
                watermark = max(watermark, frameWatermark)
                pending.append((frame.u32(0), frameIndex))
                let commitSize = frame.u32(4)
                if commitSize != 0 {
                    for (page, index) in pending { log.pages[page] = index }
                    applied.append(contentsOf: pending)
                    pending.removeAll(keepingCapacity: true)
                    log.committedFrameCount = frameIndex + 1
                    log.databaseSize = commitSize
                    log.chain = chain
                    log.syncedFrames = watermark
                    log.commits += 1
                    log.lastCommitTime = frame.u64(24)
                }
                frameIndex += 1
            }
            if whole < framesPerChunk { break }
            if framesPerChunk < maximumFrames {
                framesPerChunk = min(maximumFrames, 2 * framesPerChunk)
                chunk.deallocate()
                chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: framesPerChunk * frameSize, alignment: 4096)
            }
        }
        // A page written by several of the commits: only its newest frame.
        return applied.filter { log.pages[$0.page] == $0.frame }
    }

    /// Frames the first read of a catch-up takes (`continueRecovery`).
    static let firstCatchUpFrames = 8
}
