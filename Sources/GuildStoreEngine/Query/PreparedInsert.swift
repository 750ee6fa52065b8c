import Foundation

/// An insert planned once and run for many rows, as a prepared `INSERT` with bound parameters
/// is: the table, the columns each row gives (in order) and what a conflict does are fixed;
/// each run gives the values by position. Column names are resolved once per schema counter,
/// so a run looks nothing up by name and builds no dictionary; it checks and writes exactly
/// what `insert(_:into:onConflict:)` does for the same row (types, NOT NULL, unique indexes,
/// foreign keys, indexes and rollups kept in step, defaults for the columns not given).
///
/// ```swift
/// let addMessage = PreparedInsert(into: "message_events",
///                                 columns: ["id", "guild_id", "channel_id", "user_id", "created_at"])
/// try await db.write { tx in
///     for m in batch {
///         try tx.insert([.uint(m.id), .uint(m.guild), .uint(m.channel), .uint(m.author), .timestamp(m.at)], addMessage)
///     }
/// }
/// ```
public final class PreparedInsert: Sendable, CustomStringConvertible {
    public let table: String
    /// The columns a run's values are for, in order.
    public let columns: [String]
    public let onConflict: ConflictPolicy
    /// Names this insert in the engine's cache of resolutions (`PreparedQuery.nextID`).
    let id = PreparedQuery.nextID()

    public init(into table: String, columns: [String], onConflict: ConflictPolicy = .fail) {
        self.table = table
        self.columns = columns
        self.onConflict = onConflict
    }

    public var description: String {
        "insert into \(table) (" + columns.joined(separator: ", ") + ")"
    }
}

extension WriteTransaction {
    /// Inserts one row of `statement`: `values[i]` for `statement.columns[i]`; the other
    /// columns take their default (or NULL). Returns false when the statement's `onConflict`
    /// is `.ignore` and the primary key existed. Throws `.invalidQuery` when the values are not
    /// one per column, `.unknownColumn` for a column the table lacks, and every error the
    /// dictionary form throws for the same row.
    @discardableResult
    public func insert(_ values: [Value], _ statement: PreparedInsert) throws -> Bool {
        let resolution = try engine.preparedInserts.resolution(statement.id, counter: header.schemaCounter) {
            try InsertResolution(try compiledTable(statement.table), columns: statement.columns, counter: $0)
        }
        guard values.count == resolution.positions.count else {
            throw GuildStoreError.invalidQuery("\(statement) takes \(resolution.positions.count) values, not \(values.count)")
        }
        let table = resolution.table
        var row = table.defaultRow
        for (value, position) in zip(values, resolution.positions) { row[position] = value }
        if !resolution.nowColumns.isEmpty {
            let now = Value.timestamp(Int64(Date().timeIntervalSince1970))
            for position in resolution.nowColumns { row[position] = now }
        }
        try checkColumns(row, table: table)
        return try insert(row: row, table: table, onConflict: statement.onConflict) { resolution.given[$0] }
    }
}

/// A prepared insert resolved against one schema counter: where each given column sits in the
/// table's rows, which columns are given, and which `.now` columns the insert's time fills.
final class InsertResolution: PreparedResolution {
    let counter: UInt64
    let table: CompiledTable
    let positions: [Int]
    /// For each of the table's columns, whether the statement gives it.
    let given: [Bool]
    /// The table's `.now` columns the statement does not give.
    let nowColumns: [Int]

    init(_ table: CompiledTable, columns: [String], counter: UInt64) throws {
        self.counter = counter
        self.table = table
        var given = [Bool](repeating: false, count: table.columnNames.count)
        positions = try columns.map { column in
            guard let position = table.positions[column] else {
                throw GuildStoreError.unknownColumn(table: table.schema.name, column: column)
            }
            guard !given[position] else { throw GuildStoreError.invalidQuery("column \(column) is given twice") }
            given[position] = true
            return position
        }
        self.given = given
        nowColumns = table.nowColumns.filter { !given[$0] }
    }
}
