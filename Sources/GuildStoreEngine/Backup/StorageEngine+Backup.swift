import Foundation

extension StorageEngine {
    /// Writes a backup of the last published commit to `path` (layout in `BackupHeader`): a
    /// full backup, or with `parent` an incremental holding the pages whose hash differs from
    /// the parent's manifest.
    ///
    /// Online: the backup reads one snapshot (a read transaction), so writers go on committing
    /// and never wait for it; while it runs, checkpoints do not copy past its snapshot (TX-2)
    /// and the WAL grows instead.
    ///
    /// Invariant (BK-1): a file at `path` is a complete backup. The backup is written to
    /// `PATH.partial`, synced, renamed over `path`, and the directory synced; a failure or a
    /// crash at any point leaves at most the `.partial` file, which no reader takes for a
    /// backup (`scan` needs the end record, the trailer and the frame's checksum), and which
    /// the next backup to the same path replaces.
    ///
    /// Invariant (BK-6): a backup holds only a snapshot `check` passes, the rule vacuum keeps
    /// (DISK-8): damage that page checksums cannot see (keys out of order, pages of one tree
    /// in another, a page used twice) would otherwise be copied into every backup and
    /// restored as if sound. The check runs on a second thread on the same snapshot while the
    /// pages are copied (`SnapshotCheck`), and a failed one leaves no file at `path`.
    ///
    /// Errors: `.backupMismatch` when `parent` is another database's, has another page size or
    /// is newer than the snapshot; `.integrityCheckFailed` naming the damage, and
    /// `.corruptPage` / `.checksumMismatch` for a damaged page (no backup is written); `.io`,
    /// `.diskFull`.
    func writeBackup(to path: String, parent: (path: String, contents: BackupFile.Contents)?,
                             progress: ((BackupProgress) -> Void)? = nil) throws -> BackupInfo {
        let startedAt = Date().microsecondsSince1970
        let tx = try beginRead()
        defer { tx.end() }
        // BK-6; waited for on every path before `tx` ends (defers run last to first).
        let verification = try SnapshotCheck(engine: self, sharing: tx)
        defer { verification.wait() }
        let snapshot = tx.snapshot
        let pageCount = snapshot.databaseSize
        let identity = snapshot.header.identity
        if let (parentPath, contents) = parent {
            let p = contents.header
            guard p.identity == identity else {
                throw GuildStoreError.backupMismatch(path: parentPath, reason: "it is a backup of database \(p.identity), this is \(identity)")
            }
            guard p.pageSize == pageSize else {
                throw GuildStoreError.backupMismatch(path: parentPath, reason: "its pages are \(p.pageSize) bytes, this database's \(pageSize)")
            }
            guard p.commit.number <= snapshot.stamp.number else {
                throw GuildStoreError.backupMismatch(path: parentPath, reason: "it holds commit \(p.commit.number), newer than this database's \(snapshot.stamp.number)")
            }
        }
        var free = [Bool](repeating: false, count: Int(pageCount))
        for page in try tx.freeListPages().listed { free[Int(page)] = true }
        let header = BackupHeader(
            kind: parent == nil ? .full : .incremental, pageSize: pageSize, pageCount: pageCount,
            commit: snapshot.stamp, identity: identity, backupID: UUID(),
            parentID: parent?.contents.header.backupID, parentCommit: parent?.contents.header.commit.number ?? 0,
            startedAt: startedAt, fileNonce: snapshot.header.fileNonce)

        let temporary = path + ".partial"
        try fileSystem.remove(temporary)
        let file = try fileSystem.createForStreaming(temporary, with: try snapshot.view.file.permissions())  // FILE-2
        var finished = false
        defer {
            if !finished {
                try? file.close()
                try? fileSystem.remove(temporary)
            }
        }
        let writer = try LZ4FrameWriter(file: file)
        try writer.write(header.encode())
        var manifest = [UInt64](repeating: 0, count: Int(pageCount))
        var stored = 0
        let parentManifest = parent?.contents.manifest ?? []
        let reportEvery = 4096
        let scratch = PageBuffer(size: pageSize)
        let salt = snapshot.view.checksumSalt
        for number in 0..<pageCount where !free[Int(number)] {
            let ref = try tx.page(number)
            try withExtendedLifetime((ref.owner, scratch)) {
                // BK-7: nodes are stored (and hashed) with their gaps zeroed.
                let image = BackupPageImage.image(of: ref.base, number: number, pageSize: pageSize, salt: salt, scratch: scratch.pointer)
                let hash = BackupFile.pageHash(image, pageSize: pageSize)
                manifest[Int(number)] = hash
                if Int(number) < parentManifest.count && parentManifest[Int(number)] == hash { return }
                var record = number.littleEndian
                try withUnsafeBytes(of: &record) { try writer.write($0) }
                try writer.write(UnsafeRawBufferPointer(start: image, count: pageSize))
                stored += 1
            }
            if let progress, number % UInt32(reportEvery) == 0 {
                progress(BackupProgress(pagesDone: Int(number), pagesTotal: Int(pageCount)))
            }
        }
        var trailer = [UInt8](repeating: 0, count: 4 + 8 + 8 * Int(pageCount) + 4)
        trailer.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            p.setU32(0, BackupHeader.endOfPages)
            p.setU32(4, UInt32(stored))
            p.setU32(8, pageCount)
            for (i, hash) in manifest.enumerated() { p.setU64(12 + 8 * i, hash) }
            p.setU32(raw.count - 4, crc32c(UnsafeRawBufferPointer(start: p + 4, count: raw.count - 8)))
        }
        try writer.write(trailer)
        let fileBytes = try writer.finish()
        let report = try verification.report()
        guard report.isOK else { throw GuildStoreError.integrityCheckFailed(path: self.path, problems: report.problems) }
        try file.sync()
        try file.close()
        finished = true
        do {
            try fileSystem.rename(temporary, to: path)
            try fileSystem.syncDirectory(containing: path)
        } catch {
            try? fileSystem.remove(temporary)
            throw error
        }
        progress?(BackupProgress(pagesDone: Int(pageCount), pagesTotal: Int(pageCount)))
        return BackupInfo(path: path, header: header, pagesStored: stored, fileBytes: fileBytes)
    }
}
