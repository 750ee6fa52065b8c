import Foundation

/// Everything the writer publishes and readers pin, guarded by `StorageEngine.state`.
///
/// Two views of the database live here. Readers see the *published* one (`lastCommit`,
/// `header`, `databaseSize`): commits that are as durable as `synchronous` demands. The writer
/// sees the *appended* one, which runs ahead while a group of commits waits for its sync.
///
/// Invariant (TX-5): a commit is published only once its frames are synced under `.full` (at
/// once otherwise), and commits are published in sequence order.
struct EngineState {
    /// Holds the database's advisory lock (a descriptor of its own, never mapped).
    var lockFile: any FileHandleIO
    var view: FileView
    /// Size of the database file as written by creation and checkpoints.
    var fileBytes: Int64
    /// The header as of the last commit.
    var header: DatabaseHeader
    /// Database size in pages as of the last commit.
    var databaseSize: UInt32
    /// Global sequence number of the last published commit's last frame (TX-3); 0 before any.
    var lastCommit: UInt64
    /// The last published commit's number and time (WAL-6).
    var lastCommitStamp: CommitStamp
    /// The last commit appended to the WAL, published or not: what the writer builds on.
    var appended: CommitPoint
    /// Appended commits waiting for a sync before they are published, oldest first.
    var unpublished: [(point: CommitPoint, changes: ChangeSet)] = []
    /// WAL frames up to this sequence are known to be on disk.
    var syncedThrough: UInt64 = 0
    /// Subscribers to committed change sets (`StorageEngine.changes(in:)`).
    var observers: [UInt64: ChangeObserver] = [:]
    var nextObserverID: UInt64 = 1
    /// Page number -> committed frames not yet superseded in the database file.
    var walIndex: WALIndex
    /// Highest schema counter handed out, committed or not (see `nextSchemaCounter`).
    var schemaCounterHighWater: UInt64 = 0
    /// Whether the free list read from disk passed `verifyFreeList` (DISK-7).
    var freeListVerified = false
    /// Frames in the WAL file since its last restart.
    /// Pages write transactions spilled to the WAL before their commits (TS-1), since open.
    var spilledPages = 0
    var walFrames: Int = 0
    /// `lastCommit` when the WAL last restarted: its frames have sequences above this.
    var walBase: UInt64 = 0
    /// Frames of the current generation that open (or a read-only opening's catch-up) found
    /// committed: frame k of them is sequence `walBase + k + 1`.
    var adoptedFrames = 0
    /// The commits this engine appended to the current generation since: where each ends in
    /// the log (frames) and its sequence, in order. For `sequence(forFrames:)`.
    var commitEnds: [(frames: Int, sequence: UInt64)] = []
    /// Restarts of the WAL in this process: tells a sync which generation it covered.
    var walGeneration: UInt64 = 0
    /// Restarts of the WAL begun in this process, counted before the restart touches the file:
    /// a frame read outside this lock is the version looked up only if this did not move
    /// meanwhile (WI-1).
    var walRestartsBegun: UInt64 = 0
    /// Frames of the WAL's current generation a completed sync made durable: the watermark
    /// the next commit's frames record (WALR-7). Stays 0 under `.off`.
    var walSyncedFrames: Int = 0
    /// Highest sequence whose page images are all in the database file.
    var backfilled: UInt64 = 0
    var readers: [UInt64: ReaderRecord] = [:]
    /// The parent rows foreign-key checks had found when the appended commit `sequence` was
    /// made (FK-4): the next write transaction starts from them when it builds on that commit,
    /// and takes them out while it runs (nil meanwhile, and after a rollback).
    var knownParents: (sequence: UInt64, parents: KnownParents)?
    var nextReaderID: UInt64 = 1
    var writerActive = false
    var closed = false
    var poisonReason: String?
    /// AR-1: the last commit a WAL segment in the archive holds (this process's), and the
    /// last archiving error since.
    var archivedThrough: UInt64?
    /// WAL-6: the commit the log's current generation starts after (`WriteAheadLog.commitsBefore`),
    /// kept here so a thread without the writer token reads it under this lock.
    var logCommitsBefore: UInt64 = 0
    var archiveError: String?
    /// The lowest archive mark when a restart last gave up waiting for an archiver of another
    /// process (AR-3): while it has not moved, restarts do not wait for it again.
    var archiverRefusal: UInt64?
    /// Restarts that waited for archivers of other processes (announced the wanted byte).
    var archiverWaits = 0
    var commits = 0
    var syncs = 0
    var checkpoints = 0
    var framesCheckpointed = 0
    /// Checkpoints that found a read-only opening holding the readers' byte (RO-1) and copied nothing.
    var checkpointsHeldByReadOnlyOpenings = 0

