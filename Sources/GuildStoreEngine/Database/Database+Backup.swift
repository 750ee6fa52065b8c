import Foundation

extension Database {
    /// Writes a full backup of the last commit to `path`, while writers go on committing: the
    /// backup reads one snapshot, so it holds exactly one commit and never stops a writer
    /// (checkpoints wait for it, and the log grows meanwhile).
    ///
    /// The file is one LZ4 frame (`lz4 -t` checks it, `lz4 -d` decompresses it) holding every
    /// page but the free ones, each with its checksum. It is written to `PATH.partial`, synced
    /// and renamed into place, so a file at `path` is always a complete backup (BK-1).
    ///
    /// ```swift
    /// let full = try await db.backup(to: "/backups/bot-2026-12-05.gsbackup")
    /// print("commit \(full.commitNumber): \(full.pagesStored) pages in \(full.fileBytes) bytes")
    /// ```
    @discardableResult
    public func backup(to path: String, progress: (@Sendable (BackupProgress) -> Void)? = nil) async throws -> BackupInfo {
        let engine = self.engine
        return try await LowPriorityJob.run(named: "guildstore.backup", progress: progress) { report in
            try engine.writeBackup(to: path, parent: nil, progress: report)
        }
    }

    /// Writes an incremental backup to `path`: the pages that changed since the backup at
    /// `parent` (a full backup or another incremental of this database), found by comparing
    /// each page's hash with the parent's manifest. A restore applies the chain, full backup
    /// first, and checks that the result matches this backup's manifest page for page.
    ///
    /// ```swift
    /// let full = try await db.backup(to: "/backups/sunday.gsbackup")
    /// let monday = try await db.backup(to: "/backups/monday.gsbackup", since: full.path)
    /// ```
    ///
    /// Errors: `.backupMismatch` when `parent` is another database's or newer than this one;
    /// `.backupDamaged` when it does not read whole.
    @discardableResult
    public func backup(to path: String, since parent: String, progress: (@Sendable (BackupProgress) -> Void)? = nil) async throws -> BackupInfo {
        let engine = self.engine
        let fileSystem = configuration.fileSystem
        return try await LowPriorityJob.run(named: "guildstore.backup", progress: progress) { report in
            let contents = try BackupFile.scan(path: parent, fileSystem: fileSystem)
            return try engine.writeBackup(to: path, parent: (parent, contents), progress: report)
        }
    }

    /// Restores the database at `destination` from backups: `sources` are backup files and
    /// directories of them. The chain that reaches `point` (a full backup and the incrementals
    /// on it) is read and checked whole, written to a temporary file, checked page by page
    /// against the last backup's manifest, and renamed into place; the result is opened and
    /// run through `check`. Nothing at `destination` changes unless all of that succeeds
    /// (BK-4). An existing database is replaced only with `force`, and only while no process
    /// has it open.
    ///
    /// ```swift
    /// let result = try Database.restore(from: ["/backups"], to: "data/bot.gsdb")
    /// print("restored commit \(result.commitNumber) from \(result.backupsApplied)")
    /// ```
    ///
    /// Errors: `.destinationExists`, `.backupDamaged`, `.backupMismatch`, `.backupChainBroken`
    /// (naming the missing piece and the last commit the others restore),
    /// `.restorePointUnavailable` (naming what the backups hold), `.locked`.
    @discardableResult
    public static func restore(from sources: [String], to destination: String, at point: RestorePoint = .latest,
                               force: Bool = false, progress: (@Sendable (BackupProgress) -> Void)? = nil) throws -> RestoreResult {
        try BackupRestore.restore(from: sources, to: destination, at: point, force: force,
                                  fileSystem: PosixFileSystem(), progress: progress)
    }

    /// Reads the backup at `path` whole and checks it (every page's checksum, the manifest,
    /// the LZ4 frame's checksum); returns what it holds. `.backupDamaged` when it is not whole.
    ///
    /// ```swift
    /// let info = try Database.verifyBackup(at: "/backups/monday.gsbackup")
    /// ```
    public static func verifyBackup(at path: String) throws -> BackupInfo {
        let contents = try BackupFile.scan(path: path, fileSystem: PosixFileSystem())
        return BackupInfo(path: path, header: contents.header, pagesStored: contents.pagesStored, fileBytes: contents.fileBytes)
    }

    /// The backups in `directory` (files ending `.gsbackup`), oldest commit first, from their
    /// headers alone (`verifyBackup` reads one whole), so `pagesStored` is nil. A file whose
    /// header is damaged is `.backupDamaged`; one of another database `.backupMismatch`.
    ///
    /// ```swift
    /// for info in try Database.backups(in: "/backups") { print(info.kind, info.commitNumber) }
    /// ```
    public static func backups(in directory: String) throws -> [BackupInfo] {
        let pieces = try BackupCatalog(sources: [directory], fileSystem: PosixFileSystem()).pieces
        return pieces.sorted { $0.header.commit.number < $1.header.commit.number }.map { piece in
            let bytes = (try? FileManager.default.attributesOfItem(atPath: piece.path)[.size] as? Int64) ?? 0
            return BackupInfo(path: piece.path, header: piece.header, pagesStored: nil, fileBytes: bytes)
        }
    }

    /// The commits a restore from `sources` (backups, archived WAL segments, directories of
    /// them) can reach, as ranges of commit numbers: each base (a backup whose chain is whole)
    /// and the segments that carry it on without a gap (AR-2).
    ///
    /// ```swift
    /// for range in try Database.restorableRanges(from: ["/backups/bot-archive"]) { print(range) }
    /// ```
    public static func restorableRanges(from sources: [String]) throws -> [ClosedRange<UInt64>] {
        try BackupCatalog(sources: sources, fileSystem: PosixFileSystem()).ranges
    }
}
