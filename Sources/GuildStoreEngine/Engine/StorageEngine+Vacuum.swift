/// What `Database.vacuum()` did: the file's size in pages and bytes before and after.
///
/// ```swift
/// let result = try await db.vacuum()
/// print("\(result.fileBytesBefore) -> \(result.fileBytesAfter) bytes")
/// ```
public struct VacuumResult: Sendable, Equatable {
    public var pagesBefore: Int
    public var pagesAfter: Int
    public var fileBytesBefore: Int64
    public var fileBytesAfter: Int64
}

extension StorageEngine {
    /// Rewrites the database into a new file holding only live data, with full leaves and no
    /// free pages, and swaps it in, so the file shrinks after mass deletes.
    ///
    /// Steps, each crash-safe: a truncating checkpoint (the WAL is empty and that is synced);
    /// every tree copied in key order into `PATH-vacuum`, which is synced; an atomic rename
    /// over `PATH` and a sync of the directory. A crash before the rename leaves the old file,
    /// after it the new one; either way with an empty WAL.
    ///
    /// Runs `check()` first and refuses a damaged database with `.integrityCheckFailed`.
    /// Needs the writer and no open read transactions (`.busy` otherwise). Tree handles taken
    /// before are found again by name (the schema counter moves on).
    package func vacuum() throws -> VacuumResult {
        if configuration.readOnly { throw GuildStoreError.readOnlyDatabase(path: path) }
        return try withWriterToken {
            let lockFile = try state.withLock { s in
                guard s.readers.isEmpty else { throw GuildStoreError.busy("vacuum needs every read transaction to end (\(s.readers.count) open)") }
                return s.lockFile
            }
            // RO-4: no read-only opening has the file open, and none opens it until the old
            // file's descriptor closes (`swapInDatabaseFile`), or the vacuum fails.
            try ReaderLock.excludeOpeners(lockFile, doing: "vacuum")
            var swapped = false
            defer { if !swapped { _ = try? lockFile.lockOpeners(.none) } }
            // RO-1: named here, before the check's pass over the file (an opening of this
            // process's own, which RO-4 does not see through another layer, included).
            try ReaderLock.excludeReaders(lockFile, doing: "vacuum")
            _ = try? lockFile.lockReaders(.none)
            // DISK-8: vacuum copies only a database the integrity check passes. It copies
            // what scans read, so keys out of order or out of their bounds (leaves swapped
            // between trees) would become a sound-looking file holding the wrong data; the
            // damage is named instead, before anything is written (no transaction can begin
            // meanwhile: the writer token).
            let report = try check()
            guard report.isOK else { throw GuildStoreError.integrityCheckFailed(path: path, problems: report.problems) }
            let checkpoint = try self.checkpoint(mode: .truncate, timeout: .zero, restart: .holdingWriter)
            guard !checkpoint.blockedByReaders, state.withLock({ $0.walFrames == 0 }) else {
                throw GuildStoreError.busy("a read transaction began during vacuum")
            }
            let before = state.withLock { (pages: Int($0.databaseSize), bytes: $0.fileBytes) }
            // Even under `.off`: stale frames must never meet the new file.
            do { try wal.sync() } catch {
                poison("WAL sync before vacuum failed: \(error)")
                throw error
            }

            let temporary = path + "-vacuum"
            try fileSystem.remove(temporary)
            try fileSystem.remove(temporary + "-wal")
            do {
                try copyLiveData(to: temporary)
            } catch {
                // A copy that failed (damage check missed, a full disk) leaves no half-made file.
                try? fileSystem.remove(temporary)
                try? fileSystem.remove(temporary + "-wal")
                throw error
            }
            try fileSystem.remove(temporary + "-wal")
            try fileSystem.rename(temporary, to: path)
            do {
                try fileSystem.syncDirectory(containing: path)
            } catch {
                // The file at the path is the copy now, which ignores this engine's log
                // (WAL-7): a commit made through the old file would be lost at the next open.
                poison("syncing the directory after the vacuumed file replaced the old one failed: \(error)")
                throw error
            }
            try swapInDatabaseFile()
            swapped = true  // the old descriptor, and the openers' byte with it, is closed
            try rebindLog()
            let after = state.withLock { (pages: Int($0.databaseSize), bytes: $0.fileBytes) }
            return VacuumResult(pagesBefore: before.pages, pagesAfter: after.pages,
                                fileBytesBefore: before.bytes, fileBytesAfter: after.bytes)
        }
    }

