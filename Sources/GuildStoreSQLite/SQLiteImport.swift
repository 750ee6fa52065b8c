import GuildStoreEngine

/// Reads an SQLite database with seed 004's schema (Mocha's Drizzle `stats.db`, or a file
/// `SQLiteExport` wrote) into a GuildStore database with the guild schema.
///
/// ```swift
/// let store = try await GuildDatabase.open(DatabaseConfiguration(.file("data/bot.gsdb")))
/// let summary = try await SQLiteImport.import(from: "data/stats.db", into: store.database) { p in
///     print("\(p.table): \(p.tableRows) / \(p.tableTotal)")
/// }
/// ```
///
/// What it does, in order (SQI-1 to SQI-5 are what a caller can rely on):
/// - (SQI-1) Tables go parents before children (`GuildTables.all`: guilds, users, channels,
///   members, the event tables, then the reminder tables and rollups), so every foreign key
///   of a row is checked against parents already written. A table the file does not have is
///   skipped and counted 0; a column it does not have takes our default (or NULL), unless our
///   column is NOT NULL without a default (`missingColumn`, before any row of that table).
/// - (SQI-2) Each table's rows are written `batchSize` at a time (10,000 by default), one
///   `Database.write` transaction per batch; progress is reported after each commit.
/// - (SQI-3) A row that cannot be imported throws a `GuildSQLiteError` naming its table, rowid,
///   key and column: an id that is not a snowflake (`invalidID`), a value its column cannot
///   take (`invalidValue`, `missingValue`), a member key that disagrees with its columns
///   (`inconsistentMemberID`), a parent the file lacks (`missingParent`: SQLite enforces no
///   foreign keys by default, GuildStore does), a key taken already (`duplicateKey`).
/// - (SQI-4) When that happens the batch holding the row is rolled back whole (the write
///   transaction throws), and what stays in the store is exactly what was committed before:
///   every earlier table in full and the failing table's earlier batches, i.e. what the last
///   progress report said. Nothing is half-applied. Re-running the import into the same
///   store fails with `duplicateKey` on the first committed row: import into a fresh store
///   (or delete what the failed run left).
/// - (SQI-5) The source is opened read-only and read once, in rowid order, one batch in memory
///   at a time.
///
/// Values convert as `SQLiteValueMapping` says (ids are canonical decimal text or
/// non-negative integers; timestamps integer seconds; booleans 0 / 1). Members: the key here
/// is `(guild_id, user_id)`; seed 004's text key `"guild_id:user_id"` is checked against those
/// two columns when present (NULL is let through) rather than ignored, because a mismatch
/// means the file is not what it claims and guessing which half is right would lose data.
public enum SQLiteImport {
    /// Written after each committed batch.
    ///
    /// ```swift
    /// try await SQLiteImport.import(from: "data/stats.db", into: store.database) { p in
    ///     print("\(p.table): \(p.tableRows)/\(p.tableTotal), \(p.totalRows) rows in all")
    /// }
    /// ```
    public struct Progress: Sendable, Hashable {
        /// The table being imported.
        public var table: String
        /// Its rows committed so far.
        public var tableRows: Int
        /// Its rows in the file.
        public var tableTotal: Int
        /// Rows committed so far, every table.
        public var totalRows: Int
    }

    public static let defaultBatchSize = 10_000

    /// Imports the file at `path` into `database`, which must carry the guild schema
    /// (`GuildDatabase.open`). Returns the rows imported per table. See SQI-1 to SQI-5 for what a failure
    /// leaves behind.
    @discardableResult
    public static func `import`(from path: String, into database: Database, batchSize: Int = defaultBatchSize,
                                progress: (@Sendable (Progress) -> Void)? = nil) async throws -> ImportSummary {
        let batchSize = max(1, batchSize)
        let source = try SQLiteConnection(path: path, mode: .readOnly)  // (SQI-5)
        let present = Set(try source.query("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap { row -> String? in
            if case .text(let name)? = row.first { return name }
            return nil
        })
        var summary = ImportSummary()
        for table in SQLiteTable.all {  // (SQI-1)
            guard present.contains(table.name) else {
                summary.tables.append((table.name, 0))
                summary.skippedTables.append(table.name)
                continue
            }
            let reader = try TableReader(table, source: source)
            let total = try reader.count()
            var imported = 0
            var batch: [(SourceRow, [String: Value])] = []
            batch.reserveCapacity(min(batchSize, total))
            func commit() async throws {
                try Task.checkCancellation()
                let rows = batch
                batch.removeAll(keepingCapacity: true)
                let name = table.name
                try await database.write { tx in  // (SQI-2), (SQI-4): a throw rolls the whole batch back
                    for (row, values) in rows {
                        do {
                            try tx.insert(values, into: name)
                        } catch let error as GuildStoreError {
                            throw Self.explain(error, row: row)
                        }
                    }
                }
                imported += rows.count
                progress?(Progress(table: name, tableRows: imported, tableTotal: total, totalRows: summary.totalRows + imported))
            }
            while let row = try reader.next() {
                batch.append(row)
                if batch.count == batchSize { try await commit() }
            }
            if !batch.isEmpty { try await commit() }
            summary.tables.append((table.name, imported))
        }
        return summary
    }

    /// The engine's refusal of a row, as an error naming the row (SQI-3).
    static func explain(_ error: GuildStoreError, row: SourceRow) -> GuildSQLiteError {
        switch error {
        case .foreignKeyViolation(_, let column, let value, let parent):
            .missingParent(row, column: column, value: value, parent: parent)
        case .uniqueViolation(_, let index, let key):
            .duplicateKey(row, index: index, key: key)
        default:
            .rowRejected(row, error)
        }
    }
}

/// What an import wrote.
///
/// ```swift
/// let summary = try await SQLiteImport.import(from: "data/stats.db", into: store.database)
/// print(summary.totalRows, summary["members"], summary.skippedTables)
/// ```
public struct ImportSummary: Sendable, Hashable {
    /// Rows imported per table, in import order; 0 for a table the file lacks.
    public var tables: [(name: String, rows: Int)] = []
    /// The tables the file does not have.
    public var skippedTables: [String] = []

    package init() {}

    /// Rows imported into `table` (0 when it was skipped or is not a guild table).
    public subscript(_ table: String) -> Int {
        tables.first { $0.name == table }?.rows ?? 0
    }

    public var totalRows: Int { tables.reduce(0) { $0 + $1.rows } }

    public static func == (lhs: ImportSummary, rhs: ImportSummary) -> Bool {
        lhs.tables.elementsEqual(rhs.tables) { $0 == $1 } && lhs.skippedTables == rhs.skippedTables
    }

    public func hash(into hasher: inout Hasher) {
        for (name, rows) in tables { hasher.combine(name); hasher.combine(rows) }
        hasher.combine(skippedTables)
    }
}
