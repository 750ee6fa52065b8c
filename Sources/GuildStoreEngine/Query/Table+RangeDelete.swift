/// Deleting a large share of a table by rewriting its trees (`rewriteTree`, RW-1 and RW-2):
/// the retention of old events, where most of a table may go.
extension WriteTransaction {
    /// Deletes every row of `tableName` whose `range.column` lies in `range` (NULL lies in no
    /// range) and returns how many. The row tree is rewritten without those rows, each rollup
    /// counted down for them as they go (RU-2), then each index rewritten without their
    /// entries: every page of the table is read once, and only what stays is written.
    ///
    /// Made for deleting a large share of a table: its cost follows the table's size, while
    /// `delete(_ plan:)` (a walk of an index range, then each tree's keys in one sorted batch)
    /// follows the rows deleted and is the cheaper one for a small share. A table that others
    /// reference by foreign key goes through `delete(_ plan:)`, whose plan carries out each
    /// row's cascades, clears and restrictions (FK-2). As with any statement, an error thrown
    /// part way (a damaged page) leaves the transaction to be rolled back, as `Database.write`
    /// does.
    ///
    /// ```swift
    /// let removed = try await db.write { tx in
    ///     try tx.deleteRewriting(from: "message_events", range: ColumnRange("created_at", below: .timestamp(cutoff)))
    /// }
    /// ```
    @discardableResult
    public func deleteRewriting(from tableName: String, range: ColumnRange) throws -> Int {
        try deleteRewriting(from: tableName, range: range, batch: Self.rewriteBatch, batchBytes: Self.rewriteBatchBytes)
    }

    /// `deleteRewriting(from:range:)`, each tree read `batch` entries at a time, fewer once the
    /// kept ones hold `batchBytes`.
    func deleteRewriting(from tableName: String, range: ColumnRange, batch: Int, batchBytes: Int) throws -> Int {
        let table = try compiledTable(tableName)
        guard let position = table.positions[range.column] else {
            throw GuildStoreError.unknownColumn(table: tableName, column: range.column)
        }
        let type = table.schema.columns[position].type
        for bound in [range.from, range.below] {
            guard let bound, !bound.isNull, !bound.fits(type) else { continue }
            throw GuildStoreError.columnTypeMismatch(table: tableName, column: range.column, expected: "\(type)",
                                                     found: bound.columnType.map { "\($0)" } ?? "null")
        }
        // An empty range deletes nothing: no tree is rewritten for it.
        if let from = range.from, let below = range.below, !(from < below) { return 0 }
        guard try references(to: tableName).isEmpty else {
            return try delete(try planScan(tableName, range: range))
        }
        guard let rows = table.rowTree else { throw GuildStoreError.unknownTable(tableName) }
        // RU-4: the rollup groups whose time bucket lies inside the range go whole, before any
        // row's delta is noted; the rows of the other groups (the edge bucket, rollups without
        // a bucket on this column) count theirs down (RU-2).
        let selection = ScanPlan.Selection(columns: [], values: [], range: range)
        let rollups = try table.rollups.map { rollup -> (CompiledRollup, CoveredGroups?) in
            guard let covered = coveredGroups(rollup, table: table, selection: selection) else { return (rollup, nil) }
            return (try dropCoveredGroups(rollup, covered, of: tableName), covered)
        }
        // Each row is first decoded only as far as the range's column; the rows that go are
        // decoded as far as the rollups read (`readPositions`: no message text, for one). An
        // index keyed by the range's column decides each entry by it; for the others the
        // deleted rows' keys are kept.
        let rangeOnly = table.layout.valueColumns(reading: [position])
        let rollupColumns = table.layout.valueColumns(reading: Array(Set(table.rollups.flatMap(\.readPositions))))
        var scratch = Value.nulls(table.layout.columnCount)
        var goneRow = scratch
        let keyedByRange = table.indexes.map { $0.columnPositions.firstIndex(of: position) }
        var deletedKeys = keyedByRange.contains(nil) ? RowKeySet(table.schema.primaryKeyTypes) : nil
        var gone: [[Value]] = []
        let removed = try rewriteTree(rows.name, batch: batch, batchBytes: batchBytes, keeping: { key, value in
            try table.decodeRow(key: key, value: value, into: &scratch, reading: rangeOnly)
            guard range.contains(scratch[position]) else { return true }
            try deletedKeys?.insert(key)
            if !table.rollups.isEmpty {
                try table.decodeRow(key: key, value: value, into: &goneRow, reading: rollupColumns)
                gone.append(goneRow)
            }
            return false
        }, afterBatch: {
            for (rollup, covered) in rollups {
                try noteRollups(covered.map { covered in gone.filter { !covered.holds($0) } } ?? gone, sign: -1, rollup: rollup)
            }
            gone.removeAll(keepingCapacity: true)
        })
        guard removed > 0 else { return 0 }
        for (index, keyColumn) in zip(table.indexes, keyedByRange) {
            let name = table.schema.indexTreeName(index.definition)
            if let keyColumn {
                // The entry's key holds the row's value of the range's column: decoded as far as it.
                let (types, descending) = (index.columnTypes, index.definition.descending)
                _ = try rewriteTree(name, batch: batch, batchBytes: batchBytes) { key, _ in
                    var decoder = TupleDecoder(key)
                    for i in 0..<keyColumn { _ = try decoder.next(types[i], descending: descending[i]) }
                    return !range.contains(try decoder.next(types[keyColumn], descending: descending[keyColumn]))
                }
            } else if let deletedKeys {
                _ = try rewriteTree(name, batch: batch, batchBytes: batchBytes) { key, value in
                    try index.withRowKey(key: key, value: value) { try !deletedKeys.contains($0) }
                }
            }
        }
        return removed
    }
}

