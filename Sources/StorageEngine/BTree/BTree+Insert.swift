/// Insertion and splits.
///
/// Split policy: a node that overflows while keys arrive in increasing order at its end (this
/// insert and the previous one both appended: snowflake ids, timestamps, per-guild
/// sequences) keeps all its cells and sends only the new cell to the new right page, so
/// sequential loads leave nodes nearly full. A leaf that overflows while keys arrive in
/// increasing order at one point inside it (each insert right after the previous one: an
/// index on `(guild_id, created_at)` grows at the end of every guild's run) splits at that
/// point: the new cell stays with the run's cells and the cells after it (the next guild's)
/// move to the new right page, so the run fills its page, then goes on through end splits;
/// when the new cell does not fit there, the cells before it stay if they fill half the bytes.
/// Any other split divides the cells by bytes, so random inserts that happen to land at one
/// place do not leave nodes half empty for good.
extension WriteTransaction {
    typealias PathEntry = (page: UInt32, index: Int)

    /// Descends to the leaf for `key`, recording the child index taken at each level. The path
    /// reuses the storage of the last one handed back to `pathStorage`.
    func pathToLeaf(_ key: UnsafeRawBufferPointer, root: UInt32) throws -> (path: [PathEntry], leaf: UInt32) {
        var path = pathStorage
        pathStorage = []
        path.removeAll(keepingCapacity: true)
        path.reserveCapacity(8)
        var page = root
        while true {
            let (node, ref) = try self.node(page)
            if node.isLeaf { return (path, page) }
            guard path.count < Cursor.maximumDepth else {
                throw GuildStoreError.corruptPage(page: page, reason: "tree deeper than \(Cursor.maximumDepth) levels (a cycle?)")
            }
            let index = try withExtendedLifetime(ref.owner) { try node.childIndex(for: key) }
            path.append((page, index))
            page = try node.child(index)
        }
    }

    /// Stores the entry, replacing an equal key's; with `ifAbsent`, leaves an existing key (and
    /// every page) alone and returns false.
    @discardableResult
    func insert(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, root: UInt32, ifAbsent: Bool = false) throws -> Bool {
        let path: [PathEntry]
        let leafPage: UInt32
        let position: Int
        let found: Bool
        let leaf: MutableNode
        let descended: Bool
        let hinted = appendHints.firstIndex { $0.root == root }
        if let hinted, case let hint = appendHints[hinted], let buffer = dirty[hint.leaf],
           let last = try Self.lastKeyIfBelow(key, in: buffer, pageSize: pageSize, number: hint.leaf) {
            // B5: past the rightmost leaf's last key: that leaf, no descent.
            (path, leafPage, descended) = (hint.path, hint.leaf, false)
            leaf = MutableNode(base: buffer.pointer, pageSize: pageSize, number: hint.leaf)
            (position, found) = (last, false)
        } else {
            (path, leafPage) = try pathToLeaf(key, root: root)
            descended = true
            if ifAbsent {
                let (view, ref) = try node(leafPage)
                if try withExtendedLifetime(ref.owner, { try view.lowerBound(key).found }) {
                    pathStorage = path
                    return false
                }
            }
            leaf = try writableNode(leafPage)
            (position, found) = try leaf.node.lowerBound(key)
        }
        if found {
            let old = try leaf.node.leafCell(position)
            if old.inlineValue == nil { try freeOverflow(first: old.overflowPage, length: old.valueLength) }
            try leaf.removeCell(at: position)
        }
        let inline = Cell.leafSize(keyLength: key.count, valueLength: value.count, overflow: false) <= NodeLayout.maxCellSize(pageSize: pageSize)
        let overflowPage = inline ? 0 : try writeOverflow(value)
        // The leaf may have moved in the dirty set's eyes if overflow allocation freed nothing;
        // MutableNode points at the same buffer, which stays in `dirty`.
        let sequential = leaf.noteInsert(at: position)
        let inserted = try Cell.withLeaf(key: key, value: inline ? value : nil, valueLength: value.count, overflowPage: overflowPage) { cell in
            guard try leaf.insertCell(cell, at: position) else {
                try split(page: leafPage, path: path, position: position, cell: Array(cell), root: root, sequential: sequential)
                return false
            }
            return true
        }
        defer { if descended { pathStorage = path } }  // its storage serves the next descent
        if inserted, sequential, case let current = appendHints.firstIndex(where: { $0.root == root }),
                  current.map({ appendHints[$0].leaf }) != leafPage, try isRightmost(path) {
            // Looked up again: freeing an overflow chain above may have cleared the hints.
            if let hinted = current {
                appendHints[hinted] = (root, path, leafPage)
            } else {
                if appendHints.count >= 8 { appendHints.removeFirst() }
                appendHints.append((root, path, leafPage))
            }
        }
        return true
    }

