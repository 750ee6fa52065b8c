/// Deferred puts: a table's non-unique index entries, and the entries a rollup's flush writes
/// (`flushRollup`), wait in the transaction and go into their trees sorted, when the
/// transaction commits or first touches the tree again. A bulk load's entries of one index
/// otherwise land at thousands of scattered places, one cold descent each; sorted,
/// consecutive entries share their path and their leaf stays in cache. Only entries nothing
/// checks are deferred: unique entries are checked when they are put.
///
/// Invariant:
/// (DP-1) No one sees a tree while puts to it are deferred: every tree access resolves the
///      tree's root through `root(of:)`, which applies that tree's deferred puts first;
///      `commit`, `createTree` and `dropTree` apply all of them first (so no tree's root
///      changes while puts wait, and a tree is matched by its root); `rollback` drops them.
///      Puts to one tree are applied in key order, and equal keys in the order they were put,
///      so the last put of a key wins, as with `put`.
/// One tree's deferred puts: keys and values side by side in one byte array (no allocation
/// per entry), and where each entry lies.
struct DeferredPuts {
    let tree: Tree
    private var bytes: [UInt8] = []
    /// Offset of each entry's key in `bytes`, its key length and its value length.
    private var entries: [(offset: Int, keyLength: Int, valueLength: Int)] = []

    init(tree: Tree) { self.tree = tree }

    var count: Int { entries.count }

    mutating func append(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        entries.append((bytes.count, key.count, value.count))
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: value)
    }

    /// Calls `body` with every entry in key order; equal keys in the order they were put.
    func forEachSorted(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            func key(_ i: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: all[entries[i].offset..<(entries[i].offset + entries[i].keyLength)])
            }
            let order = KeyOrder.positions(count: entries.count, key: key)
            for i in order {
                let e = entries[i]
                let valueStart = e.offset + e.keyLength
                try body(key(i), UnsafeRawBufferPointer(rebasing: all[valueStart..<(valueStart + e.valueLength)]))
            }
        }
    }
}

extension WriteTransaction {
    /// Entries a tree takes before they are applied: past this many, they are applied at once.
    static let maximumDeferredPuts = 65_536

    /// Stores `value` under `key` in `tree` when the transaction commits or next touches
    /// `tree`, whichever comes first (DP-1). Size limits are checked now.
    func deferPut(_ key: [UInt8], _ value: [UInt8], in tree: Tree) throws {
        guard !finished else { throw GuildStoreError.transactionFinished }
        guard key.count <= engine.maxKeySize else {
            throw GuildStoreError.keyTooLarge(size: key.count, limit: engine.maxKeySize)
        }
        guard value.count <= OverflowLayout.maximumValueSize else {
            throw GuildStoreError.valueTooLarge(size: value.count, limit: OverflowLayout.maximumValueSize)
        }
        let slot: Int
        if let existing = deferredPuts.firstIndex(where: { $0.tree.root == tree.root }) {
            // The slot's tree, noted when the slot began: no root changes while puts wait (DP-1).
            slot = existing
        } else {
            noteChange(tree.name)
            deferredPuts.append(DeferredPuts(tree: tree))
            slot = deferredPuts.count - 1
        }
        key.withUnsafeBytes { k in value.withUnsafeBytes { v in deferredPuts[slot].append(key: k, value: v) } }
        if deferredPuts[slot].count >= Self.maximumDeferredPuts { try applyDeferredPuts(of: tree.root) }
    }

    /// Applies the deferred puts of the tree whose root is `root`, or of every tree.
    ///
    /// Keys come in increasing order, so after a descent the next keys below the leaf's upper
    /// fence (the separator right of it, BT-2) go into the same leaf without another descent,
    /// while they fit. Anything else (a full leaf, an equal key, a large value) takes the
    /// ordinary `insert`, and the leaf is looked up afresh after it: only that path splits or
    /// frees pages, so the remembered leaf and fence stay true in between.
    func applyDeferredPuts(of root: UInt32? = nil) throws {
        while let slot = deferredPuts.firstIndex(where: { root == nil || $0.tree.root == root }) {
            let puts = deferredPuts.remove(at: slot)
            let treeRoot = try self.root(of: puts.tree)
            var current: (leaf: UInt32, upper: [UInt8]?)?
            try puts.forEachSorted { key, value in
                try spillIfOverBudget()  // TS-3: between two entries
                if let (leaf, upper) = current,
                   upper.map({ fence in fence.withUnsafeBytes { compareKeys(key, $0) < 0 } }) ?? true,
                   try insertInPlace(key, value, leaf: leaf) {
                    return
                }
                let (path, leaf) = try pathToLeaf(key, root: treeRoot)
                let upper = try upperFence(path)
                pathStorage = path  // its storage serves the next descent
                if try insertInPlace(key, value, leaf: leaf) {
                    current = (leaf, upper)
                } else {
                    current = nil
                    _ = try insert(key: key, value: value, root: treeRoot)
                }
            }
        }
    }

