import GuildStoreEngine

/// What the SQLite import and export throw when the data, not SQLite itself, is at fault
/// (SQLite's own failures are `SQLiteError`; the engine's surface wrapped in
/// `rowRejected` when a row caused them).
///
/// Every case about a row names it (`SourceRow`: table, rowid, id) and the column, so an
/// operator can find it in the file with one `SELECT`.
///
/// ```swift
/// do { try await SQLiteImport.import(from: "data/stats.db", into: store.database) }
/// catch let error as GuildSQLiteError { print("import failed: \(error)") }
/// ```
public enum GuildSQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    // Import: the file's shape.
    /// A table of the file lacks a column our schema needs (NOT NULL, no default).
    case missingColumn(table: String, column: String)

    // Import: one row's values.
    /// An id column holds something that is not a snowflake: text that is not canonical
    /// decimal digits (`"abc"`, `"-5"`, `"0012"`, `" 7"`), a number beyond `UInt64.max`, a
    /// negative integer, a real or a blob.
    case invalidID(SourceRow, column: String, found: String)
    /// A non-id column holds a value its type cannot take: a timestamp that is not whole
    /// seconds, a boolean other than 0 / 1, text in an integer column, ...
    case invalidValue(SourceRow, column: String, expected: String, found: String)
    /// NULL (or nothing) in a column our schema declares NOT NULL without a default.
    case missingValue(SourceRow, column: String)
    /// A member's text id `"guild_id:user_id"` disagrees with its `guild_id` / `user_id`
    /// columns, or is not of that form.
    case inconsistentMemberID(SourceRow, id: String)
    /// The row references a parent row the file does not hold (SQLite does not enforce
    /// foreign keys unless asked): `column = value` names no row of `parent`.
    case missingParent(SourceRow, column: String, value: String, parent: String)
    /// The row's key is taken: by an earlier row of the file that mapped to the same key, or
    /// by a row the store held before the import.
    case duplicateKey(SourceRow, index: String, key: String)
    /// The store refused the row for another reason (its message is the engine's).
    case rowRejected(SourceRow, GuildStoreError)

    // Export.
    /// The export's target exists and `replace` was not asked for.
    case fileExists(path: String)
    /// With `.integer` ids, an id at or above 2^63 has no SQLite INTEGER.
    case idOutOfRange(table: String, column: String, value: UInt64)
    /// A file system call of the export (rename, link, sync) failed.
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .missingColumn(let table, let column):
            "table \(table) of the SQLite file has no column \(column), which the guild schema needs"
        case .invalidID(let row, let column, let found):
            "\(row): \(column) = \(found) is not a snowflake id (decimal digits, at most \(UInt64.max))"
        case .invalidValue(let row, let column, let expected, let found):
            "\(row): \(column) = \(found) is not \(expected)"
        case .missingValue(let row, let column):
            "\(row): \(column) is NULL but the guild schema requires it"
        case .inconsistentMemberID(let row, let id):
            "\(row): member id '\(id)' is not its guild_id:user_id"
        case .missingParent(let row, let column, let value, let parent):
            "\(row): \(column) = \(value) names no row of \(parent)"
        case .duplicateKey(let row, let index, let key):
            "\(row): \(index) \(key) is taken already"
        case .rowRejected(let row, let error):
            "\(row): \(error)"
        case .fileExists(let path):
            "\(path) exists; pass replace: true to overwrite it"
        case .idOutOfRange(let table, let column, let value):
            "\(table).\(column) = \(value) does not fit an SQLite INTEGER (ids at or above 2^63 need ids: .text)"
        case .io(let operation, let path, let errno):
            "\(operation) \(path) failed with errno \(errno)"
        }
    }
}

/// One row of the source SQLite file, as an error names it: its table, its rowid (nil for a
/// `WITHOUT ROWID` table) and its key as the file spells it (the `id` column, or the primary
/// key columns joined by `/`).
///
/// ```swift
/// do { try await SQLiteImport.import(from: "data/stats.db", into: store.database) }
/// catch GuildSQLiteError.invalidID(let row, let column, _) { print(row.table, row.rowid ?? -1, row.key, column) }
/// ```
public struct SourceRow: Sendable, Hashable, CustomStringConvertible {
    public var table: String
    public var rowid: Int64?
    public var key: String

    package init(table: String, rowid: Int64?, key: String) {
        self.table = table
        self.rowid = rowid
        self.key = key
    }

    public var description: String {
        "\(table) row" + (rowid.map { " \($0)" } ?? "") + " (key \(key))"
    }
}