    /// The number of cells in the leaf when `key` sorts after all of them (the insert
    /// position), else nil.
    private static func lastKeyIfBelow(_ key: UnsafeRawBufferPointer, in buffer: PageBuffer, pageSize: Int, number: UInt32) throws -> Int? {
        let node = try Node(PageRef(base: buffer.pointer, owner: nil), number: number, pageSize: pageSize)
        guard node.isLeaf, node.count > 0, try node.compareKey(node.count - 1, key) < 0 else { return nil }
        return node.count
    }

    /// True when every step of `path` took the right-most child.
    private func isRightmost(_ path: [PathEntry]) throws -> Bool {
        for entry in path where entry.index != (try node(entry.page).0.count) { return false }
        return true
    }

    /// Inserts `cell` at `position` into the full node `page`, splitting it and, as needed,
    /// its ancestors.
    private func split(page: UInt32, path: [PathEntry], position: Int, cell: [UInt8], root: UInt32, sequential: Bool) throws {
        appendHints.removeAll { $0.root == root }  // B5: this tree's path changes
        var path = path
        var page = page
        if page == root {
            // B4: the root stays put; its cells move to a new child, which then splits.
            let (child, buffer) = try allocatePage()
            let rootBuffer = try writable(root)
            buffer.pointer.copyMemory(from: rootBuffer.pointer, byteCount: pageSize)
            NodeLayout.initialize(rootBuffer.pointer, pageSize: pageSize, type: .interior)
            rootBuffer.pointer.setU32(16, child)
            path.append((root, 0))
            page = child
        }
        let count = try node(page).0.count
        let atEnd = sequential && position == count
        let (newPage, up) = atEnd
            ? try splitAtEnd(page: page, cell: cell)
            : try splitBalanced(page: page, position: position, cell: cell, sequential: sequential)
        guard let (parentPage, index) = path.popLast() else {
            throw GuildStoreError.corruptPage(page: page, reason: "split below a missing parent")
        }
        // The parent's pointer at `index` referenced `page`; it now references the right half,
        // and the new cell before it references the left half (B2).
        let parent = try writableNode(parentPage)
        parent.setChild(index, to: newPage)
        let parentSequential = parent.noteInsert(at: index)
        let inserted = try up.withUnsafeBytes { try parent.insertCell($0, at: index) }
        if !inserted {
            try split(page: parentPage, path: path, position: index, cell: up, root: root, sequential: parentSequential)
        }
    }

