import Logging

/// How `Database.open` finds its file and how it behaves.
///
/// ```swift
/// let production = DatabaseConfiguration(.file("data/bot.gsdb"), synchronous: .full)
/// let tests = DatabaseConfiguration(.temporary)     // a fresh database, deleted on close
/// let db = try Database.open(production)
/// ```
public struct DatabaseConfiguration: Sendable {
    /// Where the database lives.
    ///
    /// ```swift
    /// let onDisk = DatabaseConfiguration(.file("data/bot.gsdb"))
    /// let scratch = DatabaseConfiguration(.temporary)   // TEST_MODE
    /// ```
    public enum Location: Sendable, Equatable {
        /// A file at this path (its WAL beside it, `PATH-wal`).
        case file(String)
        /// A fresh database in a private temporary directory, removed on close: for tests and
        /// scratch work (seed 003's TEST_MODE).
        case temporary
    }

    public var location: Location
    /// Page size for a new database: a power of two from 4 KiB to 64 KiB (4 KiB when nil).
    /// An existing database keeps its own; a value that disagrees with it is `.pageSizeMismatch`.
    public var pageSize: Int?
    /// `.normal` by default, like the seeds' SQLite setting; `.full` acknowledges a commit only
    /// once it is on disk.
    public var synchronous: SynchronousMode
    /// WAL frames past which a background checkpoint runs; 0 turns automatic checkpoints off.
    public var checkpointThreshold: Int
    /// Address space reserved for the database file's mapping.
    public var mapReservation: Int
    /// Bytes of committed pages waiting in the WAL for a checkpoint that are kept in memory
    /// (32 MiB by default); the rest are read back from the WAL file when a query needs them.
    /// A bulk load, or a long-running snapshot that holds the checkpoint back, grows the WAL
    /// file, not the process's memory.
    public var walCacheBytes: Int
    /// Bytes of changed pages one write transaction keeps in memory (64 MiB by default). A
    /// transaction that changes more writes its changed pages to the WAL ahead of its commit
    /// and reads them back when it touches them again, so a bulk load of any size in one
    /// transaction costs log file, not memory. The commit is still all or nothing. Values
    /// below 8 pages count as 8 pages.
    public var transactionCacheBytes: Int
    /// A snapshot open longer than this while it holds back a checkpoint is logged as a
    /// warning (once per snapshot): a forgotten reader makes the WAL grow.
    public var readerWarningAge: Duration
    /// Where warnings and checkpoint failures go.
    public var logger: Logger
    /// The file layer (tests swap in a fault-injecting one).
    package var fileSystem: any FileSystem
    /// Planned queries with the index chosen and their duration, at debug level; nil: none.
    public var queryLog: Logger?
    /// Whether opening a `.file` location with no database there creates one (the default).
    /// False makes `Database.open` throw `.databaseNotFound(path:)` and leave nothing on disk:
    /// for tools that must not mistake a mistyped path for an empty database. A `.temporary`
    /// database is always created.
    public var createIfMissing: Bool
    /// Continuous archiving for point-in-time restore; nil (the default) archives nothing.
    public var archive: ArchiveConfiguration?
    /// Opens an existing database read-only, beside the process that owns it (a running bot)
    /// or alone: each snapshot (`read`, `beginRead`) shows the owner's last commit whose frames
    /// were whole in the log when it began; nothing is written or created, and writes,
    /// migrations, checkpoints and vacuums answer `.readOnlyDatabase`. While one of its
    /// snapshots is live the owner's checkpoints copy only the commits it reads and the log
    /// does not restart (RO-1..RO-3, RM-1;
    /// `EngineStatistics.checkpointsHeldByReadOnlyOpenings` counts the checkpoints held back),
    /// so keep snapshots short; between them the owner checkpoints freely. While it is open,
    /// vacuum and restore of the file refuse with `.busy` naming its process (RO-4). A file put
    /// at the path from outside the engine is `.databaseReplacedSinceOpen`: open it again. A
    /// `.temporary` location cannot be read-only.
    ///
    /// ```swift
    /// // Beside a bot that has data/bot.gsdb open for writing:
    /// var configuration = DatabaseConfiguration(.file("data/bot.gsdb"))
    /// configuration.readOnly = true
    /// let db = try Database.open(configuration)
    /// ```
    public var readOnly = false
    /// How long opening waits while another process holds the database for writing (a bot,
    /// a `guildstore ingest`) before it answers `.locked(path:holders:)` naming that process.
    /// 200 ms by default; the wait sleeps between tries (2 ms growing to 50 ms), it does not
    /// spin. A read-only opening never waits for a writer.
    ///
    /// ```swift
    /// var maintenance = DatabaseConfiguration(.file("data/bot.gsdb"))
    /// maintenance.busyTimeout = .seconds(60)       // wait for the nightly import to finish
    /// ```
    public var busyTimeout: Duration = .milliseconds(200)
    /// How long the owner waits, before it restarts its log, for an archiver in another
    /// process (`followArchive`, `guildstore archive`) to archive the log's generation (AR-3).
    /// Writes wait meanwhile; an archiver that does not answer in time leaves the log to grow
    /// until the next restart asks again (`statistics().archiveError` says so). Without such an
    /// archiver there is nothing to wait for.
    public var archiverPatience: Duration = .seconds(1)

