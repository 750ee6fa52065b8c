

/// A GuildStore database file and its write-ahead log: many B+trees in one file, one writer
/// at a time, any number of snapshot readers.
///
/// ```swift
/// let engine = try StorageEngine.open(path: "bot.gsdb")
/// try engine.write { tx in
///     let events = try tx.createTree("events")
///     try tx.put(Array("k".utf8), Array("v".utf8), in: events)
/// }
/// let value = try engine.read { try $0.get(Array("k".utf8), in: try $0.tree("events")) }
/// ```
///
/// Thread safety: the engine may be used from any thread. `beginWrite` admits one write
/// transaction at a time (others get `.writerBusy`); read transactions run concurrently with it
/// and with each other. A transaction object itself belongs to one thread at a time.
///
/// Invariants:
/// (TX-1) A snapshot is (last commit sequence, database size). A page is read from the newest WAL
///      frame at or below the snapshot's sequence, else from the database file.
/// (TX-2) A checkpoint copies only frames at or below the oldest live snapshot's sequence, and
///      then drops those frames from the index: the file now holds the newest of them, which
///      is what every live snapshot would have read.
/// (TX-3) Frame sequences are global and never reused, so restarting the log never makes a new
///      frame visible to an old snapshot.
/// (TX-4) A failed sync poisons the engine for writing; reads go on. A failed write rolls the
///      transaction back and leaves the engine usable (the torn bytes never form a valid
///      frame chain, WAL-1).
@_spi(Benchmarks) public final class StorageEngine: @unchecked Sendable {
    // Safe to share: immutable configuration plus `state` behind a pthread mutex (`Locked`).
    // `wal` appends and restarts only for the holder of the writer token
    // (`state.writerActive`); its file is synced from any thread, one sync at a time
    // (`syncWAL`, under `syncLock`).
    package let path: String
    package let walPath: String
    package let configuration: EngineConfiguration
    package let pageSize: Int
    package let maxKeySize: Int
    let fileSystem: any FileSystem
    let wal: WriteAheadLog
    /// What recovery left out of the WAL at open (WALR-2). Lost commits make the engine
    /// read-only (WALR-3).
    package let walRecovery: WALRecoveryReport
    let state: Locked<EngineState>
    /// A read-only opening's hold on the readers' byte (RO-2); unused by an owner.
    let readOnlyHold: Locked<ReadOnlyHold>
    /// Serializes WAL syncs (`syncWAL`). Lock order: checkpointLock, then syncLock, then state.
    let syncLock = SerialLock()
    /// One checkpoint at a time.
    let checkpointLock = SerialLock()
    /// Decoded table schemas, each valid for the schema counter it was read under.
    let schemaCache = Locked<[String: (counter: UInt64, compiled: CompiledTable)]>([:])
    /// `planScan`'s choices by shape (QP-1).
    let planCache = Locked<[PlanShape: ScanPlan]>([:])
    /// This engine among the process's engines, never reused (`PreparedQuery.nextID`): a
    /// prepared plan's resolved target (`PlanTarget`) names the engine it was resolved in,
    /// since schema counters repeat across databases and a plan may be run on another one.
    let instance = PreparedQuery.nextID()
    /// Prepared reads, aggregates and inserts resolved, by the query's id, each for its schema counter.
    let preparedScans = PreparedResolutions<ScanResolution>()
    let preparedAggregates = PreparedResolutions<AggregateResolution>()
    let preparedInserts = PreparedResolutions<InsertResolution>()

    /// The largest key a database with this page size stores: a quarter of a page less the
    /// cell overhead, so every node holds at least four cells.
    package static func maximumKeySize(pageSize: Int) -> Int {
        NodeLayout.maxCellSize(pageSize: pageSize) - 12
    }

    init(path: String, walPath: String, configuration: EngineConfiguration, pageSize: Int,
         fileSystem: any FileSystem, wal: WriteAheadLog, walRecovery: WALRecoveryReport, state: EngineState,
         logPosition: LogPosition? = nil, recoveredLog: RecoveredLog? = nil) throws {
        self.path = path
        self.walPath = walPath
        self.configuration = configuration
        self.pageSize = pageSize
        let limit = Self.maximumKeySize(pageSize: pageSize)
        if let requested = configuration.maxKeySize {
            guard requested >= 1, requested <= limit else {
                throw GuildStoreError.invalidConfiguration("maxKeySize \(requested) must be 1...\(limit) for \(pageSize)-byte pages")
            }
            maxKeySize = requested
        } else {
            maxKeySize = limit
        }
        self.fileSystem = fileSystem
        self.wal = wal
        self.walRecovery = walRecovery
        self.state = Locked(state)
        // A read-only opening holds the byte from `openLocked` until its first snapshot ends.
        readOnlyHold = Locked(ReadOnlyHold(held: configuration.readOnly, seen: logPosition, recovered: recoveredLog))
    }