    /// Divides the node's cells and the new one between the node and a new right sibling: a
    /// leaf in a `sequential` run at `position` at that point when the cells before it hold at
    /// least half the bytes, otherwise by bytes. Returns the sibling and the cell for the parent.
    private func splitBalanced(page: UInt32, position: Int, cell: [UInt8], sequential: Bool) throws -> (UInt32, [UInt8]) {
        let node = try writableNode(page)
        let view = try node.node
        var cells = try (0..<view.count).map { try view.cellBytes($0) }
        cells.insert(cell, at: position)
        let (newPage, newBuffer) = try allocatePage()
        let right = MutableNode(base: newBuffer.pointer, pageSize: pageSize, number: newPage)
        if view.isLeaf {
            // In a run, the run's side keeps the new cell when it fits there: the cells after
            // it (the next guild's) go right, and the run goes on at the left page's end with
            // the longer prefix of its own keys (B6). Else the cells before the run stay and
            // the new cell goes right when they fill half the bytes. B3: cells that came from
            // one page fit one page, and half of the bytes plus one cell fit too.
            var cut = Self.balancedCut(cells, leaf: true)
            var runOnLeft = false, runOnRight = false
            if sequential, position + 1 < cells.count {
                let left = cells[...position]
                let shared = Cell.key(of: cells[0], leaf: true).withUnsafeBytes { a in
                    Cell.key(of: cells[position], leaf: true).withUnsafeBytes { b in commonPrefix(a, b) }
                }
                if try MutableNode.storedBytes(left, prefix: shared) <= pageSize - NodeLayout.headerSize {
                    (cut, runOnLeft) = (position + 1, true)
                } else if Self.bytes(cells[..<position]) * 2 >= Self.bytes(cells[...]) {
                    (cut, runOnRight) = (position, true)
                }
            }
            try node.rebuild(cells: cells[..<cut], rightChild: 0, type: .leaf)
            try right.rebuild(cells: cells[cut...], rightChild: 0, type: .leaf)
            if runOnLeft { (node.appendRun, node.lastInsert) = (1, position) }
            if runOnRight { right.appendRun = 1 }  // the run goes on at the right page's slot 0
            let separator = Cell.separator(after: Cell.key(of: cells[cut - 1], leaf: true),
                                           before: Cell.key(of: cells[cut], leaf: true))
            return (newPage, separator.withUnsafeBytes { Cell.interior(child: page, key: $0) })
        }
        let middle = Self.balancedCut(cells, leaf: false)
        let upKey = Cell.key(of: cells[middle], leaf: false)
        let rightChild = view.rightChild
        try node.rebuild(cells: cells[..<middle], rightChild: Cell.child(of: cells[middle]), type: .interior)
        try right.rebuild(cells: cells[(middle + 1)...], rightChild: rightChild, type: .interior)
        return (newPage, upKey.withUnsafeBytes { Cell.interior(child: page, key: $0) })
    }

    /// The sequential split: the full node keeps its cells, a new right sibling starts with
    /// only the new cell (a leaf) or only the right-most child (an interior node), and nothing
    /// is copied. Returns the sibling and the cell for the parent.
    private func splitAtEnd(page: UInt32, cell: [UInt8]) throws -> (UInt32, [UInt8]) {
        let node = try writableNode(page)
        let view = try node.node
        let (newPage, newBuffer) = try allocatePage()
        let right = MutableNode(base: newBuffer.pointer, pageSize: pageSize, number: newPage)
        let up: [UInt8]
        if view.isLeaf {
            let separator = Cell.separator(after: try view.withKey(view.count - 1) { Array($0) }, before: Cell.key(of: cell, leaf: true))
            NodeLayout.initialize(right.base, pageSize: pageSize, type: .leaf)
            guard try cell.withUnsafeBytes({ try right.insertCell($0, at: 0) }) else {
                throw GuildStoreError.corruptPage(page: newPage, reason: "a cell does not fit an empty page")
            }
            up = separator.withUnsafeBytes { Cell.interior(child: page, key: $0) }
        } else {
            NodeLayout.initialize(right.base, pageSize: pageSize, type: .interior)
            right.setRightChild(view.rightChild)
            node.setRightChild(Cell.child(of: cell))
            up = Cell.key(of: cell, leaf: false).withUnsafeBytes { Cell.interior(child: page, key: $0) }
        }
        // The new right node is where the next increasing key lands: keep the run going.
        node.appendRun = 0
        right.appendRun = 1
        return (newPage, up)
    }

    /// Bytes `cells` take in a node, slots included.
    static func bytes(_ cells: ArraySlice<[UInt8]>) -> Int {
        cells.reduce(0) { $0 + $1.count + NodeLayout.slotSize }
    }

    /// The cut index that divides `cells` most evenly by bytes, leaving each side non-empty
    /// (for interior nodes the cell at the cut moves up and belongs to neither side).
    static func balancedCut(_ cells: [[UInt8]], leaf: Bool) -> Int {
        let total = cells.reduce(0) { $0 + $1.count + NodeLayout.slotSize }
        var left = 0
        for (i, cell) in cells.enumerated() {
            let size = cell.count + NodeLayout.slotSize
            if left + size / 2 >= total / 2 {
                let cut = max(1, i)
                return leaf ? cut : min(cut, cells.count - 2)
            }
            left += size
        }
        return leaf ? cells.count - 1 : cells.count - 2
    }
}
