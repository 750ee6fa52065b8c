import CGuildStoreSupport

/// The one write transaction: it sees its own changes, which live in memory until `commit`
/// appends them to the WAL as one atomic group of frames. `rollback` (or deinit without a
/// commit) discards them. A bot gets one inside `Database.write`, which commits it when the
/// closure returns and rolls it back when it throws:
///
/// ```swift
/// try await db.write { tx in
///     try tx.insert(["id": .uint(1), "guild_id": .uint(42), "text": "hello"], into: "notes")
///     try tx.update("notes", key: [.uint(1)], set: ["text": "hello again"])
///     try tx.insert(reminder)                              // a TableRecord
///     try tx.delete(from: "notes", key: [.uint(1)])
/// }
/// ```
public final class WriteTransaction: Transaction {
    let snapshot: Snapshot
    /// Pages changed by this transaction, by page number, held in memory.
    var dirty = PageTable<PageBuffer>()
    /// Changed pages written to the WAL ahead of the commit, by page number: the frame each
    /// went to (TS-1).
    var spilled = PageTable<Int>()
    /// Where the log stood before the first spill, and the stamp the spills carry (TS-1, TS-2).
    var spillTail: WriteAheadLog.Tail?
    var spillStamp: CommitStamp?
    /// Changed pages held in memory past which a spill point spills (TS-3).
    let spillPageLimit: Int
    /// TX-7: the buffers of clean pages this transaction read (pread copies, WAL images,
    /// spilled frames), kept until it ends or spills.
    var readPins = PageTable<PageBuffer>()
    var workingHeader: DatabaseHeader
    /// Names of the trees this transaction wrote, for change observers.
    private(set) var changedTrees: Set<String> = []
    private var lastChangedTree: String?
    /// A few trees already in `changedTrees`, checked before hashing (a table's row tree and
    /// index trees alternate on every insert).
    private var recentChangedTrees: [String] = []
    /// BT-5: per tree (a few at a time: a table and its indexes), the right-most leaf of `root`
    /// and the path to it, while keys arrive in increasing order; a split forgets that tree's,
    /// any merge or freed page forgets them all.
    var appendHints: [(root: UInt32, path: [PathEntry], leaf: UInt32)] = []
    /// The column names of the last row given by name (`insert`) and their positions, in the
    /// order its dictionary iterated them.
    var rowNameOrder: (table: CompiledTable, names: [(name: String, position: Int)])?
    /// Entries of trees whose inserts wait to be applied in key order (`deferPut`): per tree
    /// (a table's non-unique indexes), the entries in the order they were put (DP-1).
    var deferredPuts: [DeferredPuts] = []
    /// Rollup deltas waiting, one entry per rollup (a few per table written: found by a walk,
    /// `pendingIndex(of:)`), and the rollup that owns each tree they will touch, by the tree's
    /// root and the rollup's counter tree name (RU-3; roots do not move while deltas wait, as
    /// DP-1 says of deferred puts, so a root names its tree: a rewrite, RW-2, flushes every
    /// rollup first, and deltas noted after it are filed under the trees' current roots).
    var pendingRollups: [PendingRollup] = []
    var pendingRollupRoots: [UInt32: String] = [:]
    /// Parent rows foreign-key checks found (FK-4), in this transaction or, carried over, in
    /// the committed ones it builds on: emptied by any delete of a key from any tree and by
    /// dropping a tree, so a parent the transaction removed is looked for again.
    var knownParents = KnownParents()
    /// Storage for the next descent's path (`pathToLeaf`), so inserts allocate none.
    var pathStorage: [PathEntry] = []
    private(set) var finished = false
    /// The error of a rollup flush that failed part way (`flushRollup`): commits refuse with it.
    var failedFlush: (any Error)?

    init(engine: StorageEngine, snapshot: Snapshot) {
        self.snapshot = snapshot
        self.workingHeader = snapshot.header
        self.spillPageLimit = max(8, engine.configuration.transactionCacheBytes / snapshot.view.pageSize)
        super.init(engine: engine)
    }

    deinit {
        if !finished { rollback() }
    }

