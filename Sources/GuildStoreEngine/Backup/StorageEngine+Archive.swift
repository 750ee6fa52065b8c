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
            try WALSegment.write(segment, from: wal.file, to: path, fileSystem: fileSystem)
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
}
