/// The logical half of an integrity check: every table's indexes against its rows. The
/// page-level walk (`StorageEngine.check`) proves the trees are sound; this proves they agree:
/// each row that an index's predicate admits has exactly its entry there (key and value, as
/// `CompiledIndex.entry` makes it), and the index holds nothing else.
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
            try walk(table, index: nil, equals: [], from: nil, below: nil, reverse: false, indexOnly: false) { row in
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
        }
        return problems
    }
}
