import Foundation

/// Restores a database from backup files and archived WAL segments: follows the plan
/// `BackupCatalog` makes for the point asked for (a chain of a full backup and incrementals,
/// then the commits of segments after it), checks every piece, and writes a new database file.
///
/// Invariant (BK-4): the destination is replaced only by a database that passed every check.
/// Every piece is read whole and checked (BK-2) while its pages go to `DEST.restore`; after
/// the last piece of a chain of incrementals, every live page of the result is hashed and
/// compared with the last piece's manifest (a lone full backup's pages were each compared as
/// they were read), so a chain restores exactly the snapshot it names or not at all. Then the
/// new file is opened read-only and run through `check`, then synced, and only a file that
/// passes is renamed over the destination, and the directory synced: damage
/// that no page checksum or manifest entry shows (a sound page in the wrong tree) never
/// replaces a database. A failure or a crash before the rename leaves the destination as it
/// was (and at most `DEST.restore`, which the next restore replaces); after it, the restored
/// database.
enum BackupRestore {
    @discardableResult
    static func restore(from sources: [String], to destination: String, at point: RestorePoint, force: Bool,
                        fileSystem: any FileSystem, progress: ((BackupProgress) -> Void)?) throws -> RestoreResult {
        let catalog = try BackupCatalog(sources: sources, fileSystem: fileSystem)
        let plan = try catalog.plan(for: point, fileSystem: fileSystem)
        let chain = plan.chain
        if fileSystem.exists(destination) && !force { throw GuildStoreError.destinationExists(path: destination) }
        guard let last = chain.last else { throw GuildStoreError.restorePointUnavailable(requested: point.description, available: catalog.rangeDescription) }
        let pageSize = last.header.pageSize
        var stamp = last.header.commit

        let temporary = destination + ".restore"
        try fileSystem.remove(temporary)
        // FILE-2: a restore over a database keeps the replaced file's permissions, from the
        // temporary's creation on.
        let replaced: FilePermissions? = try fileSystem.exists(destination) ? {
            let existing = try fileSystem.openForReading(destination)
            defer { try? existing.close() }
            return try existing.permissions()
        }() : nil
        var pagesWritten = 0
        do {
            let file = try fileSystem.open(temporary, createWith: replaced)
            defer { try? file.close() }
            let total = chain.reduce(0) { $0 + Int($1.header.pageCount) }
            var manifest: [UInt64] = []
            let runs = PageRunWriter(file: file, pageSize: pageSize)
            for piece in chain {
                let contents = try BackupFile.scan(path: piece.path, fileSystem: fileSystem) { number, image in
                    try runs.write(page: number, image)
                    pagesWritten += 1
                    if let progress, pagesWritten % 4096 == 0 { progress(BackupProgress(pagesDone: pagesWritten, pagesTotal: total)) }
                }
                try runs.flush()
                guard contents.header == piece.header else {
                    throw GuildStoreError.backupDamaged(path: piece.path, reason: "changed while it was being restored")
                }
                manifest = contents.manifest
            }
            try file.truncate(to: Int64(last.header.pageCount) * Int64(pageSize))
            // A lone full backup's pages were each compared with its manifest as they were read
            // (BK-2) and all of them are there: reading them back would check nothing more.
            // Incrementals overwrite some of them, so a chain is compared page by page.
            if chain.count > 1 { try verify(file, against: manifest, pageSize: pageSize, chain: chain) }
            // AR-2: then the archived commits after the chain's, in order, up to the target.
            var pageCount = last.header.pageCount
            for segment in plan.segments {
                _ = try WALSegment.scan(path: segment.path, fileSystem: fileSystem) { commit in
                    guard commit.stamp.number > stamp.number, commit.stamp.number <= plan.target else { return }
                    guard commit.stamp.number == stamp.number + 1 else {
                        throw GuildStoreError.backupChainBroken(missing: "commit \(stamp.number + 1) (\(segment.path) goes on from \(commit.stamp.number))",
                                                                restorableThrough: stamp.number)
                    }
                    for (number, image) in commit.pages {
                        try image.withUnsafeBytes { try file.write($0, at: Int64(number) * Int64(pageSize)) }
                        pagesWritten += 1
                    }
                    pageCount = commit.databaseSize
                    stamp = commit.stamp
                }
            }
            guard stamp.number == plan.target else {
                throw GuildStoreError.backupChainBroken(missing: "commit \(stamp.number + 1)", restorableThrough: stamp.number)
            }
            try file.truncate(to: Int64(pageCount) * Int64(pageSize))
            try rebase(file, pageSize: pageSize, commit: stamp, path: destination)
            // BK-4: the new file is checked before it replaces anything (reading what the page
            // cache holds), then synced. Not both at once: the check maps the file, and a
            // crash test's simulated power loss rewrites it under the mapping. The disk starts
            // writing the pages meanwhile (a hint, nothing is durable before the sync), so the
            // sync waits only for what the check's time did not cover.
            file.startWriteback()
            try checkRestored(temporary, destination: destination, stamp: stamp, last: last.path, fileSystem: fileSystem)
            try file.sync()
        } catch {
            try? fileSystem.remove(temporary)
            throw error
        }

        // Nobody may have the database open while it is replaced.
        let lock = fileSystem.exists(destination) ? try fileSystem.open(destination, create: false) : nil
        do {
            try lock?.lockExclusive()
            if let lock {
                try ReaderLock.excludeOpeners(lock, doing: "restore")  // RO-4
                try ReaderLock.excludeReaders(lock, doing: "restore")  // RO-1
            }
            try fileSystem.rename(temporary, to: destination)
            try fileSystem.syncDirectory(containing: destination)
            // WAL-7: the old file's log is stale now; it would be ignored, and goes.
            try fileSystem.remove(destination + "-wal")
            try lock?.close()
        } catch {
            try? lock?.close()
            try? fileSystem.remove(temporary)
            throw error
        }

        progress?(BackupProgress(pagesDone: pagesWritten, pagesTotal: pagesWritten))
        return RestoreResult(path: destination, commitNumber: stamp.number,
                             commitTime: stamp.time == 0 ? nil : Date(microsecondsSince1970: stamp.time),
                             backupsApplied: chain.map(\.path) + plan.segments.map(\.path), pagesWritten: pagesWritten)
    }