    override func page(_ number: UInt32) throws -> PageRef {
        guard !finished else { throw GuildStoreError.transactionFinished }
        if let buffer = dirty[number] { return PageRef(base: buffer.pointer, owner: buffer) }
        if !spilled.isEmpty, let frame = spilled[number] {  // TS-1
            // A pin of a spilled page was read from its frame: a spill drops every pin (TS-3).
            if let pinned = readPins[number] { return PageRef(base: pinned.pointer, owner: pinned) }
            let buffer = try readSpilled(number, frame: frame)
            readPins[number] = buffer
            return PageRef(base: buffer.pointer, owner: buffer)
        }
        guard number < workingHeader.pageCount else {
            throw GuildStoreError.corruptPage(page: number, reason: "beyond the end of the database (\(workingHeader.pageCount) pages)")
        }
        let ref = try engine.readPage(number, snapshot: snapshot)
        // TX-7: a page read with pread lives in a buffer of its own, and a WAL image may leave
        // the index at a checkpoint; the B+tree code keeps `Node`s (raw pointers into the
        // page) without their `PageRef`, so the buffer stays alive until the transaction
        // ends, not until the caller drops the reference.
        if let owner = ref.owner { readPins[number] = owner }
        return ref
    }

    override func prefetchPage(_ number: UInt32) {
        guard !finished else { return }
        if let buffer = dirty[number] {
            gs_prefetch(buffer.pointer, pageSize)
        } else if spilled.isEmpty || spilled[number] == nil {
            engine.prefetchPage(number, snapshot: snapshot)
        }
    }

    override var header: DatabaseHeader { workingHeader }

    /// DP-1: every read or write of a tree finds its root here, so the tree's deferred puts are
    /// applied first.
    override func root(of tree: Tree) throws -> UInt32 {
        if !pendingRollupRoots.isEmpty, let owner = pendingRollupRoots[tree.root] { try flushRollup(named: owner) }  // RU-3
        if !deferredPuts.isEmpty, deferredPuts.contains(where: { $0.tree.root == tree.root }) {
            try applyDeferredPuts(of: tree.root)
        }
        return try super.root(of: tree)
    }

    /// A private, writable copy of page `number` in the dirty set.
    func writable(_ number: UInt32) throws -> PageBuffer {
        guard !finished else { throw GuildStoreError.transactionFinished }
        pageWrites &+= 1
        if let buffer = dirty[number] {
            buffer.lastTouched = pageWrites
            return buffer
        }
        let buffer: PageBuffer
        if !spilled.isEmpty, let frame = spilled.removeValue(forKey: number) {  // TS-1: back into `dirty`
            // A pin of a spilled page was read from its frame (TS-3) and is this transaction's
            // own copy: it becomes the dirty buffer, no second read.
            buffer = try readPins.removeValue(forKey: number) ?? readSpilled(number, frame: frame)
        } else {
            buffer = try page(number).withBase { PageBuffer(copying: $0, size: pageSize) }  // PG-5
        }
        buffer.lastTouched = pageWrites
        dirty[number] = buffer
        return buffer
    }

    func writableNode(_ number: UInt32) throws -> MutableNode {
        let copied = dirty[number] == nil
        let buffer = try writable(number)
        let node = MutableNode(base: buffer.pointer, pageSize: pageSize, number: number)
        let view = try node.node
        // DISK-9: a node read from disk is edited only when its whole slot array points into
        // its content area. Edits keep BT-8 for the slots they touch and assert it for all;
        // a slot no read had touched yet would otherwise go on as written, or trap the
        // assertion, after an edit elsewhere in the node.
        if copied { for i in 0..<view.count { _ = try view.cellOffset(i) } }
        return node
    }

    // MARK: Writes

