/// A key range for scans. Bounds are inclusive or exclusive; nil is unbounded.
public struct KeyRange: Sendable, Equatable {
    public enum Bound: Sendable, Equatable {
        case inclusive([UInt8])
        case exclusive([UInt8])

        var key: [UInt8] {
            switch self {
            case .inclusive(let key), .exclusive(let key): key
            }
        }
    }

    public var lower: Bound?
    public var upper: Bound?
    /// Walk from the upper end down.
    public var reverse: Bool

    public init(lower: Bound? = nil, upper: Bound? = nil, reverse: Bool = false) {
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
    }

    /// Keys that start with `prefix`.
    public static func prefix(_ prefix: [UInt8], reverse: Bool = false) -> KeyRange {
        var upper = prefix
        while let last = upper.last, last == 0xFF { upper.removeLast() }
        if upper.isEmpty { return KeyRange(lower: .inclusive(prefix), reverse: reverse) }
        upper[upper.count - 1] += 1
        return KeyRange(lower: .inclusive(prefix), upper: .exclusive(upper), reverse: reverse)
    }

    /// Calls `body` with the bounds as raw bytes, which a scan checks every key against
    /// without touching the arrays (no reference counting per key).
    func withBounds<T>(_ body: (KeyBounds) throws -> T) rethrows -> T {
        let lowerInclusive = if case .inclusive = lower { true } else { false }
        let upperInclusive = if case .inclusive = upper { true } else { false }
        return try (lower?.key ?? []).withUnsafeBytes { lowerKey in
            try (upper?.key ?? []).withUnsafeBytes { upperKey in
                try body(KeyBounds(lower: lower == nil ? nil : lowerKey, lowerInclusive: lowerInclusive,
                                   upper: upper == nil ? nil : upperKey, upperInclusive: upperInclusive))
            }
        }
    }
}

/// A `KeyRange`'s bounds as bytes lent for one scan.
struct KeyBounds {
    let lower: UnsafeRawBufferPointer?
    let lowerInclusive: Bool
    let upper: UnsafeRawBufferPointer?
    let upperInclusive: Bool

    @inline(__always)
    func admitsAbove(_ key: UnsafeRawBufferPointer) -> Bool {
        guard let lower else { return true }
        let c = compareKeys(key, lower)
        return lowerInclusive ? c >= 0 : c > 0
    }

    @inline(__always)
    func admitsBelow(_ key: UnsafeRawBufferPointer) -> Bool {
        guard let upper else { return true }
        let c = compareKeys(key, upper)
        return upperInclusive ? c <= 0 : c < 0
    }
}

/// Where `Cursor.seek` lands when the key is absent.
public enum SeekRule: Sendable {
    /// The smallest key >= the sought one.
    case atOrAfter
    /// The largest key <= the sought one.
    case atOrBefore
}

/// A position in one tree. Valid only within its transaction; in a write transaction, any
/// write to the tree invalidates it (seek again).
public struct Cursor {
    struct Level {
        var ref: PageRef
        var node: Node
        var index: Int
    }

    static let maximumDepth = 48

    let transaction: Transaction
    let root: UInt32
    var stack: [Level] = []
    public private(set) var isValid = false

    init(transaction: Transaction, root: UInt32) {
        self.transaction = transaction
        self.root = root
        stack.reserveCapacity(8)
    }

    private mutating func push(_ page: UInt32, index: Int) throws {
        guard stack.count < Self.maximumDepth else {
            throw GuildStoreError.corruptPage(page: page, reason: "tree deeper than \(Self.maximumDepth) levels (a cycle?)")
        }
        let (node, ref) = try transaction.node(page)
        stack.append(Level(ref: ref, node: node, index: index))
    }

    /// Descends from `page` along the left (or right) edge to a leaf.
    private mutating func descendEdge(from page: UInt32, leftmost: Bool) throws {
        var page = page
        while true {
            try push(page, index: 0)
            let top = stack[stack.count - 1].node
            let index = leftmost ? 0 : (top.isLeaf ? top.count - 1 : top.count)
            stack[stack.count - 1].index = index
            if top.isLeaf { return }
            page = try top.child(index)
        }
    }

    public mutating func first() throws -> Bool {
        stack.removeAll(keepingCapacity: true)
        try descendEdge(from: root, leftmost: true)
        return try settle(forward: true)
    }

    public mutating func last() throws -> Bool {
        stack.removeAll(keepingCapacity: true)
        try descendEdge(from: root, leftmost: false)
        return try settle(forward: false)
    }

    public mutating func seek(_ key: [UInt8], _ rule: SeekRule = .atOrAfter) throws -> Bool {
        try key.withUnsafeBytes { try seek($0, rule) }
    }

