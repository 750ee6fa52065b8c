import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// How the backup commands write times, ids and sizes.
enum BackupFormatting {
    /// A commit time as ISO 8601 in UTC, to the second; "never committed" for an empty
    /// database's backup.
    static func time(_ date: Date?) -> String {
        date.map { $0.formatted(.iso8601) } ?? "never committed"
    }

    /// The first 8 hex digits of a backup id: enough to tell a directory's backups apart.
    static func shortID(_ id: UUID) -> String {
        String(id.uuidString.lowercased().prefix(8))
    }

    /// "12.3 MB", "845 KB", "512 B" (powers of 1,000).
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1_000 && unit < units.count - 1 {
            value /= 1_000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    /// What `guildstore backup` prints about the backup it wrote: the kind and file, the commit,
    /// the pages stored of the database's, the bytes and their ratio to the database's size.
    static func written(_ info: BackupInfo) -> [String] {
        let stored = info.pagesStored.map(String.init) ?? "?"
        let ratio = info.databaseBytes > 0 ? Double(info.fileBytes) / Double(info.databaseBytes) * 100 : 0
        var lines = ["wrote \(info.kind) backup \(info.path)"]
        if let parent = info.parentID, let commit = info.parentCommitNumber {
            lines.append("parent: \(shortID(parent)) (commit \(commit))")
        }
        lines += [
            "backup id: \(shortID(info.backupID))",
            "commit: \(info.commitNumber) at \(time(info.commitTime))",
            "pages: \(stored) stored of \(info.pageCount)",
            "bytes: \(info.fileBytes) (\(String(format: "%.1f", ratio))% of the database's \(info.databaseBytes))",
        ]
        return lines
    }
}
