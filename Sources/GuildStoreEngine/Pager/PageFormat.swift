/// Every page starts with the same 8 bytes, all integers little-endian:
///
///     offset size  field
///          0    4  CRC32C of bytes 4..<pageSize
///          4    1  page type (PageType)
///          5    3  type-specific
///
/// Invariant (PG-1): a page is written to the WAL or the database file only with a checksum
/// computed over its final bytes (`sealPage`), and a page read from disk is used only after
/// its checksum matched once since it was last written (`Engine.readPage`).
enum PageType: UInt8 {
    case header = 1
    case leaf = 2
    case interior = 3
    case overflow = 4
    case freeTrunk = 5
}

enum PageFormat {
    static let minimumPageSize = 4096
    static let maximumPageSize = 65536
    static let defaultPageSize = 4096

    static func isValidPageSize(_ size: Int) -> Bool {
        size >= minimumPageSize && size <= maximumPageSize && size & (size - 1) == 0
    }
}

/// Writes the page's checksum into bytes 0..<4.
@inline(__always)
func sealPage(_ page: UnsafeMutableRawPointer, size: Int) {
    page.setU32(0, crc32c(UnsafeRawBufferPointer(start: page + 4, count: size - 4)))
}

/// True when the stored checksum matches the page's bytes.
@inline(__always)
func pageChecksumHolds(_ page: UnsafeRawPointer, size: Int) -> Bool {
    page.u32(0) == crc32c(UnsafeRawBufferPointer(start: page + 4, count: size - 4))
}
