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
/// its column. To declare each column once for both directions, list them in one function run
/// with a `RecordColumnVisitor` (as GuildStore's records do).
public protocol TableRecord: Sendable {
    /// The table the type lives in (its name, columns, key and indexes).
    static var schema: TableSchema { get }
    /// Builds a value from a stored row; throw (e.g. the `Row` accessors' errors) when a
    /// column does not fit.
    init(row: Row) throws
    /// The columns to write. Columns left out take their default on insert and keep their
    /// value on update.
    var values: [String: Value] { get }
    /// The same values by position, in `schema.columns` order, when the record gives every
    /// column (nil, the default, when it leaves one to its default or cannot say): an insert
    /// then takes them without `values`' dictionary or a lookup by name. A record with a
    /// column list makes it with `RecordOrderedCollector`.
    var orderedValues: [Value]? { get }
}

extension TableRecord {
    /// Inserts go by name, through `values`.
    public var orderedValues: [Value]? { nil }

    /// The record's primary key, in key column order.
    public var primaryKey: [Value] {
        Self.schema.primaryKey.map { values[$0] ?? .null }
    }
}

extension WriteTransaction {
    /// Inserts the record (see `insert(_:into:onConflict:)`).
    @discardableResult
    public func insert<R: TableRecord>(_ record: R, onConflict: ConflictPolicy = .fail) throws -> Bool {
        if let ordered = record.orderedValues {
            return try insert(ordered, RecordInserts.statement(for: R.self, onConflict: onConflict))
        }
        return try insert(record.values, into: R.schema.name, onConflict: onConflict)
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

    /// The value of `column`, looked for at `position` first: a row holds its table's columns
    /// in the table's order, so a record reading them in that order (`RecordRowReader`) finds
    /// each without a search. Then by name, as `value(_:)`.
    @inlinable
    func value(_ column: String, at position: Int) throws -> Value {
        if position < columns.count, columns[position] == column { return values[position] }
        return try value(column)
    }

    @usableFromInline
    func mismatch(_ column: String, _ expected: String, _ found: Value) -> GuildStoreError {
        .columnTypeMismatch(table: table, column: column, expected: expected,
                            found: found.columnType.map { "\($0)" } ?? "null")
    }

    // The accessors `RecordRowReader` reads through too are a lookup, then a conversion
    // (`uint(_:_:)`, ...); the reader applies the same conversion to the value it finds by
    // position.

    public func uint(_ column: String) throws -> UInt64 { try uint(column, value(column)) }

    @inlinable
    func uint(_ column: String, _ value: Value) throws -> UInt64 {
        guard case .uint(let v) = value else { throw mismatch(column, "uint", value) }
        return v
    }

    public func int(_ column: String) throws -> Int64 { try int(column, value(column)) }

    @inlinable
    func int(_ column: String, _ value: Value) throws -> Int64 {
        guard case .int(let v) = value else { throw mismatch(column, "int", value) }
        return v
    }

    public func double(_ column: String) throws -> Double {
        let value = try value(column)
        guard case .double(let v) = value else { throw mismatch(column, "double", value) }
        return v
    }

    public func bool(_ column: String) throws -> Bool { try bool(column, value(column)) }

    @inlinable
    func bool(_ column: String, _ value: Value) throws -> Bool {
        guard case .bool(let v) = value else { throw mismatch(column, "bool", value) }
        return v
    }

    public func text(_ column: String) throws -> String { try text(column, value(column)) }

    @inlinable
    func text(_ column: String, _ value: Value) throws -> String {
        guard case .text(let v) = value else { throw mismatch(column, "text", value) }
        return v
    }

    public func bytes(_ column: String) throws -> [UInt8] {
        let value = try value(column)
        guard case .bytes(let v) = value else { throw mismatch(column, "bytes", value) }
        return v
    }

    /// Seconds since 1970.
    public func timestamp(_ column: String) throws -> Int64 { try timestamp(column, value(column)) }

    @inlinable
    func timestamp(_ column: String, _ value: Value) throws -> Int64 {
        guard case .timestamp(let v) = value else { throw mismatch(column, "timestamp", value) }
        return v
    }

    public func json(_ column: String) throws -> String { try json(column, value(column)) }

    @inlinable
    func json(_ column: String, _ value: Value) throws -> String {
        guard case .json(let v) = value else { throw mismatch(column, "json", value) }
        return v
    }

    /// Nil for NULL, else the value through `read`: `try row.optional("nickname", Row.text)`.
    public func optional<T>(_ column: String, _ read: (Row) -> (String) throws -> T) throws -> T? {
        try value(column).isNull ? nil : read(self)(column)
    }
}

/// The prepared insert of each record type and conflict policy: every column of the type's
/// schema, in order (what `orderedValues` gives), made on first use and kept for the process
/// (made again should the type's schema name other columns). The engine resolves it against
/// each database's table once per schema counter, as any `PreparedInsert`.
enum RecordInserts {
    private struct Key: Hashable {
        let type: ObjectIdentifier
        let policy: Int
    }

    private static let statements = Locked<[Key: PreparedInsert]>([:])

    static func statement<R: TableRecord>(for type: R.Type, onConflict: ConflictPolicy) -> PreparedInsert {
        let policy = switch onConflict {
        case .fail: 0
        case .ignore: 1
        case .replace: 2
        }
        let key = Key(type: ObjectIdentifier(type), policy: policy)
        let schema = R.schema
        return statements.withLock { cache in
            if let found = cache[key], found.table == schema.name,
               found.columns.elementsEqual(schema.columns.lazy.map(\.name)) {
                return found
            }
            let made = PreparedInsert(into: schema.name, columns: schema.columns.map(\.name), onConflict: onConflict)
            cache[key] = made
            return made
        }
    }
}
