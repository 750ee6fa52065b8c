import Logging

/// When commits reach stable storage.
///
/// ```swift
/// let db = try Database.open(DatabaseConfiguration(.file("data/bot.gsdb"), synchronous: .full))
/// ```
public enum SynchronousMode: String, Sendable, CaseIterable {
    /// Never sync. A crash of the machine can lose or tear recent work; a crash of the process
    /// cannot. With no sync, no WAL frame records a sync watermark (WALR-7), so recovery
    /// treats every break in the log as a torn tail: it never reports lost commits and never
    /// refuses writes, whatever damage it met.
    case off
    /// Sync the WAL at checkpoint, before the database file is written (SQLite's
    /// `synchronous = NORMAL` in WAL mode, the seeds' setting). A power loss can lose the last
    /// commits but never tears one; their frames are a torn tail at the next open, not damage
    /// (WALR-2).
    case normal
    /// Sync the WAL before a commit is acknowledged. A power loss loses nothing acknowledged.
    case full
}

/// How a checkpoint treats readers (`Database.checkpoint`).
///
/// ```swift
/// try await db.checkpoint(.passive)
/// try await db.checkpoint(.truncate, timeout: .seconds(10))   // shrink the WAL
/// ```
public enum CheckpointMode: String, Sendable, CaseIterable {
    /// Copy what no live snapshot still needs; never wait.
    case passive
    /// Wait (up to a timeout) for snapshots older than the last commit, then copy everything
    /// and restart the log.
    case full
    /// As `full`, then shrink the WAL file to zero bytes.
    case truncate
}

/// The synchronous engine's settings (`StorageEngine.open`); `Database` makes them from its
/// `DatabaseConfiguration`.
@_spi(Benchmarks) public struct EngineConfiguration: Sendable {
    /// Page size for a new database: a power of two from 4 KiB to 64 KiB. Nil opens an
    /// existing database with whatever it was created with (4 KiB for a new one); a value
    /// that disagrees with an existing file is an error.
    package var pageSize: Int?
    package var synchronous: SynchronousMode
    /// Frames in the WAL past which a commit runs a passive checkpoint (a commit of more than
    /// a quarter of it waits for four times its own frames: `automaticCheckpoint`). 0 turns
    /// automatic checkpoints off.
    package var checkpointThreshold: Int
    /// Bytes of address space reserved for the read-only mapping of the database file, so
    /// the file grows under it without remapping. Pages past it are read with pread.
    package var mapReservation: Int
    /// Bytes of committed page images not yet checkpointed that are kept in memory; the
    /// others are read back from the WAL file when a snapshot or the checkpoint needs them
    /// (WI-2). Bounds the memory a bulk load or a long snapshot costs. 32 MiB by default:
    /// 8,192 images of 4 KiB, eight times the default checkpoint threshold, so a database
    /// that checkpoints as it goes never reads its WAL back.
    package var walCacheBytes: Int
    /// Bytes of changed pages an open write transaction keeps in memory; past it, its changed
    /// leaves are written to the WAL as frames without a commit marker and read back when
    /// touched again (TS-1). Bounds the memory of one transaction, however much it writes.
    /// 64 MiB by default; at least 8 pages whatever it says.
    package var transactionCacheBytes: Int
    /// Longest key in bytes. Nil takes the largest the page size allows
    /// (`StorageEngine.maximumKeySize(pageSize:)`).
    package var maxKeySize: Int?
    /// Where planned queries (`select`, `aggregate`, `scan(plan)`) are logged at debug level
    /// with the index chosen, rows read and duration; nil logs nothing.
    package var queryLog: Logger?
    /// Whether `open` creates the database when there is no file at the path. False makes
    /// `open` throw `.databaseNotFound` instead, having written nothing: no database file, no
    /// WAL. An existing file is never replaced, whatever this says (an empty one is
    /// `.emptyDatabaseFile`).
    package var createIfMissing: Bool
    /// Continuous archiving (AR-1): the directory every generation of the log is copied into,
    /// as a WAL segment, before the log restarts over it; nil archives nothing.
    package var archiveDirectory: String?
    /// The permissions a database created by this open takes (FILE-2: a vacuum's copy takes
    /// the vacuumed file's); nil for the system's default.
    package var newDatabasePermissions: FilePermissions?
    /// The identity a database created by this open takes (vacuum's copy keeps its source's,
    /// BK-3, and seals its pages with it, WALR-9); nil draws a random one.
    package var newDatabaseIdentity: DatabaseIdentity?
    /// Opens the database read-only, beside its owner (RO-1..RO-3, `ReaderLock`): each
    /// snapshot sees the last commit whose frames were whole in the log when it began; the
    /// opening writes nothing, creates nothing (not even a log) and takes no exclusive lock,
    /// so it works while another process has the database open for writing. Its owner
    /// checkpoints nothing while one of its snapshots is live. Writes, checkpoints and vacuums
    /// answer `.readOnlyDatabase`.
    package var readOnly = false
    /// How long `open` waits for another process that holds the database for writing before
    /// it answers `.locked` naming it; nil waits `PosixFile.lockPatience` (200 ms).
    package var busyTimeout: Duration?
    /// How long a restart of the log waits for archivers in other processes (AR-3).
    package var archiverPatience: Duration
    /// The strict mode (DISK-11): every B+tree node a commit wrote is read back and its keys
    /// checked before the commit is sealed. On in debug builds (every test run), off in
    /// release builds, where it would cost every commit a pass over its pages.
    package var verifiesPagesOnCommit: Bool = EngineConfiguration.isDebugBuild