    // MARK: Transactions

    /// Pins a snapshot of the last commit. End it (or let it go) promptly: a live snapshot
    /// holds back checkpoints.
    @_spi(Benchmarks) public func beginRead() throws -> ReadTransaction {
        try beginRead { s, id in s.snapshot(readerID: id) }
    }

    /// Pins a second read transaction on `other`'s snapshot, for work on the same snapshot on
    /// another thread (a transaction is used by one thread at a time). `other` still pins the
    /// snapshot, so no checkpoint has copied past it (TX-2).
    func beginRead(sharing other: ReadTransaction) throws -> ReadTransaction {
        let shared = other.snapshot
        return try beginRead { _, id in shared.pinned(as: id) }
    }

    /// Registers a reader under a new id with the snapshot `pin` makes for it. A read-only
    /// opening without a live snapshot first takes the readers' byte, catches up (RO-2) and
    /// takes its reader mark (RM-1).
    @inline(__always)
    private func beginRead(_ pin: (EngineState, UInt64) -> Snapshot) throws -> ReadTransaction {
        guard configuration.readOnly else { return try register(pin) }
        return try readOnlyHold.withLock { hold in
            let lockFile = state.withLock { $0.lockFile }
            if hold.mark == nil {  // RO-2: no snapshot is live
                if !hold.held {
                    try ReaderLock.takeShared(lockFile)
                    hold.held = true
                }
                do {
                    try pinReaderMark(&hold, lockFile)
                } catch {
                    hold.release(lockFile)
                    throw error
                }
            }
            do {
                return try register(pin)
            } catch {
                if state.withLock({ $0.readers.isEmpty }) { hold.release(lockFile) }
                throw error
            }
        }
    }

    @inline(__always)
    private func register(_ pin: (EngineState, UInt64) -> Snapshot) throws -> ReadTransaction {
        let snapshot = try state.withLock { s -> Snapshot in
            guard !s.closed else { throw GuildStoreError.closed }
            let id = s.nextReaderID
            s.nextReaderID += 1
            let snapshot = pin(s, id)
            s.readers[id] = ReaderRecord(sequence: snapshot.sequence, started: .now)
            return snapshot
        }
        return ReadTransaction(engine: self, snapshot: snapshot)
    }

    /// Starts the write transaction. Only one runs at a time.
    package func beginWrite() throws -> WriteTransaction {
        if configuration.readOnly { throw GuildStoreError.readOnlyDatabase(path: path) }
        try refuseWritesAfterLostCommits()
        let (snapshot, known) = try state.withLock { s -> (Snapshot, KnownParents?) in
            guard !s.closed else { throw GuildStoreError.closed }
            if let reason = s.poisonReason { throw GuildStoreError.poisoned(reason: reason) }
            guard !s.writerActive else { throw GuildStoreError.writerBusy }
            s.writerActive = true
            let snapshot = s.writerSnapshot()
            // FK-4: taken out, so the transaction owns them (no copy when it adds to them).
            defer { s.knownParents = nil }
            return (snapshot, s.knownParents.flatMap { $0.sequence == snapshot.sequence ? $0.parents : nil })
        }
        let transaction = WriteTransaction(engine: self, snapshot: snapshot)
        if let known { transaction.knownParents = known }
        return transaction
    }

    /// Keeps the parent rows a committed transaction had found for the next one (FK-4), unless
    /// there are more than `KnownParents.kept`.
    func keepKnownParents(_ parents: KnownParents, through sequence: UInt64) {
        guard parents.count <= KnownParents.kept else { return }
        state.withLock { $0.knownParents = (sequence, parents) }
    }

