import Foundation
import Logging

extension StorageEngine {
    /// AR-3, the archiver's side, in a read-only opening: holds this opening's archive mark at
    /// `commit` (in place of `previous`).
    func holdArchiveMark(_ commit: UInt64, replacing previous: UInt64?) throws {
        try state.withLock { $0.lockFile }.holdArchiveMark(commit, replacing: previous)
    }

    /// Gives the archive mark back (the archiver stops).
    func releaseArchiveMark() {
        state.withLock { $0.lockFile }.releaseArchiveMark()
    }

    /// Whether the owner waits for archivers to archive its log's generation (AR-3).
    func archiveWanted() throws -> Bool {
        try state.withLock { $0.lockFile }.archiveWanted()
    }

    /// Catches this read-only opening up (a snapshot, RO-2) and returns the commit before the
    /// live log's generation: an archive that reaches it can go on with the generation's segment.
    func catchUpLogCommitsBefore() throws -> UInt64 {
        _ = try read { $0.snapshot.sequence }
        return state.withLock { $0.logCommitsBefore }
    }

    /// Archives the log's generation as it stands into `directory` as one WAL segment (AR-1's
    /// format), when it holds a commit past `mark`; nil when it does not. Called while the
    /// owner waits for it (AR-3), so the generation does not restart; when the owner's writer
    /// goes on appending meanwhile, the segment holds the commits whole up to the last one
    /// written, and a later, longer segment of the same generation replaces it.
    ///
    /// The log is opened by its path for this copy alone, not through the opening's handle.
    /// A log of another database file (WAL-7: a vacuum or a restore replaced the file) is
    /// `.databaseReplacedSinceOpen`.
    func archiveLiveGeneration(directory: String, after mark: UInt64) throws -> WALSegment? {
        guard fileSystem.exists(walPath) else { return nil }
        let log = try fileSystem.openForReading(walPath)
        defer { try? log.close() }
        let (identity, nonce, salt) = state.withLock { ($0.header.identity, $0.header.fileNonce, $0.view.checksumSalt) }
        // What is copied is durable in the log first: an owner that did not sync its last
        // commits (`synchronous` below `.full`) could lose them to a power cut and number
        // other commits the same, which the archive would then contradict.
        try log.sync()
        let (recovered, report) = try WriteAheadLog.recover(file: log, expectedPageSize: pageSize, fileNonce: nonce, checksumSalt: salt)
        if report.staleLogIgnored { throw GuildStoreError.databaseReplacedSinceOpen(path: path) }
        guard let recovered, recovered.committedFrameCount > 0, recovered.lastCommitNumber > mark else { return nil }
        var timeBytes: UInt64 = 0
        let n = try withUnsafeMutableBytes(of: &timeBytes) { try log.read(into: $0, at: Int64(WriteAheadLog.headerSize + 24)) }
        guard n == 8 else { throw GuildStoreError.corruptWAL(path: walPath, reason: "its first frame is short") }
        let frameSize = WriteAheadLog.frameHeaderSize + pageSize
        let segment = WALSegment(
            pageSize: pageSize, identity: identity,
            first: CommitStamp(number: recovered.commitsBefore + 1, time: UInt64(littleEndian: timeBytes)),
            last: CommitStamp(number: recovered.lastCommitNumber, time: recovered.lastCommitTime),
            logBytes: Int64(WriteAheadLog.headerSize) + Int64(recovered.committedFrameCount) * Int64(frameSize),
            fileNonce: nonce)
        try WALSegment.write(segment, from: log, to: directory + "/" + segment.fileName,
                             permissions: try state.withLock { $0.view.file }.permissions(), fileSystem: fileSystem)
        // A shorter segment of this generation (written for an owner that gave up waiting)
        // holds nothing the new one does not.
        let prefix = "wal-\(WALSegment.padded(segment.first.number))-"
        let suffix = "-\(WALSegment.hex(nonce))\(WALSegment.fileExtension)"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
            let last = UInt64(name.dropFirst(prefix.count).dropLast(suffix.count))
            if let last, last < segment.last.number { try fileSystem.remove(directory + "/" + name) }
        }
        return segment
    }
}

extension StorageEngine {
    /// The archiver's loop (AR-3, `Database.followArchive`), on the calling thread until
    /// `stopped` holds true, polling every `ArchiveLock.pollInterval`: the mark first, a base
    /// when the archive does not reach the live log, then a segment each time the owner waits
    /// for one and a base after it when `archive` asks. The mark is given back on return.
    func followArchive(_ archive: ArchiveConfiguration, logger: Logger, stopped: Locked<Bool>,
                       archived: (_ first: UInt64, _ last: UInt64) -> Void) throws {
        // From here on no restart of the owner's log passes this archiver.
        var mark: UInt64 = 0
        try holdArchiveMark(mark, replacing: nil)
        defer { releaseArchiveMark() }
        let reached = try catchUpLogCommitsBefore()
        try archiveBaseIfNeeded(directory: archive.directory, policy: archive, logger: logger)
        try holdArchiveMark(reached, replacing: mark)
        mark = reached
        var maintenanceDue = false
        let interval = ArchiveLock.pollInterval.components
        let pause = UInt32(interval.seconds * 1_000_000 + interval.attoseconds / 1_000_000_000_000)
        let file = state.withLock { $0.view.file }
        while !stopped.withLock({ $0 }) {
            // The marks and the wanted byte are locks on this file: a vacuum or a restore that
            // put another at the path leaves this archiver unseen, so it ends.
            guard fileSystem.identity(of: path) == (try file.identity()) else {
                throw GuildStoreError.databaseReplacedSinceOpen(path: path)
            }
            if try archiveWanted() {
                if let segment = try archiveLiveGeneration(directory: archive.directory, after: mark) {
                    archived(segment.first.number, segment.last.number)  // before the owner goes on
                    try holdArchiveMark(segment.last.number, replacing: mark)
                    mark = segment.last.number
                    maintenanceDue = true
                }
            } else if maintenanceDue {
                // The owner restarted its log: a base when the archive asks for one by age or
                // size (AR-2).
                try archiveBaseIfNeeded(directory: archive.directory, policy: archive, logger: logger)
                maintenanceDue = false
            }
            usleep(pause)
        }
    }
}