    public mutating func seek(_ key: UnsafeRawBufferPointer, _ rule: SeekRule = .atOrAfter) throws -> Bool {
        stack.removeAll(keepingCapacity: true)
        var page = root
        while true {
            try push(page, index: 0)
            let node = stack[stack.count - 1].node
            if node.isLeaf {
                let (index, found) = try node.lowerBound(key)
                switch rule {
                case .atOrAfter:
                    stack[stack.count - 1].index = index
                    return try settle(forward: true)
                case .atOrBefore:
                    stack[stack.count - 1].index = found ? index : index - 1
                    return try settle(forward: false)
                }
            }
            let index = try node.childIndex(for: key)
            stack[stack.count - 1].index = index
            page = try node.child(index)
        }
    }

    public mutating func next() throws -> Bool {
        guard isValid else { return false }
        stack[stack.count - 1].index += 1
        return try settle(forward: true)
    }

    public mutating func previous() throws -> Bool {
        guard isValid else { return false }
        stack[stack.count - 1].index -= 1
        return try settle(forward: false)
    }

    /// Makes the leaf position valid, moving across leaves (and over empty ones) as needed.
    /// (Levels are read in place, never copied: a copy would count a reference to its page.)
    private mutating func settle(forward: Bool) throws -> Bool {
        while true {
            let top = stack.count - 1
            if stack[top].index >= 0 && stack[top].index < stack[top].node.count {
                isValid = true
                return true
            }
            stack.removeLast()
            if forward {
                while !stack.isEmpty, stack[stack.count - 1].index >= stack[stack.count - 1].node.count { stack.removeLast() }
            } else {
                while !stack.isEmpty, stack[stack.count - 1].index <= 0 { stack.removeLast() }
            }
            guard !stack.isEmpty else {
                isValid = false
                return false
            }
            stack[stack.count - 1].index += forward ? 1 : -1
            let child = try stack[stack.count - 1].node.child(stack[stack.count - 1].index)
            try descendEdge(from: child, leftmost: forward)
        }
    }

    /// Counts the entries from the current one up to `bounds`' upper end (the cursor must be
    /// at or past the lower end), a leaf at a time: a leaf whose last key is in the bounds
    /// counts by its entry count, the leaf where the bounds end by one binary search. Leaves
    /// the cursor invalid. O(leaves), not O(entries).
    mutating func countForward(within bounds: KeyBounds) throws -> Int {
        var total = 0
        while isValid {
            let top = stack.count - 1
            let level = stack[top]
            let count = level.node.count
            let lastAdmitted = try withExtendedLifetime(level.ref.owner) {
                try level.node.withKey(count - 1) { bounds.admitsBelow($0) }
            }
            guard lastAdmitted else {
                guard let upper = bounds.upper else { break }
                let (end, found) = try withExtendedLifetime(level.ref.owner) { try level.node.lowerBound(upper) }
                total += max(0, (found && bounds.upperInclusive ? end + 1 : end) - level.index)
                break
            }
            total += count - level.index
            stack[top].index = count
            _ = try settle(forward: true)
        }
        isValid = false
        return total
    }

    /// The current key, valid only inside `body`.
    public func withKey<T>(_ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard isValid else { throw GuildStoreError.corruptPage(page: root, reason: "cursor is not on an entry") }
        let leaf = stack[stack.count - 1]
        return try withExtendedLifetime(leaf.ref.owner) { try leaf.node.withKey(leaf.index, body) }
    }

    /// The current key and value, valid only inside `body`. The leaf's page stays alive
    /// through the stack, which cannot change during the call.
    public func withEntry<T>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard isValid else { throw GuildStoreError.corruptPage(page: root, reason: "cursor is not on an entry") }
        let node = stack[stack.count - 1].node
        let cell = try node.leafCell(stack[stack.count - 1].index)
        return try node.withKey(suffix: cell.suffix) { key in
            if let inline = cell.inlineValue { return try body(key, inline) }
            let value = try transaction.readOverflow(first: cell.overflowPage, length: cell.valueLength)
            return try value.withUnsafeBytes { try body(key, $0) }
        }
    }

    public var key: [UInt8] { get throws { try withKey { Array($0) } } }
    public var value: [UInt8] { get throws { try withEntry { Array($1) } } }
}

extension Transaction {
    /// A cursor on `tree`, positioned nowhere until `first`, `last` or `seek`.
    public final func cursor(_ tree: Tree) throws -> Cursor {
        Cursor(transaction: self, root: try root(of: tree))
    }

    /// Calls `body` for each entry of `tree` in `range`, in key order (or reverse), until it
    /// returns false. Streams: nothing is materialized.
    public final func scan(_ tree: Tree, _ range: KeyRange = KeyRange(),
                           _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try scan(root: try root(of: tree), range: range, body)
    }

