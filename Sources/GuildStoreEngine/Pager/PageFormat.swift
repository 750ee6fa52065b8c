/// Every page starts with the same 8 bytes, all integers little-endian:
///
///     offset size  field
///          0    4  CRC32C of the page's number (4 bytes, little-endian) followed by its
///                  bytes 4..<pageSize, seeded with the database's checksum salt
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
///
/// Invariant (WALR-9): from header format 7 on, the checksum also covers the database's
/// identity (the salt: CRC32C of its 16 bytes, `checksumSalt`), so a page of another
/// database, copied in at the same number (a backup of the wrong bot restored by hand, a
/// file assembled from two), is a checksum mismatch too. Files of formats 5 and 6 keep salt 0
/// (their checksums read as before) and stay at their format when written; a vacuum writes
/// format 7.
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

/// The salt a database's page checksums are seeded with (WALR-9): CRC32C of its identity from
/// header format 7 on, 0 before.
func checksumSalt(formatVersion: UInt32, identity: DatabaseIdentity) -> UInt32 {
    guard formatVersion >= DatabaseHeader.identityInChecksumsVersion else { return 0 }
    var words = (identity.high.littleEndian, identity.low.littleEndian)
    return withUnsafeBytes(of: &words) { crc32c($0) }
}

/// Writes the checksum of page `number` into bytes 0..<4 (WALR-4, WALR-9).
@inline(__always)
func sealPage(_ page: UnsafeMutableRawPointer, number: UInt32, size: Int, salt: UInt32) {
    page.setU32(0, pageChecksum(page, number: number, size: size, salt: salt))
}

/// True when the stored checksum matches the page's bytes as page `number` of the database
/// whose salt is `salt` (WALR-4, WALR-9).
@inline(__always)
func pageChecksumHolds(_ page: UnsafeRawPointer, number: UInt32, size: Int, salt: UInt32) -> Bool {
    page.u32(0) == pageChecksum(page, number: number, size: size, salt: salt)
}

/// For a page of a backup or an archived log segment of the database `identity`, whose format
/// the piece does not record: true when the checksum holds with the salt of format 7 or with
/// salt 0 (formats 5 and 6). A page sealed for another database or another number still fails
/// (WALR-4, WALR-9 for format 7); the restored file is then opened and checked with its own
/// header's salt.
func pageChecksumHolds(_ page: UnsafeRawPointer, number: UInt32, size: Int, identity: DatabaseIdentity) -> Bool {
    pageChecksumHolds(page, number: number, size: size,
                      salt: checksumSalt(formatVersion: DatabaseHeader.identityInChecksumsVersion, identity: identity))
        || pageChecksumHolds(page, number: number, size: size, salt: 0)
}

/// For a header page (page 0) read before the database's salt is known: the salt its own
/// bytes name (format and identity; a page that is not a header page gets salt 0 and fails
/// unless it was sealed so), and whether its checksum holds with it. Its identity bytes are
/// covered by the checksum, so a damaged identity fails like any damaged byte.
func headerPageChecksum(_ page: UnsafeRawPointer, size: Int) -> (holds: Bool, salt: UInt32) {
    let salt = namedChecksumSalt(headerPage: page)
    return (pageChecksumHolds(page, number: 0, size: size, salt: salt), salt)
}

/// The salt the bytes of a header page name (its format and identity), checked or not.
func namedChecksumSalt(headerPage page: UnsafeRawPointer) -> UInt32 {
    checksumSalt(formatVersion: page.u32(16), identity: DatabaseIdentity(high: page.u64(56), low: page.u64(64)))
}

/// Seals a header page (page 0) with the salt its own bytes name.
func sealHeaderPage(_ page: UnsafeMutableRawPointer, size: Int) {
    sealPage(page, number: 0, size: size, salt: namedChecksumSalt(headerPage: page))
}

@inline(__always)
private func pageChecksum(_ page: UnsafeRawPointer, number: UInt32, size: Int, salt: UInt32) -> UInt32 {
    var littleEndian = number.littleEndian
    let seed = withUnsafeBytes(of: &littleEndian) { crc32c($0, seed: salt) }
    return crc32c(UnsafeRawBufferPointer(start: page + 4, count: size - 4), seed: seed)
}
