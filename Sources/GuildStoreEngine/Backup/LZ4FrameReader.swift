import CLZ4

/// Reads one LZ4 frame from a file as a stream of bytes, checking as it goes: a damaged block,
/// a wrong content checksum, a frame cut short or bytes after the frame are
/// `GuildStoreError.backupDamaged`, never a wrong byte handed out. The content checksum is
/// only known at the end of the frame, so a caller trusts what it read only after `finish()`
/// (BK-2).
///
/// ```swift
/// let reader = try LZ4FrameReader(file: file)
/// try reader.read(into: header)     // exactly header.count bytes, or .backupDamaged
/// try reader.finish()               // the frame ends here and its checksum holds
/// ```
final class LZ4FrameReader {
    static let inputSize = 1 << 20

    private let file: any FileHandleIO
    private let path: String
    private var context: OpaquePointer?
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var fileOffset: Int64 = 0
    private let fileSize: Int64
    /// True once LZ4F reported the frame's end (its checksum verified).
    private var frameEnded = false
    /// Decompressed bytes handed out so far.
    private(set) var position: Int64 = 0

    init(file: any FileHandleIO) throws {
        self.file = file
        path = file.path
        fileSize = try file.size()
        input = .allocate(byteCount: Self.inputSize, alignment: 64)
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, context != nil else {
            input.deallocate()
            throw GuildStoreError.compression("LZ4F_createDecompressionContext: \(LZ4Frame.errorName(created))")
        }
    }

    deinit {
        LZ4F_freeDecompressionContext(context)
        input.deallocate()
    }

    /// Fills `buffer` entirely, or throws `.backupDamaged` (the frame ended first, or is damaged).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard let base = buffer.baseAddress else { return }
        var filled = 0
        while filled < buffer.count {
            let produced = try step(into: base + filled, capacity: buffer.count - filled)
            filled += produced
            if produced == 0 && frameEnded {
                throw GuildStoreError.backupDamaged(path: path, reason: "the data ends after \(position + Int64(filled)) bytes, inside a record")
            }
        }
        position += Int64(buffer.count)
    }

    func read(count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(into: $0) }
        return bytes
    }

    /// Requires the frame to end exactly here: no more data, its content checksum holds, and
    /// nothing follows it in the file.
    func finish() throws {
        var probe: UInt8 = 0
        while !frameEnded {
            let produced = try withUnsafeMutableBytes(of: &probe) { try step(into: $0.baseAddress!, capacity: 1) }
            if produced > 0 {
                throw GuildStoreError.backupDamaged(path: path, reason: "data continues past its end record at byte \(position)")
            }
        }
        guard inputStart == inputEnd, fileOffset == fileSize else {
            throw GuildStoreError.backupDamaged(path: path, reason: "\(fileSize - fileOffset + Int64(inputEnd - inputStart)) bytes follow the LZ4 frame")
        }
    }

    /// One call of LZ4F_decompress: returns the bytes it produced (0 is possible while it
    /// reads headers, or once the frame ended).
    private func step(into destination: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        if frameEnded { return 0 }
        if inputStart == inputEnd && fileOffset < fileSize {
            let n = try file.read(into: input, at: fileOffset)
            guard n > 0 else {
                throw GuildStoreError.backupDamaged(path: path, reason: "the file ended at byte \(fileOffset) while being read (\(fileSize) bytes at the start)")
            }
            fileOffset += Int64(n)
            inputStart = 0
            inputEnd = n
        }
        var destinationSize = capacity
        var sourceSize = inputEnd - inputStart
        let hint = LZ4F_decompress(context, destination, &destinationSize, input.baseAddress! + inputStart, &sourceSize, nil)
        if LZ4F_isError(hint) != 0 {
            throw GuildStoreError.backupDamaged(path: path, reason: "LZ4: \(LZ4Frame.errorName(hint)) near byte \(fileOffset - Int64(inputEnd - inputStart))")
        }
        if hint != 0 && destinationSize == 0 && sourceSize == 0 && inputStart == inputEnd && fileOffset >= fileSize {
            throw GuildStoreError.backupDamaged(path: path, reason: "the file ends inside the LZ4 frame (\(fileSize) bytes): cut short")
        }
        inputStart += sourceSize
        if hint == 0 { frameEnded = true }
        return destinationSize
    }
}
