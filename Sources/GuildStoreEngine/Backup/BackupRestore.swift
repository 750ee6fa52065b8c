import Foundation

/// Restores a database from backup files: picks the chain (a full backup and the incrementals
/// on it) that reaches the point asked for, checks it, and writes a new database file.
///
/// Invariant (BK-4): the destination is replaced only by a database that passed every check.
/// Every piece is read whole and checked (BK-2) while its pages go to `DEST.restore`; after
/// the last piece, every live page of the result is hashed and compared with the last piece's
/// manifest, so a chain restores exactly the snapshot it names or not at all. Only then is the
/// file synced and renamed over the destination (a new log, numbering commits on from the
/// backup's, WAL-6, is renamed into place first), and the directory synced. A failure or a
/// crash before the rename leaves the destination as it was (and at most `DEST.restore`,
/// which the next restore replaces); after it, the restored database. The result is opened
/// and run through `check` before the restore reports success.
enum BackupRestore {
    /// One backup file and its header.
    struct Piece {
        var path: String
        var header: BackupHeader
    }

    static func restore(from sources: [String], to destination: String, at point: RestorePoint, force: Bool,
                        fileSystem: any FileSystem, progress: ((BackupProgress) -> Void)?) throws -> RestoreResult {
        let pieces = try collect(sources, fileSystem: fileSystem)
        let chain = try chooseChain(pieces, at: point, sources: sources)
        if fileSystem.exists(destination) && !force { throw GuildStoreError.destinationExists(path: destination) }
        guard let last = chain.last else { throw GuildStoreError.restorePointUnavailable(requested: point.description, available: "no backups") }
        let pageSize = last.header.pageSize

        let temporary = destination + ".restore"
        try fileSystem.remove(temporary)
        var pagesWritten = 0
        do {
            let file = try fileSystem.open(temporary, create: true)
            defer { try? file.close() }
            let total = chain.reduce(0) { $0 + Int($1.header.pageCount) }
            var manifest: [UInt64] = []
            for piece in chain {
                let contents = try BackupFile.scan(path: piece.path, fileSystem: fileSystem) { number, image in
                    try file.write(UnsafeRawBufferPointer(start: image, count: pageSize), at: Int64(number) * Int64(pageSize))
                    pagesWritten += 1
                    if let progress, pagesWritten % 4096 == 0 { progress(BackupProgress(pagesDone: pagesWritten, pagesTotal: total)) }
                }
                guard contents.header == piece.header else {
                    throw GuildStoreError.backupDamaged(path: piece.path, reason: "changed while it was being restored")
                }
                manifest = contents.manifest
            }
            try file.truncate(to: Int64(last.header.pageCount) * Int64(pageSize))
            try verify(file, against: manifest, pageSize: pageSize, chain: chain)
            try rebase(file, pageSize: pageSize, commit: last.header.commit, path: destination)
            try file.sync()
        } catch {
            try? fileSystem.remove(temporary)
            throw error
        }

        // Nobody may have the database open while it is replaced.
        let lock = fileSystem.exists(destination) ? try fileSystem.open(destination, create: false) : nil
        do {
            try lock?.lockExclusive()
            try fileSystem.rename(temporary, to: destination)
            try fileSystem.syncDirectory(containing: destination)
            // WAL-7: the old file's log is stale now; it would be ignored, and goes.
            try fileSystem.remove(destination + "-wal")
            try lock?.close()
        } catch {
            try? lock?.close()
            try? fileSystem.remove(temporary)
            throw error
        }

        let engine = try StorageEngine.open(path: destination, configuration: EngineConfiguration(createIfMissing: false), fileSystem: fileSystem)
        defer { try? engine.close() }
        let report = try engine.check()
        guard report.isOK else { throw GuildStoreError.integrityCheckFailed(path: destination, problems: report.problems) }
        guard engine.publishedStamp.number == last.header.commit.number else {
            throw GuildStoreError.backupDamaged(path: last.path, reason: "the restored database shows commit \(engine.publishedStamp.number), not \(last.header.commit.number)")
        }
        progress?(BackupProgress(pagesDone: pagesWritten, pagesTotal: pagesWritten))
        return RestoreResult(path: destination, commitNumber: last.header.commit.number,
                             commitTime: last.header.commit.time == 0 ? nil : Date(microsecondsSince1970: last.header.commit.time),
                             backupsApplied: chain.map(\.path), pagesWritten: pagesWritten)
    }

    /// Gives the restored file's header page a new file nonce (WAL-7) and `commit` as its base
    /// (WAL-6), and seals it again.
    private static func rebase(_ file: any FileHandleIO, pageSize: Int, commit: CommitStamp, path: String) throws {
        let page = PageBuffer(size: pageSize)
        let n = try file.read(into: UnsafeMutableRawBufferPointer(start: page.pointer, count: pageSize), at: 0)
        guard n == pageSize else { throw GuildStoreError.corruptHeader(path: path, reason: "the restored header page is short") }
        var header = try DatabaseHeader.decode(page.pointer, pageSize: pageSize, path: path)
        header.fileNonce = DatabaseHeader.randomNonce()
        header.baseCommit = commit
        header.write(to: page.pointer)
        sealPage(page.pointer, number: 0, size: pageSize)
        try file.write(UnsafeRawBufferPointer(start: page.pointer, count: pageSize), at: 0)
    }

