#if canImport(Glibc)
import Glibc
#endif

extension StorageEngine {
    /// Invariant (AR-1): with an archive directory configured, every commit reaches the
    /// archive before the log can restart over it. Called by `restartLog` holding the writer
    /// token (nothing appends meanwhile): the generation's bytes, its header and every frame
    /// (all committed: a restart needs every appended commit published), are written as one
    /// WAL segment, synced and renamed into the archive, and only then may the log restart.
    /// When that fails (a full or missing archive disk) the log does not restart: it keeps the
    /// commits and grows, the error shows in `statistics().archiveError`, and the next restart
    /// tries again. Returns whether the log may restart.
    func archiveGeneration(through stamp: CommitStamp) -> Bool {
        guard let directory = configuration.archiveDirectory else { return true }
        let frames = wal.frameCount
        guard frames > 0 else { return true }
        let first = wal.commitsBefore + 1
        do {
            var timeBytes: UInt64 = 0
            let n = try withUnsafeMutableBytes(of: &timeBytes) {
                try wal.file.read(into: $0, at: Int64(WriteAheadLog.headerSize + 24))
            }
            guard n == 8 else { throw GuildStoreError.corruptWAL(path: walPath, reason: "its first frame is short") }
            let segment = WALSegment(
                pageSize: pageSize, identity: state.withLock { $0.header.identity },
                first: CommitStamp(number: first, time: UInt64(littleEndian: timeBytes)), last: stamp,
                logBytes: Int64(WriteAheadLog.headerSize) + Int64(frames) * Int64(wal.frameSize),
                fileNonce: wal.fileNonce)
            let path = directory + "/" + segment.fileName
            try WALSegment.write(segment, from: wal.file, to: path, permissions: try state.withLock { $0.view.file }.permissions(),
                                 fileSystem: fileSystem)
            state.withLock { s in
                s.archivedThrough = stamp.number
                s.archiveError = nil
            }
            return true
        } catch {
            state.withLock { $0.archiveError = "archiving commits \(first)...\(stamp.number) into \(directory) failed: \(error)" }
            return false
        }
    }

    /// AR-3, the owner's side: whether an archiver of another process holds a mark below
    /// `commit` (one question to the kernel; false while the log holds no frame).
    func archiverBehind(_ commit: UInt64) throws -> Bool {
        guard wal.frameCount > 0 else { return false }
        return try state.withLock { $0.lockFile }.archiveMarkBelow(commit)
    }

    /// Whether an archiver of another process lacks commits the log holds (a clean close
    /// then restarts the log, handing them to it).
    var archiverBehindLastCommit: Bool {
        (try? archiverBehind(state.withLock { $0.lastCommitStamp.number })) ?? false
    }

    /// AR-3, the owner's side, before a restart: true at once when no archiver is behind
    /// `commit`, the log's last commit number; else it announces the restart (the wanted byte)
    /// and waits up to `archiverPatience` for the archivers' marks to reach it, holding
    /// neither the readers' byte (an archiver may take a snapshot meanwhile) nor, unless the
    /// caller does, the writer token (`restartLog` then checks again, holding it). False leaves
    /// the log as it is, with the reason in `archiveError`. An archiver that let a wait run out
    /// is not waited for again until its mark moves (`archiverRefusal`): a stalled one costs
    /// the writer one wait, not one per checkpoint, and its mark still holds the restart back.
    /// `beforeWaiting` runs just before a wait begins (the caller gives back the readers' byte).
    func waitForArchivers(through commit: UInt64, beforeWaiting: () -> Void = {}) throws -> Bool {
        guard try archiverBehind(commit) else {
            state.withLock { $0.archiverRefusal = nil }
            return true
        }
        let lockFile = state.withLock { $0.lockFile }
        let lowest = try lockFile.lowestArchiveMark()
        if let lowest, state.withLock({ $0.archiverRefusal }) == lowest { return false }
        beforeWaiting()
        guard try lockFile.lockArchiveWanted(.exclusive) else { return false }
        defer { _ = try? lockFile.lockArchiveWanted(.none) }
        state.withLock { $0.archiverWaits += 1 }
        let patience = configuration.archiverPatience
        let deadline = ContinuousClock.now + patience
        while try lockFile.archiveMarkBelow(commit) {
            guard ContinuousClock.now < deadline else {
                let stalled = try? lockFile.lowestArchiveMark()
                state.withLock {
                    $0.archiverRefusal = stalled
                    $0.archiveError = "an archiver in another process has not archived commits through \(commit) within \(patience) (it is at \(stalled.map(String.init) ?? "none")); the log keeps them"
                }
                return false
            }
            usleep(500)
        }
        state.withLock { $0.archiverRefusal = nil }
        return true
    }
}
