/// Rollups kept in step with their tables (`RollupDefinition`). Each row written adds its
/// contribution to a delta per group held in the transaction; the deltas go into the rollup's
/// trees in key order when the transaction commits or first touches one of those trees. A
/// bulk load that adds thousands of rows to one group reads and writes that group's entry once.
///
/// Invariants:
/// (RU-1) A rollup's trees hold exactly the counters of the table's rows that its predicate
///      admits, grouped as it says (format in `RollupDefinition`); `check` recomputes them. A
///      transaction whose flush failed part way never commits (`failedFlush`).
/// (RU-2) Every row write of a table with rollups (insert, replace, delete, cascades) adds its
///      contribution in the same transaction: `addRollups` (or, for a statement's deletes,
///      `noteRollups`) is called next to the row tree write, with the old row subtracted and
///      the new one added.
/// (RU-3) No one sees a rollup tree while deltas to it wait: `root(of:)` flushes the rollup
///      first, and `commit`, `createTree` and `dropTree` flush every rollup (as DP-1 does for
///      deferred index entries); `rollback` drops the deltas.
/// (RU-4) A range delete drops the groups it empties whole instead of counting them down
///      (`WriteTransaction+CoveredRollupGroups.swift`).
extension WriteTransaction {
    /// Where `rollup`'s waiting deltas are in `pendingRollups`, added empty when none wait.
    /// Found by identity (a table's rollups stay the same objects while it is written); by
    /// the counter tree's name for another compilation of the same rollup.
    ///
    /// RU-3 names the rollup's trees by their roots as they are now: a handle made before a
    /// rewrite gave one of them a new root (RW-2) still holds the old one, so a handle of
    /// another schema counter has its tree found again by name (`tree(_:)`).
    func pendingIndex(of rollup: CompiledRollup) throws -> Int {
        if let i = pendingRollups.firstIndex(where: { $0.rollup === rollup }) { return i }
        if let i = pendingRollups.firstIndex(where: { $0.rollup.treeName == rollup.treeName }) { return i }
        var roots: [UInt32] = []
        for handle in rollup.trees.values {
            if handle.schemaCounter == workingHeader.schemaCounter {
                roots.append(handle.root)
            } else {
                guard let current = try tree(handle.name) else { throw GuildStoreError.treeNotFound(handle.name) }
                roots.append(current.root)
            }
        }
        pendingRollups.append(PendingRollup(rollup, roots: roots))
        for root in roots { pendingRollupRoots[root] = rollup.treeName }
        return pendingRollups.count - 1
    }

    /// Adds `sign` (1: stored, -1: removed) times each of `rows`' contribution to `rollup`
    /// (RU-2), for a statement's deletes: a run of rows in one group (rows in time order fill
    /// a bucket at a time) adds to that group's delta without looking its key up again.
    func noteRollups(_ rows: [[Value]], sign: Int128, rollup: CompiledRollup) throws {
        let index = try pendingIndex(of: rollup)
        let zeros = [Int128](repeating: 0, count: rollup.width)
        // The group of the current run of rows (nil: none yet) and its delta so far.
        var runKey: [UInt8]?
        var runDelta = zeros
        for row in rows where rollup.holds(row) {
            let group = try rollup.groupKey(of: row)
            if runKey != group {
                if let runKey { pendingRollups[index].add(runDelta, group: runKey) }
                (runKey, runDelta) = (group, zeros)
            }
            rollup.add(row, sign: sign, to: &runDelta)
            if rollup.hasDistinctCounters { pendingRollups[index].addDistinct(row, group: group, sign: sign) }
        }
        if let runKey { pendingRollups[index].add(runDelta, group: runKey) }
    }

    /// The key of `row`'s group in each of `rollups` (nil where it does not count the row).
    /// The only step that can fail, so a statement computes it before it writes anything.
    func rollupGroups(_ row: [Value], _ rollups: [CompiledRollup]) throws -> [[UInt8]?] {
        try rollups.map { rollup in rollup.holds(row) ? try rollup.groupKey(of: row) : nil }
    }

