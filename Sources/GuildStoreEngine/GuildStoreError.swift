import Foundation

/// The one error type every layer of GuildStore throws.
///
/// Each case carries the context an operator needs: the file, the page or frame, the size and
/// limit, the underlying `errno`. Nothing that comes from disk or from a caller traps; it ends
/// up here.
///
/// ```swift
/// do {
///     try await db.write { tx in try tx.insert(["id": .uint(7)], into: "users") }
/// } catch GuildStoreError.uniqueViolation(let table, _, _) {
///     print("user already in \(table)")
/// }
/// ```
public enum GuildStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at the path and the open was not allowed to create one
    /// (`createIfMissing: false`). Nothing was written.
    case databaseNotFound(path: String)
    /// The database file exists but holds no bytes. It is refused, never replaced: a database
    /// is only ever created under another name and renamed into place, so something else
    /// emptied it (or made it empty), and its WAL may still hold data.
    case emptyDatabaseFile(path: String)
    /// The file exists but does not start with GuildStore's magic.
    case notADatabase(path: String)
    /// The file was written by a format version this build does not read.
    case unsupportedFormatVersion(path: String, version: UInt32)
    /// The configuration asked for a page size the file was not created with.
    case pageSizeMismatch(path: String, file: Int, requested: Int)
    /// A configuration value is out of range.
    case invalidConfiguration(String)
    /// The header page is unreadable: bad checksum, impossible field values.
    case corruptHeader(path: String, reason: String)
    /// A page's bytes do not match its checksum.
    case checksumMismatch(path: String, page: UInt32)
    /// A page passed its checksum but its structure is impossible (a bad offset, a loop).
    case corruptPage(page: UInt32, reason: String)
    /// A WAL frame or header is malformed in a way recovery cannot step over.
    case corruptWAL(path: String, reason: String)
    /// A key longer than the configured limit.
    case keyTooLarge(size: Int, limit: Int)
    /// A value longer than the engine can store.
    case valueTooLarge(size: Int, limit: Int)
    /// The database (or the transaction) was closed.
    case closed
    /// The transaction already committed or rolled back.
    case transactionFinished
    /// A write was attempted through a read-only snapshot.
    case readOnlyTransaction
    /// A write, checkpoint, vacuum or migration on a database opened read-only
    /// (`DatabaseConfiguration.readOnly`): it reads its owner's commits and changes nothing.
    case readOnlyDatabase(path: String)
    /// A read-only opening found another file at its database's path than the one it opened
    /// (put there from outside the engine: vacuum and restore refuse while it is open, RO-4):
    /// it shows the old file no further. Open it again.
    case databaseReplacedSinceOpen(path: String)
    /// Another write transaction is in progress.
    case writerBusy
    /// The operation needs readers to finish first (vacuum, a full checkpoint that timed out).
    case busy(String)
    /// Another process holds the database's lock: `holders` are the processes the kernel
    /// lists for it (empty when its lock table cannot be read).
    case locked(path: String, holders: [LockHolder])
    /// Each of `attempts` opens found another file at the path once the lock was held than
    /// the one locked: another process kept renaming files over it. Nothing was read.
    case databaseReplaced(path: String, attempts: Int)
    /// A tree of that name does not exist.
    case treeNotFound(String)
    /// A tree of that name already exists.
    case treeAlreadyExists(String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// The disk is full (ENOSPC / EDQUOT). Nothing acknowledged was lost.
    case diskFull(path: String)
    /// LZ4 compression or decompression failed: a damaged or truncated frame.
    case compression(String)
    /// Recovery of the database's WAL found damage followed by `lostCommits` commits
    /// (`lostFrames` frames) it could not apply (WALR-2). The database opened with what came
    /// before the damage and refuses writes, which would overwrite the log, until the log is
    /// set aside (`guildstore recover`, `StorageEngine.setAsideDamagedLog`).
    case walRecoveryRequired(path: String, lostCommits: Int, lostFrames: Int)
    /// An earlier write or sync failed; the handle stopped writing so it cannot acknowledge a
    /// commit it may not have made durable. Reopen the database: recovery decides.
    case poisoned(reason: String)
    /// An encoded key or row is malformed: truncated, an unknown type tag, invalid UTF-8,
    /// bytes left over. Keys and rows come from disk and are untrusted.
    case corruptEncoding(reason: String)
    /// A value does not fit its column: a value of another type, a value for a column the
    /// table does not have, or no value for one it has. `column` is the column's index.
    case typeMismatch(column: Int, expected: String, found: String)
    /// No table of that name.
    case unknownTable(String)
    /// A table of that name exists already.
    case tableAlreadyExists(String)
    /// The table has no column of that name.
    case unknownColumn(table: String, column: String)
    /// A value of the wrong type for a named column.
    case columnTypeMismatch(table: String, column: String, expected: String, found: String)
    /// No value for a NOT NULL column without a default.
    case missingValue(table: String, column: String)
    /// A row whose key a unique index (or the primary key) holds already. The statement
    /// changed nothing.
    case uniqueViolation(table: String, index: String, key: String)
    /// A table definition that cannot work (no primary key, an index on a missing column).
    case invalidSchema(String)

    // Query layer: planned reads and aggregates.
    /// A read or aggregate that cannot run as asked: a sum over a text column, a time bucket
    /// on a column that holds no time, an order by an aggregate that was not asked for.
    case invalidQuery(String)
    /// An integer sum (or a time bucket's start) does not fit 64 bits.
    case aggregateOverflow(table: String, column: String)
    /// A row of `table` whose foreign-key `column`s hold `value`, which names no row of
    /// `parent`. The statement changed nothing.
    case foreignKeyViolation(table: String, column: String, value: String, parent: String)
    /// The row of `table` with primary key `key` is still referenced by rows of `child`
    /// through an ON DELETE RESTRICT key (or would be re-keyed under them). Nothing changed.
    case foreignKeyRestricted(table: String, key: String, child: String)
    /// Migration `name` failed and was rolled back; migrations after it did not run.
    /// `reason` describes the error it threw.
    case migrationFailed(name: String, reason: String)
    /// The database at `path` lacks migrations `names` (in list order), and the open was
    /// asked not to apply them (a reader that must not write). Nothing was written.
    case migrationsPending(path: String, names: [String])
    /// The integrity check found `problems` in the database at `path`, and an operation that
    /// copies the whole database (vacuum) refused to run. Nothing was written.
    case integrityCheckFailed(path: String, problems: [String])
    /// The backup or archived WAL segment at `path` is not whole: cut short, bit-flipped, not a
    /// backup, or of a format version this build does not read. Nothing was restored from it.
    case backupDamaged(path: String, reason: String)
    /// The backup at `path` is sound but does not fit where it was asked to go: another
    /// database's (identity), another page size, or not the parent an incremental names.
    case backupMismatch(path: String, reason: String)
    /// A backup chain (a full backup, incrementals, archived WAL segments) has a gap: `missing`
    /// names the piece, `restorableThrough` the last commit the pieces before it reach (nil when
    /// not even the first piece is there). Nothing was restored.
    case backupChainBroken(missing: String, restorableThrough: UInt64?)
    /// The point asked for lies outside what the backups hold; `available` says what they hold.
    case restorePointUnavailable(requested: String, available: String)
    /// A restore would replace the database at `path`; it refuses unless asked to (`force`).
    case destinationExists(path: String)

    public var description: String {
        switch self {
        case .databaseNotFound(let path): "no database at \(path)"
        case .emptyDatabaseFile(let path): "database file \(path) is empty (0 bytes): not a GuildStore database, and not replaced"
        case .notADatabase(let path): "\(path) is not a GuildStore database"
        case .unsupportedFormatVersion(let path, let version):
            "\(path) has format version \(version), which this build does not read"
        case .pageSizeMismatch(let path, let file, let requested):
            "\(path) was created with \(file)-byte pages, not \(requested)"
        case .invalidConfiguration(let message): "invalid configuration: \(message)"
        case .corruptHeader(let path, let reason): "corrupt header in \(path): \(reason)"
        case .checksumMismatch(let path, let page): "checksum mismatch in \(path), page \(page)"
        case .corruptPage(let page, let reason): "corrupt page \(page): \(reason)"
        case .corruptWAL(let path, let reason): "corrupt write-ahead log \(path): \(reason)"
        case .keyTooLarge(let size, let limit): "key of \(size) bytes exceeds the limit of \(limit)"
        case .valueTooLarge(let size, let limit): "value of \(size) bytes exceeds the limit of \(limit)"
        case .closed: "the database is closed"
        case .transactionFinished: "the transaction has already finished"
        case .readOnlyTransaction: "cannot write through a read-only snapshot"
        case .readOnlyDatabase(let path): "\(path) is open read-only: nothing can be written to it through this opening"
        case .databaseReplacedSinceOpen(let path):
            "\(path) was replaced by another file since this read-only opening opened it; open it again"
        case .writerBusy: "another write transaction is in progress"
        case .busy(let message): "busy: \(message)"
        case .locked(let path, let holders):
            holders.isEmpty ? "database is locked: \(path) is open in another process"
                : "database is locked: \(path) is open in \(holders.map(\.description).joined(separator: ", "))"
        case .databaseReplaced(let path, let attempts):
            "\(path) was replaced by another file during each of \(attempts) opens (another process renaming files over it); nothing was read"
        case .treeNotFound(let name): "no tree named \(name)"
        case .treeAlreadyExists(let name): "a tree named \(name) already exists"
        case .io(let operation, let path, let errno):
            "\(operation) failed on \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .diskFull(let path): "disk full while writing \(path)"
        case .compression(let reason): "LZ4: \(reason)"
        case .walRecoveryRequired(let path, let lostCommits, let lostFrames):
            "the write-ahead log of \(path) is damaged: \(lostCommits) commit\(lostCommits == 1 ? "" : "s") (\(lostFrames) frame\(lostFrames == 1 ? "" : "s")) after the damage were not recovered; writes are refused so the log is not overwritten until `guildstore recover --db \(path)` saves it aside"
        case .poisoned(let reason): "database stopped writing after an I/O failure: \(reason); reopen it"
        case .corruptEncoding(let reason): "corrupt encoding: \(reason)"
        case .typeMismatch(let column, let expected, let found): "column \(column): expected \(expected), found \(found)"
        case .unknownTable(let name): "no table named \(name)"
        case .tableAlreadyExists(let name): "a table named \(name) already exists"
        case .unknownColumn(let table, let column): "table \(table) has no column \(column)"
        case .columnTypeMismatch(let table, let column, let expected, let found):
            "\(table).\(column): expected \(expected), found \(found)"
        case .missingValue(let table, let column): "\(table).\(column) is NOT NULL and has no default: a value is required"
        case .uniqueViolation(let table, let index, let key): "\(table): \(index) already holds \(key)"
        case .invalidSchema(let message): "invalid schema: \(message)"
        case .invalidQuery(let message): "invalid query: \(message)"
        case .aggregateOverflow(let table, let column): "\(table).\(column): the sum does not fit 64 bits"
        case .foreignKeyViolation(let table, let column, let value, let parent):
            "\(table).\(column) = \(value) references no row of \(parent)"
        case .foreignKeyRestricted(let table, let key, let child):
            "\(table) row \(key) is still referenced by rows of \(child) (ON DELETE RESTRICT)"
        case .migrationFailed(let name, let reason): "migration \(name) failed and was rolled back: \(reason)"
        case .migrationsPending(let path, let names):
            "\(path) needs migration\(names.count == 1 ? "" : "s") \(names.joined(separator: ", ")), not applied because this open does not write"
        case .integrityCheckFailed(let path, let problems):
            "\(path) is damaged (\(problems.count) problem\(problems.count == 1 ? "" : "s"), first: \(problems.first ?? "none")); nothing was written"
        case .backupDamaged(let path, let reason): "backup \(path) is damaged: \(reason)"
        case .backupMismatch(let path, let reason): "backup \(path) does not fit: \(reason)"
        case .backupChainBroken(let missing, let through):
            "the backup chain is broken: \(missing) is missing; "
                + (through.map { "the pieces before it restore up to commit \($0)" } ?? "nothing before it can be restored")
        case .restorePointUnavailable(let requested, let available): "cannot restore to \(requested): the backups hold \(available)"
        case .destinationExists(let path): "\(path) exists: restore refuses to replace a database unless forced (--force)"
        }
    }
}