    public init(
        _ location: Location,
        pageSize: Int? = nil,
        synchronous: SynchronousMode = .normal,
        checkpointThreshold: Int = 1000,
        mapReservation: Int = 1 << 36,
        walCacheBytes: Int = 32 << 20,
        transactionCacheBytes: Int = 64 << 20,
        readerWarningAge: Duration = .seconds(60),
        logger: Logger = Logger(label: "guildstore"),
        queryLog: Logger? = nil,
        createIfMissing: Bool = true,
        archive: ArchiveConfiguration? = nil
    ) {
        self.init(location, pageSize: pageSize, synchronous: synchronous, checkpointThreshold: checkpointThreshold,
                  mapReservation: mapReservation, walCacheBytes: walCacheBytes, transactionCacheBytes: transactionCacheBytes,
                  readerWarningAge: readerWarningAge, logger: logger, fileSystem: PosixFileSystem(), queryLog: queryLog,
                  createIfMissing: createIfMissing, archive: archive)
    }

    /// As the public initializer, on another file layer (the tests' fault-injecting one).
    package init(
        _ location: Location,
        pageSize: Int? = nil,
        synchronous: SynchronousMode = .normal,
        checkpointThreshold: Int = 1000,
        mapReservation: Int = 1 << 36,
        walCacheBytes: Int = 32 << 20,
        transactionCacheBytes: Int = 64 << 20,
        readerWarningAge: Duration = .seconds(60),
        logger: Logger = Logger(label: "guildstore"),
        fileSystem: any FileSystem,
        queryLog: Logger? = nil,
        createIfMissing: Bool = true,
        archive: ArchiveConfiguration? = nil
    ) {
        self.location = location
        self.pageSize = pageSize
        self.synchronous = synchronous
        self.checkpointThreshold = checkpointThreshold
        self.mapReservation = mapReservation
        self.walCacheBytes = walCacheBytes
        self.transactionCacheBytes = transactionCacheBytes
        self.readerWarningAge = readerWarningAge
        self.logger = logger
        self.fileSystem = fileSystem
        self.queryLog = queryLog
        self.createIfMissing = createIfMissing
        self.archive = archive
    }

    /// The engine's settings. Automatic checkpoints are the database's, in the background, so
    /// the engine's own (on the commit path) are off.
    var engineConfiguration: EngineConfiguration {
        EngineConfiguration(pageSize: pageSize, synchronous: synchronous, checkpointThreshold: 0,
                            mapReservation: mapReservation, walCacheBytes: walCacheBytes,
                            transactionCacheBytes: transactionCacheBytes, queryLog: queryLog, createIfMissing: createIfMissing,
                            archiveDirectory: archive?.directory, readOnly: readOnly, busyTimeout: busyTimeout,
                            archiverPatience: archiverPatience)
    }
}
