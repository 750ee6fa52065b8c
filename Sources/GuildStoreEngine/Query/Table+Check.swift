/// The logical half of an integrity check: every table's indexes against its rows. The
/// page-level walk (`StorageEngine.check`) proves the trees are sound; this proves they agree:
/// each row that an index's predicate admits has exactly its entry there (key and value, as
/// `CompiledIndex.entry` makes it), and the index holds nothing else; each rollup holds
/// exactly the counters its rows imply (RU-1), recomputed from them.
extension Transaction {
    /// Disagreements between each table's rows and its indexes, at most `limit` per index
    /// (then one line saying how many more); empty when every index holds exactly what its
    /// table implies. Reads every row once and looks each expected entry up.
    public final func checkTables(limit: Int = 10) throws -> [String] {
        var problems: [String] = []
        for schema in try tables() {
            let table = try compiledTable(schema.name)
            var expected = [Int](repeating: 0, count: table.indexes.count)
            var reported = [Int](repeating: 0, count: table.indexes.count)
            var trees: [Tree] = []
            for index in table.indexes { trees.append(try index.tree(of: schema.name)) }
            var tallies = table.rollups.map { RollupTally(rollup: $0) }
            try walk(table, index: nil, equals: [], from: nil, below: nil, reverse: false, indexOnly: false) { row in
                for i in tallies.indices { try tallies[i].add(row) }
                for (i, index) in table.indexes.enumerated() where index.holds(row) {
                    expected[i] += 1
                    let entry = try index.entry(for: row)
                    let stored = try get(entry.key, in: trees[i])
                    guard stored != entry.value else { continue }
                    reported[i] += 1
                    if reported[i] <= limit {
                        let key = "(" + table.primaryKeyValues(row).map { "\($0)" }.joined(separator: ", ") + ")"
                        problems.append(stored == nil
                            ? "index \(index.definition.name) of \(schema.name) lacks the entry of row \(key)"
                            : "index \(index.definition.name) of \(schema.name) holds a wrong value for row \(key)")
                    }
                }
                return true
            }
            for (i, index) in table.indexes.enumerated() {
                var entries = 0
                try scan(trees[i]) { _, _ in
                    entries += 1
                    return true
                }
                if entries != expected[i] {
                    problems.append("index \(index.definition.name) of \(schema.name) holds \(entries) entries; its rows imply \(expected[i])")
                }
                if reported[i] > limit {
                    problems.append("index \(index.definition.name) of \(schema.name): \(reported[i] - limit) more rows disagree")
                }
            }
            for tally in tallies { problems += try tally.compare(with: self, limit: limit) }
        }
        return problems
    }
}

/// A rollup's counters recomputed from its table's rows, for `checkTables` (RU-1).
struct RollupTally {
    let rollup: CompiledRollup
    var groups: [[UInt8]: [Int128]] = [:]
    /// Per distinct tree: each entry's expected count.
    var distinct: [String: [[UInt8]: Int64]] = [:]

    init(rollup: CompiledRollup) { self.rollup = rollup }

    mutating func add(_ row: [Value]) throws {
        guard rollup.holds(row) else { return }
        let key = try rollup.groupKey(of: row)
        rollup.add(row, sign: 1, to: &groups[key, default: Array(repeating: 0, count: rollup.width)])
        for (j, counter) in rollup.counters.enumerated() {
            guard case .countDistinct(let p, let tree) = counter, !row[p].isNull else { continue }
            let entry = key + TupleEncoding.encode([row[p]])
            distinct[tree, default: [:]][entry, default: 0] += 1
            if distinct[tree]?[entry] == 1 { groups[key]?[1 + j] += 1 }
        }
    }

    /// The differences between the recomputed counters and the rollup's trees.
    func compare(with tx: Transaction, limit: Int) throws -> [String] {
        var problems: [String] = []
        let name = "rollup \(rollup.definition.name) (\(rollup.treeName))"
        var expected = groups
        var wrong = 0
        guard let tree = rollup.tree else { return ["\(name) has no tree"] }
        try tx.scan(tree) { key, value in
            let stored = try rollup.decodeCounters(value)
            if expected.removeValue(forKey: Array(key)) != stored { wrong += 1 }
            return true
        }
        wrong += expected.count
        if wrong > 0 { problems.append("\(name): \(wrong) groups differ from the counts its rows imply") }
        for (treeName, counts) in distinct.merging(rollupDistinctTrees.map { ($0, [:]) }, uniquingKeysWith: { a, _ in a }) {
            var expected = counts
            var wrong = 0
            try tx.scan(try rollup.tree(named: treeName)) { key, value in
                if expected.removeValue(forKey: Array(key)) != (try rollup.decodeDistinctCount(value)) { wrong += 1 }
                return true
            }
            wrong += expected.count
            if wrong > 0 { problems.append("\(name): \(wrong) distinct counts in \(treeName) differ from its rows") }
        }
        return Array(problems.prefix(limit + 1))
    }

    private var rollupDistinctTrees: [String] {
        rollup.counters.compactMap { if case .countDistinct(_, let tree) = $0 { tree } else { nil } }
    }
}
