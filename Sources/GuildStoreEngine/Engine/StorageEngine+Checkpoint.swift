#if canImport(Glibc)
import Glibc
#endif

extension StorageEngine {
    /// Copies committed pages from the WAL into the database file.
    ///
    /// - `.passive` copies what no live snapshot still needs and never waits.
    /// - `.full` syncs and publishes every appended commit, waits up to `timeout` for snapshots
    ///   older than the last commit to end, copies everything and restarts the log; if readers
    ///   still hold it back, it copies what it can and reports `blockedByReaders`.
    /// - `.truncate` is `.full`, then shrinks the WAL file to zero bytes.
    ///
    /// The copy runs alongside a write transaction; restarting the log needs the writer token,
    /// which `.passive` tries for once and the other modes wait for up to `timeout`.
    @_spi(Benchmarks) public func checkpoint(_ mode: CheckpointMode = .passive, timeout: Duration = .seconds(5)) throws -> CheckpointResult {
        try checkpoint(mode: mode, timeout: timeout, restart: .takingWriterToken)
    }

    /// Who may restart the log at the end of a checkpoint (it must not race an append).
    enum RestartPolicy {
        /// The caller holds the writer token.
        case holdingWriter
        /// Take the token if free (`.passive`), or wait for it up to the timeout.
        case takingWriterToken
        /// Never: the caller leaves the restart to the writer (the Database's background
        /// checkpoints, which must not take the token from under the writer actor).
        case never
    }

    /// A commit of `pages` pages waits for a checkpoint until the WAL holds this many times
    /// its frames (see `automaticCheckpoint`).
    static let commitsPerCheckpoint = 4

    /// Runs a passive checkpoint when the WAL has grown past the threshold and to at least
    /// `commitsPerCheckpoint` times the `pages` of the commit it follows. The second condition
    /// only holds back transactions of more than a quarter of the threshold (bulk loads): a
    /// checkpoint after each of them would copy and sync every page they touch once per
    /// transaction, while one every four copies the pages several of them touch (the leaves of
    /// an index that every transaction updates) once. The log stays below the larger of the
    /// threshold and about four of the largest recent transactions, held in memory like any
    /// WAL frame; under `.normal` (synced at checkpoints) a power cut may take that much back.
    ///
    /// The commit it follows is already durable and published: a failure here is left for the
    /// next one to retry (a failed sync has poisoned the engine and says so on the next write).
    func automaticCheckpoint(afterCommitOf pages: Int) {
        let threshold = configuration.checkpointThreshold
        guard threshold > 0, walFrameCount >= max(threshold, Self.commitsPerCheckpoint * pages) else { return }
        _ = try? checkpoint(mode: .passive, timeout: .zero, restart: .holdingWriter)
    }

