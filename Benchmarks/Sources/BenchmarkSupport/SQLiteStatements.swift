import CSQLite3

/// A type that owns an SQLite connection: the statement helpers both suites use.
public protocol SQLiteConnectionOwner: AnyObject {
    var db: OpaquePointer? { get }
}

extension SQLiteConnectionOwner {
    /// The connection's last error message.
    public var message: String { db.map { String(cString: sqlite3_errmsg($0)) } ?? "no connection" }

    /// Runs `sql` (no results), throwing `BenchError.sqlite` with SQLite's message.
    public func exec(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        guard sqlite3_exec(db, sql, nil, nil, &error) == SQLITE_OK else {
            let text = error.map { String(cString: $0) } ?? message
            sqlite3_free(error)
            throw BenchError.sqlite("\(sql): \(text)")
        }
    }

    /// A statement prepared once and kept (`SQLITE_PREPARE_PERSISTENT`).
    public func prepare(_ sql: String) throws -> OpaquePointer? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK else {
            throw BenchError.sqlite("prepare \(sql): \(message)")
        }
        return statement
    }
}
