/// A read-only opening's hold on the readers' byte and where it last read the log to.
///
/// Invariant (RO-2): a read-only opening holds the readers' byte (RO-1) exactly while it has a
/// live snapshot, from taking it at the first snapshot's begin (or at open) to giving it back
/// when the last one ends, both under `StorageEngine.readOnlyHold`'s lock. With the byte
/// freshly taken and no snapshot live it catches up before the new snapshot when the log
/// changed since it last read it (`LogPosition.changed`): it follows the new frames from its
/// last commit while the log's generation lasts (`WriteAheadLog.continueRecovery`), or reads
/// the file's header and the whole log again as open does, and takes the result as its state
/// with frame sequences past every earlier one (TX-3). Between its snapshots the owner checkpoints and
/// restarts the log freely; a file replaced at the path (vacuum, restore) is
/// `.databaseReplacedSinceOpen`, never read as if it were the one opened.
struct ReadOnlyHold {
    var held: Bool
    var seen: LogPosition?
    /// The log as last read (its committed frames among it), to go on from while its
    /// generation lasts.
    var recovered: RecoveredLog?
    /// The reader mark held (RM-1): the log's frames the snapshots read. Nil while none is,
    /// which a snapshot about to begin takes first (`pinReaderMark`).
    var mark: Int?

    /// Gives the readers' byte and the mark back (the last snapshot ended, or the first could
    /// not begin).
    mutating func release(_ lockFile: any FileHandleIO) {
        lockFile.releaseReaderLocks()
        held = false
        mark = nil
    }
}

/// Which log a read-only opening last read: the file, and its header as read before the frames
/// were (the committed frames it found are `ReadOnlyHold.recovered`'s).
///
/// The log changed since exactly when another file is at its path, its header differs (a
/// restart: new salt), or a sound frame of the header's generation lies where the next frame
/// after those commits goes: the owner writes that slot first whenever it appends, and frames
/// it wrote before (stale bytes of an older generation) carry another salt. A frame there that
/// belongs to a transaction still open (a spill, TS-1) counts as a change too: the catch-up
/// then finds no new commit, which costs a read of the log, never a wrong answer.
struct LogPosition {
    var identity: FileIdentity?
    var header: [UInt8]

    /// The header bytes of `log` now (fewer than 64 when it is shorter).
    static func header(of log: ReadOnlyLogFile) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: WriteAheadLog.headerSize)
        let n = try bytes.withUnsafeMutableBytes { try log.read(into: $0, at: 0) }
        return Array(bytes.prefix(n))
    }

    /// Whether `log` changed since it was read to `committedFrames` committed frames.
    func changed(_ log: ReadOnlyLogFile, committedFrames: Int, pageSize: Int) throws -> Bool {
        guard log.heldIdentity == identity else { return true }
        let now = try Self.header(of: log)
        guard now == header else { return true }
        guard now.count == WriteAheadLog.headerSize else { return false }
        var next = [UInt8](repeating: 0, count: WriteAheadLog.frameHeaderSize + 4)
        let offset = Int64(WriteAheadLog.headerSize) + Int64(committedFrames) * Int64(WriteAheadLog.frameHeaderSize + pageSize)
        let n = try next.withUnsafeMutableBytes { try log.read(into: $0, at: offset) }
        guard n == next.count else { return false }
        return next.withUnsafeBytes { frame in
            now.withUnsafeBytes { header in
                let base = frame.baseAddress!
                return base.u32(8) == header.baseAddress!.u32(16)
                    && base.u32(12) == WriteAheadLog.frameHeaderCheck(frameHeader: base, pageChecksum: base.u32(WriteAheadLog.frameHeaderSize))
            }
        }
    }
}

