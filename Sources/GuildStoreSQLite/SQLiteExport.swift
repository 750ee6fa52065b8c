import Foundation
import GuildStoreEngine

/// Writes a GuildStore database with the guild schema to a new SQLite file in seed 004's
/// schema (what Mocha's Drizzle code opens), plus our extra columns and tables, so that
/// `SQLiteImport` of the result gives back every row (see `SQLiteTable`, SQS-1 to SQS-3).
///
/// ```swift
/// let summary = try await SQLiteExport.export(from: store.database, to: "exports/stats.db")
/// // For running the query patterns' SQL with numeric id order:
/// try await SQLiteExport.export(from: store.database, to: "check.db", ids: .integer)
/// ```
///
/// Invariants:
/// - (SQE-1) One snapshot: every table is read inside one `Database.read`, so the file is a
///   consistent copy even while writers go on. Rows stream from the scan straight into
///   prepared INSERTs; no table is held in memory.
/// - (SQE-2) All or nothing: the file is written under a temporary name in the target's
///   directory, in one SQLite transaction, synced, then moved to `path` (and the directory
///   synced). On any failure the temporary file is removed and `path` is untouched.
/// - (SQE-3) An existing `path` is never overwritten unless `replace` is true (`fileExists`).
///   Without `replace` the move is a `link` (which fails if `path` appeared meanwhile), so
///   even a racing writer of `path` is not clobbered.
/// - (SQE-4) With `ids: .integer`, an id at or above 2^63 fails the export (`idOutOfRange`)
///   rather than being written wrapped to a negative number.
public enum SQLiteExport {
    /// Exports `database` to a new SQLite file at `path`. Returns the rows written per table.
    @discardableResult
    public static func export(from database: Database, to path: String, ids: IDAffinity = .text,
                              replace: Bool = false) async throws -> ExportSummary {
        let fileManager = FileManager.default
        if !replace, fileManager.fileExists(atPath: path) { throw GuildSQLiteError.fileExists(path: path) }  // (SQE-3)
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".export-" + UUID().uuidString
        do {
            var summary = ExportSummary()
            do {
                let target = try SQLiteConnection(path: temporary, mode: .create)
                // No rollback journal (the temporary file is the rollback); FULL syncs the file at COMMIT (SQE-2).
                try target.execute("PRAGMA journal_mode = OFF; PRAGMA synchronous = FULL;")
                try await database.read { snapshot in  // (SQE-1)
                    try target.transaction {
                        for table in SQLiteTable.all {
                            for statement in table.createStatements(ids: ids) { try target.execute(statement) }
                            summary.tables.append((table.name, try copy(table, from: snapshot, to: target, ids: ids)))
                        }
                    }
                }
            }  // the connection closes here, before the move
            try move(temporary, to: path, replace: replace, directory: directory)
            return summary
        } catch {
            try? fileManager.removeItem(atPath: temporary)  // (SQE-2)
            throw error
        }
    }

    /// Copies every row of `table`, in primary key order; returns how many.
    private static func copy(_ table: SQLiteTable, from snapshot: ReadTransaction, to target: SQLiteConnection,
                             ids: IDAffinity) throws -> Int {
        let columns = table.fileColumns
        let insert = try target.prepare("INSERT INTO \(TableReader.quote(table.name)) ("
                                        + columns.map(TableReader.quote).joined(separator: ", ") + ") VALUES ("
                                        + columns.map { _ in "?" }.joined(separator: ", ") + ")")
        // For each file column: its position in our row, or nil for the members' text key (SQS-3).
        let ours = table.schema.columns.map(\.name)
        let positions = columns.map { name in table.hasMemberKey && name == SQLiteTable.memberKeyColumn ? nil : ours.firstIndex(of: name) }
        let guildPosition = ours.firstIndex(of: "guild_id"), userPosition = ours.firstIndex(of: "user_id")
        var count = 0
        var parameters = [SQLiteValue](repeating: .null, count: columns.count)
        try snapshot.scan(table.name) { row in
            for (i, position) in positions.enumerated() {
                if let position {
                    parameters[i] = try SQLiteValueMapping.exportValue(row.values[position], table: table.name, column: columns[i], ids: ids)
                } else if let guildPosition, let userPosition, case .uint(let guild) = row.values[guildPosition],
                          case .uint(let user) = row.values[userPosition] {
                    parameters[i] = .text("\(guild):\(user)")
                } else {
                    parameters[i] = .null
                }
            }
            try insert.run(parameters)
            count += 1
            return true
        }
        return count
    }

    /// Publishes the finished file at `path` (SQE-2, SQE-3).
    private static func move(_ temporary: String, to path: String, replace: Bool, directory: String) throws {
        if replace {
            guard rename(temporary, path) == 0 else { throw GuildSQLiteError.io(operation: "rename", path: path, errno: errno) }
        } else {
            guard link(temporary, path) == 0 else {
                let code = errno
                throw code == EEXIST ? GuildSQLiteError.fileExists(path: path) : GuildSQLiteError.io(operation: "link", path: path, errno: code)
            }
            unlink(temporary)
        }
        // The new directory entry is durable only once the directory is synced.
        let descriptor = open(directory, O_RDONLY)
        guard descriptor >= 0 else { throw GuildSQLiteError.io(operation: "open", path: directory, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw GuildSQLiteError.io(operation: "fsync", path: directory, errno: errno) }
    }
}

/// What an export wrote.
///
/// ```swift
/// let summary = try await SQLiteExport.export(from: store.database, to: "exports/stats.db")
/// print(summary.totalRows, summary["message_events"])
/// ```
public struct ExportSummary: Sendable, Hashable {
    /// Rows written per table, in file order.
    public var tables: [(name: String, rows: Int)] = []

    package init() {}

    /// Rows written to `table` (0 when it is not a guild table).
    public subscript(_ table: String) -> Int {
        tables.first { $0.name == table }?.rows ?? 0
    }

    public var totalRows: Int { tables.reduce(0) { $0 + $1.rows } }

    public static func == (lhs: ExportSummary, rhs: ExportSummary) -> Bool {
        lhs.tables.elementsEqual(rhs.tables) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for (name, rows) in tables { hasher.combine(name); hasher.combine(rows) }
    }
}
