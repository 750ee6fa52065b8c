import Foundation

/// What `StorageEngine.setAsideDamagedLog` did.
package struct SetAsideLogResult: Sendable, Equatable {
    /// What recovery left out of the log (WALR-2).
    package var report: WALRecoveryReport
    /// Where the damaged log is now; nil when recovery lost no commits and nothing moved.
    package var savedAs: String?
}

extension StorageEngine {
    /// Lost commits recovery found in the WAL at open (WALR-2), as an operator should read
    /// them (and `Database.open` logs them as a warning); nil when it lost none.
    package var walRecoveryWarning: String? {
        let report = walRecovery
        guard report.lostCommittedData else { return nil }
        let place = report.firstBadFrame.map { "frame \($0)" } ?? "its header"
        return "recovery of \(walPath) stopped at \(place), inside frames a sync had made durable (a later frame records \(report.syncedFrames) synced, "
            + "\(report.recoveredFrames) recovered): \(report.lostCommits) commit\(report.lostCommits == 1 ? "" : "s") "
            + "(\(report.lostFrames) frame\(report.lostFrames == 1 ? "" : "s")) were not recovered; "
            + "\(path) opened as of the last commit before the damage and refuses writes: "
            + "`guildstore recover --db \(path)` saves the log aside and lets it open for writing"
    }

    /// A torn tail recovery left out of the WAL at open (WALR-2): frames no sync had made
    /// durable, as a crash or a power loss leaves them. `Database.open` logs it at info level;
    /// nil when nothing was left out or commits were lost (`walRecoveryWarning`).
    package var walRecoveryNotice: String? {
        let report = walRecovery
        if report.staleLogIgnored {
            return "\(walPath) belongs to a file that \(path) replaced (a restore or a vacuum ended before the log restarted): it was not replayed"
        }
        guard !report.lostCommittedData, report.discardedFrames > 0 else { return nil }
        return "recovery of \(walPath) discarded \(report.discardedFrames) frame\(report.discardedFrames == 1 ? "" : "s") "
            + "after the last commit, none of them synced: a torn tail (an uncommitted transaction, or unsynced writes a crash cut)"
    }

    /// Saves aside a WAL whose recovery lost commits (WALR-2), so the database opens for
    /// writing again (WALR-3): the commits recovered before the damage are copied into the
    /// database file, which is synced; then, still under the database's lock, the log is
    /// renamed to `PATH-wal.damaged-<UTC time>` (never over an earlier one) and the directory
    /// synced. The next open starts an empty log. A crash before the rename leaves the same
    /// damaged log, which recovers the same way; after it, the database file holds every
    /// recovered commit. A log that lost nothing is left alone (`savedAs` nil).
    ///
    /// Errors: those of `open` (never creating a database), `.locked` while the database is
    /// open elsewhere, `.io`.
    package static func setAsideDamagedLog(path: String, fileSystem: any FileSystem = PosixFileSystem(),
                                          now: Date = Date()) throws -> SetAsideLogResult {
        let configuration = EngineConfiguration(synchronous: .normal, checkpointThreshold: 0, createIfMissing: false)
        let engine = try open(path: path, configuration: configuration, fileSystem: fileSystem)
        do {
            let report = engine.walRecovery
            guard report.lostCommittedData else {
                try engine.close()
                return SetAsideLogResult(report: report, savedAs: nil)
            }
            // RO-1: no read-only opening may have a snapshot live while the log goes: its mark
            // (RM-1) counts frames of this log, and the next owner's new log would be read
            // against it, letting that owner's checkpoints copy past what the snapshot reads.
            let lockFile = engine.state.withLock { $0.lockFile }
            try ReaderLock.excludeReaders(lockFile, doing: "setting the damaged log aside")
            defer { _ = try? lockFile.lockReaders(.none) }
            // With the byte held no mark exists, so the checkpoint below never waits for (nor
            // takes and gives back) the byte itself; it copies every recovered commit.
            guard !(try engine.checkpoint(mode: .passive, timeout: .zero, restart: .never)).blockedByReaders else {
                throw GuildStoreError.busy("the recovered commits cannot reach the database file while a read-only opening reads it; close it and run recover again")
            }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime, .withTimeZone]
            let stem = engine.walPath + ".damaged-" + formatter.string(from: now)
            var target = stem
            var n = 1
            while fileSystem.exists(target) {
                n += 1
                target = stem + "-\(n)"
            }
            try fileSystem.rename(engine.walPath, to: target)
            try fileSystem.syncDirectory(containing: target)
            try engine.close()
            return SetAsideLogResult(report: report, savedAs: target)
        } catch {
            try? engine.close()
            throw error
        }
    }
}
