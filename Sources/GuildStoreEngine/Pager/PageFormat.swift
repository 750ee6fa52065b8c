/// Every page starts with the same 8 bytes, all integers little-endian:
///
///     offset size  field
///          0    4  CRC32C of the page's number (4 bytes, little-endian) followed by its
///                  bytes 4..<pageSize
///          4    1  page type (PageType)
///          5    3  type-specific
///
/// Invariant (PG-1): a page is written to the WAL or the database file only with a checksum
/// computed over its final bytes (`sealPage`), and a page read from disk is used only after
/// its checksum matched once since it was last written (`Engine.readPage`).
///
/// Invariant (WALR-4): the checksum covers the number of the page it was sealed as, so a page
/// image found at another number (written to the wrong place, two pages swapped, a WAL frame
/// naming another page) is a checksum mismatch, not a page that reads wrong answers. A stale
/// image of the same page at its own place still passes: only its number is covered.
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

/// Writes the checksum of page `number` into bytes 0..<4 (WALR-4).
@inline(__always)
func sealPage(_ page: UnsafeMutableRawPointer, number: UInt32, size: Int) {
    page.setU32(0, pageChecksum(page, number: number, size: size))
}

/// True when the stored checksum matches the page's bytes as page `number` (WALR-4).
@inline(__always)
func pageChecksumHolds(_ page: UnsafeRawPointer, number: UInt32, size: Int) -> Bool {
    page.u32(0) == pageChecksum(page, number: number, size: size)
}

@inline(__always)
private func pageChecksum(_ page: UnsafeRawPointer, number: UInt32, size: Int) -> UInt32 {
    var littleEndian = number.littleEndian
    let seed = withUnsafeBytes(of: &littleEndian) { crc32c($0) }
    return crc32c(UnsafeRawBufferPointer(start: page + 4, count: size - 4), seed: seed)
}
