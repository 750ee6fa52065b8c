/// A key range for scans. Bounds are inclusive or exclusive; nil is unbounded.
@_spi(Benchmarks) public struct KeyRange: Sendable, Equatable {
    @_spi(Benchmarks) public enum Bound: Sendable, Equatable {
        case inclusive([UInt8])
        case exclusive([UInt8])

        var key: [UInt8] {
            switch self {
            case .inclusive(let key), .exclusive(let key): key
            }
        }
    }

    package var lower: Bound?
    package var upper: Bound?
    /// Walk from the upper end down.
    package var reverse: Bool

    @_spi(Benchmarks) public init(lower: Bound? = nil, upper: Bound? = nil, reverse: Bool = false) {
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
    }

    /// Keys that start with `prefix`.
    package static func prefix(_ prefix: [UInt8], reverse: Bool = false) -> KeyRange {
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
package enum SeekRule: Sendable {
    /// The smallest key >= the sought one.
    case atOrAfter
    /// The largest key <= the sought one.
    case atOrBefore
}

/// A position in one tree. Valid only within its transaction; in a write transaction, any
/// write to the tree invalidates it (seek again).
package struct Cursor {
    struct Level {
        var ref: PageRef
        var node: Node
        var index: Int
    }

    static let maximumDepth = 48

    let transaction: Transaction
    let root: UInt32
    var stack: [Level] = []
    package private(set) var isValid = false
    /// DISK-5: pages pushed since the cursor was positioned or turned around, and the most a
    /// sound tree allows. A walk in one direction pushes each page of a tree at most once, so
    /// more pushes than the database has pages means a page is reached twice (children
    /// shared by several parents, 2^depth paths): the walk stops instead of taking them all.
    private var pushes = 0
    private let pushBudget: Int
    private var forward = true

    init(transaction: Transaction, root: UInt32) {
        self.transaction = transaction
        self.root = root
        pushBudget = Int(transaction.header.pageCount)
        stack.reserveCapacity(8)
    }

    private mutating func push(_ page: UInt32, index: Int) throws {
        guard stack.count < Self.maximumDepth else {
            throw GuildStoreError.corruptPage(page: page, reason: "tree deeper than \(Self.maximumDepth) levels (a cycle?)")
        }
        pushes += 1
        guard pushes <= pushBudget else {
            throw GuildStoreError.corruptPage(page: page, reason: "reached again: a walk of the tree passed more pages than the database's \(pushBudget) (children shared by two parents?)")
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

    package mutating func first() throws -> Bool {
        stack.removeAll(keepingCapacity: true)
        pushes = 0
        try descendEdge(from: root, leftmost: true)
        return try settle(forward: true)
    }

    package mutating func last() throws -> Bool {
        stack.removeAll(keepingCapacity: true)
        pushes = 0
        try descendEdge(from: root, leftmost: false)
        return try settle(forward: false)
    }

    package mutating func seek(_ key: [UInt8], _ rule: SeekRule = .atOrAfter) throws -> Bool {
        try key.withUnsafeBytes { try seek($0, rule) }
    }

    package mutating func seek(_ key: UnsafeRawBufferPointer, _ rule: SeekRule = .atOrAfter) throws -> Bool {
        stack.removeAll(keepingCapacity: true)
        pushes = 0
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

    package mutating func next() throws -> Bool {
        guard isValid else { return false }
        stack[stack.count - 1].index += 1
        return try settle(forward: true)
    }

    package mutating func previous() throws -> Bool {
        guard isValid else { return false }
        stack[stack.count - 1].index -= 1
        return try settle(forward: false)
    }

    /// Makes the leaf position valid, moving across leaves (and over empty ones) as needed.
    /// (Levels are read in place, never copied: a copy would count a reference to its page.)
    private mutating func settle(forward: Bool) throws -> Bool {
        if forward != self.forward {
            self.forward = forward
            pushes = 0  // DISK-5: a walk the other way
        }
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
    /// the cursor invalid. O(leaves), not O(entries). Invariant (QP-2): the total equals
    /// counting the entries one by one.
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
    package func withKey<T>(_ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard isValid else { throw GuildStoreError.corruptPage(page: root, reason: "cursor is not on an entry") }
        let leaf = stack[stack.count - 1]
        return try withExtendedLifetime(leaf.ref.owner) { try leaf.node.withKey(leaf.index, body) }
    }

    /// The current key and value, valid only inside `body`. The leaf's page stays alive
    /// through the stack, which cannot change during the call.
    package func withEntry<T>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard isValid else { throw GuildStoreError.corruptPage(page: root, reason: "cursor is not on an entry") }
        let node = stack[stack.count - 1].node
        let cell = try node.leafCell(stack[stack.count - 1].index)
        // The closures capture only what they use: one that captured the cursor would count a
        // reference to its transaction and its stack per entry.
        guard let inline = cell.inlineValue else {
            let value = try transaction.readOverflow(first: cell.overflowPage, length: cell.valueLength)
            return try value.withUnsafeBytes { value in try node.withKey(suffix: cell.suffix) { try body($0, value) } }
        }
        return try node.withKey(suffix: cell.suffix) { try body($0, inline) }
    }

    /// Calls `body` with each entry from the current one on, in key order (or reverse), that
    /// `bounds` admits, until `body` returns false (the cursor stays on that entry) or the
    /// entries or the bounds end (the cursor is then invalid). The cursor must be at or past
    /// the bound it starts from (`seek` puts it there); a key equal to an exclusive start
    /// bound is skipped. `key` and `value` are valid only inside `body`.
    ///
    /// The scan loop, a leaf at a time: the leaf's prefix is copied into a key buffer once and
    /// only each cell's suffix after it (BT-6); cells are read in place, with no reference
    /// counted per entry. Every key is checked against both bounds (a memcmp each), so a
    /// damaged leaf whose keys are out of order (BT-1 broken) still yields only keys in the
    /// bounds; the walk ends at the first key past the end bound.
    mutating func forEach(forward: Bool, within bounds: KeyBounds,
                          _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try withUnsafeTemporaryAllocation(byteCount: LeafKeyBuffer.stackCapacity, alignment: 8) { stackBytes in
            var keys = LeafKeyBuffer(stackBytes)
            defer { keys.deallocate() }
            let checksStart = (forward ? bounds.lower : bounds.upper) != nil
            let checksEnd = (forward ? bounds.upper : bounds.lower) != nil
            while isValid {
                let top = stack.count - 1
                // The node's bytes stay alive through the stack, which `body` cannot change.
                let node = stack[top].node
                keys.load(prefixOf: node)
                let end = forward ? node.count - 1 : 0
                var index = stack[top].index
                while forward ? index <= end : index >= end {
                    let cell = try node.scanCell(index)
                    let key = keys.key(suffix: cell.suffix)
                    if checksEnd, !(forward ? bounds.admitsBelow(key) : bounds.admitsAbove(key)) {
                        isValid = false
                        return
                    }
                    if checksStart, !(forward ? bounds.admitsAbove(key) : bounds.admitsBelow(key)) {
                        index += forward ? 1 : -1
                        continue
                    }
                    let proceed: Bool
                    if !cell.overflow {
                        proceed = try body(key, cell.rest)
                    } else {
                        let value = try transaction.readOverflow(first: cell.rest.baseAddress!.u32(0), length: cell.valueLength)
                        proceed = try value.withUnsafeBytes { try body(key, $0) }
                    }
                    if !proceed {
                        stack[top].index = index
                        return
                    }
                    index += forward ? 1 : -1
                }
                stack[top].index = index
                _ = try settle(forward: forward)
            }
        }
    }

    package var key: [UInt8] { get throws { try withKey { Array($0) } } }
    package var value: [UInt8] { get throws { try withEntry { Array($1) } } }
}

/// The whole keys of one leaf at a time, for the scan loop (`Cursor.forEach`): the leaf's
/// prefix is copied in once (`load`), then each key's suffix after it (`key`), so a key costs
/// one copy of its suffix. Lives on the caller's stack; a key longer than that moves it to the
/// heap, once per scan (a key and its prefix lie in one page, so a page's bytes hold any key).
struct LeafKeyBuffer {
    /// Bytes on the stack: more than any key of a 4 KiB page (`StorageEngine.maximumKeySize`).
    static let stackCapacity = 1024

    private var bytes: UnsafeMutableRawBufferPointer
    private var onHeap = false
    /// The loaded leaf's prefix, where its page holds it.
    private var prefix = UnsafeRawBufferPointer(start: nil, count: 0)
    private var pageSize = 0

    init(_ stackBytes: UnsafeMutableRawBufferPointer) { bytes = stackBytes }

    /// Copies `node`'s prefix to the start of the buffer.
    @inline(__always)
    mutating func load(prefixOf node: Node) {
        prefix = node.prefix
        pageSize = node.pageSize
        if prefix.count > bytes.count { grow(to: prefix.count) }
        if prefix.count > 0 { bytes.baseAddress!.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
    }

    /// The loaded leaf's prefix followed by `suffix` (`suffix` itself without a prefix), valid
    /// until the next call.
    @inline(__always)
    mutating func key(suffix: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard prefix.count > 0 else { return suffix }
        let length = prefix.count + suffix.count
        if length > bytes.count { grow(to: length) }
        if suffix.count > 0 {
            (bytes.baseAddress! + prefix.count).copyMemory(from: suffix.baseAddress!, byteCount: suffix.count)
        }
        return UnsafeRawBufferPointer(start: bytes.baseAddress, count: length)
    }

    private mutating func grow(to length: Int) {
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(length, pageSize), alignment: 8)
        if onHeap { bytes.deallocate() }
        bytes = grown
        onHeap = true
        if prefix.count > 0 { bytes.baseAddress!.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
    }

    /// Frees the heap buffer, if the scan needed one.
    func deallocate() {
        if onHeap { bytes.deallocate() }
    }
}

extension Transaction {
    /// A cursor on `tree`, positioned nowhere until `first`, `last` or `seek`.
    package final func cursor(_ tree: Tree) throws -> Cursor {
        Cursor(transaction: self, root: try root(of: tree))
    }

    /// Calls `body` for each entry of `tree` in `range`, in key order (or reverse), until it
    /// returns false. Streams: nothing is materialized.
    @_spi(Benchmarks) public final func scan(_ tree: Tree, _ range: KeyRange = KeyRange(),
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
    package final func entries(_ tree: Tree, _ range: KeyRange = KeyRange(), limit: Int = .max) throws -> [(key: [UInt8], value: [UInt8])] {
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
        let positioned: Bool
        if !range.reverse {
            if let lower = range.lower { positioned = try cursor.seek(lower.key, .atOrAfter) } else { positioned = try cursor.first() }
        } else {
            if let upper = range.upper { positioned = try cursor.seek(upper.key, .atOrBefore) } else { positioned = try cursor.last() }
        }
        guard positioned else { return }
        try cursor.forEach(forward: !range.reverse, within: bounds, body)
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