    /// The number of entries of `tree` in `range` (its direction ignored), counted a leaf at
    /// a time (`Cursor.countForward`).
    final func countEntries(_ tree: Tree, _ range: KeyRange) throws -> Int {
        var cursor = Cursor(transaction: self, root: try root(of: tree))
        return try range.withBounds { bounds in
            let positioned = if let lower = range.lower { try cursor.seek(lower.key, .atOrAfter) } else { try cursor.first() }
            guard positioned else { return 0 }
            // `seek` lands on the first key >= the lower bound; an exclusive bound skips it.
            if try !cursor.withKey({ bounds.admitsAbove($0) }), try !cursor.next() { return 0 }
            return try cursor.countForward(within: bounds)
        }
    }

    /// Entries of `tree` in `range`, copied. Prefer `scan` for large ranges.
    public final func entries(_ tree: Tree, _ range: KeyRange = KeyRange(), limit: Int = .max) throws -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        try scan(tree, range) { key, value in
            result.append((Array(key), Array(value)))
            return result.count < limit
        }
        return result
    }

    func scan(root: UInt32, range: KeyRange, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try range.withBounds { bounds in try scan(root: root, range: range, bounds: bounds, body) }
    }

    private func scan(root: UInt32, range: KeyRange, bounds: KeyBounds,
                      _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor = Cursor(transaction: self, root: root)
        var positioned: Bool
        if !range.reverse {
            if let lower = range.lower { positioned = try cursor.seek(lower.key, .atOrAfter) } else { positioned = try cursor.first() }
            while positioned {
                let proceed = try cursor.withEntry { key, value -> Bool? in
                    guard bounds.admitsBelow(key) else { return nil }
                    guard bounds.admitsAbove(key) else { return true }
                    return try body(key, value)
                }
                guard proceed == true else { return }
                positioned = try cursor.next()
            }
        } else {
            if let upper = range.upper { positioned = try cursor.seek(upper.key, .atOrBefore) } else { positioned = try cursor.last() }
            while positioned {
                let proceed = try cursor.withEntry { key, value -> Bool? in
                    guard bounds.admitsAbove(key) else { return nil }
                    guard bounds.admitsBelow(key) else { return true }
                    return try body(key, value)
                }
                guard proceed == true else { return }
                positioned = try cursor.previous()
            }
        }
    }

    /// The point lookup: one descent, no copy for inline values.
    func withValue<T>(_ key: UnsafeRawBufferPointer, root: UInt32, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        var finger: LeafFinger?
        return try withValue(key, root: root, near: &finger, prefetchingNext: false, body)
    }

    /// The point lookup for a run of nearby keys (an index walk fetching rows, whose keys
    /// mostly ascend): when `key` lies within the span of the leaf the previous lookup ended in,
    /// that leaf answers without a descent; otherwise this descends and leaves `finger` on the
    /// leaf it reached. A finger belongs to one transaction; once that transaction writes a
    /// page or ends, it is not trusted again. With `prefetchingNext`, a descent also asks for
    /// the leaf after the one it reaches, where ascending keys go next (a hint).
    func withValue<T>(_ key: UnsafeRawBufferPointer, root: UInt32, near finger: inout LeafFinger?,
                      prefetchingNext: Bool = true, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        if let leaf = finger, leaf.pageWrites == pageWrites, try leaf.node.spans(key) {
            return try withValue(key, leaf: leaf, body)
        }
        var page = root
        var depth = 0
        // The leaf after the one this descent reaches: nearby keys that ascend go there next.
        var nextLeaf: UInt32?
        while true {
            let (node, ref) = try self.node(page)
            if node.isLeaf {
                let leaf = LeafFinger(node: node, ref: ref, pageWrites: pageWrites)
                finger = leaf
                // Its bytes load while this leaf is read.
                if let nextLeaf { prefetchPage(nextLeaf) }
                return try withValue(key, leaf: leaf, body)
            }
            depth += 1
            guard depth < Cursor.maximumDepth else {
                throw GuildStoreError.corruptPage(page: page, reason: "tree deeper than \(Cursor.maximumDepth) levels (a cycle?)")
            }
            (page, nextLeaf) = try withExtendedLifetime(ref.owner) {
                let index = try node.childIndex(for: key)
                // A bad sibling pointer is this lookup's business only when it is read.
                let next = prefetchingNext && index < node.count ? try? node.child(index + 1) : nil
                return (try node.child(index), next)
            }
        }
    }

    private func withValue<T>(_ key: UnsafeRawBufferPointer, leaf: LeafFinger, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try withExtendedLifetime(leaf.ref.owner) {
            let (index, found) = try leaf.node.lowerBound(key)
            guard found else { return nil }
            let cell = try leaf.node.leafCell(index)
            if let inline = cell.inlineValue { return try body(inline) }
            let value = try readOverflow(first: cell.overflowPage, length: cell.valueLength)
            return try value.withUnsafeBytes { try body($0) }
        }
    }
}

/// The leaf a point lookup ended in (`Transaction.withValue(_:root:near:_:)`).
struct LeafFinger {
    let node: Node
    let ref: PageRef
    /// The transaction's `pageWrites` when the leaf was reached.
    let pageWrites: Int
}
