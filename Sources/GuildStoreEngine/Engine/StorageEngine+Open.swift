import Foundation

extension StorageEngine {
    /// Opens the database at `path`, creating it when there is no file unless
    /// `configuration.createIfMissing` is false, and recovers from the WAL (`path` + "-wal")
    /// every transaction committed before a crash. An existing file is never replaced: an
    /// empty one is `.emptyDatabaseFile`.
    ///
    /// Errors: `.databaseNotFound` (nothing written: no file, no WAL), `.emptyDatabaseFile`, `.notADatabase`,
    /// `.unsupportedFormatVersion`, `.pageSizeMismatch`, `.corruptHeader`, `.corruptWAL`,
    /// `.invalidConfiguration`, `.locked`, `.io`.
    @_spi(Benchmarks) public static func open(
        path: String,
        configuration: EngineConfiguration = EngineConfiguration()
    ) throws -> StorageEngine {
        try open(path: path, configuration: configuration, fileSystem: PosixFileSystem())
    }

    /// As `open(path:configuration:)`, on another file layer (the tests' fault-injecting one).
    package static func open(
        path: String,
        configuration: EngineConfiguration = EngineConfiguration(),
        fileSystem: any FileSystem
    ) throws -> StorageEngine {
        if let requested = configuration.pageSize, !PageFormat.isValidPageSize(requested) {
            throw GuildStoreError.invalidConfiguration("page size \(requested) must be a power of two from 4096 to 65536")
        }
        guard configuration.checkpointThreshold >= 0, configuration.mapReservation >= 0 else {
            throw GuildStoreError.invalidConfiguration("checkpointThreshold and mapReservation must not be negative")
        }
        let walPath = path + "-wal"
        if configuration.readOnly && configuration.archiveDirectory != nil {
            throw GuildStoreError.invalidConfiguration("a read-only opening archives nothing: it has no log of its own to archive")
        }
        if !fileSystem.exists(path) {
            guard configuration.createIfMissing && !configuration.readOnly else { throw GuildStoreError.databaseNotFound(path: path) }
            try createDatabase(at: path, pageSize: configuration.pageSize ?? PageFormat.defaultPageSize,
                               identity: configuration.newDatabaseIdentity, permissions: configuration.newDatabasePermissions,
                               fileSystem: fileSystem)
        }
        let (lockFile, file) = try openLocked(path, readOnly: configuration.readOnly, busyTimeout: configuration.busyTimeout,
                                              fileSystem: fileSystem)
        do {
            let fileBytes = try file.size()
            // WALR-1: an existing database file is never replaced. The engine makes a database
            // only through `PATH-create` and a rename (`createDatabase`), so a crash never
            // leaves `path` empty: an empty file was emptied by something else, or made by
            // `touch`, and a WAL beside it may still hold its data.
            guard fileBytes > 0 else { throw GuildStoreError.emptyDatabaseFile(path: path) }
            var probe = [UInt8](repeating: 0, count: 24)
            let n = try probe.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
            let pageSize = try probe.prefix(n).withUnsafeBytes { try DatabaseHeader.probe($0, path: path) }
            if let requested = configuration.pageSize, requested != pageSize {
                throw GuildStoreError.pageSizeMismatch(path: path, file: pageSize, requested: requested)
            }

            let walExisted = fileSystem.exists(walPath)
            let walFile: any FileHandleIO
            let loaded: LoadedDatabase
            var position: LogPosition?
            if configuration.readOnly {
                // RO-1: the readers' byte is held, so no checkpoint restarts or truncates the log
                // while it is read; the owner's appends past its end are torn frames to this scan.
                let log = try ReadOnlyLogFile(path: walPath, fileSystem: fileSystem)
                walFile = log
                (loaded, position) = try loadFollowing(path: path, file: file, log: log, pageSize: pageSize,
                                                       mapReservation: configuration.mapReservation)
            } else {
                // FILE-2: the log holds the database's pages.
                walFile = try fileSystem.open(walPath, createWith: try file.permissions())
                if !walExisted { try fileSystem.syncDirectory(containing: walPath) }
                loaded = try load(path: path, file: file, fileBytes: fileBytes, walFile: walFile, pageSize: pageSize,
                                  mapReservation: configuration.mapReservation)
            }
            var state = EngineState(lockFile: lockFile, view: loaded.view, fileBytes: fileBytes, header: loaded.header,
                                    databaseSize: loaded.databaseSize, lastCommit: 0, lastCommitStamp: loaded.stamp,
                                    appended: CommitPoint(sequence: 0, stamp: loaded.stamp, header: loaded.header, databaseSize: loaded.databaseSize),
                                    walIndex: WALIndex(residentLimit: configuration.walCacheBytes / pageSize))
            state.adopt(loaded, sequenceBase: 0)
            let (recovered, report, header, base) = (loaded.recovered, loaded.report, loaded.header, loaded.base)
            let wal = WriteAheadLog(file: walFile, pageSize: pageSize, recovered: recovered, fileNonce: header.fileNonce, base: base)
            let engine = try StorageEngine(path: path, walPath: walPath, configuration: configuration,
                                           pageSize: pageSize, fileSystem: fileSystem, wal: wal, walRecovery: report, state: state,
                                           logPosition: position, recoveredLog: configuration.readOnly ? loaded.recovered : nil)
            engine.state.withLock { $0.logCommitsBefore = wal.commitsBefore }
            try engine.validateCatalog()
            return engine
        } catch {
            try? file.close()
            try? lockFile.close()
            throw error
        }
    }