    /// The leaf a run of increasing keys went to last (`writableLeaf`) and the key right of it
    /// (nil: the tree's right-most leaf).
    typealias WritableLeafHint = (leaf: UInt32, upper: [UInt8]?)

    /// The leaf of the tree at `root` that holds `key` or would take it, made writable: the
    /// `hint`'s while `key` sorts below its upper fence, else found by a descent, which `hint`
    /// then remembers. Keys must come in increasing order (so each is at or above the hint
    /// leaf's lower fence), and nothing may split or free the tree's pages in between.
    func writableLeaf(for key: UnsafeRawBufferPointer, root: UInt32, hint: inout WritableLeafHint?) throws -> MutableNode {
        if let (leaf, upper) = hint, upper.map({ fence in fence.withUnsafeBytes { compareKeys(key, $0) < 0 } }) ?? true {
            return try writableNode(leaf)
        }
        let (path, leaf) = try pathToLeaf(key, root: root)
        hint = (leaf, try upperFence(path))
        pathStorage = path  // its storage serves the next descent
        return try writableNode(leaf)
    }

    /// Calls `body` with the value stored under `key` in the tree at `root` (nil when absent),
    /// found through `writableLeaf`; returns its result and, when the value lies inline in the
    /// leaf, where: bytes the caller may overwrite with as many (the leaf is this transaction's
    /// writable copy), until anything else touches the tree.
    func withWritableValue<T>(_ key: UnsafeRawBufferPointer, root: UInt32, hint: inout WritableLeafHint?,
                              _ body: (UnsafeRawBufferPointer?) throws -> T) throws -> (T, inPlace: UnsafeMutableRawBufferPointer?) {
        let leaf = try writableLeaf(for: key, root: root, hint: &hint)
        let (position, found) = try leaf.node.lowerBound(key)
        guard found else { return (try body(nil), nil) }
        let cell = try leaf.node.leafCell(position)
        if let inline = cell.inlineValue { return (try body(inline), UnsafeMutableRawBufferPointer(mutating: inline)) }
        let value = try readOverflow(first: cell.overflowPage, length: cell.valueLength)
        return (try value.withUnsafeBytes { try body($0) }, nil)
    }

    /// The key right of the leaf `path` leads to: the separator of the lowest ancestor where
    /// the path did not take the right-most child; nil for the tree's right-most leaf.
    private func upperFence(_ path: [PathEntry]) throws -> [UInt8]? {
        for entry in path.reversed() {
            let (node, ref) = try self.node(entry.page)
            if entry.index < node.count {
                return try withExtendedLifetime(ref.owner) { try node.withKey(entry.index) { Array($0) } }
            }
        }
        return nil
    }

    /// Puts a small value under `key` into `leaf` when the key belongs there and the cell
    /// fits; false when the ordinary `insert` must do it (the cell needs overflow pages, the
    /// key's old value has them, or the leaf is full). A present key's old cell is replaced
    /// (a rollup's counters, put again at each flush); when the new cell then does not fit,
    /// the key is gone from the leaf and the ordinary `insert` puts it back.
    private func insertInPlace(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, leaf page: UInt32) throws -> Bool {
        guard Cell.leafSize(keyLength: key.count, valueLength: value.count, overflow: false) <= NodeLayout.maxCellSize(pageSize: pageSize) else {
            return false
        }
        let leaf = try writableNode(page)
        let (position, found) = try leaf.node.lowerBound(key)
        let cell = Cell.ParsedLeaf(inline: key, value: value)
        if found {
            guard try leaf.node.leafCell(position).inlineValue != nil else { return false }
            try leaf.removeCell(at: position)
            return try leaf.insertLeaf(cell, at: position)
        }
        let hints = (leaf.appendRun, leaf.lastInsert)
        _ = leaf.noteInsert(at: position)
        let inserted = try leaf.insertLeaf(cell, at: position)
        if !inserted { (leaf.appendRun, leaf.lastInsert) = hints }
        return inserted
    }
}
