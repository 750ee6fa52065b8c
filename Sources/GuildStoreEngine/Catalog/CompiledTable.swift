/// A table's schema resolved for row work: its trees and the positions of every column the
/// primary key and the indexes use, so inserts, updates, deletes and scans do no catalog
/// lookups and no name searches per row. Cached with the schema (`Transaction.table`) and
/// trusted under the same schema counter: tree handles are valid for that counter (TX-6).
final class CompiledTable: Sendable {
    let schema: TableSchema
    /// The row tree; nil only for a catalog entry without its tree (reported on use).
    let rowTree: Tree?
    let positions: [String: Int]
    /// The columns' names in order: every `Row` of the table shares this one array.
    let columnNames: [String]
    /// Each column's type and whether it takes NULL, in order (an insert checks every value).
    let columnTypes: [ColumnType]
    let nullable: [Bool]
    let primaryKeyPositions: [Int]
    let primaryKeyTypes: [ColumnType]
    /// The positions of each foreign key's columns, in `schema.foreignKeys` order.
    let foreignKeyPositions: [[Int]]
    /// How rows sit in the row tree (TB-2).
    let layout: RowLayout
    /// NOT NULL columns with a value default: what `TableSchema.fillingDefaults` fills (TB-1).
    let defaultFills: [(position: Int, value: Value)]
    /// A new row before the caller's values: each column's value default, else NULL.
    let defaultRow: [Value]
    /// Columns whose default is the insert's time.
    let nowColumns: [Int]
    let indexes: [CompiledIndex]
    let hasUniqueIndex: Bool
    let rollups: [CompiledRollup]

    init(_ schema: TableSchema, trees: (String) throws -> Tree?) throws {
        self.schema = schema
        rowTree = try trees(schema.rowTreeName)
        var positions: [String: Int] = [:]
        for (i, column) in schema.columns.enumerated() where positions[column.name] == nil { positions[column.name] = i }
        self.positions = positions
        columnNames = schema.columns.map(\.name)
        columnTypes = schema.columns.map(\.type)
        nullable = schema.columns.map(\.nullable)
        primaryKeyPositions = try schema.primaryKey.map { try schema.columnIndex($0) }
        primaryKeyTypes = primaryKeyPositions.map { schema.columns[$0].type }
        foreignKeyPositions = try schema.foreignKeys.map { key in try key.columns.map { try schema.columnIndex($0) } }
        layout = try RowLayout(schema)
        defaultRow = schema.columns.map { column in
            if case .value(let value) = column.defaultValue { value } else { .null }
        }
        nowColumns = schema.columns.indices.filter { schema.columns[$0].defaultValue == .now }
        defaultFills = schema.columns.indices.compactMap { i in
            guard !schema.columns[i].nullable, case .value(let value) = schema.columns[i].defaultValue else { return nil }
            return (i, value)
        }
        indexes = try schema.indexes.map { try CompiledIndex($0, schema: schema, tree: try trees(schema.indexTreeName($0))) }
        hasUniqueIndex = schema.indexes.contains { $0.unique }
        rollups = try schema.rollups.map { try CompiledRollup($0, schema: schema, trees: trees) }
    }

    func rows() throws -> Tree {
        guard let rowTree else { throw GuildStoreError.unknownTable(schema.name) }
        return rowTree
    }

    @inline(__always)
    func primaryKeyValues(_ values: [Value]) -> [Value] {
        primaryKeyPositions.map { values[$0] }
    }

    @inline(__always)
    func encodedPrimaryKey(_ values: [Value]) -> [UInt8] {
        layout.key(values)
    }

    /// The row stored under `key` with `value`, defaults filled as `fillingDefaults` does
    /// (TB-1, TB-2).
    func decodeRow(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> [Value] {
        var row = Value.nulls(layout.columnCount)
        try decodeRow(key: key, value: value, into: &row)
        return row
    }

    /// `decodeRow` into `row` (one value per column), reusing its storage; with `reading`
    /// (`RowLayout.valueColumns(reading:)`), only the columns it marks and the primary key.
    func decodeRow(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into row: inout [Value],
                   reading: [Bool]? = nil) throws {
        try layout.decode(key: key, value: value, into: &row, reading: reading)
        for fill in defaultFills where row[fill.position].isNull { row[fill.position] = fill.value }
    }

    func index(named name: String) -> CompiledIndex? {
        indexes.first { $0.definition.name == name }
    }

    /// The index a walk names: nil for the primary key; a name the table has no index of is
    /// `invalidSchema`.
    func index(resolving name: String?) throws -> CompiledIndex? {
        guard let name else { return nil }
        guard let found = index(named: name) else { throw GuildStoreError.invalidSchema("table \(schema.name) has no index \(name)") }
        return found
    }
}

/// One index of a `CompiledTable`.
///
/// Entry format (the single source of truth, `TableSchema.indexEntry` goes through `entry`):
/// the key is the tuple encoding of the indexed columns (each in its direction) followed by
/// the primary key, except in a unique index whose indexed values hold no NULL (there the key
/// alone must collide). The value of a non-unique index without included columns is empty:
/// the primary key is the key's suffix. Every other index's value is the row encoding of the
/// primary key and the included columns.
final class CompiledIndex: Sendable {
    /// A partial index's (or a rollup's) predicate with its column resolved to a position.
    enum Predicate: Sendable {
        case equals(Int, Value)
        case isNotNull(Int)