    /// Runs `body` on a pinned snapshot.
    @_spi(Benchmarks) public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        let tx = try beginRead()
        defer { tx.end() }
        return try body(tx)
    }

    /// Runs `body` in a write transaction and commits it; a thrown error rolls it back.
    @discardableResult
    @_spi(Benchmarks) public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        let tx = try beginWrite()
        do {
            let result = try body(tx)
            try tx.commit()
            return result
        } catch {
            tx.rollback()
            throw error
        }
    }

    /// Invariant (WALR-3): a WAL whose recovery lost commits (WALR-2) is never written: no
    /// commit appends to it (`beginWrite`) and it never restarts (`restartLog`), so the frames
    /// after the damage stay as they are until the log is set aside
    /// (`setAsideDamagedLog`). Reads and copying the recovered commits into the database
    /// file go on.
    func refuseWritesAfterLostCommits() throws {
        guard walRecovery.lostCommittedData else { return }
        throw GuildStoreError.walRecoveryRequired(path: path, lostCommits: walRecovery.lostCommits, lostFrames: walRecovery.lostFrames)
    }

    /// A schema counter never handed out before in this process, for a transaction that moves
    /// tree roots (create, drop, vacuum). Counters of rolled-back transactions are not reused,
    /// so a `Tree` handle that escaped a rollback can never match a later root (TX-6).
    func nextSchemaCounter() throws -> UInt64 {
        try state.withLock { s in
            // DISK-3: the counter comes from disk; one at UInt64.max has no next value, and a
            // reused one would break TX-6, so the header is corrupt (never a trap).
            let (next, overflow) = max(s.schemaCounterHighWater, s.header.schemaCounter).addingReportingOverflow(1)
            guard !overflow else {
                throw GuildStoreError.corruptHeader(path: path, reason: "schema counter \(s.header.schemaCounter) cannot move on")
            }
            s.schemaCounterHighWater = next
            return next
        }
    }

    func endReader(_ id: UInt64) {
        guard configuration.readOnly else {
            state.withLock { _ = $0.readers.removeValue(forKey: id) }
            return
        }
        // RO-2: the last snapshot of a read-only opening gives the readers' byte back, so the
        // owner's checkpoints run while it is idle.
        readOnlyHold.withLock { hold in
            let (idle, lockFile) = state.withLock { s in
                s.readers.removeValue(forKey: id)
                return (s.readers.isEmpty, s.lockFile)
            }
            if idle && hold.held { hold.release(lockFile) }
        }
    }

    func releaseWriter() {
        state.withLock { $0.writerActive = false }
    }

    /// Takes the writer token for engine maintenance (vacuum).
    func withWriterToken<T>(_ body: () throws -> T) throws -> T {
        guard try tryTakeWriterToken() else { throw GuildStoreError.writerBusy }
        defer { releaseWriter() }
        return try body()
    }

    /// Takes the writer token if no transaction holds it.
    func tryTakeWriterToken() throws -> Bool {
        try state.withLock { s in
            guard !s.closed else { throw GuildStoreError.closed }
            guard !s.writerActive else { return false }
            s.writerActive = true
            return true
        }
    }

    // MARK: Page reads

    /// Reads page `number` as snapshot `snapshot` sees it (TX-1).
    @inline(__always)
    func readPage(_ number: UInt32, snapshot: Snapshot) throws -> PageRef {
        guard number < snapshot.databaseSize else {
            throw GuildStoreError.corruptPage(page: number, reason: "beyond the end of the database (\(snapshot.databaseSize) pages)")
        }
        var fileBytes = snapshot.fileBytes
        if snapshot.consultsIndex {
            while true {
                let (version, restarts) = state.withLock { s -> (WALIndex.Version?, UInt64) in
                    fileBytes = s.fileBytes
                    return (s.walIndex[number]?.newest(atOrBelow: snapshot.sequence), s.walRestartsBegun)
                }
                guard let version else { break }
                if let image = version.image { return PageRef(base: image.pointer, owner: image) }
                if let image = try readFrameImage(page: number, version: version, restarts: restarts, salt: snapshot.view.checksumSalt) {
                    return PageRef(base: image.pointer, owner: image)
                }
                // The log restarted while the frame was read: the version is in the database
                // file now, or superseded there by what this snapshot sees (TX-2). Look again.
            }
        }
        return try snapshot.view.page(number, fileBytes: fileBytes)
    }

    /// Reads `version` of `page` back from the WAL file (its image is not resident, WI-2) and
    /// keeps it resident for the next reader. Nil when a restart of the log began since
    /// `restarts` (`walRestartsBegun` when the version was looked up): the frame may hold
    /// another page by now, or be cut off (WI-1). A frame that fails its checksum is an error
    /// only if no restart began.
    func readFrameImage(page: UInt32, version: WALIndex.Version, restarts: UInt64, salt: UInt32) throws -> PageBuffer? {
        let image: PageBuffer
        do {
            image = try WriteAheadLog.readImage(file: wal.file, pageSize: pageSize, frame: version.frame, page: page, salt: salt)
        } catch {
            if state.withLock({ $0.walRestartsBegun }) != restarts { return nil }
            throw error
        }
        return state.withLock { s in
            guard s.walRestartsBegun == restarts else { return nil }
            s.walIndex.promote(page: page, sequence: version.sequence, image: image)
            return image
        }
    }

    /// `FileView.prefetch` for a page this snapshot would read from the file. Pages that may
    /// live in the WAL are left alone: looking them up takes the engine's lock.
    func prefetchPage(_ number: UInt32, snapshot: Snapshot) {
        guard !snapshot.consultsIndex, number < snapshot.databaseSize else { return }
        snapshot.view.prefetch(number, fileBytes: snapshot.fileBytes)
    }

    // MARK: Statistics and close

    @_spi(Benchmarks) public func statistics() -> EngineStatistics {
        let walBytes = (try? wal.file.size()) ?? 0
        let archiverThrough = try? state.withLock { $0.lockFile }.lowestArchiveMark()
        var statistics = state.withLock { s in
            let now = ContinuousClock.now
            let oldest = s.readers.values.min { $0.sequence < $1.sequence }
            let oldestStart = s.readers.values.map(\.started).min()
            // Frames of the current WAL newer than the oldest snapshot: no checkpoint may copy
            // them while it lives.
            let held = oldest.map { Int(s.lastCommit - max($0.sequence, s.walBase)) } ?? 0
            let age = oldestStart.map { start -> Double in
                let d = now - start
                return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            } ?? 0
            return EngineStatistics(
                pageSize: pageSize, pageCount: Int(s.databaseSize), freePages: Int(s.header.freePageCount),
                fileBytes: s.fileBytes, walFrames: s.walFrames, walBytes: walBytes,
                framesCheckpointed: s.framesCheckpointed, checkpoints: s.checkpoints,
                commits: s.commits, syncs: s.syncs, activeReaders: s.readers.count,
                oldestReaderAge: age, framesHeldByReaders: held, walCachedBytes: s.walIndex.residentImages * pageSize,
                spilledPages: s.spilledPages,
                hardwareChecksums: ChecksumInfo.isHardware,
                walFramesDiscarded: walRecovery.discardedFrames, walCommitsLost: walRecovery.lostCommits,
                commitNumber: s.lastCommitStamp.number, archivedThrough: s.archivedThrough, archiveError: s.archiveError,
                readOnly: configuration.readOnly, checkpointsHeldByReadOnlyOpenings: s.checkpointsHeldByReadOnlyOpenings)
        }
        statistics.archiverThrough = archiverThrough
        return statistics
    }

    /// Closes the engine: later calls throw `.closed`. Fails with `.busy` while a transaction
    /// is open (the engine stays open). Committed work stays in the WAL and is checkpointed by
    /// the next open. An error from releasing a file is thrown after the engine is closed
    /// (`isClosed` then holds): the close is not to be retried as if nothing happened (DB-2).
    /// Whether `close()` closed the engine, even if releasing a file then failed.
    package var isClosed: Bool { state.withLock { $0.closed } }

    @_spi(Benchmarks) public func close() throws {
        let (files, observers) = try state.withLock { s -> ([any FileHandleIO], [ChangeObserver]) in
            guard !s.closed else { return ([], []) }
            guard !s.writerActive else { throw GuildStoreError.busy("a write transaction is open") }
            guard s.readers.isEmpty else { throw GuildStoreError.busy("\(s.readers.count) read transactions are open") }
            s.closed = true
            let observers = Array(s.observers.values)
            s.observers = [:]
            return ([wal.file, s.view.file, s.lockFile], observers)
        }
        // Outside the lock: finishing a stream runs its termination handler.
        for observer in observers { observer.continuation.finish() }
        var firstError: Error?
        for file in files {
            do { try file.close() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}

enum ChecksumInfo {
    static var isHardware: Bool { gs_crc32c_is_hardware() != 0 }
}

import CGuildStoreSupport
