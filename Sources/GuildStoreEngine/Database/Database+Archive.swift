import Logging
import Foundation

extension Database {
    /// Prepares continuous archiving at open (`DatabaseConfiguration.archive`): creates the
    /// directory, and writes a new base when the archive cannot carry a restore on to the live
    /// log (no base of this file yet, a gap, or a vacuum or restore since: WAL-7), so the next
    /// segment continues a restorable range (AR-2). Throws `.backupMismatch` for an archive of
    /// another database.
    func startArchive() throws {
        guard let archive = configuration.archive else { return }
        do {
            try FileManager.default.createDirectory(atPath: archive.directory, withIntermediateDirectories: true)
        } catch {
            throw GuildStoreError.io(operation: "create archive directory", path: archive.directory, errno: EIO)
        }
        try engine.archiveBaseIfNeeded(directory: archive.directory, policy: archive, logger: configuration.logger)
    }

    /// After checkpoints: a new base when the newest is older than `newBaseEvery`, or the
    /// segments after it exceed `newBaseAfterBytes`, or the archive no longer reaches the live
    /// log. Failures are logged; the next checkpoint tries again.
    func archiveMaintenance() {
        guard let archive = configuration.archive else { return }
        do {
            try engine.archiveBaseIfNeeded(directory: archive.directory, policy: archive, logger: configuration.logger)
        } catch GuildStoreError.closed {
        } catch {
            configuration.logger.error("archive maintenance failed: \(error)")
        }
        if let failure = engine.statistics().archiveError {
            configuration.logger.error("\(failure)")
        }
    }
}

extension StorageEngine {
    /// Writes a base (a full backup named `base-<commit>-<nonce>.gsbackup`) into the archive
    /// when the archive's bases and segments of this file do not reach the commit before the
    /// live log's generation, or when `policy` asks for a new one by age or size.
    func archiveBaseIfNeeded(directory: String, policy: ArchiveConfiguration, logger: Logger) throws {
        let (nonce, identity) = try read { ($0.snapshot.header.fileNonce, $0.snapshot.header.identity) }
        // The live log's commits start after `needed`: the archive must hold everything up to
        // there for the next segment to continue it. Read before the directory is listed: a
        // restart in between archives its generation first (AR-1), so the listing then holds
        // at least what `needed` asks for, never less (which would write a needless base).
        let needed = state.withLock { $0.logCommitsBefore }
        let catalog: BackupCatalog
        do {
            catalog = try BackupCatalog(sources: [directory], fileSystem: fileSystem)
        } catch GuildStoreError.backupDamaged(let path, let reason) {
            logger.warning("archive \(directory): \(path) is damaged (\(reason)); writing a new base")
            try writeArchiveBase(directory: directory)
            return
        }
        if let foreign = (catalog.pieces.map { ($0.path, $0.header.identity) } + catalog.segments.map { ($0.path, $0.header.identity) })
            .first(where: { $0.1 != identity }) {
            throw GuildStoreError.backupMismatch(path: foreign.0, reason: "the archive \(directory) holds another database's backups")
        }
        let mine = catalog.bases.filter { $0.header.fileNonce == nonce }
        let newest = mine.max { $0.header.commit.number < $1.header.commit.number }
        let reached = mine.map { catalog.reach(from: $0.header.commit.number, nonce: nonce).through }.max()
        var reason: String?
        if newest == nil {
            reason = "no base of this database file yet"
        } else if let reached, reached < needed {
            reason = "the archive reaches commit \(reached), the live log starts after \(needed)"
        } else if let newest, let every = policy.newBaseEvery,
                  Date().timeIntervalSince(Date(microsecondsSince1970: newest.header.startedAt)) > Double(every.components.seconds) {
            reason = "the newest base is older than \(every)"
        } else if let newest, let limit = policy.newBaseAfterBytes {
            let bytes = catalog.segments.filter { $0.header.fileNonce == nonce && $0.header.last.number > newest.header.commit.number }
                .reduce(Int64(0)) { total, segment in
                    total + ((try? FileManager.default.attributesOfItem(atPath: segment.path)[.size] as? Int64) ?? 0)
                }
            if bytes > limit { reason = "\(bytes) bytes of segments since the newest base" }
        }
        guard let reason else { return }
        logger.info("archive \(directory): writing a new base (\(reason))")
        try writeArchiveBase(directory: directory)
    }

    /// Named after the commit the backup holds, which is known once it is written: written
    /// under a name the catalog ignores, then renamed (BK-1 holds for both names).
    private func writeArchiveBase(directory: String) throws {
        let writing = directory + "/base-writing"
        let info = try writeBackup(to: writing, parent: nil)
        let nonce = try read { $0.snapshot.header.fileNonce }
        let name = "base-\(WALSegment.padded(info.commitNumber))-\(WALSegment.hex(nonce))\(BackupCatalog.backupExtension)"
        try fileSystem.rename(writing, to: directory + "/" + name)
        try fileSystem.syncDirectory(containing: directory + "/" + name)
    }
}
