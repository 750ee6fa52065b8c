/// How a rollup without a time bucket answers a query with a range: its groups span all time,
/// so it answers exactly when every row it counts for the query's fixed values lies in the
/// range, and then as if there were no range. An index shows that cheaply: it holds an entry
/// for every row (no partial predicate), its key leads with some of the rollup's fixed columns
/// and then the range's column (NOT NULL, so every row has a place in that order), and it has
/// no entry under the fixed values before the range's start nor at or past its end. Two
/// probes, one descent each, whatever the number of rows (RU-5).
///
/// An all-time leaderboard is the case: `message_events` by (guild, user) answers
/// `created_at >= 0` from one entry per user instead of one per message, while a range that
/// leaves some of the guild's messages out goes on to the day rollup or the rows.
struct RollupCoverage: Sendable {
    let index: CompiledIndex
    /// The position of the range's column in the table.
    let rangePosition: Int
    /// For each of the index's columns before the range's column, its position among the
    /// rollup's fixed columns (and so among a query's fixed values).
    let prefixPositions: [Int]

    /// Nil when no index of `table` shows coverage for these fixed columns, or the range's
    /// column may be NULL (a NULL is in no range, yet the rollup counts its row).
    init?(table: CompiledTable, fixedColumns: [String], rangeColumn: String) {
        let columns = table.schema.columns
        guard let rangePosition = columns.firstIndex(where: { $0.name == rangeColumn }), !columns[rangePosition].nullable else {
            return nil
        }
        // The index whose probes are narrowest: the most fixed columns before the range's.
        var best: (index: CompiledIndex, positions: [Int])?
        for index in table.indexes where index.predicate == nil {
            let keyColumns = index.definition.columns
            guard let k = keyColumns.firstIndex(of: rangeColumn) else { continue }
            let positions = keyColumns[..<k].compactMap { fixedColumns.firstIndex(of: $0) }
            guard positions.count == k, best.map({ $0.positions.count < k }) ?? true else { continue }
            best = (index, positions)
        }
        guard let best else { return nil }
        (index, self.rangePosition, prefixPositions) = (best.index, rangePosition, best.positions)
    }
}

extension Transaction {
    /// Whether every row of `table` with the fixed values `prefix` (of the rollup's fixed
    /// columns, in group order) lies in `range`: the coverage index holds no entry under those
    /// values below `range.from`, and none at or past `range.below`. False for bounds of another
    /// type than the column's, or NULL: the rows answer those.
    func rangeHoldsEveryRow(_ range: ColumnRange, of coverage: RollupCoverage, table: CompiledTable, prefix: [Value]) throws -> Bool {
        let type = table.schema.columns[coverage.rangePosition].type
        for bound in [range.from, range.below] {
            if let bound, bound.isNull || !bound.fits(type) { return false }
        }
        // The fixed values' types were checked by the caller (the rollup refuses others), the
        // bounds' above: no check, and no index looked up by name, per probe.
        let values = coverage.prefixPositions.map { prefix[$0] }
        func holdsEntry(from lower: Value?, below upper: Value?) throws -> Bool {
            let (tree, keys) = try walkTarget(table, index: coverage.index, equals: values, from: lower, below: upper, reverse: false,
                                              typesChecked: true)
            var found = false
            try scan(tree, keys) { _, _ in
                found = true
                return false
            }
            return found
        }
        if let from = range.from, try holdsEntry(from: nil, below: from) { return false }
        if let below = range.below, try holdsEntry(from: below, below: nil) { return false }
        return true
    }
}
