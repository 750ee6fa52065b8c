import Foundation

extension Database {
    /// Rotates the backups in `directory`: keeps the `keep` newest backups that restore (their
    /// chains complete) and every backup those chains need, removes the older ones, and removes
    /// the unfinished `.gsbackup.partial` files older than the newest backup. Returns the paths
    /// removed, oldest backup first.
    ///
    /// An incremental's ancestors, up to its full backup, are never removed while it is kept
    /// (BK-5), so after a rotation every backup that restored before still restores if it is
    /// kept. Files whose header does not read are left alone, and a backup newer than the
    /// oldest one kept is never removed.
    ///
    /// ```swift
    /// try await db.backup(to: "/backups/bot-20261205T093000Z-full.gsbackup")
    /// let removed = try Database.pruneBackups(in: "/backups", keep: 7)
    /// print("removed \(removed.count) old backups")
    /// ```
    ///
    /// Errors: `.invalidConfiguration` when `keep` is below 1; `.backupMismatch` when the
    /// directory holds backups of several databases (nothing is removed); `.io` when the
    /// directory cannot be read or a file cannot be removed.
    @discardableResult
    public static func pruneBackups(in directory: String, keep: Int) throws -> [String] {
        guard keep >= 1 else { throw GuildStoreError.invalidConfiguration("keep at least 1 backup, not \(keep)") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw GuildStoreError.io(operation: "opendir", path: directory, errno: ENOENT)
        }
        guard isDirectory.boolValue else { throw GuildStoreError.io(operation: "opendir", path: directory, errno: ENOTDIR) }
        let catalog = BackupListing.read([directory])
        if let mismatch = catalog.problems.first(where: { if case .backupMismatch = $0.error { true } else { false } }) {
            throw mismatch.error
        }
        let doomed = BackupRotation.plan(catalog, keep: keep) + BackupRotation.stalePartials(in: directory, catalog: catalog)
        for path in doomed where unlink(path) != 0 {
            let code = errno
            if code != ENOENT { throw GuildStoreError.io(operation: "unlink", path: path, errno: code) }
        }
        return doomed
    }
}