extension StorageEngine {
    /// Takes a read-only opening's reader mark (RM-1) at the end of what its snapshots will
    /// read of the log. The caller holds `readOnlyHold`'s lock and the readers' byte (so the
    /// log does not restart meanwhile, RO-1), with no snapshot live.
    ///
    /// A provisional mark is held before the log is read: where the opening last read it to,
    /// or 0 when that was another log or generation (a count of this one's frames that the
    /// opening will read in any case). A checkpoint that looks for marks after that copies
    /// nothing past the provisional mark; one that looked before copies nothing past the
    /// commit published before it looked (its cap, `StorageEngine+Checkpoint`), which is in
    /// the log for the read that follows to see. So once read, the mark
    /// moves up to the new end with nothing to check again, and no writer, however busy, can
    /// keep the opening from beginning. In the common case (nothing committed since) that is
    /// one lock and the catch-up's own test: a `stat` and two small `pread`s.
    /// Errors: `.databaseReplacedSinceOpen`, what reading the log throws.
    func pinReaderMark(_ hold: inout ReadOnlyHold, _ lockFile: any FileHandleIO) throws {
        var provisional = hold.recovered?.committedFrameCount ?? 0
        while true {
            try lockFile.holdReaderMark(provisional, replacing: hold.mark)
            hold.mark = provisional
            let counted = hold.seen
            switch try logChange(since: hold) {
            case .none: break
            case .anotherLog where provisional != 0:
                provisional = 0
                continue
            case .anotherLog, .frames:
                try catchUp(&hold)
                // The provisional count was of another log after all (one moved aside between
                // the test and the read): look again under a mark of 0, catching up once more
                // if anything was committed since.
                if provisional != 0, hold.seen?.identity != counted?.identity || hold.seen?.header != counted?.header {
                    provisional = 0
                    continue
                }
            }
            // Nothing read past the provisional mark (the common case): it is the mark, and
            // taking its byte again would be one more system call per snapshot.
            let frames = hold.recovered?.committedFrameCount ?? 0
            if frames != hold.mark {
                try lockFile.holdReaderMark(frames, replacing: hold.mark)
                hold.mark = frames
            }
            return
        }
    }

    /// How the log differs from the opening's last reading of it.
    private enum LogChange {
        case none
        /// A frame past the last commit read, in the same file and generation: a commit, or
        /// one being written, or a spill (the catch-up tells them apart).
        case frames
        /// Another file at the log's path, or a restarted log (another header).
        case anotherLog
    }

    /// What the log holds that the opening's last reading of it (`hold`) did not (the test of
    /// `LogPosition.changed`, told apart).
    private func logChange(since hold: ReadOnlyHold) throws -> LogChange {
        guard let log = wal.file as? ReadOnlyLogFile else { return .none }
        guard let seen = hold.seen, fileSystem.identity(of: walPath) == log.heldIdentity else { return .anotherLog }
        let committed = hold.recovered?.committedFrameCount ?? 0
        guard try seen.changed(log, committedFrames: committed, pageSize: pageSize) else { return .none }
        let header = try LogPosition.header(of: log)
        return log.heldIdentity == seen.identity && header == seen.header ? .frames : .anotherLog
    }