    /// BK-4: every live page of the restored file hashes to the last manifest's entry.
    private static func verify(_ file: any FileHandleIO, against manifest: [UInt64], pageSize: Int, chain: [Piece]) throws {
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 64)
        defer { page.deallocate() }
        for (number, expected) in manifest.enumerated() where expected != 0 {
            let n = try file.read(into: page, at: Int64(number) * Int64(pageSize))
            guard n == pageSize, BackupFile.pageHash(page.baseAddress!, pageSize: pageSize) == expected else {
                let last = chain.last?.path ?? "?"
                throw GuildStoreError.backupChainBroken(
                    missing: "page \(number) as \(last) records it (the chain \(chain.map(\.path).joined(separator: " <- ")) does not rebuild it)",
                    restorableThrough: nil)
            }
        }
    }

    /// Every backup file the sources name (a directory stands for its `.gsbackup` files), with
    /// its header; all of one database.
    static func collect(_ sources: [String], fileSystem: any FileSystem) throws -> [Piece] {
        var paths: [String] = []
        for source in sources {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
                paths += names.filter { $0.hasSuffix(backupExtension) }.sorted().map { source + "/" + $0 }
            } else {
                paths.append(source)
            }
        }
        var pieces: [Piece] = []
        for path in paths {
            let header = try BackupFile.readHeader(path: path, fileSystem: fileSystem).header
            if let first = pieces.first {
                guard header.identity == first.header.identity else {
                    throw GuildStoreError.backupMismatch(path: path, reason: "it is a backup of database \(header.identity), \(first.path) of \(first.header.identity)")
                }
                guard header.pageSize == first.header.pageSize else {
                    throw GuildStoreError.backupMismatch(path: path, reason: "its pages are \(header.pageSize) bytes, \(first.path)'s \(first.header.pageSize)")
                }
            }
            pieces.append(Piece(path: path, header: header))
        }
        return pieces
    }

    /// The file name ending backups carry (`guildstore backup` names them so).
    static let backupExtension = ".gsbackup"

    /// The chain, full backup first, that restores exactly `point`.
    static func chooseChain(_ pieces: [Piece], at point: RestorePoint, sources: [String]) throws -> [Piece] {
        guard !pieces.isEmpty else {
            throw GuildStoreError.restorePointUnavailable(requested: point.description, available: "no backups in \(sources.joined(separator: ", "))")
        }
        let byID = Dictionary(pieces.map { ($0.header.backupID, $0) }, uniquingKeysWith: { first, _ in first })
        func chain(to piece: Piece) -> Result<[Piece], GuildStoreError> {
            var result = [piece]
            var current = piece
            while let parentID = current.header.parentID {
                guard let parent = byID[parentID], parent.header.commit.number == current.header.parentCommit,
                      result.count <= pieces.count else {
                    return .failure(.backupChainBroken(
                        missing: "backup \(parentID) (commit \(current.header.parentCommit)), the parent of \(current.path)",
                        restorableThrough: nil))
                }
                result.append(parent)
                current = parent
            }
            return .success(result.reversed())
        }
        let complete = pieces.filter { if case .success = chain(to: $0) { true } else { false } }
        let candidates: [Piece]
        switch point {
        case .latest:
            candidates = pieces
        case .commit(let number):
            candidates = pieces.filter { $0.header.commit.number == number }
        case .time(let date):
            let micros = date.microsecondsSince1970
            candidates = pieces.filter { $0.header.commit.time <= micros }
        }
        guard let target = candidates.max(by: { $0.header.commit.number < $1.header.commit.number }) else {
            throw GuildStoreError.restorePointUnavailable(requested: point.description, available: describe(complete.isEmpty ? pieces : complete))
        }
        switch chain(to: target) {
        case .success(let pieces): return pieces
        case .failure(.backupChainBroken(let missing, _)):
            let best = complete.filter { $0.header.commit.number <= target.header.commit.number }
                .map(\.header.commit.number).max()
            throw GuildStoreError.backupChainBroken(missing: missing, restorableThrough: best)
        case .failure(let error): throw error
        }
    }

    /// "commits 3 (2026-12-05T09:00:00Z), 17 (...)": the points the pieces restore to.
    static func describe(_ pieces: [Piece]) -> String {
        let points = pieces.sorted { $0.header.commit.number < $1.header.commit.number }.map { piece -> String in
            let time = piece.header.commit.time == 0 ? "never committed" : Date(microsecondsSince1970: piece.header.commit.time).formatted(.iso8601)
            return "\(piece.header.commit.number) (\(time))"
        }
        return points.isEmpty ? "nothing restorable" : "commit\(points.count == 1 ? "" : "s") " + points.joined(separator: ", ")
    }
}
