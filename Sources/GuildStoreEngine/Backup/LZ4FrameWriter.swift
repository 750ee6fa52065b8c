import CGuildStoreSupport
import CLZ4
import Foundation

/// Compresses a stream of bytes into one LZ4 frame (`lz4_Frame_format.md`) written to a file
/// as it goes, with the frame's content checksum and every block's checksum on, so `lz4 -t`
/// verifies the file and `lz4 -d` (or `LZ4F_decompress`) decompresses it. The block checksums
/// cover the compressed bytes: a flipped bit that would still decode to the same content (a
/// match offset moved within a run of zeros) is caught too, so any change to the file is damage.
///
/// The frame's blocks are independent (4 MiB each, no match reaches into the block before), so
/// they are compressed on threads of their own, up to `inFlight` at once, while the caller fills
/// the next; they are written to the file in order as they finish. On two cores a backup's
/// compression, which is most of its time, then runs on both.
///
/// Invariant (LZ-1): a block's buffers belong to exactly one thread at a time. The caller's
/// thread fills a block, hands it to a compressing thread (`Thread.start`), and touches it
/// again only after waiting on its `compressed` semaphore, which the compressing thread
/// signals as its last act; `deinit` waits for every block in flight, so no compressing thread
/// outlives the buffers it writes. (The caller's thread also reads a block's input while it is
/// compressed, for the content checksum: two readers, no writer.) Memory: at most
/// `inFlight + 2` blocks of about 8 MiB each, reused, and the output's 1 MiB chunk.
///
/// The frame goes to the file through a `SequentialFileWriter`, in aligned 1 MiB chunks, so a
/// file made by `FileSystem.createForStreaming` is written without the page cache.
///
/// ```swift
/// let writer = try LZ4FrameWriter(file: try fileSystem.createForStreaming(path))
/// try writer.write(bytes)
/// let compressedBytes = try writer.finish()
/// ```
final class LZ4FrameWriter {
    /// The frame's block size: the largest the format has (block maximum size code 7).
    static let blockSize = 4 << 20
    /// Blocks being compressed at once, besides the one being filled.
    static let inFlight = 2

    private let output: SequentialFileWriter
    private var filling: LZ4FrameBlock
    private var compressing: [LZ4FrameBlock] = []
    private var spare: [LZ4FrameBlock] = []
    private var content = gs_xxh32_state()
    /// Bytes of the frame so far (written to the file or waiting in the output's chunk).
    var compressedBytes: Int64 { output.count }
    /// Bytes given to `write` so far.
    private(set) var uncompressedBytes: Int64 = 0

    /// Starts the frame at offset 0 of `file`, an empty file.
    init(file: any FileHandleIO) throws {
        output = SequentialFileWriter(file: file)
        filling = LZ4FrameBlock()
        gs_xxh32_reset(&content, 0)
        try emit(Self.frameHeader())
    }

    deinit {
        for block in compressing { block.compressed.wait() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let source = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Self.blockSize - filling.filled)
            (filling.input + filling.filled).copyMemory(from: source + offset, byteCount: n)
            filling.filled += n
            offset += n
            if filling.filled == Self.blockSize { try submitFilling() }
        }
        uncompressedBytes += Int64(bytes.count)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Ends the frame (its last blocks, the end mark and the content checksum), writes what is
    /// left of it to the file, and returns the file's size. The caller syncs and closes the file.
    @discardableResult
    func finish() throws -> Int64 {
        if filling.filled > 0 { try submitFilling() }
        while !compressing.isEmpty { try writeOldest() }
        var trailer = [UInt8](repeating: 0, count: 8)
        trailer.withUnsafeMutableBytes { $0.baseAddress!.setU32(4, gs_xxh32_digest(&content)) }
        try emit(trailer)
        return try output.finish()
    }

    /// Starts compressing the block being filled, writing the oldest blocks first while too
    /// many are in flight, and takes a free block to fill next.
    private func submitFilling() throws {
        let block = filling
        block.startCompressing()
        gs_xxh32_update(&content, block.input, block.filled)
        compressing.append(block)
        filling = spare.popLast() ?? LZ4FrameBlock()
        while compressing.count > Self.inFlight { try writeOldest() }
    }

    private func writeOldest() throws {
        let block = compressing.removeFirst()
        block.compressed.wait()
        try emit(UnsafeRawBufferPointer(start: block.output, count: block.outputCount))
        block.filled = 0
        spare.append(block)
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        try output.append(bytes)
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try emit($0) }
    }

    /// Magic number, then the descriptor: FLG (version 01, independent blocks, block
    /// checksums, no content size, content checksum, no dictionary), BD (4 MiB blocks), and
    /// the descriptor's checksum byte (the second byte of XXH32 over FLG and BD).
    static func frameHeader() -> [UInt8] {
        let descriptor: [UInt8] = [0b0111_0100, 0b0111_0000]
        let check = descriptor.withUnsafeBytes { UInt8(truncatingIfNeeded: gs_xxh32($0.baseAddress, 2, 0) >> 8) }
        return [0x04, 0x22, 0x4D, 0x18] + descriptor + [check]
    }
}

/// One block of an `LZ4FrameWriter`'s frame: its input, and its output as the frame stores it
/// (size word, data, checksum). Ownership moves between threads as LZ-1 says.
final class LZ4FrameBlock: @unchecked Sendable {
    let input: UnsafeMutableRawPointer
    let output: UnsafeMutableRawPointer
    private let outputCapacity: Int
    private let state: UnsafeMutableRawPointer
    var filled = 0
    private(set) var outputCount = 0
    let compressed = DispatchSemaphore(value: 0)

    init() {
        input = .allocate(byteCount: LZ4FrameWriter.blockSize, alignment: 64)
        outputCapacity = 8 + Int(LZ4_compressBound(Int32(LZ4FrameWriter.blockSize)))
        output = .allocate(byteCount: outputCapacity, alignment: 64)
        state = .allocate(byteCount: Int(LZ4_sizeofState()), alignment: 64)
    }

    deinit {
        input.deallocate()
        output.deallocate()
        state.deallocate()
    }

    /// Compresses `input[0..<filled]` on a new thread, which signals `compressed` when done.
    func startCompressing() {
        let thread = Thread { [self] in
            compress()
            compressed.signal()
        }
        thread.name = "guildstore.lz4-block"
        thread.start()
    }

    /// The frame's block: a little-endian size word (its top bit set when the data is stored
    /// uncompressed, because LZ4 would not make it smaller), the data, and XXH32 of the data.
    private func compress() {
        let data = output + 4
        var size = Int(LZ4_compress_fast_extState(state, input, data, Int32(filled), Int32(outputCapacity - 8), 1))
        var word = UInt32(size)
        if size <= 0 || size >= filled {
            data.copyMemory(from: input, byteCount: filled)
            size = filled
            word = UInt32(filled) | 0x8000_0000
        }
        output.setU32(0, word)
        output.setU32(4 + size, gs_xxh32(data, size, 0))
        outputCount = 8 + size
    }
}