/// The primary keys of the rows a rewrite deletes, for the index rewrites to test each entry
/// against: integers when the key is one unsigned column (the events' ids), encoded bytes
/// otherwise.
struct RowKeySet {
    private let integers: Bool
    private var ids = IntegerSet()
    private var keys: Set<[UInt8]> = []

    init(_ primaryKeyTypes: [ColumnType]) {
        integers = primaryKeyTypes == [.uint]
    }

    /// Adds an encoded primary key (`TupleEncoding`, as the row tree and index entries hold it).
    mutating func insert(_ key: UnsafeRawBufferPointer) throws {
        if integers { ids.insert(try Self.id(key)) } else { keys.insert(Array(key)) }
    }

    func contains(_ key: UnsafeRawBufferPointer) throws -> Bool {
        integers ? ids.contains(try Self.id(key)) : keys.contains(Array(key))
    }

    /// DISK-3: the key comes from disk; one that is not a single unsigned integer is damage.
    private static func id(_ key: UnsafeRawBufferPointer) throws -> UInt64 {
        var decoder = TupleDecoder(key)
        guard case .uint(let id) = try decoder.next(.uint, descending: false), decoder.offset == key.count else {
            throw GuildStoreError.corruptEncoding(reason: "a primary key of \(key.count) bytes is not one unsigned integer")
        }
        return id
    }
}

/// A set of 64-bit integers probed millions of times in a rewrite: open addressing with linear
/// probing and a multiplicative hash, a few nanoseconds a probe where `Set<UInt64>` hashes
/// each one with SipHash. Invariant: `slots` is a power of two in size, at most half full;
/// 0 marks an empty slot, so the integer 0 is kept in `holdsZero`.
struct IntegerSet {
    private var slots = [UInt64](repeating: 0, count: 16)
    private var count = 0
    private var holdsZero = false

    @inline(__always)
    private func home(_ value: UInt64) -> Int {
        // Fibonacci hashing: the product's top bits, as many as the table has.
        let bits = UInt64(slots.count.trailingZeroBitCount)
        return Int(truncatingIfNeeded: (value &* 0x9E37_79B9_7F4A_7C15) >> (64 - bits))
    }

    mutating func insert(_ value: UInt64) {
        guard value != 0 else {
            holdsZero = true
            return
        }
        if (count + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var i = home(value)
        while slots[i] != 0 {
            if slots[i] == value { return }
            i = (i + 1) & mask
        }
        slots[i] = value
        count += 1
    }

    func contains(_ value: UInt64) -> Bool {
        guard value != 0 else { return holdsZero }
        let mask = slots.count - 1
        var i = home(value)
        while slots[i] != 0 {
            if slots[i] == value { return true }
            i = (i + 1) & mask
        }
        return false
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        count = 0
        for value in old where value != 0 { insert(value) }
    }
}
