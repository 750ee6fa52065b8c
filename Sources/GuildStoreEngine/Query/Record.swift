/// A Swift type stored as a table row: a bot declares `struct MessageEvent` once and gets
/// insert, get, update and delete.
///
/// ```swift
/// struct Guild: TableRecord {
///     static let schema = TableSchema("guilds",
///         columns: [ColumnDefinition("id", .uint), ColumnDefinition("name", .text)],
///         primaryKey: ["id"])
///     var id: UInt64
///     var name: String
///
///     init(row: Row) throws {
///         id = try row.uint("id")
///         name = try row.text("name")
///     }
///     var values: [String: Value] { ["id": .uint(id), "name": .text(name)] }
/// }
///
/// try tx.createTable(Guild.schema)
/// try tx.insert(Guild(id: 1, name: "Mocha"))
/// let guild = try tx.get(Guild.self, key: [.uint(1)])
/// ```
///
/// The mapping is explicit: no reflection, and a renamed property cannot silently detach from
/// its column.
public protocol TableRecord: Sendable {
    /// The table the type lives in (its name, columns, key and indexes).
    static var schema: TableSchema { get }
    /// Builds a value from a stored row; throw (e.g. the `Row` accessors' errors) when a
    /// column does not fit.
    init(row: Row) throws
    /// The columns to write. Columns left out take their default on insert and keep their
    /// value on update.
    var values: [String: Value] { get }
}

extension TableRecord {
    /// The record's primary key, in key column order.
    public var primaryKey: [Value] {
        Self.schema.primaryKey.map { values[$0] ?? .null }
    }
}

extension WriteTransaction {
    /// Inserts the record (see `insert(_:into:onConflict:)`).
    @discardableResult
    public func insert<R: TableRecord>(_ record: R, onConflict: ConflictPolicy = .fail) throws -> Bool {
        try insert(record.values, into: R.schema.name, onConflict: onConflict)
    }

    /// Writes the record's columns over the stored row with the same primary key; false when
    /// there is none.
    @discardableResult
    public func update<R: TableRecord>(_ record: R) throws -> Bool {
        var changes = record.values
        for column in R.schema.primaryKey { changes[column] = nil }
        return try update(R.schema.name, key: record.primaryKey, set: changes)
    }

    /// Deletes the record's row; false when there was none.
    @discardableResult
    public func delete<R: TableRecord>(_ record: R) throws -> Bool {
        try delete(from: R.schema.name, key: record.primaryKey)
    }
}

extension Transaction {
    /// The record with primary key `key`, or nil.
    public final func get<R: TableRecord>(_ type: R.Type, key: [Value]) throws -> R? {
        try get(R.schema.name, key: key).map { try R(row: $0) }
    }

    /// Records from a scan (see `scan(_:index:equals:from:below:reverse:_:)`), at most `limit`.
    public final func records<R: TableRecord>(_ type: R.Type, index: String? = nil, equals prefix: [Value] = [],
                                              from lower: Value? = nil, below upper: Value? = nil,
                                              reverse: Bool = false, limit: Int = .max) throws -> [R] {
        try rows(R.schema.name, index: index, equals: prefix, from: lower, below: upper, reverse: reverse, limit: limit)
            .map { try R(row: $0) }
    }
}

// MARK: - Typed column access

extension Row {
    /// The value of `column`; `.unknownColumn` when the table has none.
    public func value(_ column: String) throws -> Value {
        guard let value = self[column] else { throw GuildStoreError.unknownColumn(table: table, column: column) }
        return value
    }

    private func mismatch(_ column: String, _ expected: String, _ found: Value) -> GuildStoreError {
        .columnTypeMismatch(table: table, column: column, expected: expected,
                            found: found.columnType.map { "\($0)" } ?? "null")
    }

    public func uint(_ column: String) throws -> UInt64 {
        let value = try value(column)
        guard case .uint(let v) = value else { throw mismatch(column, "uint", value) }
        return v
    }

    public func int(_ column: String) throws -> Int64 {
        let value = try value(column)
        guard case .int(let v) = value else { throw mismatch(column, "int", value) }
        return v
    }

    public func double(_ column: String) throws -> Double {
        let value = try value(column)
        guard case .double(let v) = value else { throw mismatch(column, "double", value) }
        return v
    }

    public func bool(_ column: String) throws -> Bool {
        let value = try value(column)
        guard case .bool(let v) = value else { throw mismatch(column, "bool", value) }
        return v
    }

    public func text(_ column: String) throws -> String {
        let value = try value(column)
        guard case .text(let v) = value else { throw mismatch(column, "text", value) }
        return v
    }

    public func bytes(_ column: String) throws -> [UInt8] {
        let value = try value(column)
        guard case .bytes(let v) = value else { throw mismatch(column, "bytes", value) }
        return v
    }

    /// Seconds since 1970.
    public func timestamp(_ column: String) throws -> Int64 {
        let value = try value(column)
        guard case .timestamp(let v) = value else { throw mismatch(column, "timestamp", value) }
        return v
    }

    public func json(_ column: String) throws -> String {
        let value = try value(column)
        guard case .json(let v) = value else { throw mismatch(column, "json", value) }
        return v
    }

    /// Nil for NULL, else the value through `read`: `try row.optional("nickname", Row.text)`.
    public func optional<T>(_ column: String, _ read: (Row) -> (String) throws -> T) throws -> T? {
        try value(column).isNull ? nil : read(self)(column)
    }
}