    func checkpoint(mode: CheckpointMode, timeout: Duration, restart policy: RestartPolicy) throws -> CheckpointResult {
        if configuration.readOnly { throw GuildStoreError.readOnlyDatabase(path: path) }
        return try checkpointLock.run {
            let deadline = ContinuousClock.now + timeout
            if mode != .passive {
                try syncWAL()
                waitForReaders(until: deadline)
            }
            let lockFile = try state.withLock { s in
                guard !s.closed else { throw GuildStoreError.closed }
                if let reason = s.poisonReason { throw GuildStoreError.poisoned(reason: reason) }
                return s.lockFile
            }
            let framesInWAL = walFrameCount
            let restartWanted = (framesInWAL > 0 || mode == .truncate) && policy != .never
            // RM-1: read-only openings' live snapshots read the pages of the log's first
            // `mark` frames from the log; only those may change in the file under them, and
            // the copy goes on while they read.
            var pass = try copyUnderMarks(lockFile)
            // What this checkpoint set out to copy: commits appended while it copies are the
            // next one's.
            let target = pass.lastCommit
            // Snapshots that began during that copy read its commits, so their marks no longer
            // hold them back: copy again up to the marks as they are now.
            if framesInWAL > 0 && pass.heldByMarks && pass.ownReadersAllow {
                pass = try copyUnderMarks(lockFile)
            }
            // RO-3: marks still below the target (snapshots older than the first copy) are
            // waited out, new snapshots waiting meanwhile (a passive checkpoint for a moment,
            // a full or truncating one until its deadline), and the rest copied with none
            // live. Without it, openings that read without pause would keep every copy short
            // of the last commit, and the log from ever restarting. (The Database's background
            // copy, which leaves the restart to the writer, needs the whole copy as much.)
            func readersDeadline() -> ContinuousClock.Instant {
                let moment = ContinuousClock.now + ReaderLock.ownerPatience
                return mode == .passive ? moment : max(deadline, moment)
            }
            var readersExcluded = false
            defer { if readersExcluded { _ = try? lockFile.lockReaders(.none) } }
            if framesInWAL > 0 && pass.limit < target && pass.ownReadersAllow {
                readersExcluded = try ReaderLock.takeForCheckpoint(lockFile, deadline: readersDeadline())
                if readersExcluded { pass = try copyToLimit(mark: nil, cap: nil) }
            }
            let (limit, lastCommit, walBase) = (pass.limit, pass.lastCommit, pass.walBase)

            // WAL-3: restart only when everything appended is in the database file; RO-1: and
            // no read-only opening has a snapshot live (RO-3: new ones wait while this waits).
            var restarted = false
            var restartHeld = false
            if limit == lastCommit && restartWanted {
                // AR-3: archivers of other processes get the generation first, with the
                // readers' byte free, since an archiver may need a snapshot meanwhile. Their
                // marks are commit numbers (WAL-6), not this engine's sequences.
                let lastNumber = state.withLock { $0.lastCommitStamp.number }
                let waited = try waitForArchivers(through: lastNumber) {
                    if readersExcluded {
                        _ = try? lockFile.lockReaders(.none)
                        readersExcluded = false
                    }
                }
                if !waited {
                    restartHeld = true
                } else if try readersExcluded || ReaderLock.takeForCheckpoint(lockFile, deadline: readersDeadline()) {
                    readersExcluded = true
                    // RO-1: read-only openings may read the log again once its new header is
                    // written; the header's sync (WAL-4, for this engine's next append) is no
                    // concern of theirs, so they do not wait for the disk.
                    func readersMayReturn() {
                        guard readersExcluded else { return }
                        _ = try? lockFile.lockReaders(.none)
                        readersExcluded = false
                    }
                    restarted = try restartLog(truncate: mode == .truncate, through: limit,
                                               holdingWriter: policy == .holdingWriter, waitUntil: mode == .passive ? nil : deadline,
                                               rewritten: readersMayReturn)
                } else {
                    restartHeld = true
                }
            }
            if (pass.heldByMarks && limit < target) || restartHeld { state.withLock { $0.checkpointsHeldByReadOnlyOpenings += 1 } }
            // Frames of this WAL generation now in the database file, as SQLite reports them.
            let inFile = Int(min(limit, lastCommit) - min(walBase, limit))
            return CheckpointResult(framesInWAL: framesInWAL, framesCheckpointed: inFile,
                                    walRestarted: restarted && framesInWAL > 0, blockedByReaders: limit < target || restartHeld)
        }
    }

    /// What one copy pass of a checkpoint did.
    private struct CopyPass {
        /// The sequence copied through, and the published commit (at most the cap) and log
        /// base it was chosen against.
        var limit: UInt64
        var lastCommit: UInt64
        var walBase: UInt64
        /// Whether a reader mark held the copy below the published commit (RM-1).
        var heldByMarks: Bool
        /// Whether this engine's own snapshots would have let it copy everything.
        var ownReadersAllow: Bool
    }

    /// A copy up to the lowest reader mark (RM-1). The published commit is taken before the
    /// kernel is asked for marks, and the copy goes no further: a read-only opening that takes
    /// its provisional mark just after the question reads the log after it, so it sees every
    /// commit published before it, and never one the copy could take past its mark.
    private func copyUnderMarks(_ lockFile: any FileHandleIO) throws -> CopyPass {
        let cap = state.withLock { $0.lastCommit }
        return try copyToLimit(mark: lockFile.lowestReaderMark(), cap: cap)
    }

    /// Copies into the database file every page's newest version at or below the oldest live
    /// snapshot (TX-2), the commit that ends at frame `mark` and `cap` (RM-1), not yet copied.
    private func copyToLimit(mark: Int?, cap: UInt64?) throws -> CopyPass {
        // Invariant (TX-2): never copy a frame newer than the oldest live snapshot (nor an
        // unpublished one: the limit is at most the published commit).
        let (pass, synced, copies) = state.withLock { s in
            let ceiling = min(cap ?? s.lastCommit, s.lastCommit)
            let marked = mark.map { s.sequence(forFrames: $0) } ?? ceiling
            let own = s.oldestReaderSequence
            let limit = min(own, marked, ceiling)
            var copies: [(UInt32, WALIndex.Version)] = []
            for (page, versions) in s.walIndex.entries {
                if let version = versions.newest(atOrBelow: limit) { copies.append((page, version)) }
            }
            let pass = CopyPass(limit: limit, lastCommit: ceiling, walBase: s.walBase,
                                heldByMarks: marked < ceiling, ownReadersAllow: own >= ceiling)
            return (pass, s.syncedThrough, copies.sorted { $0.0 < $1.0 })
        }
        if !copies.isEmpty {
            // The WAL reaches disk before the database file changes: a crash mid-checkpoint
            // replays the WAL over whatever was half-written.
            if synced < pass.limit { try syncWAL() }
            try copyIntoDatabaseFile(copies, limit: pass.limit)
        }
        return pass
    }