    /// Stores `value` under `key`, replacing any value there.
    @_spi(Benchmarks) public func put(_ key: [UInt8], _ value: [UInt8], in tree: Tree) throws {
        try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in try put(k, v, in: tree) }
        }
    }

    /// Stores `value` under `key` unless the tree holds `key`; returns whether it stored it.
    /// One descent instead of a `get` and a `put`.
    func putIfAbsent(_ key: [UInt8], _ value: [UInt8], in tree: Tree) throws -> Bool {
        guard !finished else { throw GuildStoreError.transactionFinished }
        guard key.count <= engine.maxKeySize else {
            throw GuildStoreError.keyTooLarge(size: key.count, limit: engine.maxKeySize)
        }
        guard value.count <= OverflowLayout.maximumValueSize else {
            throw GuildStoreError.valueTooLarge(size: value.count, limit: OverflowLayout.maximumValueSize)
        }
        try spillIfOverBudget()  // TS-3
        let root = try root(of: tree)
        let stored = try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in try insert(key: k, value: v, root: root, ifAbsent: true) }
        }
        if stored { noteChange(tree.name) }
        return stored
    }

    @_spi(Benchmarks) public func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, in tree: Tree) throws {
        guard !finished else { throw GuildStoreError.transactionFinished }
        guard key.count <= engine.maxKeySize else {
            throw GuildStoreError.keyTooLarge(size: key.count, limit: engine.maxKeySize)
        }
        guard value.count <= OverflowLayout.maximumValueSize else {
            throw GuildStoreError.valueTooLarge(size: value.count, limit: OverflowLayout.maximumValueSize)
        }
        try spillIfOverBudget()  // TS-3
        try insert(key: key, value: value, root: try root(of: tree))
        noteChange(tree.name)
    }

    /// Records a write to `name` for observers; cheap for runs of writes to one tree.
    func noteChange(_ name: String) {
        if name == lastChangedTree { return }
        lastChangedTree = name
        for recent in recentChangedTrees where recent == name { return }
        changedTrees.insert(name)
        if recentChangedTrees.count < 8 { recentChangedTrees.append(name) }
    }

    /// Removes `key`; returns whether it was there.
    @discardableResult
    package func delete(_ key: [UInt8], in tree: Tree) throws -> Bool {
        guard !finished else { throw GuildStoreError.transactionFinished }
        knownParents.removeAll()  // FK-4
        try spillIfOverBudget()  // TS-3
        let root = try root(of: tree)
        let removed = try key.withUnsafeBytes { try remove(key: $0, root: root) }
        if removed { noteChange(tree.name) }
        return removed
    }

    /// Deletes `keys` (sorted ascending in memcmp order; absent ones are skipped) from `tree`,
    /// a leaf at a time (`removeSorted`); returns how many it deleted. A batch of keys that
    /// sit together costs one descent and one rebalance per leaf, not per key; a batch of a
    /// half of the tree or more rewrites it instead (`rewriteTree`).
    @discardableResult
    package func delete(sorted keys: [[UInt8]], in tree: Tree) throws -> Int {
        guard !finished else { throw GuildStoreError.transactionFinished }
        guard !keys.isEmpty else { return 0 }
        knownParents.removeAll()  // FK-4
        for i in keys.indices.dropFirst() where keys[i].precedes(keys[i - 1]) {
            throw GuildStoreError.invalidQuery("delete(sorted:in:) needs keys in ascending order")
        }
        // Half of the tree or more: rewritten without the keys (RW-1, RW-2), a merge of its
        // entries with the keys, both in order. Below that, keys that sit together (a time
        // range) touch few enough leaves that removing them costs less than writing the rest
        // anew. Fewer keys than `rewriteMinimum` never count the tree.
        if keys.count >= Self.rewriteMinimum, keys.count * 2 >= (try countEntries(tree, KeyRange())) {
            var next = 0
            return try rewriteTree(tree.name) { key, _ in
                while next < keys.count {
                    let order = keys[next].withUnsafeBytes { compareKeys($0, key) }
                    if order > 0 { return true }
                    next += 1
                    if order == 0 { return false }
                }
                return true
            }
        }
        try spillIfOverBudget()  // TS-3
        let removed = try remove(sorted: keys, root: try root(of: tree))
        if removed > 0 { noteChange(tree.name) }
        return removed
    }

    /// The fewest keys `delete(sorted:in:)` considers rewriting a tree for.
    static let rewriteMinimum = 1_024

    // MARK: Trees

    /// Creates an empty tree named `name`.
    @_spi(Benchmarks) public func createTree(_ name: String) throws -> Tree {
        guard !finished else { throw GuildStoreError.transactionFinished }
        try flushRollups()  // RU-3: rollup deltas become puts first
        try applyDeferredPuts()  // DP-1: before any root changes
        guard try tree(name) == nil else { throw GuildStoreError.treeAlreadyExists(name) }
        let key = Array(name.utf8)
        guard key.count <= engine.maxKeySize, !key.isEmpty else { throw GuildStoreError.keyTooLarge(size: key.count, limit: engine.maxKeySize) }
        let (root, buffer) = try allocatePage()
        NodeLayout.initialize(buffer.pointer, pageSize: pageSize, type: .leaf)
        workingHeader.schemaCounter = try engine.nextSchemaCounter()  // TX-6
        var entry = [UInt8](repeating: 0, count: 8)
        entry.withUnsafeMutableBytes { $0.baseAddress!.setU32(0, root) }
        _ = try key.withUnsafeBytes { k in
            try entry.withUnsafeBytes { v in try insert(key: k, value: v, root: workingHeader.catalogRoot) }
        }
        changedTrees.insert(name)
        return Tree(name: name, root: root, schemaCounter: workingHeader.schemaCounter)
    }

    /// The tree named `name`, created when missing.
    @_spi(Benchmarks) public func openTree(_ name: String) throws -> Tree {
        if let existing = try tree(name) { return existing }
        return try createTree(name)
    }

    /// Deletes a tree and frees its pages.
    package func dropTree(_ name: String) throws {
        guard !finished else { throw GuildStoreError.transactionFinished }
        knownParents.removeAll()  // FK-4
        try flushRollups()  // RU-3: rollup deltas become puts first
        try applyDeferredPuts()  // DP-1: before any root changes
        guard let tree = try tree(name) else { throw GuildStoreError.treeNotFound(name) }
        var freed: Set<UInt32> = []
        try freeTree(page: tree.root, depth: 0, freed: &freed)
        _ = try Array(name.utf8).withUnsafeBytes { try remove(key: $0, root: workingHeader.catalogRoot) }
        workingHeader.schemaCounter = try engine.nextSchemaCounter()  // TX-6
        changedTrees.insert(name)
    }

    /// Removes every entry of `tree`, keeping the tree.
    package func clear(_ tree: Tree) throws {
        knownParents.removeAll()  // FK-4
        let root = try root(of: tree)
        let (node, _) = try self.node(root)
        if !node.isLeaf {
            var freed: Set<UInt32> = [root]
            for i in 0...node.count { try freeTree(page: try node.child(i), depth: 1, freed: &freed) }
        } else {
            for i in 0..<node.count {
                let cell = try node.leafCell(i)
                if cell.inlineValue == nil { try freeOverflow(first: cell.overflowPage, length: cell.valueLength) }
            }
        }
        NodeLayout.initialize(try writable(root).pointer, pageSize: pageSize, type: .leaf)
        changedTrees.insert(tree.name)
    }

    /// Frees the subtree at `page`. DISK-5: `freed` holds the tree's pages met so far; a page
    /// met twice (children shared by two parents) is corruption, not a second free.
    func freeTree(page: UInt32, depth: Int, freed: inout Set<UInt32>) throws {
        guard depth < Cursor.maximumDepth else {
            throw GuildStoreError.corruptPage(page: page, reason: "tree deeper than \(Cursor.maximumDepth) levels (a cycle?)")
        }
        guard freed.insert(page).inserted else {
            throw GuildStoreError.corruptPage(page: page, reason: "reached twice while freeing its tree")
        }
        let (node, ref) = try self.node(page)
        try withExtendedLifetime(ref.owner) {
            if node.isLeaf {
                for i in 0..<node.count {
                    let cell = try node.leafCell(i)
                    if cell.inlineValue == nil { try freeOverflow(first: cell.overflowPage, length: cell.valueLength) }
                }
            } else {
                for i in 0...node.count { try freeTree(page: try node.child(i), depth: depth + 1, freed: &freed) }
            }
        }
        try freePage(page)
    }

    // MARK: Commit

    /// Makes the transaction's changes durable (as `synchronous` says) and visible to new
    /// snapshots. After a thrown error nothing of the transaction is visible.
    package func commit() throws {
        guard !finished else { throw GuildStoreError.transactionFinished }
        if let failedFlush { throw failedFlush }  // RU-1: a rollup half flushed never commits
        try flushRollups()  // RU-3: rollup deltas become puts first
        try applyDeferredPuts()  // DP-1; a failure here leaves the rollback to the caller
        defer { engine.releaseWriter() }
        let pages = dirty.count + spilled.count  // the commit's pages, spilled ones too (TS-1)
        guard try append() != nil else { return }
        if engine.configuration.synchronous == .full { try engine.syncWAL() }
        engine.automaticCheckpoint(afterCommitOf: pages)
    }

    /// Appends the transaction to the WAL without waiting for a sync and releases the writer:
    /// the group-commit path. The commit is published by the `syncWAL()` that covers the
    /// returned sequence (at once unless `synchronous` is `.full`); nil when nothing changed.
    func commitWithoutSync() throws -> UInt64? {
        guard !finished else { throw GuildStoreError.transactionFinished }
        if let failedFlush { throw failedFlush }  // RU-1: a rollup half flushed never commits
        try flushRollups()  // RU-3: rollup deltas become puts first
        try applyDeferredPuts()  // DP-1; a failure here leaves the rollback to the caller
        defer { engine.releaseWriter() }
        return try append()
    }

    /// Seals the dirty pages and appends them as one commit; finishes the transaction. A throw
    /// leaves nothing of it in the log (TS-2).
    private func append() throws -> UInt64? {
        finished = true
        pageWrites &+= 1  // a remembered leaf must not outlive the transaction (`LeafFinger`)
        do {
            let sequence = try appendPages()
            // FK-4: every parent found since the last delete is still there at this commit.
            engine.keepKnownParents(knownParents, through: sequence ?? snapshot.sequence)
            knownParents = KnownParents()
            return sequence
        } catch {
            discardSpills()  // TS-2
            throw error
        }
    }

    private func appendPages() throws -> UInt64? {
        // A commit that spilled appends at least the header page: its commit marker (TS-1).
        if workingHeader != snapshot.header || (dirty.isEmpty && !spilled.isEmpty) {
            let page0 = try writableUnchecked(0)
            workingHeader.write(to: page0.pointer)
        }
        guard !dirty.isEmpty else { return nil }
        var pages = dirty.entries.map { (page: $0.page, image: $0.element) }
        pages.sort { $0.page < $1.page }
        if engine.configuration.verifiesPagesOnCommit { try verifyWrittenNodes(pages) }  // DISK-11
        // WALR-9: the file's salt; a header never changes the identity or format it names.
        let salt = snapshot.view.checksumSalt
        assert(workingHeader.checksumSalt == salt, "WALR-9: a commit changed the checksum salt its header names")
        for entry in pages { sealPage(entry.image.pointer, number: entry.page, size: pageSize, salt: salt) }
        let sequence = try engine.appendCommit(pages: pages, spilled: spilledVersions, stamp: spillStamp,
                                               header: workingHeader, changedTrees: changedTrees)
        dirty.removeAll()
        spilled.removeAll()
        readPins.removeAll()
        return sequence
    }

    /// Discards every change.
    package func rollback() {
        guard !finished else { return }
        finished = true
        pageWrites &+= 1  // a remembered leaf must not outlive the transaction (`LeafFinger`)
        dirty.removeAll()
        discardSpills()  // TS-2
        readPins.removeAll()
        deferredPuts.removeAll()
        pendingRollups.removeAll()
        pendingRollupRoots.removeAll()
        engine.releaseWriter()
    }

    /// `writable` without the finished check, for commit's header write.
    private func writableUnchecked(_ number: UInt32) throws -> PageBuffer {
        if let buffer = dirty[number] { return buffer }
        assert(spilled[number] == nil, "TS-1: the header page is never spilled")
        let ref = try engine.readPage(number, snapshot: snapshot)
        let buffer = ref.withBase { PageBuffer(copying: $0, size: pageSize) }  // PG-5
        dirty[number] = buffer
        return buffer
    }
}
