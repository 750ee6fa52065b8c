/// Insertion and splits.
///
/// Split policy: a node that overflows while keys arrive in increasing order at its end (this
/// insert and the previous one both appended: snowflake ids, timestamps, per-guild
/// sequences) keeps all its cells and sends only the new cell to the new right page, so
/// sequential loads leave nodes nearly full; inside the tree, only a leaf whose keys form one
/// run with the new key does so (`isOneRun`). A leaf that overflows while keys arrive in
/// increasing order at one point inside it (each insert right after the previous one: an
/// index on `(guild_id, created_at)` grows at the end of every guild's run) splits at that
/// point: the new cell stays with the run's cells and the cells after it (the next guild's)
/// move to the new right page, so the run fills its page, then goes on through end splits;
/// when the new cell does not fit there, the cells before it stay if they fill half the bytes.
/// Before a leaf splits anywhere but at its end, it shares its cells with a sibling under the
/// same parent that has room (`shareWithSibling`): a run's leaf hands the cells after the run
/// to its right sibling, any other leaf evens out its bytes with the sibling with the most
/// free room. Any other split divides the cells near the middle by bytes, cutting between
/// the two keys that share the fewest leading bytes (`LeafCells.cut`), so random inserts that
/// happen to land at one place do not leave nodes half empty for good.
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
        pageWrites &+= 1  // the BT-5 path below writes a dirty leaf without `writable`
        // BT-5: a key past the hinted rightmost leaf's last key goes into that leaf, no descent.
        let hinted = appendHintIndex(root)
        var append: (leaf: UInt32, buffer: PageBuffer, position: Int)?
        if let hinted, case let hintLeaf = appendHints[hinted].leaf, let buffer = dirty[hintLeaf],
           let last = try Self.lastKeyIfBelow(key, in: buffer, pageSize: pageSize, number: hintLeaf) {
            append = (hintLeaf, buffer, last)
        }
        let inline = Cell.leafSize(keyLength: key.count, valueLength: value.count, overflow: false) <= NodeLayout.maxCellSize(pageSize: pageSize)
        if let hinted, let append, inline {
            // The common case of a load in key order, an inline cell: the path is read only
            // when the leaf splits.
            let leaf = MutableNode(base: append.buffer.pointer, pageSize: pageSize, number: append.leaf)
            let sequential = leaf.noteInsert(at: append.position)
            if try !leaf.insertLeaf(Cell.ParsedLeaf(inline: key, value: value), at: append.position) {
                try Cell.withLeaf(key: key, value: value, valueLength: value.count, overflowPage: 0) { cell in
                    try split(page: append.leaf, path: appendHints[hinted].path, position: append.position, cell: Array(cell),
                              root: root, sequential: sequential)
                }
            }
            return true
        }
        let path: [PathEntry]
        let leafPage: UInt32
        let position: Int
        let found: Bool
        let leaf: MutableNode
        let descended: Bool
        if let hinted, let append {
            // An overflow value past the rightmost leaf's last key: that leaf, no descent.
            (path, leafPage, descended) = (appendHints[hinted].path, append.leaf, false)
            leaf = MutableNode(base: append.buffer.pointer, pageSize: pageSize, number: append.leaf)
            (position, found) = (append.position, false)
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
        let overflowPage = inline ? 0 : try writeOverflow(value)
        // The leaf may have moved in the dirty set's eyes if overflow allocation freed nothing;
        // MutableNode points at the same buffer, which stays in `dirty`.
        let sequential = leaf.noteInsert(at: position)
        let inserted = inline ? try leaf.insertLeaf(Cell.ParsedLeaf(inline: key, value: value), at: position)
                              : try Cell.withLeaf(key: key, value: nil, valueLength: value.count, overflowPage: overflowPage) { cell in
                                  try leaf.insertCell(cell, at: position)
                              }
        if !inserted {
            try Cell.withLeaf(key: key, value: inline ? value : nil, valueLength: value.count, overflowPage: overflowPage) { cell in
                try split(page: leafPage, path: path, position: position, cell: Array(cell), root: root, sequential: sequential)
            }
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

    /// Where `root`'s tree is in `appendHints` (BT-5), if it is.
    @inline(__always)
    private func appendHintIndex(_ root: UInt32) -> Int? {
        for i in appendHints.indices where appendHints[i].root == root { return i }
        return nil
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
        appendHints.removeAll { $0.root == root }  // BT-5: this tree's path changes
        var path = path
        var page = page
        if page == root {
            // BT-4: the root stays put; its cells move to a new child, which then splits.
            let (child, buffer) = try allocatePage()
            let rootBuffer = try writable(root)
            buffer.pointer.copyMemory(from: rootBuffer.pointer, byteCount: pageSize)
            NodeLayout.initialize(rootBuffer.pointer, pageSize: pageSize, type: .interior)
            rootBuffer.pointer.setU32(16, child)
            path.append((root, 0))
            page = child
        }
        let (view, _) = try node(page)
        let count = view.count
        var sequential = sequential
        if sequential, position == count, view.isLeaf, try !isRightmost(path),
           try !Self.isOneRun(view, extendedBy: cell, page: page) {
            // Keys arriving at the end of a leaf that holds several runs (the ends of a few
            // small users' runs in a `(user_id, created_at)` index): a page for the last run
            // alone would stay nearly empty while that run grows slowly. Share or split
            // between runs instead, as for any other insert.
            sequential = false
        }
        let atEnd = sequential && position == count
        if view.isLeaf, !atEnd, try shareWithSibling(page: page, path: path, position: position, cell: cell, run: sequential) { return }
        let (newPage, up) = atEnd
            ? try splitAtEnd(page: page, cell: cell)
            : try splitBalanced(page: page, position: position, cell: cell, sequential: sequential)
        assert(keysAreSeparated(left: page, right: newPage, by: Cell.key(of: up, leaf: false)),
               "BT-1, BT-2: a split left keys out of order or on the wrong side of the separator")
        guard let (parentPage, index) = path.popLast() else {
            throw GuildStoreError.corruptPage(page: page, reason: "split below a missing parent")
        }
        // The parent's pointer at `index` referenced `page`; it now references the right half,
        // and the new cell before it references the left half (BT-2).
        let parent = try writableNode(parentPage)
        try parent.setChild(index, to: newPage)
        let parentSequential = parent.noteInsert(at: index)
        let inserted = try up.withUnsafeBytes { try parent.insertCell($0, at: index) }
        if !inserted {
            try split(page: parentPage, path: path, position: index, cell: up, root: root, sequential: parentSequential)
        }
    }

    /// Whether the leaf's keys and the new full cell's key form one run: the new key shares
    /// at least half as many leading bytes with the leaf's first key as with its last.
    private static func isOneRun(_ leaf: Node, extendedBy cell: [UInt8], page: UInt32) throws -> Bool {
        try cell.withUnsafeBytes { raw in
            let key = try Cell.parseLeaf(raw, page: page).key
            let withFirst = try leaf.withKey(0) { commonPrefix($0, key) }
            let withLast = try leaf.withKey(leaf.count - 1) { commonPrefix($0, key) }
            return withFirst * 2 >= withLast
        }
    }

    /// Instead of a split, moves cells between the full leaf `page` (taking the new `cell` at
    /// `position`) and a sibling under the same parent (B*-tree style; SQLite balances three
    /// siblings the same way). In a `run` the cells after the new one go to the right sibling
    /// when they fit there, so the run keeps growing at the end of its leaf; otherwise, when
    /// the sibling with the most free room has at least a quarter of a page free, the two
    /// leaves end up with about the same bytes, cut by `LeafCells.cut`. Leaves of indexes that grow
    /// at thousands of places (`(user_id, created_at)`, `(guild_id, user_id)`) then stay
    /// fuller than the 69 % that splits in halves leave. Returns false, having changed
    /// nothing, when no sibling has the room or the parent cannot take the new separator.
    private func shareWithSibling(page: UInt32, path: [PathEntry], position: Int, cell: [UInt8], run: Bool) throws -> Bool {
        guard let (parentPage, index) = path.last else { return false }
        let usable = pageSize - NodeLayout.headerSize
        let parentView = try node(parentPage).0
        var best: (page: UInt32, isLeft: Bool, free: Int)?
        for isLeft in run ? [false] : [true, false] {
            let siblingIndex = isLeft ? index - 1 : index + 1
            guard siblingIndex >= 0, siblingIndex <= parentView.count else { continue }
            let sibling = try parentView.child(siblingIndex)
            let (view, ref) = try node(sibling)
            guard withExtendedLifetime(ref.owner, { view.isLeaf }) else {
                throw GuildStoreError.corruptPage(page: parentPage, reason: "leaf \(page) has a sibling \(sibling) that is not a leaf")
            }
            let free = withExtendedLifetime(ref.owner) { view.gapBytes + view.fragmented }
            if free >= (run ? 0 : usable / 8), free > best?.free ?? 0 { best = (sibling, isLeft, free) }
        }
        guard let best else { return false }
        let (leftPage, rightPage) = best.isLeft ? (best.page, page) : (page, best.page)
        let left = try writableNode(leftPage), right = try writableNode(rightPage)
        let at = best.isLeft ? (try left.node.count) + position : position
        let separatorIndex = best.isLeft ? index - 1 : index
        let parent = try writableNode(parentPage)
        return try cell.withUnsafeBytes { newCell in
            try LeafCells.with([left, right], inserting: newCell, at: at, pageSize: pageSize) { cells in
                let cut = run ? position + 1 : cells.cut()
                guard cut > 0, cut < cells.count, cells.storedBytes(0..<cut) <= usable,
                      cells.storedBytes(cut..<cells.count) <= usable else { return false }
                // The parent's cell between the two leaves points at the left one and takes the
                // new separator (BT-2): it must fit where the old one was.
                let separator = Cell.separator(after: cells.key(cut - 1), before: cells.key(cut))
                let parentCell = separator.withUnsafeBytes { Cell.interior(child: leftPage, key: $0) }
                let parentNode = try parent.node
                guard parentCell.count <= parentNode.gapBytes + parentNode.fragmented + (try parentNode.cellSize(separatorIndex)) else {
                    return false
                }
                try cells.write(0..<cut, into: left)
                try cells.write(cut..<cells.count, into: right)
                assert(keysAreSeparated(left: leftPage, right: rightPage, by: separator),
                       "BT-1, BT-2: a share left keys out of order or on the wrong side of the separator")
                try parent.removeCell(at: separatorIndex)
                guard try parentCell.withUnsafeBytes({ try parent.insertCell($0, at: separatorIndex) }) else {
                    throw GuildStoreError.corruptPage(page: parentPage, reason: "a separator does not fit where a longer one was")
                }
                return true
            }
        }
    }

    /// Divides the node's cells and the new one between the node and a new right sibling: a
    /// leaf in a `sequential` run at `position` at that point when the cells before it hold at
    /// least half the bytes, otherwise by bytes. Returns the sibling and the cell for the parent.
    private func splitBalanced(page: UInt32, position: Int, cell: [UInt8], sequential: Bool) throws -> (UInt32, [UInt8]) {
        let node = try writableNode(page)
        let view = try node.node
        let (newPage, newBuffer) = try allocatePage()
        let right = MutableNode(base: newBuffer.pointer, pageSize: pageSize, number: newPage)
        if view.isLeaf {
            // In a run, the run's side keeps the new cell when it fits there: the cells after
            // it (the next guild's) go right, and the run goes on at the left page's end with
            // the longer prefix of its own keys (BT-6). Else the cells before the run stay and
            // the new cell goes right when they fill half the bytes. BT-3: cells that came from
            // one page fit one page, and half of the bytes plus one cell fit too.
            let usable = pageSize - NodeLayout.headerSize
            let separator = try cell.withUnsafeBytes { newCell in
                try LeafCells.with([node], inserting: newCell, at: position, pageSize: pageSize) { cells in
                    var cut = cells.cut()
                    var runOnLeft = false, runOnRight = false
                    if sequential, position + 1 < cells.count {
                        if cells.storedBytes(0..<(position + 1)) <= usable {
                            (cut, runOnLeft) = (position + 1, true)
                        } else {
                            let before = (0..<position).reduce(0) { $0 + cells.fullBytes($1) }
                            let all = (0..<cells.count).reduce(0) { $0 + cells.fullBytes($1) }
                            if before * 2 >= all { (cut, runOnRight) = (position, true) }
                        }
                    }
                    try cells.write(0..<cut, into: node)
                    try cells.write(cut..<cells.count, into: right)
                    if runOnLeft { (node.appendRun, node.lastInsert) = (1, position) }
                    if runOnRight { right.appendRun = 1 }  // the run goes on at the right page's slot 0
                    return Cell.separator(after: cells.key(cut - 1), before: cells.key(cut))
                }
            }
            return (newPage, separator.withUnsafeBytes { Cell.interior(child: page, key: $0) })
        }
        var cells = try (0..<view.count).map { try view.cellBytes($0) }
        cells.insert(cell, at: position)
        let middle = Self.interiorCut(cells)
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

    /// The cut index that divides an interior node's cells most evenly by bytes: the cell at
    /// the cut moves up, and each side keeps at least one cell.
    static func interiorCut(_ cells: [[UInt8]]) -> Int {
        let total = cells.reduce(0) { $0 + $1.count + NodeLayout.slotSize }
        var left = 0
        for (i, cell) in cells.enumerated() {
            let size = cell.count + NodeLayout.slotSize
            if left + size / 2 >= total / 2 { return min(max(1, i), cells.count - 2) }
            left += size
        }
        return cells.count - 2
    }
}
