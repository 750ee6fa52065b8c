import CLZ4

/// Compresses a stream of bytes into one LZ4 frame (`lz4frame.h`) written to a file as it
/// goes, with the frame's content checksum and every block's checksum on, so `lz4 -t`
/// verifies the file and `lz4 -d` decompresses it. The block checksums cover the compressed
/// bytes: a flipped bit that would still decode to the same content (a match offset moved
/// within a run of zeros) is caught too, so any change to the file is damage. Memory stays at two buffers of about `stagingSize` bytes, however long the
/// stream.
///
/// ```swift
/// let writer = try LZ4FrameWriter(file: file)
/// try writer.write(bytes)
/// let compressedBytes = try writer.finish()
/// ```
final class LZ4FrameWriter {
    /// 1 MiB: LZ4F copies it on into its 4 MB block buffer. A 4 MiB staging buffer, compressed
    /// straight from (no second copy), measured no faster (Benchmarks/RESULTS.md, 2026-12-05 round 2).
    static let stagingSize = 1 << 20

    private let file: any FileHandleIO
    private var context: OpaquePointer?
    private var preferences = LZ4F_preferences_t()
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private let output: UnsafeMutableRawBufferPointer
    /// Bytes written to the file so far.
    private(set) var compressedBytes: Int64 = 0
    /// Bytes given to `write` so far.
    private(set) var uncompressedBytes: Int64 = 0

    /// Starts the frame at offset 0 of `file`. `level` 0 is LZ4's fast mode; 3 and up its HC modes.
    init(file: any FileHandleIO, level: Int32 = 0) throws {
        self.file = file
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        preferences.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
        preferences.frameInfo.blockSizeID = LZ4F_max4MB
        preferences.frameInfo.blockMode = LZ4F_blockLinked
        preferences.compressionLevel = level
        staging = .allocate(byteCount: Self.stagingSize, alignment: 64)
        let bound = max(Int(LZ4F_HEADER_SIZE_MAX), LZ4F_compressBound(Self.stagingSize, &preferences))
        output = .allocate(byteCount: bound, alignment: 64)
        let created = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, context != nil else {
            staging.deallocate()
            output.deallocate()
            throw GuildStoreError.compression("LZ4F_createCompressionContext: \(Self.name(created))")
        }
        let header = LZ4F_compressBegin(context, output.baseAddress, output.count, &preferences)
        try Self.check(header, "LZ4F_compressBegin")
        try emit(header)
    }

    deinit {
        LZ4F_freeCompressionContext(context)
        staging.deallocate()
        output.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let source = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, staging.count - staged)
            (staging.baseAddress! + staged).copyMemory(from: source + offset, byteCount: n)
            staged += n
            offset += n
            if staged == staging.count { try flushStaging() }
        }
        uncompressedBytes += Int64(bytes.count)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Ends the frame (its end mark and content checksum) and returns the file's size. The
    /// caller syncs and closes the file.
    @discardableResult
    func finish() throws -> Int64 {
        try flushStaging()
        let end = LZ4F_compressEnd(context, output.baseAddress, output.count, nil)
        try Self.check(end, "LZ4F_compressEnd")
        try emit(end)
        return compressedBytes
    }

    private func flushStaging() throws {
        guard staged > 0 else { return }
        let n = LZ4F_compressUpdate(context, output.baseAddress, output.count, staging.baseAddress, staged, nil)
        try Self.check(n, "LZ4F_compressUpdate")
        staged = 0
        try emit(n)
    }

    private func emit(_ count: Int) throws {
        guard count > 0 else { return }
        try file.write(UnsafeRawBufferPointer(rebasing: output[0..<count]), at: compressedBytes)
        compressedBytes += Int64(count)
    }

    private static func check(_ code: Int, _ call: String) throws {
        if LZ4F_isError(code) != 0 { throw GuildStoreError.compression("\(call): \(name(code))") }
    }

    static func name(_ code: Int) -> String { String(cString: LZ4F_getErrorName(code)) }
}
