/// Page 0 of the database file, all integers little-endian.
///
///     offset size  field
///          0    4  page checksum (PageFormat: the page number and bytes 4..<pageSize)
///          4    1  page type (1, header)
///          5    3  reserved, zero
///          8    8  magic "GSTORE\0\u{1}"
///         16    4  format version (7: page checksums seeded with the identity, WALR-9;
///                  6: the database identity, file nonce and base commit at 56..<96; 5: page checksums
///                  cover the page number, WALR-4; 4 leaf cells without a value field when the value is
///                  empty, rows without a NULL bitmap when no column is NULL; 3 added leaf
///                  key prefixes and row values without the primary key;
///                  2 variable-length integer keys and empty non-unique index values).
///                  Versions 5 to 7 are read (a version-5 file has zero bytes at 56, so
///                  its identity is derived, see `identity`). A new file is version 7; a
///                  file of version 5 or 6 is written as version 6, its checksums
///                  unsalted, until a vacuum rewrites it as 7. Older files are
///                  `.unsupportedFormatVersion`
///         20    4  page size in bytes
///         24    4  page count (pages in the database, header included)
///         28    4  first free-list trunk page, 0 when the free list is empty
///         32    4  free pages (trunks included)
///         36    4  catalog tree root page
///         40    8  schema counter: bumped whenever tree roots move (drop, vacuum)
///         48    8  creation time, seconds since 1970
///         56   16  database identity: random bytes drawn when the file was created, never
///                  changed afterwards (vacuum keeps it); backups and archived WAL segments
///                  carry it, and a restore refuses pieces of another database (BK-3)
///         72    8  file nonce: random, drawn anew for every file written whole (created,
///                  vacuumed, restored); the WAL header names it (WAL-7)
///         80    8  base commit number: the commit this file starts from when it has no log
///                  of its own (WAL-6): 0 for a new file, the backup's for a restored one
///         88    8  that commit's time, microseconds since 1970
///
/// Bytes 96..<pageSize are zero.
/// The header travels through the WAL like any page; the newest committed copy wins.
struct DatabaseHeader: Equatable, Sendable {
    static let magic: [UInt8] = Array("GSTORE".utf8) + [0, 1]
    static let formatVersion: UInt32 = 7
    /// The oldest version `probe` accepts: 5 differs from 6 only by zeros at 56..<96, and 6
    /// from 7 only by unsalted page checksums.
    static let oldestReadableVersion: UInt32 = 5
    /// The first version whose page checksums are seeded with the identity (WALR-9).
    static let identityInChecksumsVersion: UInt32 = 7

    /// The format the file's pages are written in: 7 for a new or vacuumed file, 5 or 6 for
    /// an older one (written back as 6: checksums unsalted, WALR-9).
    var version: UInt32

    var pageSize: Int
    var pageCount: UInt32
    var freeListHead: UInt32
    var freePageCount: UInt32
    var catalogRoot: UInt32
    var schemaCounter: UInt64
    var createdAt: UInt64
    /// As stored: zero in a version-5 file.
    var storedIdentity: DatabaseIdentity
    /// WAL-7: which file this is; 0 in a version-5 file.
    var fileNonce: UInt64
    /// WAL-6: where commit numbering starts when the file has no log of its own.
    var baseCommit: CommitStamp

    /// The salt of this database's page checksums (WALR-9): from the stored identity from
    /// format 7 on, 0 before.
    var checksumSalt: UInt32 { GuildStoreEngine.checksumSalt(formatVersion: version, identity: storedIdentity) }

    /// The database's identity (BK-3): the stored one, or for a file made before identities
    /// existed one derived from its creation time and page size, the same on every read.
    var identity: DatabaseIdentity {
        storedIdentity.isZero ? DatabaseIdentity(derivedFromCreationTime: createdAt, pageSize: pageSize) : storedIdentity
    }

    func write(to page: UnsafeMutableRawPointer) {
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 96)
        page.setU8(4, PageType.header.rawValue)
        for (i, byte) in Self.magic.enumerated() { page.setU8(8 + i, byte) }
        page.setU32(16, max(version, 6))
        page.setU32(20, UInt32(pageSize))
        page.setU32(24, pageCount)
        page.setU32(28, freeListHead)
        page.setU32(32, freePageCount)
        page.setU32(36, catalogRoot)
        page.setU64(40, schemaCounter)
        page.setU64(48, createdAt)
        page.setU64(56, storedIdentity.high)
        page.setU64(64, storedIdentity.low)
        page.setU64(72, fileNonce)
        page.setU64(80, baseCommit.number)
        page.setU64(88, baseCommit.time)
    }

    /// A random file nonce (never 0, which marks a version-5 file).
    static func randomNonce() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next() | 1
    }

    /// Reads the fields that come before the checksum can be checked: magic, version and
    /// page size, from the first 24 bytes.
    static func probe(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Int {
        guard bytes.count >= 24, let base = bytes.baseAddress else {
            throw GuildStoreError.notADatabase(path: path)
        }
        for (i, byte) in magic.enumerated() where base.u8(8 + i) != byte {
            throw GuildStoreError.notADatabase(path: path)
        }
        let version = base.u32(16)
        guard version >= oldestReadableVersion, version <= formatVersion else {
            throw GuildStoreError.unsupportedFormatVersion(path: path, version: version)
        }
        let pageSize = Int(base.u32(20))
        guard PageFormat.isValidPageSize(pageSize) else {
            throw GuildStoreError.corruptHeader(path: path, reason: "impossible page size \(pageSize)")
        }
        return pageSize
    }

    /// Decodes a whole header page whose checksum was already verified.
    static func decode(_ page: UnsafeRawPointer, pageSize: Int, path: String) throws -> DatabaseHeader {
        let header = DatabaseHeader(
            version: page.u32(16),
            pageSize: Int(page.u32(20)),
            pageCount: page.u32(24),
            freeListHead: page.u32(28),
            freePageCount: page.u32(32),
            catalogRoot: page.u32(36),
            schemaCounter: page.u64(40),
            createdAt: page.u64(48),
            storedIdentity: page.u32(16) >= 6 ? DatabaseIdentity(high: page.u64(56), low: page.u64(64)) : DatabaseIdentity(high: 0, low: 0),
            fileNonce: page.u32(16) >= 6 ? page.u64(72) : 0,
            baseCommit: page.u32(16) >= 6 ? CommitStamp(number: page.u64(80), time: page.u64(88)) : .none
        )
        guard page.u8(4) == PageType.header.rawValue, header.pageSize == pageSize else {
            throw GuildStoreError.corruptHeader(path: path, reason: "header page fields disagree")
        }
        guard header.baseCommit.number < CommitStamp.maximumNumber else {  // DISK-10
            throw GuildStoreError.corruptHeader(path: path, reason: "base commit \(header.baseCommit.number) is beyond any database's life")
        }
        guard header.pageCount >= 2, header.catalogRoot >= 1, header.catalogRoot < header.pageCount,
              header.freeListHead < header.pageCount, header.freePageCount < header.pageCount
        else {
            throw GuildStoreError.corruptHeader(path: path, reason: "page count \(header.pageCount), catalog root \(header.catalogRoot), free list \(header.freeListHead) are inconsistent")
        }
        return header
    }
}
