/// Deferred puts: a table's non-unique index entries wait in the transaction and go into
/// their trees sorted, when the transaction commits or first touches the tree again. A bulk
/// load's entries of one index otherwise land at thousands of scattered places, one cold
/// descent each; sorted, consecutive entries share their path and their leaf stays in cache.
/// Only entries nothing checks are deferred: unique entries are checked when they are put.
///
/// Invariant:
/// (D1) No one sees a tree while puts to it are deferred: every tree access resolves the
///      tree's root through `root(of:)`, which applies that tree's deferred puts first;
///      `commit`, `createTree` and `dropTree` apply all of them first (so no tree's root
///      changes while puts wait, and a tree is matched by its root); `rollback` drops them.
///      Puts to one tree are applied in key order, and equal keys in the order they were put,
///      so the last put of a key wins, as with `put`.
extension WriteTransaction {
    /// Entries a tree takes before they are applied: past this many, they are applied at once.
    static let maximumDeferredPuts = 65_536

    /// Stores `value` under `key` in `tree` when the transaction commits or next touches
    /// `tree`, whichever comes first (D1). Size limits are checked now.
    func deferPut(_ key: [UInt8], _ value: [UInt8], in tree: Tree) throws {
        guard !finished else { throw GuildStoreError.transactionFinished }
        guard key.count <= engine.maxKeySize else {
            throw GuildStoreError.keyTooLarge(size: key.count, limit: engine.maxKeySize)
        }
        guard value.count <= OverflowLayout.maximumValueSize else {
            throw GuildStoreError.valueTooLarge(size: value.count, limit: OverflowLayout.maximumValueSize)
        }
        noteChange(tree.name)
        let slot: Int
        if let existing = deferredPuts.firstIndex(where: { $0.tree.root == tree.root }) {
            slot = existing
        } else {
            deferredPuts.append((tree, []))
            slot = deferredPuts.count - 1
        }
        deferredPuts[slot].entries.append((key, value))
        if deferredPuts[slot].entries.count >= Self.maximumDeferredPuts { try applyDeferredPuts(of: tree.root) }
    }

    /// Applies the deferred puts of the tree whose root is `root`, or of every tree.
    func applyDeferredPuts(of root: UInt32? = nil) throws {
        while let slot = deferredPuts.firstIndex(where: { root == nil || $0.tree.root == root }) {
            let (tree, entries) = deferredPuts.remove(at: slot)
            // Equal keys keep the order they were put in, so the last put wins (D1).
            let order = entries.indices.sorted { i, j in
                let c = entries[i].key.withUnsafeBytes { x in entries[j].key.withUnsafeBytes { y in compareKeys(x, y) } }
                return c != 0 ? c < 0 : i < j
            }
            let treeRoot = try self.root(of: tree)
            for i in order {
                let entry = entries[i]
                try entry.key.withUnsafeBytes { key in
                    try entry.value.withUnsafeBytes { value in _ = try insert(key: key, value: value, root: treeRoot) }
                }
            }
        }
    }
}