    /// What open reads of a database file and its log: the header, the log's committed frames,
    /// and a fresh mapping of the file.
    struct LoadedDatabase {
        var fileBytes: Int64
        var header: DatabaseHeader
        var recovered: RecoveredLog?
        var report: WALRecoveryReport
        /// The log's committed frames, when it has any.
        var committed: RecoveredLog?
        var databaseSize: UInt32
        /// WAL-6: where numbering starts without a log of the file's own.
        var base: CommitStamp
        /// The last commit's number and time.
        var stamp: CommitStamp
        var view: FileView
    }

    /// Reads the database file's header and its log's committed frames as recovery does,
    /// writing nothing, and maps the file: what an open (and a read-only opening's refresh,
    /// RO-2) builds its state from.
    ///
    /// A read-only opening's reload after its owner restarted the log passes its `view` of the
    /// same file (the caller has forgotten what it verified) and reads the log as a
    /// `follower` (`WriteAheadLog.recover`).
    static func load(path: String, file: any FileHandleIO, fileBytes: Int64, walFile: any FileHandleIO, pageSize: Int,
                     mapReservation: Int, view: FileView? = nil, follower: Bool = false) throws -> LoadedDatabase {
        // WAL-7, WALR-9: the file's own header, when it reads soundly, names the log that is
        // its own and the salt of the database's page checksums.
        let fileHeader = fileBytes >= Int64(pageSize) ? try? readHeaderPage(file, pageSize: pageSize, path: path) : nil
        let (recovered, report) = try WriteAheadLog.recover(file: walFile, expectedPageSize: pageSize, fileNonce: fileHeader?.fileNonce,
                                                            checksumSalt: fileHeader?.checksumSalt, follower: follower)
        return try assemble(path: path, file: file, fileBytes: fileBytes, fileHeader: fileHeader, recovered: recovered, report: report,
                            walFile: walFile, pageSize: pageSize, view: view, mapReservation: mapReservation)
    }

