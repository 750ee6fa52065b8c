/// What `Database.check()` found: the file's pages, each tree's shape, and every
/// inconsistency (`isOK` when there is none).
///
/// ```swift
/// let report = try await db.check()
/// if !report.isOK { report.problems.forEach { print($0) } }
/// ```
public struct IntegrityReport: Sendable {
    /// One tree's entries, depth, pages and fill.
    ///
    /// ```swift
    /// let report = try await db.check()
    /// for tree in report.trees { print(tree.name, tree.entries, tree.depth, tree.fillFactor) }
    /// ```
    public struct TreeReport: Sendable {
        public var name: String
        public var entries: Int
        public var depth: Int
        public var leafPages: Int
        public var interiorPages: Int
        public var overflowPages: Int
        /// Bytes used by cells in the tree's nodes over the bytes those nodes could hold.
        public var fillFactor: Double
    }

    public var pageCount: Int
    public var freePages: Int
    public var trees: [TreeReport]
    /// Every inconsistency found; empty when the database is sound.
    public var problems: [String]

    public var isOK: Bool { problems.isEmpty }

    /// Share of node bytes not holding data: free pages plus the unused space in nodes.
    public var fragmentation: Double {
        var capacity = Double(freePages), unused = Double(freePages)
        for tree in trees {
            let nodes = Double(tree.leafPages + tree.interiorPages)
            capacity += nodes
            unused += nodes * (1 - tree.fillFactor)
        }
        return capacity == 0 ? 0 : unused / capacity
    }
}

extension StorageEngine {
    /// Walks every page reachable from the header on a snapshot of the last commit: the
    /// catalog, each tree (key order, separator bounds, equal leaf depth, overflow chains) and
    /// the free list, and checks that every page is used exactly once. Checksums are verified
    /// as pages are read.
    @_spi(Benchmarks) public func check() throws -> IntegrityReport {
        try read { tx in try check(tx) }
    }

    /// `check()` on the snapshot `tx` holds.
    func check(_ tx: ReadTransaction) throws -> IntegrityReport {
        var checker = IntegrityChecker(tx)
        return try checker.run()
    }
}

private struct IntegrityChecker {
    let tx: ReadTransaction
    let header: DatabaseHeader
    /// Who claimed each page: 0 for no one, else 1 + an index into `ownerNames`. Dense, one
    /// entry per page of the header's count (bounded by the file's size at open): a claim is
    /// an array store, not a hashed insert of a name.
    var owners: [UInt32]
    var ownerNames: [String] = []
    var ownerIndex: [String: UInt32] = [:]
    var claimed = 0
    var problems: [String] = []

    init(_ tx: ReadTransaction) {
        self.tx = tx
        self.header = tx.header
        self.owners = [UInt32](repeating: 0, count: Int(tx.header.pageCount))
    }

    /// The owner number of `name` for `claim` (names are few: one per tree, its overflow, the free list).
    mutating func owner(_ name: String) -> UInt32 {
        if let known = ownerIndex[name] { return known }
        ownerNames.append(name)
        let id = UInt32(ownerNames.count)
        ownerIndex[name] = id
        return id
    }

    mutating func run() throws -> IntegrityReport {
        var reports: [IntegrityReport.TreeReport] = []
        reports.append(try checkTree(name: "(catalog)", root: header.catalogRoot))
        let trees: [Tree]
        do {
            trees = try tx.trees()
        } catch let error as GuildStoreError {
            problems.append("catalog: \(error)")
            trees = []
        }
        for tree in trees {
            guard tree.root > 0, tree.root < header.pageCount else {
                problems.append("tree \(tree.name): root page \(tree.root) out of range")
                continue
            }
            reports.append(try checkTree(name: tree.name, root: tree.root))
        }
        let free = try checkFreeList()
        if free != Int(header.freePageCount) {
            problems.append("free list holds \(free) pages, header says \(header.freePageCount)")
        }
        let used = claimed + 1
        if used != Int(header.pageCount) {
            // Lazy: the first 10 pages no one claimed.
            let owners = self.owners
            let missing = (1..<header.pageCount).lazy.filter { owners[Int($0)] == 0 }.prefix(10)
            problems.append("\(Int(header.pageCount) - used) pages are neither in use nor free (first: \(missing.map(String.init).joined(separator: ", ")))")
        }
        return IntegrityReport(pageCount: Int(header.pageCount), freePages: free, trees: reports, problems: problems)
    }

