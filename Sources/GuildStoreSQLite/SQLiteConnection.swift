import CSQLite

/// A small, safe face over the system SQLite (`libsqlite3`): what the import, the export, the
/// tests and the benchmarks need, nothing more.
///
/// ```swift
/// let db = try SQLiteConnection(path: "stats.db", mode: .readOnly)
/// let select = try db.prepare("SELECT id, name FROM guilds WHERE member_count > ?")
/// try select.bind([.integer(10)])
/// while try select.step() { print(select.column(0), select.column(1)) }
/// ```
///
/// Invariants:
/// - (SQC-1) Every failure is an `SQLiteError` carrying SQLite's result code, `sqlite3_errmsg`
///   and the SQL that failed; nothing traps on what a file or a caller hands in.
/// - (SQC-2) A statement keeps its connection alive (it holds a strong reference), so a handle is
///   never finalized after its database is closed. The connection closes with
///   `sqlite3_close_v2` when the last reference goes.
/// - (SQC-3) Text and blobs are bound with `SQLITE_TRANSIENT`: SQLite copies them before the
///   call returns, so no Swift buffer has to outlive a `bind`. The one exception is
///   `bind(unsafeBlob:at:)` / `bind(unsafeText:at:)` (`SQLITE_STATIC`, for loops that bind a
///   row's bytes in place, as the Benchmarks package's do): their caller keeps the bytes alive
///   and unchanged until the parameter is bound again or the statement is gone.
///
/// Neither type is `Sendable`: a connection belongs to one task at a time (SQLite's own
/// serialized mode would make it safe, but nothing here needs it).
///
/// `@_spi(Benchmarks)`: the package's own modules and the Benchmarks package use it (with
/// `@_spi(Benchmarks) import GuildStoreSQLite`); a bot links no SQLite. The statement's
/// per-row calls (bind, step, reset, column reads) are `@inlinable`, so a benchmark loop pays
/// the C calls alone, as it would calling SQLite directly.
@_spi(Benchmarks)
public final class SQLiteConnection {
    /// How `init(path:mode:)` opens the file.
    public enum Mode: Sendable {
        /// The file must exist; nothing can be written.
        case readOnly
        /// The file must exist.
        case readWrite
        /// Opened for writing, created when missing.
        case create
    }

    @usableFromInline let handle: OpaquePointer