    /// `load`'s result from a log already read: the header (the log's newest page 0, else the
    /// file's), checked against the file's size (DISK-4), and `view`, or a fresh mapping of
    /// the file when nil.
    static func assemble(path: String, file: any FileHandleIO, fileBytes: Int64, fileHeader: DatabaseHeader?,
                         recovered: RecoveredLog?, report: WALRecoveryReport, walFile: any FileHandleIO, pageSize: Int,
                         view existing: FileView?, mapReservation: Int) throws -> LoadedDatabase {
        let committed = recovered.flatMap { $0.committedFrameCount > 0 ? $0 : nil }

        let header: DatabaseHeader
        if let committed, let frame = committed.pages[0] {
            let image = try WriteAheadLog.readImage(file: walFile, pageSize: pageSize, frame: frame, page: 0, salt: committed.checksumSalt)
            header = try withExtendedLifetime(image) { try DatabaseHeader.decode(image.pointer, pageSize: pageSize, path: path) }
        } else {
            guard fileBytes >= Int64(pageSize) else {
                throw GuildStoreError.corruptHeader(path: path, reason: "the file is shorter than one page")
            }
            header = try fileHeader ?? readHeaderPage(file, pageSize: pageSize, path: path)
        }
        // WALR-9: every page of this database is sealed with the header's salt; the log's
        // were checked with it (or, without a sound file header, with the salt the log's
        // own header pages name, which the header just decoded is one of).
        let view = try existing.flatMap { $0.checksumSalt == header.checksumSalt ? $0 : nil }
            ?? FileView(file: file, pageSize: pageSize, reservation: mapReservation, checksumSalt: header.checksumSalt)
        let databaseSize = committed?.databaseSize ?? header.pageCount
        guard databaseSize == header.pageCount else {
            throw GuildStoreError.corruptHeader(path: path, reason: "header page count \(header.pageCount) disagrees with the log's \(databaseSize)")
        }
        // DISK-4: every page below the page count lies in the file or in the log (a page
        // allocated past the file's end goes to the log even when freed), so a count beyond
        // both is a damaged header, refused before anything walks 1..<pageCount.
        let filePages = fileBytes / Int64(pageSize)
        let logPages = committed?.pages.keys.count { Int64($0) >= filePages } ?? 0
        guard Int64(header.pageCount) <= filePages + Int64(logPages) else {
            throw GuildStoreError.corruptHeader(path: path, reason: "page count \(header.pageCount) exceeds the file's \(filePages) pages and the \(logPages) the log adds")
        }

        // WAL-6: numbering goes on from the log's header and commits, or without a log of
        // the file's own from the base commit its header records.
        let base = fileHeader?.baseCommit ?? header.baseCommit
        let stamp = recovered.map { CommitStamp(number: $0.lastCommitNumber, time: $0.lastCommitTime) } ?? base
        return LoadedDatabase(fileBytes: fileBytes, header: header, recovered: recovered, report: report, committed: committed,
                              databaseSize: databaseSize, base: base, stamp: stamp, view: view)
    }

    /// Opens the database file twice: once to hold the advisory lock, once to read, write and
    /// map. The lock lives on a descriptor of its own because a mapping keeps its descriptor's
    /// open file description alive after close, and with it any flock taken through it.
    ///
    /// Invariant (WALR-6): the locked descriptor and the data descriptor are the same file.
    /// Both are opened by path, one after the other, and a vacuum renames its new file over
    /// the path while it holds the old file's lock: a lock taken on the old file (after
    /// waiting for it) guards nothing, and a data descriptor of another file than the locked
    /// one would let two engines write one file. So once the lock is held the two identities
    /// are compared; on a mismatch both descriptors are closed and the open starts again, at
    /// most `openAttempts` times, then `.databaseReplaced`.
    ///
    /// A read-only opening (RO-1) opens both for reading and takes the openers' byte (RO-4,
    /// kept until it closes) and the readers' byte shared instead of the exclusive lock,
    /// waiting out a vacuum, a restore or a checkpoint in progress.
    /// `busyTimeout` is how long a writer's open waits for another process to let go of the
    /// lock (nil: `PosixFile.lockPatience`).
    static func openLocked(_ path: String, readOnly: Bool = false, busyTimeout: Duration? = nil,
                           fileSystem: any FileSystem) throws -> (lock: any FileHandleIO, file: any FileHandleIO) {
        for _ in 0..<openAttempts {
            let lockFile = readOnly ? try fileSystem.openForReading(path) : try fileSystem.open(path, create: false)
            do {
                if readOnly {
                    try ReaderLock.takeOpenerShared(lockFile)  // RO-4: for the opening's life
                    try ReaderLock.takeShared(lockFile)
                } else if let busyTimeout {
                    try lockFile.lockExclusive(patience: busyTimeout)
                } else {
                    try lockFile.lockExclusive()
                }
                let file = readOnly ? try fileSystem.openForReading(path) : try fileSystem.open(path, create: false)
                let same: Bool
                do {
                    same = try lockFile.identity() == file.identity()
                } catch {
                    try? file.close()
                    throw error
                }
                if same { return (lockFile, file) }
                try? file.close()
            } catch {
                try? lockFile.close()
                throw error
            }
            try? lockFile.close()
        }
        throw GuildStoreError.databaseReplaced(path: path, attempts: openAttempts)
    }

    /// How many times `openLocked` opens the file before it gives up on a path that another
    /// process keeps renaming files over.
    static let openAttempts = 3

