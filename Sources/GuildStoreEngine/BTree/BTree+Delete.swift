/// Deletion and rebalancing.
///
/// A node that falls under a quarter full after a delete merges with a sibling when the two
/// fit one page; the parent loses a separator and may merge in turn. A root interior node
/// left with a single child takes that child's cells (BT-4), so the tree gets shorter.
extension WriteTransaction {
    func remove(key: UnsafeRawBufferPointer, root: UInt32) throws -> Bool {
        pageWrites &+= 1
        appendHints.removeAll()  // BT-5: merges reshape the tree
        let (path, leafPage) = try pathToLeaf(key, root: root)
        let (view, _) = try node(leafPage)
        let (position, found) = try view.lowerBound(key)
        guard found else { return false }
        let leaf = try writableNode(leafPage)
        let cell = try leaf.node.leafCell(position)
        if cell.inlineValue == nil { try freeOverflow(first: cell.overflowPage, length: cell.valueLength) }
        try leaf.removeCell(at: position)
        try rebalance(page: leafPage, path: path, root: root)
        return true
    }

    /// Invariant (BT-7): removes exactly those of `keys` (sorted ascending, memcmp order) that
    /// the tree at `root` holds, a leaf at a time: one descent finds the leaf of the first key
    /// left, every following key up to that leaf's last key is in that leaf or nowhere (BT-1,
    /// BT-2), so they leave it together and the leaf is rebalanced once. Keys that are absent
    /// are skipped. Returns how many it removed.
    func remove(sorted keys: [[UInt8]], root: UInt32) throws -> Int {
        pageWrites &+= 1
        appendHints.removeAll()  // BT-5: merges reshape the tree
        var removed = 0
        var next = 0
        var positions: [Int] = []
        while next < keys.count {
            let (path, leafPage) = try keys[next].withUnsafeBytes { try pathToLeaf($0, root: root) }
            let (view, ref) = try node(leafPage)
            positions.removeAll(keepingCapacity: true)
            try withExtendedLifetime(ref.owner) {
                guard view.count > 0 else {
                    next += 1
                    return
                }
                let lastKey = try view.withKey(view.count - 1) { Array($0) }
                var first = true
                // The keys ascend, so each one's place is at or after the previous one's.
                var start = 0
                while next < keys.count {
                    // Past the leaf's last key: the next descent's business (or absent).
                    if lastKey.precedes(keys[next]) {
                        if first { next += 1 }  // absent: beyond every key of its leaf
                        break
                    }
                    first = false
                    let (position, found) = try keys[next].withUnsafeBytes { try view.lowerBound($0, from: start) }
                    if found, positions.last != position { positions.append(position) }
                    // A key found is done with: the next (larger, or a repeat, which has
                    // nothing left to remove) is sought from the cell after it.
                    start = found ? position + 1 : position
                    next += 1
                }
            }
            guard !positions.isEmpty else { continue }
            let leaf = try writableNode(leafPage)
            for position in positions.reversed() {
                let cell = try leaf.node.leafCell(position)
                if cell.inlineValue == nil { try freeOverflow(first: cell.overflowPage, length: cell.valueLength) }
                try leaf.removeCell(at: position)
            }
            removed += positions.count
            try rebalance(page: leafPage, path: path, root: root)
        }
        return removed
    }

    private func rebalance(page: UInt32, path: [PathEntry], root: UInt32) throws {
        var path = path
        if page == root {
            try collapseRoot(root)
            return
        }
        let (view, _) = try node(page)
        let capacity = pageSize - NodeLayout.headerSize
        guard view.usedBytes < capacity / 4 else { return }
        guard let (parentPage, index) = path.last else { return }
        let (parentView, _) = try node(parentPage)
        guard parentView.count >= 1 else {
            // An only child (under a keyless interior node, left by a sequential split) has no
            // sibling to merge with: merge its parent with the parent's sibling instead.
            path.removeLast()
            try rebalance(page: parentPage, path: path, root: root)
            return
        }
        // Merge the pair (left, right) that `page` belongs to; the separator is the parent's
        // cell at `leftIndex`.
        let leftIndex = index > 0 ? index - 1 : 0
        let leftPage = try parentView.child(leftIndex)
        let rightPage = try parentView.child(leftIndex + 1)
        let (leftView, _) = try node(leftPage)
        let (rightView, _) = try node(rightPage)
        guard leftView.isLeaf == rightView.isLeaf else {
            throw GuildStoreError.corruptPage(page: parentPage, reason: "siblings \(leftPage) and \(rightPage) sit at different depths")
        }
        var cells = try (0..<leftView.count).map { try leftView.cellBytes($0) }
        let rightChild: UInt32
        if leftView.isLeaf {
            rightChild = 0
        } else {
            let separator = try parentView.storedKey(leftIndex)  // an interior node's whole key
            cells.append(Cell.interior(child: leftView.rightChild, key: separator))
            rightChild = rightView.rightChild
        }
        cells += try (0..<rightView.count).map { try rightView.cellBytes($0) }
        let needed = cells.reduce(0) { $0 + $1.count + NodeLayout.slotSize }
        guard needed <= capacity else { return }

        let left = try writableNode(leftPage)
        try left.rebuild(cells: cells[...], rightChild: rightChild, type: leftView.isLeaf ? .leaf : .interior)
        let parent = try writableNode(parentPage)
        try parent.removeCell(at: leftIndex)
        try parent.setChild(leftIndex, to: leftPage)
        try freePage(rightPage)
        path.removeLast()
        try rebalance(page: parentPage, path: path, root: root)
    }

    /// While the root is an interior node with no keys, pull its only child up (BT-4).
    private func collapseRoot(_ root: UInt32) throws {
        while true {
            let (view, _) = try node(root)
            guard !view.isLeaf, view.count == 0 else { return }
            let child = try view.child(0)
            let childRef = try page(child)
            let rootBuffer = try writable(root)
            childRef.withBase { rootBuffer.pointer.copyMemory(from: $0, byteCount: pageSize) }  // PG-5
            try freePage(child)
        }
    }
}
