/// Row reads: by primary key, and streaming scans over the primary key or an index with an
/// equality prefix and a half-open range on the next column.
extension Transaction {
    /// The row with primary key `key` (one value per primary-key column), or nil.
    public final func get(_ tableName: String, key: [Value]) throws -> Row? {
        let schema = try table(tableName)
        return try fetchRow(schema, key: key).map { Row(table: schema.name, columns: schema.columns.map(\.name), values: $0) }
    }

    /// Calls `body` with each row, in the order of the primary key (`index` nil) or of the
    /// index, until it returns false. `equals` fixes the leading columns of that order;
    /// `from`/`below` bound the next column (`from <= value < below`); `reverse` walks down.
    /// Rows stream: nothing is materialized.
    public final func scan(_ tableName: String, index indexName: String? = nil, equals prefix: [Value] = [],
                           from lower: Value? = nil, below upper: Value? = nil, reverse: Bool = false,
                           _ body: (Row) throws -> Bool) throws {
        let schema = try table(tableName)
        let columnNames = schema.columns.map(\.name)
        let order: (columns: [String], descending: [Bool], tree: String, index: IndexDefinition?)
        if let indexName {
            guard let index = schema.indexes.first(where: { $0.name == indexName }) else {
                throw GuildStoreError.invalidSchema("table \(schema.name) has no index \(indexName)")
            }
            order = (index.columns + schema.primaryKey, index.descending + schema.primaryKey.map { _ in false },
                     schema.indexTreeName(index), index)
        } else {
            order = (schema.primaryKey, schema.primaryKey.map { _ in false }, schema.rowTreeName, nil)
        }
        let bounded = prefix.count + (lower != nil || upper != nil ? 1 : 0)
        guard bounded <= order.columns.count else {
            throw GuildStoreError.invalidSchema("\(prefix.count) equal values and a range exceed the \(order.columns.count) columns of that order")
        }
        for (i, value) in prefix.enumerated() { try checkType(value, column: order.columns[i], schema: schema) }
        for value in [lower, upper].compactMap({ $0 }) { try checkType(value, column: order.columns[prefix.count], schema: schema) }
        let range = Self.keyRange(prefix: prefix, lower: lower, upper: upper,
                                  descending: Array(order.descending.prefix(bounded)), reverse: reverse)
        guard let tree = try tree(order.tree) else { throw GuildStoreError.unknownTable(schema.name) }
        let rows = try self.tree(schema.rowTreeName)
        let valueTypes = schema.primaryKeyTypes + ((order.index?.including ?? []).compactMap { name in schema.columns.first { $0.name == name }?.type })
        try scan(tree, range) { _, value in
            let values: [Value]
            if order.index == nil {
                values = try RowEncoding.decode(value, types: schema.columnTypes)
            } else {
                let primary = Array(try RowEncoding.decode(value, types: valueTypes).prefix(schema.primaryKey.count))
                guard let rows, let bytes = try get(TupleEncoding.encode(primary), in: rows) else {
                    throw GuildStoreError.corruptPage(page: 0, reason: "index \(order.tree) names a row \(schema.name) does not hold")
                }
                values = try RowEncoding.decode(bytes, types: schema.columnTypes)
            }
            return try body(Row(table: schema.name, columns: columnNames, values: values))
        }
    }

    /// Rows of a scan, copied (see `scan`), at most `limit`.
    public final func rows(_ tableName: String, index: String? = nil, equals prefix: [Value] = [],
                           from lower: Value? = nil, below upper: Value? = nil, reverse: Bool = false,
                           limit: Int = .max) throws -> [Row] {
        var result: [Row] = []
        guard limit > 0 else { return result }
        try scan(tableName, index: index, equals: prefix, from: lower, below: upper, reverse: reverse) { row in
            result.append(row)
            return result.count < limit
        }
        return result
    }

    private func checkType(_ value: Value, column: String, schema: TableSchema) throws {
        let definition = schema.columns[try schema.columnIndex(column)]
        guard value.isNull || value.fits(definition.type) else {
            throw GuildStoreError.columnTypeMismatch(table: schema.name, column: column, expected: "\(definition.type)",
                                                     found: value.columnType.map { "\($0)" } ?? "null")
        }
    }

    /// The key range for equal leading values and `lower <= next < upper`. On a descending
    /// column the encodings run backwards, so the bounds trade places.
    static func keyRange(prefix: [Value], lower: Value?, upper: Value?, descending: [Bool], reverse: Bool) -> KeyRange {
        var base = TupleEncoder()
        base.append(contentsOf: prefix, descending: descending)
        guard lower != nil || upper != nil else { return KeyRange.prefix(base.bytes, reverse: reverse) }
        let rangeDescending = descending.count > prefix.count && descending[prefix.count]
        func bound(_ value: Value) -> [UInt8] {
            var encoder = base
            encoder.append(value, descending: rangeDescending)
            return encoder.bytes
        }
        let everything = KeyRange.prefix(base.bytes)
        var range = KeyRange(reverse: reverse)
        if !rangeDescending {
            range.lower = lower.map { .inclusive(bound($0)) } ?? everything.lower
            range.upper = upper.map { .exclusive(bound($0)) } ?? everything.upper
        } else {
            // Larger values come first: keys of `upper` and above precede the range.
            range.lower = upper.map { u in TupleEncoding.prefixSuccessor(bound(u)).map { .inclusive($0) } ?? .exclusive(bound(u)) } ?? everything.lower
            range.upper = lower.map { l in TupleEncoding.prefixSuccessor(bound(l)).map { .exclusive($0) } } ?? everything.upper
        }
        return range
    }
}
