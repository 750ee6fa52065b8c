/// How a table's rows sit in its row tree.
///
/// Invariant (TB-2): the key is the tuple encoding of the primary key's columns (ascending, in
/// primary key order); the value is the row encoding (`RowEncoding`) of every other column, in
/// column order. The primary key is stored once, in the key, and read back from it. A column a
/// migration adds goes after the others, so rows written before it read it as a trailing NULL
/// (RE-1), filled with its default by `TableSchema.fillingDefaults` (TB-1).
struct RowLayout: Sendable {
    let columnCount: Int
    let primaryKeyPositions: [Int]
    let primaryKeyTypes: [ColumnType]
    /// The columns the value stores: all but the primary key's, in column order.
    let valuePositions: [Int]
    let valueTypes: [ColumnType]

    init(_ schema: TableSchema) throws {
        columnCount = schema.columns.count
        let keyPositions = try schema.primaryKey.map { try schema.columnIndex($0) }
        let positions = schema.columns.indices.filter { !keyPositions.contains($0) }
        primaryKeyPositions = keyPositions
        primaryKeyTypes = keyPositions.map { schema.columns[$0].type }
        valuePositions = positions
        valueTypes = positions.map { schema.columns[$0].type }
    }

    /// The row tree key of `row` (one value per column).
    @inline(__always)
    func key(_ row: [Value]) -> [UInt8] {
        var encoder = TupleEncoder()
        for p in primaryKeyPositions { encoder.append(row[p]) }
        return encoder.bytes
    }

    /// The row tree value of `row`. Throws `.typeMismatch` for a value not of its column's type.
    func value(_ row: [Value]) throws -> [UInt8] {
        try RowEncoding.encode(row, at: valuePositions, types: valueTypes)
    }

    /// The row stored under `key` with `value`, without defaults filled. Throws
    /// `.corruptEncoding` on malformed bytes.
    func decode(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> [Value] {
        var row = Value.nulls(columnCount)
        try decode(key: key, value: value, into: &row)
        return row
    }

    /// Which stored value columns a read of the columns at `positions` needs (`decode`'s
    /// `reading`).
    func valueColumns(reading positions: [Int]) -> [Bool] {
        valuePositions.map { positions.contains($0) }
    }

    /// `decode` into `row`, which must hold one value per column: a scan reuses one array
    /// for every row it reads (no allocation while nobody else holds it). With `reading`
    /// (`valueColumns(reading:)`), value columns it leaves out keep what `row` held.
    func decode(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, into row: inout [Value],
                reading: [Bool]? = nil) throws {
        var decoder = TupleDecoder(key)
        for (i, p) in primaryKeyPositions.enumerated() { row[p] = try decoder.next(primaryKeyTypes[i], descending: false) }
        guard decoder.isAtEnd else {
            throw GuildStoreError.corruptEncoding(reason: "row key has \(key.count - decoder.offset) bytes after the primary key")
        }
        try RowEncoding.decode(value, types: valueTypes, into: &row, at: valuePositions, reading: reading)
    }
}
