import Foundation

/// The first 128 bytes of a backup's decompressed content. All integers little-endian.
///
/// A backup file (`.gsbackup`) is one LZ4 frame (content checksum on; `lz4 -t` checks it,
/// `lz4 -d` decompresses it) holding:
///
/// 1. this header;
/// 2. page records in increasing page order, each a 4-byte page number and the page image as
///    the database held it at the snapshot (its own checksum, which covers its number, inside);
/// 3. the end record: 4 bytes 0xFFFFFFFF;
/// 4. the trailer: pages stored (4), page count (4), the manifest (8 × page count: each page's
///    `gs_hash64`, 0 for a free page), CRC32C of these bytes (4).
///
///     offset size  field
///          0    8  magic "GSBACKUP"
///          8    4  format version (1)
///         12    4  kind: 1 full, 2 incremental
///         16    4  page size
///         20    4  page count at the snapshot
///         24    8  commit number of the snapshot (WAL-6)
///         32    8  commit time, microseconds since 1970
///         40   16  database identity (BK-3)
///         56   16  this backup's id (random)
///         72   16  parent backup's id; zero in a full backup
///         88    8  parent's commit number; 0 in a full backup
///         96    8  when the backup began, microseconds since 1970
///        104    8  the database file's nonce at the snapshot (WAL-7): archived segments
///                  carry a restore on from it only when theirs is the same (AR-2)
///        112   12  zero
///        124    4  CRC32C of bytes 0..<124
///
/// A full backup stores every page but the free ones; an incremental stores the pages whose
/// hash differs from its parent's manifest (and every page past the parent's page count).
struct BackupHeader: Equatable {
    static let size = 128
    static let magic: [UInt8] = Array("GSBACKUP".utf8)
    static let formatVersion: UInt32 = 1
    static let endOfPages: UInt32 = .max

    var kind: BackupKind
    var pageSize: Int
    var pageCount: UInt32
    var commit: CommitStamp
    var identity: DatabaseIdentity
    var backupID: UUID
    var parentID: UUID?
    var parentCommit: UInt64
    var startedAt: UInt64
    var fileNonce: UInt64

    func encode() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        bytes.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            for (i, byte) in Self.magic.enumerated() { p.setU8(i, byte) }
            p.setU32(8, Self.formatVersion)
            p.setU32(12, kind.rawValue)
            p.setU32(16, UInt32(pageSize))
            p.setU32(20, pageCount)
            p.setU64(24, commit.number)
            p.setU64(32, commit.time)
            p.setU64(40, identity.high)
            p.setU64(48, identity.low)
            Self.store(backupID, at: p + 56)
            if let parentID { Self.store(parentID, at: p + 72) }
            p.setU64(88, parentCommit)
            p.setU64(96, startedAt)
            p.setU64(104, fileNonce)
            p.setU32(124, crc32c(UnsafeRawBufferPointer(start: p, count: 124)))
        }
        return bytes
    }

    /// Decodes and checks a header; `path` names the file in errors.
    static func decode(_ bytes: [UInt8], path: String) throws -> BackupHeader {
        try bytes.withUnsafeBytes { raw in
            guard raw.count >= size, let p = raw.baseAddress else {
                throw GuildStoreError.backupDamaged(path: path, reason: "shorter than a backup header")
            }
            guard Array(raw[0..<8]) == magic else {
                throw GuildStoreError.backupDamaged(path: path, reason: "not a GuildStore backup (no GSBACKUP magic)")
            }
            guard p.u32(124) == crc32c(UnsafeRawBufferPointer(start: p, count: 124)) else {
                throw GuildStoreError.backupDamaged(path: path, reason: "header checksum mismatch")
            }
            let version = p.u32(8)
            guard version == formatVersion else {
                throw GuildStoreError.backupDamaged(path: path, reason: "backup format version \(version); this build reads version \(formatVersion)")
            }
            guard let kind = BackupKind(rawValue: p.u32(12)) else {
                throw GuildStoreError.backupDamaged(path: path, reason: "unknown backup kind \(p.u32(12))")
            }
            let pageSize = Int(p.u32(16)), pageCount = p.u32(20)
            guard PageFormat.isValidPageSize(pageSize), pageCount >= 2, pageCount < endOfPages else {
                throw GuildStoreError.backupDamaged(path: path, reason: "impossible page size \(pageSize) or page count \(pageCount)")
            }
            let parent = load(p + 72)
            let parentCommit = p.u64(88)
            let commit = CommitStamp(number: p.u64(24), time: p.u64(32))
            guard commit.number < CommitStamp.maximumNumber else {  // DISK-10
                throw GuildStoreError.backupDamaged(path: path, reason: "commit number \(commit.number) is beyond any database's life")
            }
            switch kind {
            case .full:
                guard parent == nil, parentCommit == 0 else {
                    throw GuildStoreError.backupDamaged(path: path, reason: "a full backup that names a parent")
                }
            case .incremental:
                guard parent != nil, parentCommit <= commit.number else {
                    throw GuildStoreError.backupDamaged(path: path, reason: "an incremental backup without a parent, or newer than itself")
                }
            }
            guard let id = load(p + 56) else {
                throw GuildStoreError.backupDamaged(path: path, reason: "backup id is zero")
            }
            return BackupHeader(kind: kind, pageSize: pageSize, pageCount: pageCount, commit: commit,
                                identity: DatabaseIdentity(high: p.u64(40), low: p.u64(48)),
                                backupID: id, parentID: parent, parentCommit: parentCommit, startedAt: p.u64(96),
                                fileNonce: p.u64(104))
        }
    }

    private static func store(_ id: UUID, at p: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: id.uuid) { p.copyMemory(from: $0.baseAddress!, byteCount: 16) }
    }

    /// The id at `p`, nil when all zero.
    private static func load(_ p: UnsafeRawPointer) -> UUID? {
        var tuple: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tuple) { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: 16)) }
        let id = UUID(uuid: tuple)
        return withUnsafeBytes(of: tuple) { $0.allSatisfy { $0 == 0 } } ? nil : id
    }
}