    /// Writes each version into the database file, its image from memory or read back from
    /// its frame (WI-1: no restart can begin meanwhile, restarts run under `checkpointLock`
    /// too, so every frame still holds its version; a frame damaged since it was written is
    /// an error before anything reaches the file for it).
    private func copyIntoDatabaseFile(_ copies: [(UInt32, WALIndex.Version)], limit: UInt64) throws {
        let view = state.withLock { $0.view }
        let salt = view.checksumSalt
        assert(state.withLock { $0.oldestReaderSequence >= limit },
               "TX-2: a live snapshot is older than the frames about to overwrite the database file")
        var end: Int64 = 0
        for (page, version) in copies {
            let image = try version.image ?? WriteAheadLog.readImage(file: wal.file, pageSize: pageSize, frame: version.frame, page: page, salt: salt)
            view.invalidate(page)  // PG-3
            let offset = Int64(page) * Int64(pageSize)
            try view.file.write(image.bytes, at: offset)
            end = max(end, offset + Int64(pageSize))
        }
        if configuration.synchronous != .off {
            do { try view.file.sync() } catch {
                poison("database file sync during checkpoint failed: \(error)")
                throw error
            }
        }
        for (page, _) in copies { view.invalidate(page) }
        state.withLock { s in
            s.fileBytes = max(s.fileBytes, end)
            for (page, _) in copies { s.walIndex.removeCheckpointed(page: page, through: limit) }
            s.framesCheckpointed += Int(limit - min(limit, s.backfilled))
            s.backfilled = max(s.backfilled, limit)
            s.checkpoints += 1
            if configuration.synchronous != .off { s.syncs += 1 }
        }
    }

    /// Restarts the log once nothing was appended past `through`; needs the writer token so no
    /// commit appends meanwhile. Returns whether it restarted. `rewritten` runs once the new
    /// header is in the file, before it is synced.
    private func restartLog(truncate: Bool, through sequence: UInt64, holdingWriter: Bool, waitUntil deadline: ContinuousClock.Instant?,
                            rewritten: () -> Void) throws -> Bool {
        try refuseWritesAfterLostCommits()  // WALR-3
        if !holdingWriter {
            while !(try tryTakeWriterToken()) {
                guard let deadline, ContinuousClock.now < deadline else { return false }
                usleep(200)
            }
        }
        defer { if !holdingWriter { releaseWriter() } }
        let stamp = state.withLock { s in
            s.appended.sequence == sequence && s.lastCommit == sequence ? s.lastCommitStamp : nil
        }
        guard let stamp else { return false }
        assert(state.withLock { $0.walIndex.isEmpty }, "WAL-3: the log restarts with frames not in the database file")
        // AR-1: the generation goes to the archive first; if it cannot, the log keeps it.
        // AR-3: and no archiver of another process lacks it (`checkpoint` waited for them).
        guard archiveGeneration(through: stamp), try !archiverBehind(stamp.number) else { return false }
        let durable = configuration.synchronous != .off
        state.withLock { $0.walRestartsBegun &+= 1 }  // WI-1: before the file changes
        do {
            try wal.restart(truncate: truncate, durable: durable, commitNumber: stamp.number, commitTime: stamp.time,
                            written: rewritten)
        } catch {
            // The new generation's header may not be on disk ahead of its frames (WAL-4).
            poison("restarting the WAL failed: \(error)")
            throw error
        }
        state.withLock { s in
            if durable { s.syncs += 1 }
            s.walFrames = 0
            s.adoptedFrames = 0
            s.commitEnds = []
            // WALR-7: the new generation has no frame, none synced.
            s.walGeneration &+= 1
            s.walSyncedFrames = 0
            s.walBase = sequence
            s.logCommitsBefore = stamp.number
            s.backfilled = sequence
            s.syncedThrough = sequence
        }
        return true
    }

    /// Waits until no snapshot is older than the last commit, or the deadline passes.
    private func waitForReaders(until deadline: ContinuousClock.Instant) {
        while true {
            let clear = state.withLock { $0.oldestReaderSequence >= $0.lastCommit }
            if clear || ContinuousClock.now >= deadline { return }
            usleep(1000)
        }
    }
}