    /// Adds `sign` (1: stored, -1: removed) times `row`'s contribution to each of `rollups`
    /// that counts it (RU-2), its groups computed already (`rollupGroups`).
    func addRollups(_ row: [Value], groups: [[UInt8]?], sign: Int128, _ rollups: [CompiledRollup]) throws {
        for (rollup, group) in zip(rollups, groups) {
            guard let group else { continue }
            pendingRollups[try pendingIndex(of: rollup)].add(row, group: group, sign: sign)
        }
    }

    /// Flushes every rollup whose deltas wait (RU-3).
    func flushRollups() throws {
        while let first = pendingRollups.first { try flushRollup(named: first.rollup.treeName) }
    }

    /// Writes a rollup's waiting deltas into its trees, in key order: distinct counts first
    /// (a value whose count leaves or reaches zero moves its group's distinct counter), then
    /// the counters. A group whose rows reach zero loses its entry (RU-1).
    ///
    /// Groups are taken in key order, each lookup starting from the leaf the last one ended in
    /// (`writableLeaf`). An entry (a distinct count or a group's counters) whose new encoding
    /// has its old length is rewritten in its leaf at once: no page splits or frees meanwhile,
    /// as nothing else writes the tree until its loop ends. The other writes come after: new or
    /// longer values as deferred puts (DP-1: applied in key order, each into the leaf the last
    /// one went to while it belongs there), entries that reach zero deleted as one sorted batch
    /// per tree (`delete(sorted:in:)`, which applies the tree's deferred puts first; the keys
    /// it deletes are not among them).
    ///
    /// A flush that fails part way (a damaged counter: a typed error) has rewritten some groups
    /// and dropped the rest of its deltas, so the transaction can no longer commit (RU-1):
    /// `failedFlush` keeps the error, and `commit` throws it.
    func flushRollup(named name: String) throws {
        guard let index = pendingRollups.firstIndex(where: { $0.rollup.treeName == name }) else { return }
        var pending = pendingRollups.remove(at: index)
        for root in pending.roots { pendingRollupRoots[root] = nil }
        do {
            try writeDeltas(&pending)
        } catch {
            failedFlush = error
            throw error
        }
    }