        init?(_ predicate: IndexPredicate?, schema: TableSchema) throws {
            switch predicate {
            case nil: return nil
            case .equals(let column, let value): self = .equals(try schema.columnIndex(column), value)
            case .isNotNull(let column): self = .isNotNull(try schema.columnIndex(column))
            }
        }

        /// Whether a row's values satisfy it.
        @inline(__always)
        func admits(_ values: [Value]) -> Bool {
            switch self {
            case .equals(let p, let expected): values[p] == expected
            case .isNotNull(let p): !values[p].isNull
            }
        }
    }

    let definition: IndexDefinition
    /// `definition.unique` and `.descending` (one flag per column, checked at init), read for
    /// every entry without copying the definition.
    let unique: Bool
    let descending: [Bool]
    let treeName: String
    let tree: Tree?
    let columnPositions: [Int]
    let columnTypes: [ColumnType]
    let includingPositions: [Int]
    let predicate: Predicate?
    let primaryKeyPositions: [Int]
    let primaryKeyTypes: [ColumnType]
    /// Types of a stored value that is not empty: primary key, then included columns.
    let valueTypes: [ColumnType]
    /// Where each column of a stored value goes in a row: the primary key's positions, then
    /// the included columns'.
    let valuePositions: [Int]
    /// The value is empty; the primary key is read from the key's suffix.
    let emptyValue: Bool

    init(_ index: IndexDefinition, schema: TableSchema, tree: Tree?) throws {
        // A catalog entry is decoded from disk unvalidated: every read of an entry indexes the
        // flags by column, so a count that differs is refused here, once.
        guard index.descending.count == index.columns.count else {
            throw GuildStoreError.invalidSchema("index \(index.name) of \(schema.name) has \(index.descending.count) direction flags for \(index.columns.count) columns")
        }
        definition = index
        unique = index.unique
        descending = index.descending
        treeName = schema.indexTreeName(index)
        self.tree = tree
        columnPositions = try index.columns.map { try schema.columnIndex($0) }
        columnTypes = columnPositions.map { schema.columns[$0].type }
        includingPositions = try index.including.map { try schema.columnIndex($0) }
        predicate = try Predicate(index.predicate, schema: schema)
        primaryKeyPositions = try schema.primaryKey.map { try schema.columnIndex($0) }
        primaryKeyTypes = primaryKeyPositions.map { schema.columns[$0].type }
        valueTypes = primaryKeyTypes + includingPositions.map { schema.columns[$0].type }
        valuePositions = primaryKeyPositions + includingPositions
        emptyValue = !index.unique && index.including.isEmpty
    }

    func tree(of table: String) throws -> Tree {
        guard let tree else { throw GuildStoreError.invalidSchema("index \(definition.name) of \(table) has no tree") }
        return tree
    }

    /// Whether a partial index holds the row.
    @inline(__always)
    func holds(_ values: [Value]) -> Bool {
        predicate?.admits(values) ?? true
    }

    /// The entry for a row: its key, whether the key alone is unique-checked, its value.
    func entry(for values: [Value]) throws -> (key: [UInt8], checksUniqueness: Bool, value: [UInt8]) {
        var key = TupleEncoder(reservingCapacity: 48)
        var value: [UInt8] = []
        let checksUniqueness = try encodeEntry(for: values, key: &key, value: &value)
        return (key.bytes, checksUniqueness, value)
    }

    /// `entry(for:)` appended to `key` and `value` (buffers a caller reuses from row to row);
    /// returns whether the key alone is unique-checked.
    func encodeEntry(for values: [Value], key: inout TupleEncoder, value: inout [UInt8]) throws -> Bool {
        // NULLs never collide in a unique index (as in SQL): such entries carry the primary key.
        let checksUniqueness = unique && !columnPositions.contains { values[$0].isNull }
        appendKey(for: values, checksUniqueness: checksUniqueness, to: &key)
        if !emptyValue { try RowEncoding.encode(values, at: valuePositions, types: valueTypes, into: &value) }
        return checksUniqueness
    }

    /// The key of a row's entry alone (what a delete needs): `entry(for:)` without encoding
    /// the value.
    func entryKey(for values: [Value]) -> [UInt8] {
        var encoder = TupleEncoder(reservingCapacity: 48)
        appendKey(for: values, checksUniqueness: unique && !columnPositions.contains { values[$0].isNull }, to: &encoder)
        return encoder.bytes
    }

    private func appendKey(for values: [Value], checksUniqueness: Bool, to encoder: inout TupleEncoder) {
        for (i, p) in columnPositions.enumerated() { encoder.append(values[p], descending: descending[i]) }
        if !checksUniqueness {
            for p in primaryKeyPositions { encoder.append(values[p]) }
        }
    }

