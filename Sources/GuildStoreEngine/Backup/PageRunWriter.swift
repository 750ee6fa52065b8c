/// Writes pages that arrive in increasing order as runs: consecutive pages gather in one buffer
/// (up to `capacity` bytes) and go to the file in one `pwrite`, instead of one call a page.
/// `flush()` writes what is gathered; a page that does not follow the run flushes it first.
///
/// ```swift
/// let writer = PageRunWriter(file: file, pageSize: 4096)
/// try writer.write(page: 7, image)   // gathered
/// try writer.flush()
/// ```
final class PageRunWriter {
    private let file: any FileHandleIO
    private let pageSize: Int
    private let buffer: UnsafeMutableRawBufferPointer
    private var first: UInt32 = 0
    private var count = 0

    init(file: any FileHandleIO, pageSize: Int, capacity: Int = 1 << 20) {
        self.file = file
        self.pageSize = pageSize
        buffer = .allocate(byteCount: max(pageSize, capacity / pageSize * pageSize), alignment: 4096)
    }

    deinit { buffer.deallocate() }

    func write(page number: UInt32, _ image: UnsafeRawPointer) throws {
        if count > 0 && (number != first + UInt32(count) || (count + 1) * pageSize > buffer.count) { try flush() }
        if count == 0 { first = number }
        (buffer.baseAddress! + count * pageSize).copyMemory(from: image, byteCount: pageSize)
        count += 1
    }

    func flush() throws {
        guard count > 0 else { return }
        try file.write(UnsafeRawBufferPointer(rebasing: buffer[0..<(count * pageSize)]), at: Int64(first) * Int64(pageSize))
        count = 0
    }
}