    /// Opens `path`, or a private in-memory database for `":memory:"`.
    public init(path: String, mode: Mode = .create) throws {
        var flags: Int32 = SQLITE_OPEN_NOMUTEX
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            // A handle is returned even on failure (unless out of memory): read its message, close it.
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(db)
            throw SQLiteError(code: code, message: message, sql: nil, path: path)
        }
        sqlite3_extended_result_codes(db, 1)
        handle = db
    }

    /// A private database in memory, gone when the connection is.
    public static func inMemory() throws -> SQLiteConnection {
        try SQLiteConnection(path: ":memory:", mode: .create)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements separated by `;`, without parameters or results (DDL,
    /// pragmas, `BEGIN`).
    public func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard code == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errorMessage)
            throw SQLiteError(code: code, message: message, sql: sql)
        }
    }

    /// Compiles one statement. `persistent`: the statement is kept and run many times
    /// (`SQLITE_PREPARE_PERSISTENT`: SQLite does not spend its small per-connection memory
    /// pool on it).
    public func prepare(_ sql: String, persistent: Bool = false) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw error(code, sql: sql, fallback: "empty statement")
        }
        return SQLiteStatement(connection: self, handle: statement, sql: sql)
    }

    /// Runs one statement with `parameters` to its end and returns every row it produced.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        var rows: [[SQLiteValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        return rows
    }

    /// Runs one statement with `parameters` to its end, ignoring rows; returns `changes`.
    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> Int {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        while try statement.step() {}
        return changes
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Whether a transaction is open (`BEGIN` without its `COMMIT` / `ROLLBACK` yet).
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in a transaction: `COMMIT` when it returns, `ROLLBACK` when it throws (the
    /// error is rethrown). Not nestable: SQLite has no nested `BEGIN`.
    @discardableResult
    public func transaction<T>(_ kind: TransactionKind = .deferred, _ body: () throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        let result: T
        do {
            result = try body()
        } catch {
            // SQLite may already have rolled back (some errors end the transaction themselves).
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
        try execute("COMMIT")
        return result
    }

    /// Copies this connection's `main` database into a new file at `path` with SQLite's online
    /// backup API (`sqlite3_backup_init` / `_step` / `_finish`), `pagesPerStep` pages per step
    /// (-1: the whole database in one step, under one read transaction, so writers on other
    /// connections of a WAL database go on and never restart it). A step that meets a lock
    /// (`SQLITE_BUSY` / `SQLITE_LOCKED`) is retried after 1 ms. The copy is closed (and so
    /// synced, under the destination connection's default `synchronous = FULL`) on return.
    /// The Benchmarks package's Backup suite compares snapshot backups with it.
    public func backup(to path: String, pagesPerStep: Int32 = -1) throws {
        let destination = try SQLiteConnection(path: path, mode: .create)
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw destination.error(sqlite3_errcode(destination.handle), sql: "sqlite3_backup_init", fallback: "backup_init failed")
        }
        var code: Int32
        repeat {
            code = sqlite3_backup_step(backup, pagesPerStep)
            if code == SQLITE_BUSY || code == SQLITE_LOCKED { sqlite3_sleep(1) }
        } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
        let finished = sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE, finished == SQLITE_OK else {
            throw destination.error(code == SQLITE_DONE ? finished : code, sql: "sqlite3_backup_step", fallback: "backup failed")
        }
    }

    /// How `transaction(_:_:)` begins: SQLite's `BEGIN DEFERRED`, `IMMEDIATE` or `EXCLUSIVE`.
    public enum TransactionKind: String, Sendable {
        case deferred = "DEFERRED"
        case immediate = "IMMEDIATE"
        case exclusive = "EXCLUSIVE"
    }

    @usableFromInline
    func error(_ code: Int32, sql: String?, fallback: String? = nil) -> SQLiteError {
        let message = code == SQLITE_OK ? (fallback ?? "") : String(cString: sqlite3_errmsg(handle))
        return SQLiteError(code: code, message: message, sql: sql)
    }
}

/// One compiled statement: bind, step through rows, reset, step again.
@_spi(Benchmarks)
public final class SQLiteStatement {
    @usableFromInline let connection: SQLiteConnection  // (SQC-2)
    @usableFromInline let handle: OpaquePointer
    /// The statement's text.
    public let sql: String

    init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
        self.connection = connection
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and binds `values` to its parameters `?1 ... ?n` (all of them:
    /// a count that differs from the statement's is an error, not a silent NULL).
    public func bind(_ values: [SQLiteValue]) throws {
        reset()
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw SQLiteError(code: SQLITE_RANGE, message: "\(values.count) values for \(expected) parameters", sql: sql)
        }
        for (i, value) in values.enumerated() { try bind(value, at: Int32(i + 1)) }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the bind returns (SQC-3).
    @usableFromInline static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    /// Binds one parameter (1-based, as SQLite counts).
    public func bind(_ value: SQLiteValue, at position: Int32) throws {
        let transient = Self.transient  // (SQC-3)
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(handle, position)
        case .integer(let v): code = sqlite3_bind_int64(handle, position, v)
        case .real(let v): code = sqlite3_bind_double(handle, position, v)
        case .text(let s): code = sqlite3_bind_text64(handle, position, s, UInt64(s.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { buffer in
                // A zero-length blob is bound as such, not as NULL (a nil pointer would be NULL).
                buffer.baseAddress == nil
                    ? sqlite3_bind_zeroblob(handle, position, 0)
                    : sqlite3_bind_blob64(handle, position, buffer.baseAddress, UInt64(buffer.count), transient)
            }
        }
        guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
    }

    /// Binds an integer parameter (1-based): `bind(.integer(value), at:)` without the enum.
    @inlinable
    public func bind(integer value: Int64, at position: Int32) throws {
        let code = sqlite3_bind_int64(handle, position, value)
        guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
    }

    /// Binds `bytes` as a blob without copying them (`SQLITE_STATIC`): SQLite reads them in
    /// place at every step until the parameter is bound again, so the caller keeps them alive
    /// and unchanged until then (SQC-3). No allocation, for a loop binding each row's bytes.
    @inlinable
    public func bind(unsafeBlob bytes: UnsafeRawBufferPointer, at position: Int32) throws {
        // A zero-length blob is bound as such, not as NULL (a nil pointer would be NULL).
        let code = bytes.baseAddress.map { sqlite3_bind_blob64(handle, position, $0, UInt64(bytes.count), nil) }
            ?? sqlite3_bind_zeroblob(handle, position, 0)
        guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
    }

    /// Binds UTF-8 `bytes` as text without copying them (`SQLITE_STATIC`), under the same
    /// contract as `bind(unsafeBlob:at:)` (SQC-3).
    @inlinable
    public func bind(unsafeText bytes: UnsafeRawBufferPointer, at position: Int32) throws {
        // Empty text is bound as such, not as NULL (a nil pointer would be NULL).
        let text = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        let code = text.map { sqlite3_bind_text64(handle, position, $0, UInt64(bytes.count), nil, UInt8(SQLITE_UTF8)) }
            ?? sqlite3_bind_text64(handle, position, "", 0, Self.transient, UInt8(SQLITE_UTF8))
        guard code == SQLITE_OK else { throw connection.error(code, sql: sql) }
    }

    /// Runs to the next row: true when one is ready (read it with `column` / `row`), false when
    /// the statement is done.
    @inlinable
    public func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw connection.error(code, sql: sql)
        }
    }

    /// Back to before the first row; bindings stay.
    @inlinable
    public func reset() {
        sqlite3_reset(handle)
    }

    /// Binds `values` and runs the statement to its end (an INSERT, UPDATE or DELETE).
    public func run(_ values: [SQLiteValue]) throws {
        try bind(values)
        while try step() {}
    }

    /// Runs the statement with the parameters bound now to its end, then resets it (also when
    /// it fails), ready to be bound and run again: `BEGIN`, `COMMIT`, a prepared INSERT.
    @inlinable
    public func run() throws {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    /// The current row's column `index` (0-based) as an integer (SQLite's conversion:
    /// NULL is 0), without a `SQLiteValue`.
    @inlinable
    public func integer(_ index: Int) -> Int64 {
        sqlite3_column_int64(handle, Int32(index))
    }

    /// Lends `body` the current row's column `index` as bytes, in place (empty for NULL or an
    /// empty blob). The bytes are SQLite's until the next step or reset: `body` copies what it
    /// keeps.
    @inlinable
    public func withBlob<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let i = Int32(index)
        let bytes = sqlite3_column_blob(handle, i)  // before _bytes, as SQLite's docs ask
        let count = Int(sqlite3_column_bytes(handle, i))
        return try body(UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : count))
    }

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(_ index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? ""
    }

    /// The current row's value in column `index` (0-based), with the storage class SQLite
    /// holds it in.
    public func column(_ index: Int) -> SQLiteValue {
        let i = Int32(index)
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(handle, i) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, i))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, i))
            guard count > 0, let bytes = sqlite3_column_blob(handle, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    /// Every column of the current row.
    public func row() -> [SQLiteValue] {
        (0..<columnCount).map(column)
    }
}