    /// Whether an entry carries every column of `positions`: the indexed columns, the primary
    /// key and the included columns are in each entry, so a read of only those needs no row.
    func covers(_ positions: some Sequence<Int>) -> Bool {
        positions.allSatisfy { columnPositions.contains($0) || primaryKeyPositions.contains($0) || includingPositions.contains($0) }
    }

    /// Writes the columns an entry carries into `values` (a row's values in column order);
    /// the other positions are left as they are.
    func decodeEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into values: inout [Value]) throws {
        var decoder = TupleDecoder(key)
        for (i, p) in columnPositions.enumerated() {
            values[p] = try decoder.next(columnTypes[i], descending: descending[i])
        }
        guard !emptyValue else {
            // The key ends with the primary key, and that is all.
            for (i, p) in primaryKeyPositions.enumerated() { values[p] = try decoder.next(primaryKeyTypes[i], descending: false) }
            guard decoder.isAtEnd else {
                throw GuildStoreError.corruptEncoding(reason: "an entry of index \(treeName) has bytes after its primary key")
            }
            return
        }
        try RowEncoding.decode(value, types: valueTypes, into: &values, at: valuePositions)
    }

    /// What a walk that reads only some columns decodes of each entry (`entryReading`): the
    /// indexed columns up to the last one it reads (the key is parsed no further), and of the
    /// stored value the columns it reads (nil: the value is not parsed at all).
    struct EntryReading: Sendable {
        let keyColumns: Int
        /// Per indexed column before `keyColumns`, whether its value is stored.
        let keyWanted: [Bool]
        /// Per stored value column (primary key, then included columns).
        let valueWanted: [Bool]?
        /// Without a stored value, whether the primary key is read from the key's suffix
        /// (which takes every indexed column first).
        let primaryKeyFromKey: Bool
    }

    /// The parts of each entry a walk reading the columns at `positions` decodes.
    func entryReading(_ positions: [Int]) -> EntryReading {
        let primaryKeyRead = primaryKeyPositions.contains { positions.contains($0) }
        let keyWanted = columnPositions.map { positions.contains($0) }
        let lastKeyColumn = keyWanted.lastIndex(of: true).map { $0 + 1 } ?? 0
        if emptyValue {
            let keyColumns = primaryKeyRead ? columnPositions.count : lastKeyColumn
            return EntryReading(keyColumns: keyColumns, keyWanted: Array(keyWanted.prefix(keyColumns)), valueWanted: nil,
                                primaryKeyFromKey: primaryKeyRead)
        }
        let valueWanted = valuePositions.map { positions.contains($0) }
        return EntryReading(keyColumns: lastKeyColumn, keyWanted: Array(keyWanted.prefix(lastKeyColumn)),
                            valueWanted: valueWanted.contains(true) ? valueWanted : nil, primaryKeyFromKey: false)
    }

    /// `decodeEntry` writing only what `reading` says; the other positions are left as they are.
    /// The parts it parses are checked as `decodeEntry` checks them (the stored value whole).
    func decodeEntry(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into values: inout [Value],
                     reading: EntryReading) throws {
        var decoder = TupleDecoder(key)
        for i in 0..<reading.keyColumns {
            let decoded = try decoder.next(columnTypes[i], descending: descending[i])
            if reading.keyWanted[i] { values[columnPositions[i]] = decoded }
        }
        if reading.primaryKeyFromKey {
            for (i, p) in primaryKeyPositions.enumerated() { values[p] = try decoder.next(primaryKeyTypes[i], descending: false) }
            guard decoder.isAtEnd else {
                throw GuildStoreError.corruptEncoding(reason: "an entry of index \(treeName) has bytes after its primary key")
            }
        }
        if let valueWanted = reading.valueWanted {
            try RowEncoding.decode(value, types: valueTypes, into: &values, at: valuePositions, reading: valueWanted)
        }
    }

    /// Calls `body` with the row tree key (TB-2) of the row an entry names: the key's suffix
    /// after the indexed columns in a non-unique index (no copy), the encoded primary key of
    /// the value otherwise.
    func withRowKey<T>(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        if definition.unique {
            return try TupleEncoding.encode(try primaryKey(key: key, value: value)).withUnsafeBytes { try body($0) }
        }
        var decoder = TupleDecoder(key)
        for (i, type) in columnTypes.enumerated() { _ = try decoder.next(type, descending: descending[i]) }
        return try body(UnsafeRawBufferPointer(rebasing: key[decoder.offset...]))
    }

    /// The primary key an entry names.
    func primaryKey(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> [Value] {
        if definition.unique {
            return Array(try RowEncoding.decode(value, types: valueTypes).prefix(primaryKeyTypes.count))
        }
        // A non-unique key always ends with the primary key.
        let all = try TupleEncoding.decode(key, types: columnTypes + primaryKeyTypes, descending: descending)
        return Array(all.suffix(primaryKeyTypes.count))
    }
}

extension TableSchema {
    /// The primary key an entry of `index` names (see `CompiledIndex`).
    func indexPrimaryKey(_ index: IndexDefinition, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> [Value] {
        try CompiledIndex(index, schema: self, tree: nil).primaryKey(key: key, value: value)
    }
}
