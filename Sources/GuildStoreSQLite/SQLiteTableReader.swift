import GuildStoreEngine

/// Streams one table of the source file as rows ready for `WriteTransaction.insert`: each row
/// converted column by column (`SQLiteValueMapping`) and named for errors (`SourceRow`).
///
/// The SELECT names the file's columns that are ours (plus `rowid` and the members' text key),
/// so extra columns Mocha may have added are ignored and columns the file lacks are left out
/// of the row (their defaults apply; `missingColumn` when there is none, checked at init).
struct TableReader {
    let table: SQLiteTable
    let source: SQLiteConnection
    private let statement: SQLiteStatement
    /// Our columns the file has, in SELECT order after the rowid.
    private let columns: [ColumnDefinition]
    private let hasRowid: Bool
    /// Position of the members' text key in the SELECT, if read.
    private let memberKeyPosition: Int?
    /// Positions of the columns that name a row in errors: `id`, else the primary key.
    private let keyPositions: [Int]

    init(_ table: SQLiteTable, source: SQLiteConnection) throws {
        self.table = table
        self.source = source
        let quoted = Self.quote(table.name)
        let fileColumns = Set(try source.query("PRAGMA table_info(\(quoted))").compactMap { row -> String? in
            guard row.count > 1, case .text(let name) = row[1] else { return nil }
            return name
        })
        var columns: [ColumnDefinition] = []
        for column in table.schema.columns {
            if fileColumns.contains(column.name) {
                columns.append(column)
            } else if !column.nullable && column.defaultValue == nil {
                throw GuildSQLiteError.missingColumn(table: table.name, column: column.name)  // (SQI-1)
            }
        }
        self.columns = columns
        var names = columns.map { Self.quote($0.name) }
        let memberKey = table.hasMemberKey && fileColumns.contains(SQLiteTable.memberKeyColumn)
        if memberKey { names.append(Self.quote(SQLiteTable.memberKeyColumn)) }
        memberKeyPosition = memberKey ? columns.count : nil
        let idPosition = columns.firstIndex { $0.name == "id" }
        keyPositions = memberKeyPosition.map { [$0] } ?? idPosition.map { [$0] }
            ?? table.schema.primaryKey.compactMap { name in columns.firstIndex { $0.name == name } }
        let list = names.isEmpty ? "NULL" : names.joined(separator: ", ")
        // A WITHOUT ROWID table has no rowid: read it without one.
        if let withRowid = try? source.prepare("SELECT rowid, \(list) FROM \(quoted) ORDER BY rowid") {
            statement = withRowid
            hasRowid = true
        } else {
            statement = try source.prepare("SELECT \(list) FROM \(quoted)")
            hasRowid = false
        }
    }

    /// Rows in the table.
    func count() throws -> Int {
        guard case .integer(let n)? = try source.query("SELECT COUNT(*) FROM \(Self.quote(table.name))").first?.first else { return 0 }
        return Int(n)
    }

    /// The next row, converted; nil at the end.
    func next() throws -> (SourceRow, [String: Value])? {
        guard try statement.step() else { return nil }
        let offset = hasRowid ? 1 : 0
        let rowid: Int64? = if hasRowid, case .integer(let id) = statement.column(0) { id } else { nil }
        let key = keyPositions.map { Self.spelling(statement.column($0 + offset)) }.joined(separator: "/")
        let row = SourceRow(table: table.name, rowid: rowid, key: key)
        var values: [String: Value] = [:]
        values.reserveCapacity(columns.count)
        for (i, column) in columns.enumerated() {
            if let value = try SQLiteValueMapping.importValue(statement.column(i + offset), for: column, row: row) {
                values[column.name] = value
            }
        }
        if let memberKeyPosition { try checkMemberKey(statement.column(memberKeyPosition + offset), values, row: row) }
        return (row, values)
    }

    /// A member's `"guild_id:user_id"` must name its own guild and user (see `SQLiteImport`).
    private func checkMemberKey(_ key: SQLiteValue, _ values: [String: Value], row: SourceRow) throws {
        if case .null = key { return }
        guard case .text(let text) = key else { throw GuildSQLiteError.inconsistentMemberID(row, id: key.description) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let guild = SQLiteValueMapping.parseID(String(parts[0])), let user = SQLiteValueMapping.parseID(String(parts[1])),
              values["guild_id"] == .uint(guild), values["user_id"] == .uint(user)
        else { throw GuildSQLiteError.inconsistentMemberID(row, id: text) }
    }

    /// A value as an error spells a row's key: text as is, numbers in decimal.
    static func spelling(_ value: SQLiteValue) -> String {
        if case .text(let text) = value { return text }
        return value.description
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
