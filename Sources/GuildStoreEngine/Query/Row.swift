/// One row of a table, its values in column order.
///
/// ```swift
/// let rows = try await db.read { tx in try tx.select("guilds", limit: 10) }
/// for row in rows { print(try row.uint("id"), row["name"] ?? .null) }
/// ```
public struct Row: Sendable, Hashable, CustomStringConvertible {
    public let table: String
    public let columns: [String]
    public let values: [Value]

    /// The value of `column`, or nil when the table has no such column.
    public subscript(_ column: String) -> Value? {
        columns.firstIndex(of: column).map { values[$0] }
    }

    public var description: String {
        "\(table)(" + zip(columns, values).map { "\($0)=\($1)" }.joined(separator: ", ") + ")"
    }
}

/// What an insert does when the primary key exists already.
///
/// ```swift
/// try await db.write { tx in
///     try tx.insert(["id": .uint(7)], into: "users", onConflict: .ignore)
/// }
/// ```
public enum ConflictPolicy: Sendable {
    /// Throw `.uniqueViolation`.
    case fail
    /// Keep the existing row (`INSERT ... ON CONFLICT DO NOTHING`).
    case ignore
    /// Replace the existing row (upsert).
    case replace
}

extension TableSchema {
    func primaryKeyValues(_ values: [Value]) throws -> [Value] {
        try primaryKey.map { values[try columnIndex($0)] }
    }

    func encodedPrimaryKey(_ values: [Value]) throws -> [UInt8] {
        TupleEncoding.encode(try primaryKeyValues(values))
    }

    var primaryKeyTypes: [ColumnType] {
        primaryKey.compactMap { name in columns.first { $0.name == name }?.type }
    }

    /// Whether a partial index holds the row.
    func index(_ index: IndexDefinition, holds values: [Value]) throws -> Bool {
        switch index.predicate {
        case nil: return true
        case .equals(let column, let expected): return values[try columnIndex(column)] == expected
        case .isNotNull(let column): return !values[try columnIndex(column)].isNull
        }
    }

    /// The index entry for a row: its key, whether the key alone is unique-checked, its value
    /// (the format is `CompiledIndex`'s).
    func indexEntry(_ index: IndexDefinition, for values: [Value]) throws -> (key: [UInt8], checksUniqueness: Bool, value: [UInt8]) {
        try CompiledIndex(index, schema: self, tree: nil).entry(for: values)
    }
}