    @inline(__always)
    private mutating func claim(_ page: UInt32, for name: String) -> Bool {
        claim(page, by: owner(name), name: name)
    }

    private mutating func claim(_ page: UInt32, by id: UInt32, name: String) -> Bool {
        guard page > 0, page < header.pageCount else {
            problems.append("\(name): page \(page) out of range")
            return false
        }
        let previous = owners[Int(page)]
        if previous != 0 {
            problems.append("page \(page) is used by both \(ownerNames[Int(previous) - 1]) and \(name)")
            return false
        }
        owners[Int(page)] = id
        claimed += 1
        return true
    }

    private struct Totals {
        var entries = 0, leaves = 0, interiors = 0, overflow = 0, used = 0, capacity = 0
        var leafDepth: Int?
    }

    /// One tree's owner numbers and name for `claim`.
    private struct Owner {
        var name: String
        var id: UInt32
        var overflowName: String
        var overflowID: UInt32
    }

    private mutating func checkTree(name: String, root: UInt32) throws -> IntegrityReport.TreeReport {
        var totals = Totals()
        let overflowName = "\(name) overflow"
        let who = Owner(name: name, id: owner(name), overflowName: overflowName, overflowID: owner(overflowName))
        try walk(who, page: root, depth: 1, lower: nil, upper: nil, totals: &totals)
        return .init(name: name, entries: totals.entries, depth: totals.leafDepth ?? 0,
                     leafPages: totals.leaves, interiorPages: totals.interiors, overflowPages: totals.overflow,
                     fillFactor: totals.capacity == 0 ? 0 : Double(totals.used) / Double(totals.capacity))
    }

    private mutating func walk(_ who: Owner, page: UInt32, depth: Int, lower: [UInt8]?, upper: [UInt8]?, totals: inout Totals) throws {
        let name = who.name
        guard claim(page, by: who.id, name: name) else { return }
        guard depth <= Cursor.maximumDepth else {
            problems.append("\(name): deeper than \(Cursor.maximumDepth) levels at page \(page)")
            return
        }
        let node: Node
        let ref: PageRef
        do {
            (node, ref) = try tx.node(page)
        } catch let error as GuildStoreError {
            problems.append("\(name): page \(page): \(error)")
            return
        }
        // A cell the node's header cannot place is a problem to report, like a page that
        // cannot be read: `check` names damage, it does not stop at the first.
        do {
            try checkNode(node, ref, who, page: page, depth: depth, lower: lower, upper: upper, totals: &totals)
        } catch let error as GuildStoreError {
            problems.append("\(name): page \(page): \(error)")
        }
    }