    /// Takes what an open read (`StorageEngine.load`) as the published and appended state:
    /// the header, the file's mapping and size, and the log's committed frames in the WAL
    /// index, frame k as sequence `sequenceBase + k + 1` (0 at open, as the writer numbers a
    /// generation's frames; past every earlier sequence at a read-only opening's refresh,
    /// TX-3). No snapshot may be live: each page keeps only its newest version, read from the
    /// log when first needed (WI-1).
    mutating func adopt(_ loaded: StorageEngine.LoadedDatabase, sequenceBase: UInt64) {
        view = loaded.view
        fileBytes = loaded.fileBytes
        header = loaded.header
        databaseSize = loaded.databaseSize
        lastCommitStamp = loaded.stamp
        walIndex = WALIndex(residentLimit: walIndex.residentLimit)
        freeListVerified = false
        var frames = 0
        if let committed = loaded.committed {
            for (page, frame) in committed.pages where page < loaded.databaseSize {
                walIndex.add(page: page, WALIndex.Version(sequence: sequenceBase + UInt64(frame) + 1, frame: frame, image: nil), pinned: [])
            }
            frames = committed.committedFrameCount
            // WALR-7: what the applied frames say was synced still was; the writer goes on
            // from there (a sync of this process raises it).
            walSyncedFrames = min(committed.syncedFrames, committed.committedFrameCount)
        }
        lastCommit = sequenceBase + UInt64(frames)
        appended = CommitPoint(sequence: lastCommit, stamp: loaded.stamp, header: loaded.header, databaseSize: loaded.databaseSize)
        walFrames = frames
        walBase = sequenceBase
        adoptedFrames = frames
        commitEnds = []
        backfilled = sequenceBase
    }

    /// A read-only opening's catch-up within one generation of the log (RO-2): takes the
    /// commits found past the log as last adopted (numbered from `walBase`) by adding a
    /// version for each of `pages`, the pages the new frames hold with the newest frame of
    /// each (`WriteAheadLog.continueRecovery`), frame k as sequence `walBase + k + 1` as
    /// `adopt` numbered the earlier ones, so sequences only grow (TX-3). No snapshot may be
    /// live, so each such page keeps only the new version. Only those pages are touched, where
    /// `adopt` rebuilds the index from every page of the log.
    mutating func adoptFrames(_ loaded: StorageEngine.LoadedDatabase, pages: [(page: UInt32, frame: Int)]) {
        guard let next = loaded.committed else { return }
        fileBytes = loaded.fileBytes
        header = loaded.header
        databaseSize = loaded.databaseSize
        lastCommitStamp = loaded.stamp
        freeListVerified = false
        for (page, frame) in pages where page < loaded.databaseSize {
            walIndex.add(page: page, WALIndex.Version(sequence: walBase + UInt64(frame) + 1, frame: frame, image: nil), pinned: [])
        }
        walSyncedFrames = min(next.syncedFrames, next.committedFrameCount)
        lastCommit = walBase + UInt64(next.committedFrameCount)
        appended = CommitPoint(sequence: lastCommit, stamp: loaded.stamp, header: loaded.header, databaseSize: loaded.databaseSize)
        walFrames = next.committedFrameCount
        adoptedFrames = next.committedFrameCount
    }

    func snapshot(readerID: UInt64?) -> Snapshot {
        Snapshot(readerID: readerID, sequence: lastCommit, stamp: lastCommitStamp, databaseSize: databaseSize, header: header,
                 view: view, fileBytes: fileBytes, consultsIndex: !walIndex.isEmpty)
    }

