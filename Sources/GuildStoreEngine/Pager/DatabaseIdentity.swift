import CGuildStoreSupport

/// 128 bits that name one database for its whole life: drawn at random when the file is
/// created and kept by every commit, checkpoint and vacuum. A backup, an incremental and an
/// archived WAL segment each carry the identity of the database they came from, so a restore
/// never mixes pieces of two databases (BK-3).
///
/// ```swift
/// let info = try await db.backup(to: "/backups/bot.gsbackup")
/// print(info.databaseIdentity)   // 32 hex digits, as `guildstore backup list` shows it
/// ```
public struct DatabaseIdentity: Hashable, Sendable, CustomStringConvertible {
    package let high: UInt64
    package let low: UInt64

    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A new random identity (never all zero: zero marks a file from before identities).
    package static func random() -> DatabaseIdentity {
        var generator = SystemRandomNumberGenerator()
        return DatabaseIdentity(high: generator.next() | 1, low: generator.next())
    }

    /// The identity of a version-5 file, which stored none: a function of what its header
    /// does store, so every read of the same file gives the same identity.
    package init(derivedFromCreationTime createdAt: UInt64, pageSize: Int) {
        var words = [createdAt, UInt64(pageSize), 0x4753_5F4C_4547_4143]  // "GS_LEGAC"
        let a = words.withUnsafeBytes { gs_crc32c(0, $0.baseAddress, $0.count) }
        words[2] = ~words[2]
        let b = words.withUnsafeBytes { gs_crc32c(a, $0.baseAddress, $0.count) }
        high = (UInt64(a) << 32 | UInt64(b)) | 1
        low = createdAt
    }

    var isZero: Bool { high == 0 && low == 0 }

    /// 32 lowercase hex digits.
    public var description: String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}