    /// Copies every tree into a new database at `destination`, committing in batches so the
    /// copy never holds the whole database in memory, and leaves it checkpointed and synced.
    private func copyLiveData(to destination: String) throws {
        var copyConfiguration = EngineConfiguration(pageSize: pageSize, synchronous: .normal, checkpointThreshold: 4096, mapReservation: 0)
        // BK-3: the same database, however its pages moved; WALR-9: sealed with its identity.
        copyConfiguration.newDatabaseIdentity = state.withLock { $0.header.identity }
        // FILE-2: the copy, and its log, are made with the vacuumed file's permissions.
        copyConfiguration.newDatabasePermissions = try state.withLock { $0.lockFile }.permissions()
        let target = try StorageEngine.open(
            path: destination,
            configuration: copyConfiguration, fileSystem: fileSystem)
        do {
            let source = try beginRead()
            defer { source.end() }
            let schemaCounter = try nextSchemaCounter()  // TX-6: old handles find their tree by name
            var tx = try target.beginWrite()
            var pending = 0
            for tree in try source.trees() {
                let copy = try tx.createTree(tree.name)
                try source.scan(tree) { key, value in
                    try tx.put(key, value, in: copy)
                    pending += 1
                    if pending >= 20_000 {
                        try tx.commit()
                        tx = try target.beginWrite()
                        pending = 0
                    }
                    return true
                }
            }
            tx.workingHeader.schemaCounter = schemaCounter
            // BK-3: the same database, however its pages moved.
            tx.workingHeader.storedIdentity = source.header.identity
            tx.workingHeader.createdAt = source.header.createdAt
            // WAL-6: without a log of its own, the new file goes on from the last commit.
            tx.workingHeader.baseCommit = source.snapshot.stamp
            try tx.commit()
            _ = try target.checkpoint(.truncate)
            try target.close()
        } catch {
            try? target.close()
            throw error
        }
    }

    /// WAL-7: the log (empty since the truncating checkpoint) restarts naming the new file's
    /// nonce. A crash before this leaves the old file's log beside the new file: stale, never
    /// replayed, and the new file numbers commits on from its base (WAL-6).
    private func rebindLog() throws {
        let (nonce, stamp) = state.withLock { s in
            s.walRestartsBegun &+= 1  // WI-1: before the file changes
            return (s.header.fileNonce, s.lastCommitStamp)
        }
        do {
            try wal.restart(truncate: true, durable: configuration.synchronous != .off,
                            commitNumber: stamp.number, commitTime: stamp.time, fileNonce: nonce)
        } catch {
            poison("restarting the WAL after vacuum failed: \(error)")
            throw error
        }
        state.withLock { s in
            s.logCommitsBefore = stamp.number
            s.walGeneration &+= 1  // WALR-7: a new generation, nothing of it synced
            s.walSyncedFrames = 0
        }
    }

    /// Opens the renamed file, locks and maps it, and points new transactions at it. Readers
    /// that began before keep the old mapping, which keeps the old file alive (PG-2).
    private func swapInDatabaseFile() throws {
        let lockFile: any FileHandleIO, file: any FileHandleIO
        do {
            (lockFile, file) = try Self.openLocked(path, fileSystem: fileSystem)
        } catch {
            poison("locking the vacuumed file failed: \(error)")
            throw error
        }
        do {
            // WALR-9: the copy was sealed with this database's identity from its creation, and
            // a vacuum writes the current format: its salt may differ from the old file's.
            let header = try Self.readHeaderPage(file, pageSize: pageSize, path: path)
            let view = try FileView(file: file, pageSize: pageSize, reservation: configuration.mapReservation, checksumSalt: header.checksumSalt)
            let fileBytes = try file.size()
            // The old view closes its file when the last snapshot using it lets go.
            let oldLock = state.withLock { s -> any FileHandleIO in
                let oldLock = s.lockFile
                s.lockFile = lockFile
                s.view = view
                s.fileBytes = fileBytes
                s.header = header
                s.databaseSize = header.pageCount
                s.appended = CommitPoint(sequence: s.lastCommit, stamp: s.lastCommitStamp, header: header, databaseSize: header.pageCount)
                s.walIndex.removeAll()
                s.knownParents = nil  // FK-4: another file, so nothing found in the old one is carried
                return oldLock
            }
            try? oldLock.close()
        } catch {
            poison("swapping in the vacuumed file failed: \(error)")
            try? file.close()
            try? lockFile.close()
            throw error
        }
    }
}