    /// Invariant (WALR-5): an engine opens only on a header whose catalog root is a catalog: a
    /// B+tree node whose entries are tree names (UTF-8) with 8-byte values (a root page, then
    /// four zero bytes), each root inside the database, neither the header nor the catalog
    /// root, no two trees sharing one; and an empty catalog only when every other page is
    /// free. A header pointing at another tree's page would otherwise open as a database
    /// without those trees, and the next migration would build a schema inside the damaged
    /// file. Only the catalog's pages are read; a checksum mismatch among them is reported as
    /// it is.
    private func validateCatalog() throws {
        try read { tx in
            let header = tx.header
            let catalog = header.catalogRoot
            func notACatalog(_ reason: String) -> GuildStoreError {
                .corruptHeader(path: path, reason: "catalog root \(catalog) \(reason)")
            }
            let page = try tx.page(catalog)
            let type = withExtendedLifetime(page) { page.base.u8(4) }  // a pread page lives in `page.owner`
            guard type == PageType.leaf.rawValue || type == PageType.interior.rawValue else {
                throw notACatalog("is not a B+tree node (page type \(type))")
            }
            var roots: Set<UInt32> = []
            try tx.scan(root: catalog, range: KeyRange()) { key, value in
                guard let base = value.baseAddress, value.count == 8, base.u32(4) == 0 else {
                    throw notACatalog("holds a \(value.count)-byte value where a catalog entry has a root page")
                }
                guard !key.isEmpty, String(validating: key, as: UTF8.self) != nil else {
                    throw notACatalog("holds a key that is not a tree name")
                }
                let root = base.u32(0)
                guard root > 0, root < header.pageCount, root != catalog, roots.insert(root).inserted else {
                    throw notACatalog("names page \(root) as a tree root")
                }
                return true
            }
            let inUse = Int(header.pageCount) - 2 - Int(header.freePageCount)
            if roots.isEmpty && inUse != 0 {
                throw notACatalog("holds no trees, yet \(inUse) pages besides it and the header are in use")
            }
        }
    }

    /// Reads and decodes page 0 of the database file, checked with the salt it names itself
    /// (WALR-9): the salt of every other page is only known once this is read.
    static func readHeaderPage(_ file: any FileHandleIO, pageSize: Int, path: String) throws -> DatabaseHeader {
        let page = PageBuffer(size: pageSize)
        let n = try file.read(into: UnsafeMutableRawBufferPointer(start: page.pointer, count: pageSize), at: 0)
        guard n == pageSize else {
            throw GuildStoreError.corruptHeader(path: path, reason: "the file is shorter than one page")
        }
        return try withExtendedLifetime(page) {
            guard headerPageChecksum(page.pointer, size: pageSize).holds else {
                throw GuildStoreError.corruptHeader(path: path, reason: "header page checksum mismatch")
            }
            return try DatabaseHeader.decode(page.pointer, pageSize: pageSize, path: path)
        }
    }

    /// Writes a new database (header page and an empty catalog leaf) to a temporary file,
    /// syncs it, and renames it into place, so a crash never leaves a half-made database.
    /// `identity` is the new database's (BK-3; vacuum's copy keeps its source's), random
    /// when nil; its pages are sealed with it from the first (WALR-9).
    static func createDatabase(at path: String, pageSize: Int, identity: DatabaseIdentity? = nil, permissions: FilePermissions? = nil,
                               fileSystem: any FileSystem) throws {
        let temporary = path + "-create"
        try fileSystem.remove(temporary)
        let file = try fileSystem.open(temporary, createWith: permissions)
        do {
            let header = DatabaseHeader(
                version: DatabaseHeader.formatVersion, pageSize: pageSize, pageCount: 2, freeListHead: 0, freePageCount: 0, catalogRoot: 1,
                schemaCounter: 1, createdAt: UInt64(max(0, Date().timeIntervalSince1970)),
                storedIdentity: identity ?? .random(), fileNonce: DatabaseHeader.randomNonce(), baseCommit: .none)
            let pages = PageBuffer(size: pageSize * 2)
            header.write(to: pages.pointer)
            sealPage(pages.pointer, number: 0, size: pageSize, salt: header.checksumSalt)
            NodeLayout.initialize(pages.pointer + pageSize, pageSize: pageSize, type: .leaf)
            sealPage(pages.pointer + pageSize, number: 1, size: pageSize, salt: header.checksumSalt)
            try file.write(pages.bytes, at: 0)
            try file.sync()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        try fileSystem.rename(temporary, to: path)
        try fileSystem.syncDirectory(containing: path)
    }
}

