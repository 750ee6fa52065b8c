/// What recovery found in a WAL file: every frame up to the last commit marker (W2).
struct RecoveredLog {
    var salt: UInt64
    var checkpointSequence: UInt32
    var pageSize: Int
    /// The newest committed image of each page, in commit order of their last write.
    var pages: [UInt32: PageBuffer]
    /// Database size in pages at the last commit marker.
    var databaseSize: UInt32
    var committedFrameCount: Int
    var chain: UInt32
    /// Frames after the last commit marker that were dropped (a torn or uncommitted tail).
    var discardedFrames: Int
}

extension WriteAheadLog {
    /// Reads the WAL header; nil when the file is empty or the header is not valid (a torn
    /// header write, a never-written log). A log whose header is valid but names another page
    /// size is an error: it belongs to another database.
    static func recover(file: any FileHandleIO, expectedPageSize: Int?) throws -> RecoveredLog? {
        let size = try file.size()
        guard size >= Int64(headerSize) else { return nil }
        var header = [UInt8](repeating: 0, count: headerSize)
        let n = try header.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        guard n == headerSize else { return nil }
        let parsed: (salt: UInt64, sequence: UInt32, pageSize: Int, crc: UInt32)? = header.withUnsafeBytes { raw in
            let p = raw.baseAddress!
            for (i, byte) in magic.enumerated() where p.u8(i) != byte { return nil }
            guard p.u32(8) == formatVersion,
                  p.u32(28) == crc32c(UnsafeRawBufferPointer(start: p, count: 28)) else { return nil }
            return (p.u64(16), p.u32(24), Int(p.u32(12)), p.u32(28))
        }
        guard let parsed else { return nil }
        guard PageFormat.isValidPageSize(parsed.pageSize) else { return nil }
        if let expectedPageSize, expectedPageSize != parsed.pageSize {
            throw GuildStoreError.corruptWAL(path: file.path, reason: "page size \(parsed.pageSize) differs from the database's \(expectedPageSize)")
        }
        let pageSize = parsed.pageSize
        let frameSize = frameHeaderSize + pageSize

        var result = RecoveredLog(
            salt: parsed.salt, checkpointSequence: parsed.sequence, pageSize: pageSize, pages: [:],
            databaseSize: 0, committedFrameCount: 0, chain: parsed.crc, discardedFrames: 0)
        var pending: [(UInt32, PageBuffer)] = []
        var chain = parsed.crc
        var frameIndex = 0
        let framesPerChunk = max(1, (1 << 20) / frameSize)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: framesPerChunk * frameSize, alignment: 4096)
        defer { chunk.deallocate() }
        scan: while true {
            let offset = Int64(headerSize) + Int64(frameIndex) * Int64(frameSize)
            let read = try file.read(into: chunk, at: offset)
            let whole = read / frameSize
            if whole == 0 { break }
            for i in 0..<whole {
                let frame = UnsafeRawPointer(chunk.baseAddress! + i * frameSize)
                let image = frame + frameHeaderSize
                guard frame.u64(8) == parsed.salt,
                      pageChecksumHolds(image, number: frame.u32(0), size: pageSize) else { break scan }
                let expected = chainChecksum(frameHeader: frame, pageChecksum: image.load(as: UInt32.self), previous: chain)
                guard frame.u32(16) == expected else { break scan }
                chain = expected
                pending.append((frame.u32(0), PageBuffer(copying: image, size: pageSize)))
                let commitSize = frame.u32(4)
                if commitSize != 0 {
                    for (page, buffer) in pending { result.pages[page] = buffer }
                    result.committedFrameCount = frameIndex + 1
                    result.databaseSize = commitSize
                    result.chain = chain
                    pending.removeAll(keepingCapacity: true)
                }
                frameIndex += 1
            }
            if whole < framesPerChunk { break }
        }
        result.discardedFrames = pending.count
        return result
    }
}
