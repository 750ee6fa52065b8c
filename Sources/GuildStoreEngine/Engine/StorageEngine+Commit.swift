extension StorageEngine {
    /// Appends a transaction's sealed pages to the WAL and makes them the writer's view. Under
    /// `.full` they are published only by a later `syncWAL()` (TX-5); otherwise at once.
    /// Called while holding the writer token. Returns the commit's sequence.
    ///
    /// A transaction that spilled (TS-1) passes the stamp its spills carried and its spilled
    /// pages that `pages` does not hold again: the commit's versions of those are the frames
    /// the spills appended, read back from the log when asked for (WI-2).
    func appendCommit(pages: [(page: UInt32, image: PageBuffer)], spilled: [(page: UInt32, frame: Int)] = [],
                      stamp spillStamp: CommitStamp? = nil, header: DatabaseHeader, changedTrees: Set<String>) throws -> UInt64 {
        let (syncedFrames, stamp) = try state.withLock { s in
            if let reason = s.poisonReason { throw GuildStoreError.poisoned(reason: reason) }
            return (s.walSyncedFrames, spillStamp ?? s.appended.stamp.next())
        }
        // TX-4: a failed append leaves nothing published; the next append overwrites the bytes.
        // WALR-7: the frames record what a completed sync made durable before them.
        try wal.append(pages: pages, databaseSize: header.pageCount, syncedFrames: syncedFrames, commitTime: stamp.time)
        let publishNow = configuration.synchronous != .full
        // WI-1: the frames are in the file before the index names them.
        let firstFrame = wal.frameCount - pages.count
        return state.withLock { s in
            var sequence = s.appended.sequence
            // Older versions nobody can read are dropped now, so a page rewritten by every
            // commit keeps one version, however long the WAL grows. The published commit
            // counts as a reader: the next snapshot will pin it.
            var pinned = s.readers.values.map(\.sequence)
            pinned.append(s.lastCommit)
            pinned.sort()
            for entry in spilled {
                sequence += 1
                s.walIndex.add(page: entry.page, WALIndex.Version(sequence: sequence, frame: entry.frame, image: nil), pinned: pinned)
            }
            for (i, entry) in pages.enumerated() {
                sequence += 1
                s.walIndex.add(page: entry.page, WALIndex.Version(sequence: sequence, frame: firstFrame + i, image: entry.image), pinned: pinned)
            }
            let point = CommitPoint(sequence: sequence, stamp: stamp, header: header, databaseSize: header.pageCount)
            s.appended = point
            s.unpublished.append((point, ChangeSet(trees: changedTrees, sequence: sequence)))
            s.walFrames = wal.frameCount
            s.commitEnds.append((wal.frameCount, sequence))
            s.commits += 1
            if publishNow { s.publish(through: sequence) }
            return sequence
        }
    }

    /// The stamp a transaction's first spill takes (TS-1): the number and time its commit will
    /// carry. Nothing else appends while the writer holds the token, so the number is still
    /// the next one when the transaction commits.
    func spillStamp() throws -> CommitStamp {
        try state.withLock { s in
            if let reason = s.poisonReason { throw GuildStoreError.poisoned(reason: reason) }
            return s.appended.stamp.next()
        }
    }

    /// Appends sealed pages of the open write transaction as frames without a commit marker
    /// (TS-1); returns the frame index of the first. Nothing reads them but that transaction
    /// until its commit names them, and recovery never applies them without it (WAL-2).
    /// Called while holding the writer token.
    func spill(pages: [(page: UInt32, image: PageBuffer)], stamp: CommitStamp) throws -> Int {
        let syncedFrames = try state.withLock { s in
            if let reason = s.poisonReason { throw GuildStoreError.poisoned(reason: reason) }
            return s.walSyncedFrames
        }
        let first = wal.frameCount
        try wal.append(pages: pages, databaseSize: nil, syncedFrames: syncedFrames, commitTime: stamp.time)
        state.withLock { $0.spilledPages += pages.count }
        return first
    }

    /// Where the log's appends go on from, before a transaction's first spill (TS-2).
    var walTail: WriteAheadLog.Tail { wal.tail }

    /// Forgets a rolled-back transaction's spilled frames (TS-2). Called while holding the
    /// writer token.
    func rewindLog(to tail: WriteAheadLog.Tail) {
        wal.rewind(to: tail)
    }

    /// The image the open write transaction spilled to frame `frame` (TS-1), checked as page
    /// `page` (WALR-4).
    func readSpilledImage(frame: Int, page: UInt32, checksumSalt: UInt32) throws -> PageBuffer {
        try WriteAheadLog.readImage(file: wal.file, pageSize: pageSize, frame: frame, page: page, salt: checksumSalt)
    }

    /// Syncs the WAL and publishes every commit appended before the sync began (TX-5). Safe to
    /// call from any thread, concurrently with the writer appending; calls are serialized. A
    /// failed sync poisons the engine (TX-4): nothing unpublished is ever published.
    /// A sync that ran raises the sync watermark later frames record (WALR-7) to the frames
    /// appended before it began, if the log did not restart meanwhile.
    /// Returns the sequence now published.
    @discardableResult
    package func syncWAL() throws -> UInt64 {
        try syncLock.run {
            let (target, synced, frames, generation) = try state.withLock { s -> (UInt64, UInt64, Int, UInt64) in
                if let reason = s.poisonReason { throw GuildStoreError.poisoned(reason: reason) }
                return (s.appended.sequence, s.syncedThrough, s.walFrames, s.walGeneration)
            }
            let syncs = target > synced && configuration.synchronous != .off
            if syncs {
                do {
                    try wal.file.sync()
                } catch {
                    poison("WAL sync failed: \(error)")
                    throw error
                }
            }
            return state.withLock { s in
                if syncs {
                    s.syncs += 1
                    // WALR-7: `frames` were in the file before the sync began, whole commits
                    // (walFrames moves with `appended`, under this lock).
                    if s.walGeneration == generation { s.walSyncedFrames = max(s.walSyncedFrames, frames) }
                }
                s.syncedThrough = max(s.syncedThrough, target)
                s.publish(through: target)
                return s.lastCommit
            }
        }
    }

    /// The published commit's sequence.
    package var publishedSequence: UInt64 { state.withLock { $0.lastCommit } }

    /// The published commit's number and time (WAL-6).
    package var publishedStamp: CommitStamp { state.withLock { $0.lastCommitStamp } }

    /// Frames in the WAL since its last restart.
    package var walFrameCount: Int { state.withLock { $0.walFrames } }

    func poison(_ reason: String) {
        state.withLock { s in
            if s.poisonReason == nil { s.poisonReason = reason }
        }
    }
}

extension StorageEngine {
    /// True when the WAL has frames and every one of them is published and copied into the
    /// database file: the log can restart without copying anything.
    var isFullyCheckpointed: Bool {
        state.withLock { s in
            s.walFrames > 0 && s.appended.sequence == s.lastCommit && s.backfilled == s.lastCommit
        }
    }

    /// True when a passive checkpoint now could copy everything and restart the log, copying
    /// at most `pages` pages: every appended commit is published (no group sync in flight),
    /// no snapshot is older than the last commit, and at most `pages` pages wait in the WAL.
    func canCatchUpAndRestart(copyingAtMost pages: Int) -> Bool {
        state.withLock { s in
            s.walFrames > 0 && s.appended.sequence == s.lastCommit && s.oldestReaderSequence >= s.lastCommit
                && s.walIndex.count <= pages
        }
    }

    /// Live snapshots that began more than `age` ago: reader id and how long it has been open.
    func snapshots(olderThan age: Duration) -> [(id: UInt64, age: Duration)] {
        let now = ContinuousClock.now
        return state.withLock { s in
            s.readers.compactMap { id, reader in
                let open = now - reader.started
                return open > age ? (id, open) : nil
            }
        }
    }
}
