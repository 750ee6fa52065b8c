/// Writes a new file front to back in whole chunks from one buffer aligned to
/// `alignment`, so that a file made by `FileSystem.createForStreaming` takes every write but
/// the last without the page cache (Linux `O_DIRECT` wants the offset, the length and the
/// buffer's address aligned). The last, partial chunk is padded with zeros to the alignment,
/// written, and the file then truncated to the bytes given.
///
/// Why a backup or an archived segment skips the page cache: the file is written once and
/// read rarely, so caching it only pushes the live database's pages out of memory, and the
/// kernel's copy into freshly allocated cache pages is most of a backup's system time (about
/// 0.4 s of CPU for a 140 MB backup on the 2-core VM the benchmarks run on, where memory the
/// host has not backed yet is slow to touch; on any machine, one copy of every byte).
///
/// Invariant (SW-1): after `finish()` the file holds exactly the bytes appended, in order;
/// before it, or after a write failed, some prefix of them (whole chunks, and part of the one
/// whose write failed). A writer whose write failed refuses any further use. Callers write to
/// a `.partial` name and rename only after `finish()` and a sync (BK-1, AR-1), so a prefix
/// never passes for a finished file.
///
/// ```swift
/// let writer = SequentialFileWriter(file: try fileSystem.createForStreaming(path))
/// try writer.append(bytes)
/// let size = try writer.finish()
/// ```
final class SequentialFileWriter {
    /// What `O_DIRECT` asks of offsets, lengths and addresses on the file systems Linux has
    /// (their logical block size, 512 or 4,096 bytes).
    static let alignment = 4096
    /// Bytes per write. An uncached write holds the device for its whole transfer, and a
    /// writer's fdatasync queued behind it waits that long: 1 MiB keeps the wait under a
    /// millisecond on a disk of 1.5 GB/s while keeping the writes few (a 140 MB backup, 134).
    static let chunkSize = 1 << 20

    private let file: any FileHandleIO
    private let buffer: UnsafeMutableRawPointer
    private var filled = 0
    /// Bytes of whole chunks written to the file.
    private var written: Int64 = 0
    /// Set by `finish()`, or by a write that failed (the buffer no longer matches the file).
    private var closed = false

    init(file: any FileHandleIO) {
        self.file = file
        buffer = .allocate(byteCount: Self.chunkSize, alignment: Self.alignment)
    }

    deinit {
        buffer.deallocate()
    }

    /// Bytes appended so far (written or buffered).
    var count: Int64 { written + Int64(filled) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!closed, "SequentialFileWriter: append after finish or after a failed write")
        guard let source = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Self.chunkSize - filled)
            (buffer + filled).copyMemory(from: source + offset, byteCount: n)
            filled += n
            offset += n
            if filled == Self.chunkSize { try writeBuffer(length: filled) }
        }
    }

    /// Writes `buffer[0..<length]` at `written`; a failure closes the writer.
    private func writeBuffer(length: Int) throws {
        do {
            try file.write(UnsafeRawBufferPointer(start: buffer, count: length), at: written)
        } catch {
            closed = true
            throw error
        }
        written += Int64(filled)
        filled = 0
    }

    /// Writes what is buffered and trims the file to `count` bytes; returns `count`. The
    /// caller syncs and closes the file.
    @discardableResult
    func finish() throws -> Int64 {
        precondition(!closed, "SequentialFileWriter: finish twice or after a failed write")
        let total = count
        if filled > 0 {
            let padded = (filled + Self.alignment - 1) / Self.alignment * Self.alignment
            (buffer + filled).initializeMemory(as: UInt8.self, repeating: 0, count: padded - filled)
            try writeBuffer(length: padded)
        }
        closed = true
        // Also when nothing was padded: the file may not have started empty.
        try file.truncate(to: total)
        return total
    }
}
