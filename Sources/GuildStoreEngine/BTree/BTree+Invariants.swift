/// Debug-build checks of the B+tree's invariants (`NodeLayout`: BT-1, BT-2, BT-8), called from
/// `assert` next to the code that keeps them, so release builds never run them. Each returns
/// false instead of throwing: a page that cannot be read here fails the assertion.
extension MutableNode {
    /// BT-8: the header fields and every slot lie where `Node.init` and `Node.cellOffset`
    /// require, checked on a page just edited.
    var headerIsConsistent: Bool {
        let page = UnsafeRawPointer(base)
        let count = page.u16(6)
        let contentStart = Int(page.u32(8))
        let prefixLength = page.u8(4) == PageType.leaf.rawValue ? page.u16(22) : 0
        let contentEnd = pageSize - prefixLength
        guard NodeLayout.headerSize + count * NodeLayout.slotSize <= contentStart, contentStart <= contentEnd else {
            return false
        }
        for i in 0..<count {
            let offset = page.u16(NodeLayout.headerSize + i * NodeLayout.slotSize)
            guard offset >= contentStart, offset < contentEnd else { return false }
        }
        return true
    }
}

extension WriteTransaction {
    /// BT-1 and BT-2 across a split or a share between siblings: the keys of `left` and of
    /// `right` are each strictly increasing, every key of `left` is below `separator`, and
    /// every key of `right` is at or above it.
    func keysAreSeparated(left: UInt32, right: UInt32, by separator: [UInt8]) -> Bool {
        guard let leftKeys = try? keys(of: left), let rightKeys = try? keys(of: right) else { return false }
        func increasing(_ keys: [[UInt8]]) -> Bool { zip(keys, keys.dropFirst()).allSatisfy { $0.precedes($1) } }
        return increasing(leftKeys) && increasing(rightKeys)
            && (leftKeys.last.map { $0.precedes(separator) } ?? true)
            && (rightKeys.first.map { !$0.precedes(separator) } ?? true)
    }

    /// Every whole key of node `page`, in slot order.
    private func keys(of page: UInt32) throws -> [[UInt8]] {
        let (node, ref) = try self.node(page)
        return try withExtendedLifetime(ref.owner) {
            try (0..<node.count).map { i in try node.withKey(i) { Array($0) } }
        }
    }
}