    /// BK-4: opens the restored file at `path` read-only (nothing created beside it) and runs
    /// `check` on it; it must show the commit the restore aimed at.
    private static func checkRestored(_ path: String, destination: String, stamp: CommitStamp, last: String,
                                      fileSystem: any FileSystem) throws {
        let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true),
                                            fileSystem: fileSystem)
        defer { try? engine.close() }
        let report = try engine.check()
        guard report.isOK else { throw GuildStoreError.integrityCheckFailed(path: destination, problems: report.problems) }
        guard engine.publishedStamp == stamp else {
            throw GuildStoreError.backupDamaged(path: last, reason: "the restored database shows commit \(engine.publishedStamp.number), not \(stamp.number)")
        }
    }

    /// Gives the restored file's header page a new file nonce (WAL-7) and `commit` as its base
    /// (WAL-6), and seals it again.
    private static func rebase(_ file: any FileHandleIO, pageSize: Int, commit: CommitStamp, path: String) throws {
        let page = PageBuffer(size: pageSize)
        let n = try file.read(into: UnsafeMutableRawBufferPointer(start: page.pointer, count: pageSize), at: 0)
        guard n == pageSize else { throw GuildStoreError.corruptHeader(path: path, reason: "the restored header page is short") }
        var header = try DatabaseHeader.decode(page.pointer, pageSize: pageSize, path: path)
        header.fileNonce = DatabaseHeader.randomNonce()
        header.baseCommit = commit
        header.write(to: page.pointer)
        sealHeaderPage(page.pointer, size: pageSize)
        try file.write(UnsafeRawBufferPointer(start: page.pointer, count: pageSize), at: 0)
    }

    /// BK-4: every live page of the restored file hashes to the last manifest's entry.
    private static func verify(_ file: any FileHandleIO, against manifest: [UInt64], pageSize: Int, chain: [BackupCatalog.Piece]) throws {
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 64)
        defer { page.deallocate() }
        for (number, expected) in manifest.enumerated() where expected != 0 {
            let n = try file.read(into: page, at: Int64(number) * Int64(pageSize))
            guard n == pageSize, BackupFile.pageHash(page.baseAddress!, pageSize: pageSize) == expected else {
                let last = chain.last?.path ?? "?"
                throw GuildStoreError.backupChainBroken(
                    missing: "page \(number) as \(last) records it (the chain \(chain.map(\.path).joined(separator: " <- ")) does not rebuild it)",
                    restorableThrough: nil)
            }
        }
    }
}