    private mutating func checkNode(_ node: Node, _ ref: PageRef, _ who: Owner, page: UInt32, depth: Int,
                                    lower: [UInt8]?, upper: [UInt8]?, totals: inout Totals) throws {
        let name = who.name
        try withExtendedLifetime(ref.owner) {
            totals.used += node.usedBytes
            totals.capacity += tx.pageSize - NodeLayout.headerSize
            // BT-1 and BT-2: strictly increasing, >= the lower bound, < the upper bound. Keys
            // are compared where they lie in the page (a leaf's keys share its prefix, so two
            // of its keys compare as their suffixes do); only an interior node's keys, its
            // children's bounds, are copied.
            let interior = !node.isLeaf
            var keys: [[UInt8]] = []
            var cellBytes = 0
            var overflowCells = true
            if !interior, let sound = Self.soundLeaf(node, lower: lower, upper: upper) {
                // A sound leaf (the common case) in one pass: what the loops below would find
                // in it is nothing, and its cells' sizes.
                cellBytes = sound.cellBytes
                overflowCells = sound.overflowCells
            } else {
                if interior { keys.reserveCapacity(node.count) }
                var previous: UnsafeRawBufferPointer?
                for i in 0..<node.count {
                    let stored = try node.storedKey(i)
                    if let previous, compareKeys(previous, stored) >= 0 {
                        problems.append("\(name): page \(page) key \(i) out of order")
                    }
                    if i == 0, let lower, try lower.withUnsafeBytes({ try node.compareKey(0, $0) }) < 0 {
                        problems.append("\(name): page \(page) key 0 below its parent's separator")
                    }
                    if let upper, try upper.withUnsafeBytes({ try node.compareKey(i, $0) }) >= 0 {
                        problems.append("\(name): page \(page) key \(i) not below its parent's separator")
                    }
                    if interior { keys.append(Array(stored)) }
                    previous = stored
                }
                for i in 0..<node.count { cellBytes += try node.cellSize(i) }
            }
            // DISK-6: the content area holds the cells and the holes the fragmented-bytes field
            // counts, nothing else (an insert trusts the field to find room).
            let holes = node.contentEnd - node.contentStart - cellBytes
            if holes != node.fragmented {
                problems.append("\(name): page \(page) counts \(node.fragmented) fragmented bytes, its content area has \(holes) outside its cells")
            }
            if node.isLeaf {
                totals.leaves += 1
                totals.entries += node.count
                if let expected = totals.leafDepth, expected != depth {
                    problems.append("\(name): leaf \(page) at depth \(depth), others at \(expected)")
                }
                totals.leafDepth = totals.leafDepth ?? depth
                for i in 0..<node.count where overflowCells {
                    let cell = try node.leafCell(i)
                    if cell.inlineValue == nil {
                        do {
                            for overflow in try tx.overflowPages(first: cell.overflowPage, length: cell.valueLength) {
                                if claim(overflow, by: who.overflowID, name: who.overflowName) { totals.overflow += 1 }
                            }
                        } catch let error as GuildStoreError {
                            problems.append("\(name): overflow chain of page \(page) cell \(i): \(error)")
                        }
                    }
                }
            } else {
                totals.interiors += 1
                for i in 0...node.count {
                    let childLower = i == 0 ? lower : keys[i - 1]
                    let childUpper = i == node.count ? upper : keys[i]
                    try walk(who, page: try node.child(i), depth: depth + 1, lower: childLower, upper: childUpper, totals: &totals)
                }
            }
        }
    }

    /// One pass over a leaf that has nothing to report: every cell readable (`leafCell`, whose
    /// checks include `storedKey`'s), keys strictly increasing, the first at or above `lower`
    /// and the last below `upper` (with the keys in order, every key is then below it). Returns
    /// the cells' bytes and whether any value overflows; nil when anything is amiss, and the
    /// caller then runs the checks key by key, which name each problem.
    private static func soundLeaf(_ node: Node, lower: [UInt8]?, upper: [UInt8]?) -> (cellBytes: Int, overflowCells: Bool)? {
        let count = node.count
        var cellBytes = 0
        var overflowCells = false
        var previous: UnsafeRawBufferPointer?
        for i in 0..<count {
            guard let cell = try? node.leafCell(i) else { return nil }
            if let previous, compareKeys(previous, cell.suffix) >= 0 { return nil }
            cellBytes += cell.size
            if cell.inlineValue == nil { overflowCells = true }
            previous = cell.suffix
        }
        if count > 0 {
            if let lower, (try? lower.withUnsafeBytes({ try node.compareKey(0, $0) })).map({ $0 < 0 }) ?? true { return nil }
            if let upper, (try? upper.withUnsafeBytes({ try node.compareKey(count - 1, $0) })).map({ $0 >= 0 }) ?? true { return nil }
        }
        return (cellBytes, overflowCells)
    }

    private mutating func checkFreeList() throws -> Int {
        var count = 0
        var trunk = header.freeListHead
        while trunk != 0 {
            guard claim(trunk, for: "free list") else { break }
            count += 1
            let ref = try tx.page(trunk)
            guard ref.base.u8(4) == PageType.freeTrunk.rawValue else {
                problems.append("free-list trunk \(trunk) has page type \(ref.base.u8(4))")
                break
            }
            let entries = Int(ref.base.u32(12))
            guard entries <= FreeListLayout.capacity(pageSize: tx.pageSize) else {
                problems.append("free-list trunk \(trunk) claims \(entries) entries")
                break
            }
            for i in 0..<entries where claim(ref.base.u32(FreeListLayout.headerSize + 4 * i), for: "free list") {
                count += 1
            }
            trunk = ref.base.u32(8)
        }
        return count
    }
}