/// A value as SQLite stores it: its five storage classes.
@_spi(Benchmarks) public enum SQLiteValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let v): "\(v)"
        case .real(let v): "\(v)"
        case .text(let s): "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        case .blob(let b): "x'" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "'"
        }
    }
}

/// A failure reported by SQLite: its (extended) result code, `sqlite3_errmsg`, and the SQL
/// (or the path, for an open) it concerns.
///
/// ```swift
/// do { try await SQLiteExport.export(from: store.database, to: "exports/stats.db") }
/// catch let error as SQLiteError { print(error.primaryCode, error.message, error.sql ?? "") }
/// ```
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite's extended result code (`SQLITE_CONSTRAINT_PRIMARYKEY`, ...); `code & 0xff` is
    /// the primary one.
    public var code: Int32
    public var message: String
    public var sql: String?
    public var path: String?

    package init(code: Int32, message: String, sql: String? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_CANTOPEN`, ...).
    public var primaryCode: Int32 { code & 0xff }

    /// Whether another connection held the lock past the busy timeout (`SQLITE_BUSY`): the
    /// statement may be run again.
    @_spi(Benchmarks)
    public var isBusy: Bool { primaryCode == SQLITE_BUSY }

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if let path { text += " (opening \(path))" }
        if let sql { text += " in: \(sql)" }
        return text
    }
}