    /// Catches a read-only opening up (RO-2) with what its owner committed since it last read
    /// the log, which `logChange` found changed: the file now at the log's path
    /// (`ReadOnlyLogFile.follow`), then only its new frames while its generation lasts (same
    /// file, same header: `WriteAheadLog.continueRecovery`, the file's mapping kept, since a
    /// checkpoint rewrites only pages the log holds), else all of it again. The caller holds
    /// `readOnlyHold`'s lock and the readers' byte, with no snapshot live.
    private func catchUp(_ hold: inout ReadOnlyHold) throws {
        guard let log = wal.file as? ReadOnlyLogFile else { return }
        try log.follow()
        // A vacuum or a restore that replaced the file changed the log too (a vacuum rebinds
        // it with a new header, a restore removes it), so the file is looked at only now.
        let (file, view) = state.withLock { ($0.view.file, $0.view) }
        guard fileSystem.identity(of: path) == (try file.identity()) else {
            throw GuildStoreError.databaseReplacedSinceOpen(path: path)
        }
        let loaded: LoadedDatabase
        let position: LogPosition
        let header = try LogPosition.header(of: log)
        var following: (frames: Int, pages: [(page: UInt32, frame: Int)])?
        if let seen = hold.seen, var extended = hold.recovered, seen.identity == log.heldIdentity, seen.header == header {
            // The page map is extended in place: the hold lets go of it meanwhile, and keeps
            // none if the catch-up fails, so that the next one reads the log afresh.
            hold.recovered = nil
            let before = extended.committedFrameCount
            let pages = try WriteAheadLog.continueRecovery(file: log, extending: &extended)
            // A commit still being written (or a spill): nothing new to show yet.
            guard extended.committedFrameCount > before else {
                hold.recovered = extended
                return
            }
            position = seen
            following = (before, pages)
            let fileBytes = try file.size()
            let fileHeader = fileBytes >= Int64(pageSize) ? try? Self.readHeaderPage(file, pageSize: pageSize, path: path) : nil
            loaded = try Self.assemble(path: path, file: file, fileBytes: fileBytes, fileHeader: fileHeader, recovered: extended,
                                       report: WALRecoveryReport(), walFile: log, pageSize: pageSize, view: view,
                                       mapReservation: configuration.mapReservation)
        } else if let seen = hold.seen, seen.identity == log.heldIdentity {
            // The same log file, usually under a new header: the owner restarted (or truncated)
            // it, after copying every commit into the database file, which is the same file
            // (checked above). Only the log's generation is read, up to its chain's end as the
            // catch-up above reads, and the mapping is kept: what this opening verified is
            // forgotten, since the copy rewrote pages it read from the file (no snapshot is
            // live, so nothing reads through the view meanwhile).
            view.invalidateAll(below: Int(try file.size() / Int64(pageSize)))
            (loaded, position) = try Self.loadFollowing(path: path, file: file, log: log, pageSize: pageSize,
                                                        mapReservation: configuration.mapReservation, view: view)
        } else {
            (loaded, position) = try Self.loadFollowing(path: path, file: file, log: log, pageSize: pageSize,
                                                        mapReservation: configuration.mapReservation)
        }
        state.withLock { s in
            s.walRestartsBegun &+= 1  // WI-1: no frame read before this is taken for a version after it
            // Within the generation, only the new frames' pages (the first adoption of a log
            // with commits numbered its frames from `walBase`); else the whole log afresh.
            if let following, following.frames > 0, s.adoptedFrames == following.frames {
                s.adoptFrames(loaded, pages: following.pages)
            } else {
                s.adopt(loaded, sequenceBase: s.lastCommit + 1)
            }
            s.logCommitsBefore = loaded.recovered?.commitsBefore ?? loaded.base.number
        }
        hold.seen = position
        hold.recovered = loaded.recovered
    }

    /// `load` for a read-only opening, with the position it read the log to (its header taken
    /// before the frames, so a restart meanwhile is seen as a change next time).
    ///
    /// The owner's checkpoints may copy into the file meanwhile (RM-1 keeps them off only
    /// what a live snapshot reads), so a header page read while one wrote it can fail its
    /// checksum: a load that fails is tried again while the log grew or changed under it, up
    /// to `loadAttempts` times. A damaged file fails every time and is reported.
    ///
    /// With `view` (a reload after a restart of the log, see `catchUp`), the log is read as a
    /// follower and the file through that view.
    static func loadFollowing(path: String, file: any FileHandleIO, log: ReadOnlyLogFile, pageSize: Int,
                              mapReservation: Int, view: FileView? = nil) throws -> (LoadedDatabase, LogPosition) {
        var attempt = 1
        while true {
            let identity = log.heldIdentity
            let header = try LogPosition.header(of: log)
            let logBytes = try log.size()
            do {
                let loaded = try load(path: path, file: file, fileBytes: try file.size(), walFile: log, pageSize: pageSize,
                                      mapReservation: mapReservation, view: view, follower: view != nil)
                return (loaded, LogPosition(identity: identity, header: header))
            } catch {
                let moved = try log.size() != logBytes || LogPosition.header(of: log) != header
                guard moved, attempt < loadAttempts else { throw error }
                attempt += 1
            }
        }
    }

    static let loadAttempts = 3
}