    /// The writer's view: the last appended commit, published or not.
    func writerSnapshot() -> Snapshot {
        Snapshot(readerID: nil, sequence: appended.sequence, stamp: appended.stamp, databaseSize: appended.databaseSize,
                 header: appended.header, view: view, fileBytes: fileBytes, consultsIndex: !walIndex.isEmpty)
    }

    /// Publishes every unpublished commit up to `sequence` (TX-5) and tells observers.
    mutating func publish(through sequence: UInt64) {
        while let first = unpublished.first, first.point.sequence <= sequence {
            unpublished.removeFirst()
            assert(first.point.sequence > lastCommit, "TX-5: commits are published in sequence order")
            lastCommit = first.point.sequence
            lastCommitStamp = first.point.stamp
            header = first.point.header
            databaseSize = first.point.databaseSize
            for observer in observers.values { observer.deliver(first.changes) }
        }
    }

    /// The last commit whose frames all lie below the first `frames` of the log's current
    /// generation: what a read-only opening whose mark is `frames` reads (RM-1). Its marks
    /// fall on commit ends, each one this engine adopted or appended; a count between two of
    /// them gives the earlier commit, which holds a checkpoint back further, never less.
    func sequence(forFrames frames: Int) -> UInt64 {
        if frames <= adoptedFrames { return walBase + UInt64(max(0, frames)) }
        var low = 0, high = commitEnds.count  // the first end past `frames` is at `low`
        while low < high {
            let middle = (low + high) / 2
            if commitEnds[middle].frames <= frames { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? walBase + UInt64(adoptedFrames) : commitEnds[low - 1].sequence
    }

    /// Sequence of the oldest live snapshot, or `lastCommit` when there is none.
    var oldestReaderSequence: UInt64 {
        readers.values.reduce(lastCommit) { min($0, $1.sequence) }
    }
}

/// A commit: its last frame's sequence, its number and time, and the header and size it left.
struct CommitPoint {
    var sequence: UInt64
    var stamp: CommitStamp
    var header: DatabaseHeader
    var databaseSize: UInt32
}

/// A commit's number, counted from 1 over the database's life (WAL-6), and its time in
/// microseconds since 1970; (0, 0) before the first commit.
package struct CommitStamp: Equatable, Sendable {
    package var number: UInt64
    package var time: UInt64

    package static let none = CommitStamp(number: 0, time: 0)

    /// Invariant (DISK-10): a commit number read from disk (a log header, a database header's
    /// base commit, a backup, an archived segment) is below this, or the structure holding it
    /// is damaged. No database commits 2^62 times, and with the bound, adding the commits of a
    /// log (fewer than 2^32 frames) or of a process's life never wraps.
    package static let maximumNumber: UInt64 = 1 << 62

    /// The stamp of the commit after this one, made now: times never go backwards (WAL-6),
    /// even when the clock does. DISK-10 keeps `number + 1` from wrapping.
    func next(now: Date = Date()) -> CommitStamp {
        let micros = UInt64(max(0, now.timeIntervalSince1970 * 1_000_000))
        return CommitStamp(number: number + 1, time: max(time, micros))
    }
}

struct ReaderRecord {
    var sequence: UInt64
    var started: ContinuousClock.Instant
}

/// What a transaction pins when it begins.
struct Snapshot {
    let readerID: UInt64?
    let sequence: UInt64
    /// The number and time of the commit this snapshot shows (WAL-6).
    let stamp: CommitStamp
    let databaseSize: UInt32
    let header: DatabaseHeader
    let view: FileView
    let fileBytes: Int64
    /// False when the index was empty at begin: every page this snapshot reads is in the file
    /// already, and the index can only gain frames newer than it (TX-3).
    let consultsIndex: Bool

    /// The same snapshot, pinned by another reader.
    func pinned(as readerID: UInt64) -> Snapshot {
        Snapshot(readerID: readerID, sequence: sequence, stamp: stamp, databaseSize: databaseSize, header: header,
                 view: view, fileBytes: fileBytes, consultsIndex: consultsIndex)
    }
}
