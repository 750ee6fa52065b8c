#if canImport(Glibc)
import Glibc
#endif

extension StorageEngine {
    /// Copies committed pages from the WAL into the database file.
    ///
    /// - `.passive` copies what no live snapshot still needs and never waits.
    /// - `.full` waits up to `timeout` for snapshots older than the last commit to end, copies
    ///   everything and restarts the log; if readers still hold it back, it copies what it can
    ///   and reports `blockedByReaders`.
    /// - `.truncate` is `.full`, then shrinks the WAL file to zero bytes.
    ///
    /// Throws `.writerBusy` while a write transaction is open.
    public func checkpoint(_ mode: CheckpointMode = .passive, timeout: Duration = .seconds(5)) throws -> CheckpointResult {
        try withWriterToken { try checkpointHoldingWriter(mode: mode, timeout: timeout) }
    }

    func checkpointHoldingWriter(mode: CheckpointMode, timeout: Duration) throws -> CheckpointResult {
        if let reason = state.withLock({ $0.poisonReason }) { throw GuildStoreError.poisoned(reason: reason) }
        let framesInWAL = wal.frameCount
        if mode != .passive { waitForReaders(timeout: timeout) }

        // Invariant (E2): never copy a frame newer than the oldest live snapshot.
        let (limit, lastCommit, walBase, copies) = state.withLock { s -> (UInt64, UInt64, UInt64, [(UInt32, PageBuffer)]) in
            let limit = s.oldestReaderSequence
            var copies: [(UInt32, PageBuffer)] = []
            for (page, versions) in s.walIndex {
                if let image = versions.newest(atOrBelow: limit) { copies.append((page, image)) }
            }
            return (limit, s.lastCommit, s.walBase, copies.sorted { $0.0 < $1.0 })
        }

        if !copies.isEmpty {
            // The WAL reaches disk before the database file changes: a crash mid-checkpoint
            // replays the WAL over whatever was half-written.
            if configuration.synchronous != .off && wal.unsyncedBytes > 0 {
                do { try wal.sync() } catch {
                    poison("WAL sync before checkpoint failed: \(error)")
                    throw error
                }
            }
            let view = state.withLock { $0.view }
            var end: Int64 = 0
            for (page, image) in copies {
                view.invalidate(page)  // F2
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
                for (page, _) in copies {
                    guard var versions = s.walIndex[page] else { continue }
                    versions.entries.removeAll { $0.sequence <= limit }
                    s.walIndex[page] = versions.entries.isEmpty ? nil : versions
                }
                s.framesCheckpointed += Int(limit - min(limit, s.backfilled))
                s.backfilled = max(s.backfilled, limit)
                s.checkpoints += 1
                if configuration.synchronous != .off { s.syncs += 2 }
            }
        }

        // W3: restart only when everything is in the database file.
        let everything = limit == lastCommit
        var restarted = false
        if everything && (framesInWAL > 0 || mode == .truncate) {
            let durable = configuration.synchronous != .off
            do {
                try wal.restart(truncate: mode == .truncate, durable: durable)
            } catch {
                // The new generation's header may not be on disk ahead of its frames (W4).
                poison("restarting the WAL failed: \(error)")
                throw error
            }
            state.withLock { s in
                if durable { s.syncs += 1 }
                s.walFrames = 0
                s.walBase = lastCommit
                s.backfilled = lastCommit
            }
            restarted = framesInWAL > 0
        }
        // Frames of this WAL generation now in the database file, as SQLite reports them.
        let inFile = Int(min(limit, lastCommit) - min(walBase, limit))
        return CheckpointResult(framesInWAL: framesInWAL, framesCheckpointed: inFile,
                                walRestarted: restarted, blockedByReaders: !everything)
    }

    /// Waits until no snapshot is older than the last commit, or the timeout passes.
    private func waitForReaders(timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let clear = state.withLock { $0.oldestReaderSequence >= $0.lastCommit }
            if clear || ContinuousClock.now >= deadline { return }
            usleep(1000)
        }
    }
}