    #if DEBUG
    static let isDebugBuild = true
    #else
    static let isDebugBuild = false
    #endif

    @_spi(Benchmarks) public init(
        pageSize: Int? = nil,
        synchronous: SynchronousMode = .normal,
        checkpointThreshold: Int = 1000,
        mapReservation: Int = 1 << 36,
        walCacheBytes: Int = 32 << 20,
        transactionCacheBytes: Int = 64 << 20,
        maxKeySize: Int? = nil,
        queryLog: Logger? = nil,
        createIfMissing: Bool = true,
        archiveDirectory: String? = nil,
        readOnly: Bool = false,
        busyTimeout: Duration? = nil,
        archiverPatience: Duration = .seconds(1)
    ) {
        self.pageSize = pageSize
        self.synchronous = synchronous
        self.checkpointThreshold = checkpointThreshold
        self.mapReservation = mapReservation
        self.walCacheBytes = walCacheBytes
        self.transactionCacheBytes = transactionCacheBytes
        self.maxKeySize = maxKeySize
        self.queryLog = queryLog
        self.createIfMissing = createIfMissing
        self.archiveDirectory = archiveDirectory
        self.readOnly = readOnly
        self.busyTimeout = busyTimeout
        self.archiverPatience = archiverPatience
    }
}

/// What a checkpoint did.
///
/// ```swift
/// let result = try await db.checkpoint(.full)
/// if result.blockedByReaders { print("\(result.framesCheckpointed) of \(result.framesInWAL) frames") }
/// ```
public struct CheckpointResult: Sendable, Equatable {
    /// Frames in the WAL when the checkpoint started.
    public var framesInWAL: Int
    /// Frames of the WAL whose content is now in the database file (a frame superseded by a
    /// newer frame of the same page that was copied counts too).
    public var framesCheckpointed: Int
    /// True when everything was copied and the log restarted.
    public var walRestarted: Bool
    /// True when a live snapshot kept some frames from being copied.
    public var blockedByReaders: Bool
}

/// Counters and sizes of the file, the WAL, commits and readers (`Database.statistics()`),
/// cheap to read.
///
/// ```swift
/// let stats = db.statistics()
/// print(stats.walFrames, stats.activeReaders, stats.oldestReaderAge)
/// ```
public struct EngineStatistics: Sendable {
    public var pageSize: Int
    public var pageCount: Int
    public var freePages: Int
    public var fileBytes: Int64
    public var walFrames: Int
    public var walBytes: Int64
    public var framesCheckpointed: Int
    public var checkpoints: Int
    public var commits: Int
    public var syncs: Int
    public var activeReaders: Int
    /// Seconds the oldest live snapshot has been open; 0 without readers.
    public var oldestReaderAge: Double
    /// Frames a live snapshot keeps from being checkpointed.
    public var framesHeldByReaders: Int
    /// Bytes of the WAL's page images held in memory: at most the configuration's
    /// `walCacheBytes`; the rest are read back from the WAL file (WI-2).
    public var walCachedBytes: Int
    /// Pages write transactions wrote to the WAL before their commits, since open: changes
    /// past `transactionCacheBytes` wait in the log file instead of memory (TS-1).
    public var spilledPages: Int
    public var hardwareChecksums: Bool
    /// Frames recovery left out of the WAL at open (WALR-2): a torn tail, or damage and what
    /// came after it.
    public var walFramesDiscarded: Int
    /// Commits recovery could not apply because frames a sync had made durable were damaged
    /// (WALR-2, WALR-7); not 0 means the engine refuses writes (WALR-3). A torn tail of
    /// unsynced frames counts in `walFramesDiscarded` only.
    public var walCommitsLost: Int
    /// The last commit, numbered over the database's life (WAL-6).
    public var commitNumber: UInt64
    /// With continuous archiving: the last commit the archive holds (nil before the first
    /// segment of this process), and the error of the last archiving attempt that failed
    /// (nil once one succeeds). `commitNumber - archivedThrough` is the archive's lag.
    public var archivedThrough: UInt64?
    public var archiveError: String?
    /// Whether this opening is read-only (`DatabaseConfiguration.readOnly`): it shows the
    /// owner's commits as of each snapshot's catch-up (RO-2).
    public var readOnly: Bool
    /// Checkpoints since open that copied nothing because a read-only opening of the database
    /// (another process's `guildstore stats`, say) was reading it (RO-1); the log grows
    /// meanwhile and is checkpointed once they close.
    public var checkpointsHeldByReadOnlyOpenings: Int
    /// The last commit an archiver in another process has archived (`guildstore archive`,
    /// `Database.followArchive`: the lowest archive mark, AR-3); nil when none runs.
    /// `commitNumber - archiverThrough` is its lag.
    public var archiverThrough: UInt64? = nil
}
