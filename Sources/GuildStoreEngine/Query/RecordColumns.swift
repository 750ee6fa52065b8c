/// What a `TableRecord`'s column list runs with. A record lists its columns once, as one
/// generic function that hands each property to the visitor with its column's name and type;
/// `RecordRowReader` runs the list to read a row into the properties (`init(row:)`),
/// `RecordValueCollector` to collect the properties as the row's values (`values`):
///
/// ```swift
/// struct Guild: TableRecord {
///     static let schema = TableSchema("guilds",
///         columns: [ColumnDefinition("id", .uint), ColumnDefinition("name", .text, nullable: true)],
///         primaryKey: ["id"])
///     var id: UInt64
///     var name: String?
///
///     static func columns<C: RecordColumnVisitor>(_ c: inout C, _ guild: inout Guild) throws(C.Failure) {
///         try c.uint("id", &guild.id)
///         try c.optionalText("name", &guild.name)
///     }
///     init(row: Row) throws {
///         self.init(id: 0, name: nil)  // every listed property is then read over it
///         try RecordRowReader.read(row, into: &self, Self.columns)
///     }
///     var values: [String: Value] { RecordValueCollector.values(of: self, columns: 2, Self.columns) }
/// }
/// ```
///
/// List the columns in the table's order: a row holds them in that order, so the reader finds
/// each at its position without a search. The function is specialized for each visitor, so a
/// record reads and writes as fast as hand-written `init(row:)` and `values` (faster to read:
/// no search by name), with no closures or key paths.
public protocol RecordColumnVisitor {
    /// What visiting a column can throw: `Never` for the collector.
    associatedtype Failure: Error

    mutating func uint(_ column: String, _ property: inout UInt64) throws(Failure)
    mutating func optionalUInt(_ column: String, _ property: inout UInt64?) throws(Failure)
    mutating func int(_ column: String, _ property: inout Int64) throws(Failure)
    mutating func optionalInt(_ column: String, _ property: inout Int64?) throws(Failure)
    mutating func bool(_ column: String, _ property: inout Bool) throws(Failure)
    mutating func text(_ column: String, _ property: inout String) throws(Failure)
    mutating func optionalText(_ column: String, _ property: inout String?) throws(Failure)
    /// JSON held as text.
    mutating func json(_ column: String, _ property: inout String) throws(Failure)
    /// Seconds since 1970.
    mutating func timestamp(_ column: String, _ property: inout Int64) throws(Failure)
    /// Seconds since 1970, or NULL.
    mutating func optionalTimestamp(_ column: String, _ property: inout Int64?) throws(Failure)
    /// A timestamp its column's default fills (`created_at` / `updated_at` defaulting to now):
    /// nil is left out of the values, so an insert takes the default and an update keeps (or,
    /// for an `updatedAtNow` column, moves) the stored time; a read always fills it.
    mutating func defaultedTimestamp(_ column: String, _ property: inout Int64?) throws(Failure)
}

/// Reads a row into a record's properties, column by column, through `Row`'s typed accessors'
/// conversions: a value of another type, NULL in a non-optional property, or a missing column
/// is a `GuildStoreError` (`columnTypeMismatch`, `unknownColumn`), never a trap.
///
/// ```swift
/// init(row: Row) throws {
///     self.init(id: 0, username: "")
///     try RecordRowReader.read(row, into: &self, Self.columns)
/// }
/// ```
public struct RecordRowReader: RecordColumnVisitor {
    public typealias Failure = any Error

    @usableFromInline let row: Row
    /// Where the next column is expected: the number of columns visited so far.
    @usableFromInline var position = 0

    @inlinable
    public init(_ row: Row) {
        self.row = row
    }

    /// Runs `columns`, a record's column list, to set `record`'s properties from `row`.
    @inlinable
    public static func read<Record>(_ row: Row, into record: inout Record,
                                    _ columns: (inout RecordRowReader, inout Record) throws -> Void) throws {
        var reader = RecordRowReader(row)
        try columns(&reader, &record)
    }

    /// The value of `column`, looked for at the next position first.
    @inlinable
    mutating func next(_ column: String) throws -> Value {
        defer { position += 1 }
        return try row.value(column, at: position)
    }

    @inlinable
    public mutating func uint(_ column: String, _ property: inout UInt64) throws {
        property = try row.uint(column, next(column))
    }

    @inlinable
    public mutating func optionalUInt(_ column: String, _ property: inout UInt64?) throws {
        let value = try next(column)
        property = value.isNull ? nil : try row.uint(column, value)
    }

    @inlinable
    public mutating func int(_ column: String, _ property: inout Int64) throws {
        property = try row.int(column, next(column))
    }

    @inlinable
    public mutating func optionalInt(_ column: String, _ property: inout Int64?) throws {
        let value = try next(column)
        property = value.isNull ? nil : try row.int(column, value)
    }

    @inlinable
    public mutating func bool(_ column: String, _ property: inout Bool) throws {
        property = try row.bool(column, next(column))
    }

    @inlinable
    public mutating func text(_ column: String, _ property: inout String) throws {
        property = try row.text(column, next(column))
    }

    @inlinable
    public mutating func optionalText(_ column: String, _ property: inout String?) throws {
        let value = try next(column)
        property = value.isNull ? nil : try row.text(column, value)
    }

    @inlinable
    public mutating func json(_ column: String, _ property: inout String) throws {
        property = try row.json(column, next(column))
    }

    @inlinable
    public mutating func timestamp(_ column: String, _ property: inout Int64) throws {
        property = try row.timestamp(column, next(column))
    }

    @inlinable
    public mutating func optionalTimestamp(_ column: String, _ property: inout Int64?) throws {
        let value = try next(column)
        property = value.isNull ? nil : try row.timestamp(column, value)
    }

