extension WriteAheadLog {
    /// A read-only opening's catch-up (RO-2): the frames appended to the same generation since
    /// `log` was read, followed along the chain exactly as `recover` follows it (WAL-1: the
    /// generation's salt, a sound image and header, the running checksum) from the last commit
    /// `log` holds, and applied commit by commit. Frames after the last commit marker found
    /// (a commit still being written, a spill) are left for the next catch-up. Nothing is
    /// judged past the chain's end: damage is the owner's recovery's to report.
    ///
    /// The caller has checked that the log's header is the one `log` was read under, and holds
    /// the readers' byte, so the generation cannot restart meanwhile.
    static func continueRecovery(file: any FileHandleIO, from log: RecoveredLog) throws -> RecoveredLog {
        let pageSize = log.pageSize
        let frameSize = frameHeaderSize + pageSize
        let salt = UInt32(truncatingIfNeeded: log.salt)
        let size = try file.size()
        var next = log
        var pending: [(page: UInt32, frame: Int)] = []
        var chain = log.chain
        var watermark = log.syncedFrames
        var frameIndex = log.committedFrameCount
        let framesPerChunk = max(1, (1 << 20) / frameSize)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: framesPerChunk * frameSize, alignment: 4096)
        defer { chunk.deallocate() }
        guard let chunkBase = chunk.baseAddress else { return log }
        scan: while true {
            let offset = Int64(headerSize) + Int64(frameIndex) * Int64(frameSize)
            guard offset + Int64(frameSize) <= size else { break }
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
                    for (page, index) in pending { next.pages[page] = index }
                    pending.removeAll(keepingCapacity: true)
                    next.committedFrameCount = frameIndex + 1
                    next.databaseSize = commitSize
                    next.chain = chain
                    next.syncedFrames = watermark
                    next.commits += 1
                    next.lastCommitTime = frame.u64(24)
                }
                frameIndex += 1
            }
            if whole < framesPerChunk { break }
        }
        return next
    }
}
