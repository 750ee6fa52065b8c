import Foundation

/// Which files rotating a backup directory removes (`Database.pruneBackups`).
///
/// Invariant (BK-5): rotation never removes a backup that a kept backup's restore needs. The
/// kept backups are the `keep` newest restorable ones (a backup whose chain is broken restores
/// nothing, so it holds no place); each keeps its whole chain, the incrementals back to its full
/// backup. A backup is removed only when it is in none of those chains and older than the
/// oldest backup kept (by commit, then by when it began), so a newer backup, broken or not, is
/// never taken for an old one. Files whose header does not read are never removed: nothing is
/// known of them. With no restorable backup at all, nothing is removed.
///
/// ```swift
/// let catalog = BackupListing.read(["/backups"])
/// for path in BackupRotation.plan(catalog, keep: 7) { try FileManager.default.removeItem(atPath: path) }
/// ```
package enum BackupRotation {
    /// The backups of `catalog` to remove so that the `keep` newest restorable ones and their
    /// chains remain (BK-5), oldest first. `keep` below 1 keeps one.
    package static func plan(_ catalog: BackupListing, keep: Int) -> [String] {
        // Entries are oldest first: by commit, then by when the backup began.
        let restorable = catalog.entries.indices.filter { catalog.entries[$0].isRestorable }
        let kept = restorable.suffix(max(1, keep))
        guard let oldestKept = kept.first else { return [] }
        var needed = Set<UUID>()
        for index in kept {
            for piece in catalog.entries[index].chain ?? [] { needed.insert(piece.backupID) }
        }
        return catalog.entries[..<oldestKept].filter { !needed.contains($0.info.backupID) }.map(\.info.path)
    }

    /// The unfinished backups (`NAME.gsbackup.partial`, left by a backup that failed or was
    /// killed) in `directory` last modified before the newest backup there was: no backup
    /// still running writes to them. A `.partial` newer than every backup may be a backup in
    /// progress and is left alone.
    package static func stalePartials(in directory: String, catalog: BackupListing) -> [String] {
        let newest = catalog.entries.compactMap { modificationDate($0.info.path) }.max()
        guard let newest else { return [] }
        let suffix = BackupCatalog.backupExtension + partialSuffix
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted().map { directory + "/" + $0 }.filter { path in
            modificationDate(path).map { $0 < newest } ?? false
        }
    }

    /// What `StorageEngine.writeBackup` appends to a backup's path while it writes it.
    static let partialSuffix = ".partial"

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