    @inlinable
    public mutating func defaultedTimestamp(_ column: String, _ property: inout Int64?) throws {
        property = try row.timestamp(column, next(column))
    }
}

/// Collects a record's properties as its row's values (`TableRecord.values`); a nil
/// `defaultedTimestamp` is left out.
///
/// ```swift
/// var values: [String: Value] {
///     RecordValueCollector.values(of: self, columns: 2, Self.columns)
/// }
/// ```
public struct RecordValueCollector: RecordColumnVisitor {
    public typealias Failure = Never

    /// The values collected so far, by column.
    public var values: [String: Value] { collected }

    @usableFromInline var collected: [String: Value]

    /// `columns`: how many the record lists (the dictionary's capacity).
    @inlinable
    public init(columns: Int) {
        collected = Dictionary(minimumCapacity: columns)
    }

    /// Runs `list`, a record's column list of `columns` columns, to collect `record`'s values.
    @inlinable
    public static func values<Record>(of record: Record, columns: Int,
                                      _ list: (inout RecordValueCollector, inout Record) -> Void) -> [String: Value] {
        var collector = RecordValueCollector(columns: columns)
        var record = record
        list(&collector, &record)
        return collector.collected
    }

    @inlinable
    public mutating func uint(_ column: String, _ property: inout UInt64) { collected[column] = .uint(property) }

    @inlinable
    public mutating func optionalUInt(_ column: String, _ property: inout UInt64?) { collected[column] = .optional(property) }

    @inlinable
    public mutating func int(_ column: String, _ property: inout Int64) { collected[column] = .int(property) }

    @inlinable
    public mutating func optionalInt(_ column: String, _ property: inout Int64?) { collected[column] = .optional(property) }

    @inlinable
    public mutating func bool(_ column: String, _ property: inout Bool) { collected[column] = .bool(property) }

    @inlinable
    public mutating func text(_ column: String, _ property: inout String) { collected[column] = .text(property) }

    @inlinable
    public mutating func optionalText(_ column: String, _ property: inout String?) { collected[column] = .optional(property) }

    @inlinable
    public mutating func json(_ column: String, _ property: inout String) { collected[column] = .json(property) }

    @inlinable
    public mutating func timestamp(_ column: String, _ property: inout Int64) { collected[column] = .timestamp(property) }

    @inlinable
    public mutating func optionalTimestamp(_ column: String, _ property: inout Int64?) {
        collected[column] = .optionalTimestamp(property)
    }

    @inlinable
    public mutating func defaultedTimestamp(_ column: String, _ property: inout Int64?) {
        if let property { collected[column] = .timestamp(property) }
    }
}

/// Collects a record's properties by position, for an insert that needs no dictionary
/// (`TableRecord.orderedValues`): the values in the order the column list visits them, when
/// that list is exactly the schema's columns in the schema's order and fills every one of them;
/// nil otherwise (a column out of order, one left to its default by a nil
/// `defaultedTimestamp`), and the insert then goes by name through `values`.
///
/// ```swift
/// var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
/// ```
public struct RecordOrderedCollector: RecordColumnVisitor {
    public typealias Failure = Never

    @usableFromInline let columns: [ColumnDefinition]
    @usableFromInline var collected: [Value] = []
    /// False once a column came out of the schema's order or was left out.
    @usableFromInline var complete = true

    @inlinable
    init(columns: [ColumnDefinition]) {
        self.columns = columns
        collected.reserveCapacity(columns.count)
    }

    /// Runs `list`, `record`'s column list, to collect its values in `Record.schema`'s column order.
    @inlinable
    public static func orderedValues<Record: TableRecord>(of record: Record,
                                                          _ list: (inout RecordOrderedCollector, inout Record) -> Void) -> [Value]? {
        var collector = RecordOrderedCollector(columns: Record.schema.columns)
        var record = record
        list(&collector, &record)
        guard collector.complete, collector.collected.count == collector.columns.count else { return nil }
        return collector.collected
    }

    /// `value` for `column`, which must be the schema's next column.
    @inlinable
    mutating func add(_ column: String, _ value: Value) {
        guard complete else { return }
        let position = collected.count
        guard position < columns.count, columns[position].name == column else {
            complete = false
            return
        }
        collected.append(value)
    }

    @inlinable
    public mutating func uint(_ column: String, _ property: inout UInt64) { add(column, .uint(property)) }

    @inlinable
    public mutating func optionalUInt(_ column: String, _ property: inout UInt64?) { add(column, .optional(property)) }

    @inlinable
    public mutating func int(_ column: String, _ property: inout Int64) { add(column, .int(property)) }

    @inlinable
    public mutating func optionalInt(_ column: String, _ property: inout Int64?) { add(column, .optional(property)) }

    @inlinable
    public mutating func bool(_ column: String, _ property: inout Bool) { add(column, .bool(property)) }

    @inlinable
    public mutating func text(_ column: String, _ property: inout String) { add(column, .text(property)) }

    @inlinable
    public mutating func optionalText(_ column: String, _ property: inout String?) { add(column, .optional(property)) }

    @inlinable
    public mutating func json(_ column: String, _ property: inout String) { add(column, .json(property)) }

    @inlinable
    public mutating func timestamp(_ column: String, _ property: inout Int64) { add(column, .timestamp(property)) }

    @inlinable
    public mutating func optionalTimestamp(_ column: String, _ property: inout Int64?) {
        add(column, .optionalTimestamp(property))
    }

    /// A nil time is left to the column's default: the insert goes by name.
    @inlinable
    public mutating func defaultedTimestamp(_ column: String, _ property: inout Int64?) {
        if let property { add(column, .timestamp(property)) } else { complete = false }
    }
}
