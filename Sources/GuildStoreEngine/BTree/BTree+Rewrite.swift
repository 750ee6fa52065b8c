/// Rewriting a tree without some of its entries: the way to delete a large share of a tree.
///
/// Removing entries one at a time (`remove(sorted:root:)`) reads and writes every leaf that
/// holds one, shifts cells within it and merges the leaves left under a quarter full; when
/// most of a tree goes, that is nearly every page written, most of them only to be merged
/// away. A rewrite reads every page once and writes only what stays: the kept entries go, in
/// key order, into a new tree through the append path (full leaves), which then takes the old
/// tree's place, and the old tree's pages are freed.
///
/// Invariants:
/// (RW-1) The old tree is only read while the new one is built, and no walk is open across a
///      write: entries are read in batches (`rewriteBatch`), each batch written once its walk
///      has ended (a write may allocate, grow the file or spill pages).
/// (RW-2) The swap is one catalog write under a new schema counter (TX-6): a handle made before
///      it finds the tree again by name. Waiting rollup deltas and deferred puts go into their
///      trees first (RU-3, DP-1), as `createTree` and `dropTree` do. The whole rewrite is part
///      of the transaction: a rollback or crash leaves the old tree as it was.
extension WriteTransaction {
    /// Entries read per batch of a rewrite, at most.
    static let rewriteBatch = 4_096
    /// Bytes of kept entries a batch holds before it is written (large values, stored in
    /// overflow pages, would otherwise make 4,096 entries any size).
    static let rewriteBatchBytes = 4 << 20

    /// Rewrites tree `name` keeping the entries `keep` accepts, in key order, reading `batch`
    /// entries at a time (fewer once the kept ones hold `batchBytes`); `written` is called
    /// after each batch's kept entries are in the new tree (a caller does its own per-batch
    /// work there, outside any walk). Returns the number of entries left out.
    package func rewriteTree(_ name: String, batch: Int = rewriteBatch, batchBytes: Int = rewriteBatchBytes,
                             keeping keep: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool,
                             afterBatch written: () throws -> Void = {}) throws -> Int {
        precondition(batch > 0, "a rewrite reads at least one entry per batch")
        guard !finished else { throw GuildStoreError.transactionFinished }
        knownParents.removeAll()  // FK-4
        try flushRollups()  // RU-3, RW-2
        try applyDeferredPuts()  // DP-1, RW-2
        guard let old = try tree(name) else { throw GuildStoreError.treeNotFound(name) }
        let (root, buffer) = try allocatePage()
        NodeLayout.initialize(buffer.pointer, pageSize: pageSize, type: .leaf)

        var removed = 0
        // A batch's kept entries, flat: each one's key then value in `bytes`, their lengths in `spans`.
        var bytes: [UInt8] = []
        var spans: [(key: Int, value: Int)] = []
        var resumeAfter: [UInt8]?
        while true {
            bytes.removeAll(keepingCapacity: true)
            spans.removeAll(keepingCapacity: true)
            var read = 0
            var left = 0
            // Where the batch stopped, when it stopped before the tree's end.
            var stoppedAfter: [UInt8]?
            var range = KeyRange()
            if let resumeAfter { range.lower = .exclusive(resumeAfter) }
            try scan(root: old.root, range: range) { key, value in
                read += 1
                if try keep(key, value) {
                    bytes.append(contentsOf: key)
                    bytes.append(contentsOf: value)
                    spans.append((key.count, value.count))
                } else {
                    left += 1
                }
                guard read < batch, bytes.count < batchBytes else {
                    stoppedAfter = Array(key)
                    return false
                }
                return true
            }
            // RW-1: the walk has ended; now the writes.
            try spillIfOverBudget()  // TS-3
            try bytes.withUnsafeBytes { all in
                var offset = 0
                for span in spans {
                    let key = UnsafeRawBufferPointer(rebasing: all[offset ..< offset + span.key])
                    let value = UnsafeRawBufferPointer(rebasing: all[offset + span.key ..< offset + span.key + span.value])
                    _ = try insert(key: key, value: value, root: root)
                    offset += span.key + span.value
                }
            }
            removed += left
            try written()
            guard let stoppedAfter else { break }
            resumeAfter = stoppedAfter
        }

        // RW-2: the new root in the catalog entry (the rest of it as it was), a new schema
        // counter, the old pages freed.
        let nameKey = Array(name.utf8)
        let catalogRoot = workingHeader.catalogRoot
        var entry = try nameKey.withUnsafeBytes { k in try withValue(k, root: catalogRoot) { Array($0) } } ?? []
        guard entry.count >= 4 else {
            throw GuildStoreError.corruptPage(page: catalogRoot, reason: "catalog entry for \(name) is \(entry.count) bytes")
        }
        entry.withUnsafeMutableBytes { $0.baseAddress!.setU32(0, root) }  // at least 4 bytes
        _ = try nameKey.withUnsafeBytes { k in
            try entry.withUnsafeBytes { v in try insert(key: k, value: v, root: catalogRoot) }
        }
        workingHeader.schemaCounter = try engine.nextSchemaCounter()  // TX-6
        var freed: Set<UInt32> = []
        try freeTree(page: old.root, depth: 0, freed: &freed)
        noteChange(name)
        return removed
    }
}
