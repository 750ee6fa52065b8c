/// Insertion and splits.
///
/// Split policy: a node that overflows while keys arrive in increasing order at its end (this
/// insert and the previous one both appended: snowflake ids, timestamps, per-guild
/// sequences) keeps all its cells and sends only the new cell to the new right page, so
/// sequential loads leave nodes nearly full. Any other split divides the cells by bytes, so
/// random inserts that happen to land at a node's end do not leave it nearly empty.
extension WriteTransaction {
    typealias PathEntry = (page: UInt32, index: Int)

    /// Descends to the leaf for `key`, recording the child index taken at each level.
    func pathToLeaf(_ key: UnsafeRawBufferPointer, root: UInt32) throws -> (path: [PathEntry], leaf: UInt32) {
        var path: [PathEntry] = []
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

    func insert(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, root: UInt32) throws {
        let (path, leafPage) = try pathToLeaf(key, root: root)
        let leaf = try writableNode(leafPage)
        let (position, found) = try leaf.node.lowerBound(key)
        if found {
            let old = try leaf.node.leafCell(position)
            if old.inlineValue == nil { try freeOverflow(first: old.overflowPage, length: old.valueLength) }
            try leaf.removeCell(at: position)
        }
        let cell: [UInt8]
        if Cell.leafSize(keyLength: key.count, valueLength: value.count, overflow: false) <= NodeLayout.maxCellSize(pageSize: pageSize) {
            cell = Cell.leaf(key: key, value: value, valueLength: value.count, overflowPage: 0)
        } else {
            let first = try writeOverflow(value)
            cell = Cell.leaf(key: key, value: nil, valueLength: value.count, overflowPage: first)
        }
        // The leaf may have moved in the dirty set's eyes if overflow allocation freed nothing;
        // MutableNode points at the same buffer, which stays in `dirty`.
        let sequential = leaf.noteInsert(at: position)
        let inserted = try cell.withUnsafeBytes { try leaf.insertCell($0, at: position) }
        if !inserted {
            try split(page: leafPage, path: path, position: position, cell: cell, root: root, sequential: sequential)
        }
    }

    /// Inserts `cell` at `position` into the full node `page`, splitting it and, as needed,
    /// its ancestors.
    private func split(page: UInt32, path: [PathEntry], position: Int, cell: [UInt8], root: UInt32, sequential: Bool) throws {
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
        let node = try writableNode(page)
        let view = try node.node
        let isLeaf = view.isLeaf
        let count = view.count
        var cells = try (0..<count).map { try view.cellBytes($0) }
        cells.insert(cell, at: position)
        let rightChild = view.rightChild
        let (newPage, newBuffer) = try allocatePage()
        let right = MutableNode(base: newBuffer.pointer, pageSize: pageSize, number: newPage)
        let up: [UInt8]
        if isLeaf {
            let cut = sequential ? count : Self.balancedCut(cells, leaf: true)
            try node.rebuild(cells: cells[..<cut], rightChild: 0, type: .leaf)
            try right.rebuild(cells: cells[cut...], rightChild: 0, type: .leaf)
            let separator = Cell.separator(after: Cell.key(of: cells[cut - 1], leaf: true),
                                           before: Cell.key(of: cells[cut], leaf: true))
            up = separator.withUnsafeBytes { Cell.interior(child: page, key: $0) }
        } else {
            let middle = sequential ? count : Self.balancedCut(cells, leaf: false)
            let upKey = Cell.key(of: cells[middle], leaf: false)
            try node.rebuild(cells: cells[..<middle], rightChild: Cell.child(of: cells[middle]), type: .interior)
            try right.rebuild(cells: cells[(middle + 1)...], rightChild: rightChild, type: .interior)
            up = upKey.withUnsafeBytes { Cell.interior(child: page, key: $0) }
        }
        // The new right node is where the next increasing key lands: keep the run going.
        right.appendRun = sequential ? 1 : 0
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