    /// `flushRollup`'s work: `pending`'s deltas into its rollup's trees.
    private func writeDeltas(_ pending: inout PendingRollup) throws {
        let rollup = pending.rollup
        let width = pending.width
        func corrupt(_ what: String) -> GuildStoreError {
            .corruptEncoding(reason: "rollup \(rollup.treeName): \(what) (run check)")
        }
        let moves = pending.distinctMoves
        let distinctKeys = pending.distinctKeys
        var puts: [(tree: Tree, key: [UInt8], value: [UInt8])] = []
        var removals: [(tree: Tree, keys: [[UInt8]])] = []
        var hint: WritableLeafHint?
        var distinctRoot: UInt32 = 0
        try distinctKeys.bytes.withUnsafeBytes { all in
            // Filed by value position, then entry key: sorted, they come in each tree's key order.
            let moving = moves.indices.filter { moves[$0].delta != 0 }
            for index in KeyOrder.positions(count: moving.count, key: { distinctKeys.key(moving[$0], in: all) }) {
                let number = moving[index]
                let filed = distinctKeys.key(number, in: all)
                let value = PendingRollup.distinctValue(filed)
                let entry = UnsafeRawBufferPointer(rebasing: filed[PendingRollup.distinctPrefixSize...])
                guard case .countDistinct(_, let treeName) = rollup.counters[value] else { continue }
                let tree = try rollup.tree(named: treeName)
                if removals.last?.tree != tree {
                    removals.append((tree, []))
                    hint = nil
                    distinctRoot = try root(of: tree)
                }
                // As for the counters below: a count whose encoding keeps its length is
                // rewritten in its leaf at once.
                try spillIfOverBudget()  // TS-3
                let (old, inPlace) = try withWritableValue(entry, root: distinctRoot, hint: &hint) { stored in
                    try stored.map { try rollup.decodeDistinctCount($0) } ?? 0
                }
                let (new, overflow) = old.addingReportingOverflow(moves[number].delta)
                guard !overflow, new >= 0 else { throw corrupt("a distinct count below zero") }
                if new == 0 {
                    removals[removals.count - 1].keys.append(Array(entry))
                } else {
                    let encoded = CompiledRollup.encodeDistinctCount(new)
                    if let inPlace, inPlace.count == encoded.count {
                        inPlace.copyBytes(from: encoded)
                        noteChange(tree.name)
                    } else {
                        puts.append((tree, Array(entry), encoded))
                    }
                }
                guard (old == 0) != (new == 0) else { continue }
                pending.add(old == 0 ? 1 : -1, counter: 1 + value, group: Array(entry.prefix(moves[number].groupLength)))
            }
        }
        guard let tree = rollup.tree else { throw GuildStoreError.invalidSchema("rollup tree \(rollup.treeName) is missing") }
        removals.append((tree, []))
        hint = nil
        let counterRoot = try root(of: tree)
        let groups = pending.groups
        var counters: [Int128] = []
        let order = groups.bytes.withUnsafeBytes { all in KeyOrder.positions(count: groups.count) { groups.key($0, in: all) } }
        // The counters are read from the leaf itself, made writable: a group whose counters
        // keep their encoded length (most of them: a count that grows by a few) is rewritten
        // there and then, with no deferred put and no second search at commit.
        var encoded: [UInt8] = []
        for slot in order where !pending.isZero(slot: slot) {
            let key = groups.key(slot)
            try spillIfOverBudget()  // TS-3: between two groups, as between two deferred puts
            let ((), inPlace) = try key.withUnsafeBytes { key in
                try withWritableValue(key, root: counterRoot, hint: &hint) { stored in
                    if let stored {
                        try rollup.decodeCounters(stored, into: &counters)
                    } else {
                        counters.removeAll(keepingCapacity: true)
                        counters.append(contentsOf: repeatElement(0, count: width))
                    }
                }
            }
            for i in 0..<width {
                // DISK-3: a counter from disk plus a delta overflows only when the counter is damaged.
                let (sum, overflow) = counters[i].addingReportingOverflow(pending.deltas[slot * width + i])
                guard !overflow else { throw corrupt("a counter out of range") }
                counters[i] = sum
            }
            guard counters[0] >= 0 else { throw corrupt("a group with fewer than no rows") }
            if counters[0] == 0 {
                guard counters.allSatisfy({ $0 == 0 }) else { throw corrupt("a group without rows keeps counts") }
                removals[removals.count - 1].keys.append(key)
                continue
            }
            CompiledRollup.encodeCounters(counters, into: &encoded)
            if let inPlace, inPlace.count == encoded.count {
                inPlace.copyBytes(from: encoded)
                noteChange(tree.name)
            } else {
                puts.append((tree, key, encoded))
            }
        }
        for (tree, key, value) in puts { try deferPut(key, value, in: tree) }
        for removal in removals { try delete(sorted: removal.keys, in: removal.tree) }
    }

    /// Adds `rollup` to table `tableName` and builds it from the rows already stored: a
    /// migration gives existing databases what new ones keep from their first row.
    public func addRollup(to tableName: String, _ rollup: RollupDefinition) throws {
        var schema = try table(tableName)
        schema.rollups.append(rollup)
        try schema.validate()
        for name in schema.rollupTreeNames(rollup) { _ = try createTree(name) }
        try storeSchema(schema)
        let table = try compiledTable(tableName)
        let added = table.rollups.filter { $0.definition.name == rollup.name }
        try scan(try table.rows()) { key, value in
            let row = try table.decodeRow(key: key, value: value)
            try addRollups(row, groups: try rollupGroups(row, added), sign: 1, added)
            return true
        }
        try flushRollups()
    }
}
