/// Rollup groups a delete empties whole, dropped as entries instead of counted down row by
/// row (retention: `DELETE ... WHERE guild_id = ? AND created_at < ?`).
///
/// Invariant (RU-4): a delete that selects every row with equalities `E` and its time column
/// in `[L, X)` empties each rollup group whose `E` columns hold those values and whose bucket
/// `[b, b + w)` lies inside `[L, X)`, when `E` names exactly the rollup's leading plain group
/// columns (so each group holds one value of each, RU-1). Such a group's counter entry and
/// its distinct entries are deleted outright; the rows in it add no delta. Every other row
/// (the buckets at the range's edges, rows of other groups a cascade deletes) is counted as
/// before (RU-2). The trees are read through `root(of:)`, which flushes the rollup's waiting
/// deltas first (RU-3), so entries that earlier statements of the transaction made are
/// dropped too, and the rows' deltas of this statement are noted only after the drop.
extension WriteTransaction {
    /// Which of a rollup's groups a delete with `selection` empties whole.
    struct CoveredGroups {
        /// The encoded values of the rollup's leading group columns that the equalities fix.
        let prefix: [UInt8]
        /// The values those columns must hold, by row position.
        let fixed: [(position: Int, value: Value)]
        /// The bucket's place among the group keys, the row position of its column, its width,
        /// and the range; nil bucket: the rollup has none, and the selection no range.
        let bucket: (key: Int, position: Int, seconds: Int64)?
        let range: ColumnRange?

        /// Whether a group whose bucket starts at `start` lies inside the range.
        func covers(bucketStart start: Value) -> Bool {
            guard let bucket, let range else { return true }  // no range: every row of the prefix goes
            guard let b = Self.seconds(start) else { return false }  // NULL buckets hold rows outside any range
            if let from = range.from {
                guard let l = Self.seconds(from), b >= l else { return false }
            }
            if let below = range.below {
                guard let x = Self.seconds(below) else { return false }
                let (end, overflow) = b.addingReportingOverflow(bucket.seconds)
                guard !overflow, end <= x else { return false }
            }
            return true
        }

        /// Whether `row`, deleted, sits in a group this delete empties whole.
        func holds(_ row: [Value]) -> Bool {
            for (position, value) in fixed where row[position] != value { return false }
            guard let bucket else { return true }
            guard let start = Transaction.bucket(row[bucket.position], seconds: bucket.seconds) else { return false }
            return covers(bucketStart: start)
        }

        private static func seconds(_ value: Value) -> Int64? {
            switch value {
            case .timestamp(let v), .int(let v): v
            default: nil
            }
        }
    }

    /// The groups of `rollup` that deleting the rows `selection` picks out empties whole, or
    /// nil when the rollup's shape does not allow the shortcut (RU-4's conditions).
    func coveredGroups(_ rollup: CompiledRollup, table: CompiledTable, selection: ScanPlan.Selection) -> CoveredGroups? {
        let groupBy = rollup.definition.groupBy
        let leading = groupBy.prefix { key in
            if case .column(let c) = key { selection.value(of: c) != nil } else { false }
        }.count
        guard leading == selection.columns.count else { return nil }
        var fixed: [(position: Int, value: Value)] = []
        var prefixValues: [Value] = []
        for i in 0..<leading {
            guard let value = selection.value(of: groupBy[i].column) else { return nil }
            fixed.append((rollup.groupPositions[i], value))
            prefixValues.append(value)
        }
        var bucket: (key: Int, position: Int, seconds: Int64)?
        if let range = selection.range {
            guard let key = rollup.definition.bucketPosition, let seconds = rollup.bucketSeconds[key],
                  groupBy[key].column == range.column else { return nil }
            bucket = (key, rollup.groupPositions[key], seconds)
        }
        return CoveredGroups(prefix: TupleEncoding.encode(prefixValues), fixed: fixed, bucket: bucket, range: selection.range)
    }

    /// Deletes the counter entries and distinct entries of the groups `covered` names (RU-4);
    /// returns `rollup` as table `tableName` now has it: a rewritten tree has a new root and
    /// the schema a new counter, and the rows' deltas go to the trees as they now are.
    func dropCoveredGroups(_ rollup: CompiledRollup, _ covered: CoveredGroups, of tableName: String) throws -> CompiledRollup {
        let keyTypes = Array(rollup.groupTypes.prefix((covered.bucket?.key ?? -1) + 1))
        // A key's bucket: the group values decoded up to it (the distinct trees' keys go on
        // with the counted value, which is not read).
        func isCovered(_ key: UnsafeRawBufferPointer) throws -> Bool {
            guard covered.bucket != nil else { return true }
            var decoder = TupleDecoder(key)
            var value = Value.null
            for type in keyTypes { value = try decoder.next(type, descending: false) }
            return covered.covers(bucketStart: value)
        }
        var trees: [Tree] = []
        if let tree = rollup.tree { trees.append(tree) }
        for counter in rollup.counters {
            if case .countDistinct(_, let name) = counter { trees.append(try rollup.tree(named: name)) }
        }
        for tree in trees {
            // A delete that fixes no group column (a whole table's range) may empty most of a
            // tree: it is rewritten without those groups (RW-1, RW-2) instead.
            if covered.prefix.isEmpty {
                _ = try rewriteTree(tree.name) { key, _ in try !isCovered(key) }
                continue
            }
            var doomed: [[UInt8]] = []
            try scan(tree, .prefix(covered.prefix)) { key, _ in
                if try isCovered(key) { doomed.append(Array(key)) }
                return true
            }
            try delete(sorted: doomed, in: tree)
        }
        // Either path may have rewritten a tree (`delete(sorted:in:)` rewrites half a tree or more).
        guard let current = try compiledTable(tableName).rollups.first(where: { $0.treeName == rollup.treeName }) else {
            throw GuildStoreError.invalidSchema("rollup tree \(rollup.treeName) is missing")
        }
        return current
    }
}
