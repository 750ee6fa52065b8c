/// A named B+tree in the database. A handle is a shortcut to the tree's root page, valid
/// while the database's schema counter is the one it was made under; after any create, drop
/// or vacuum, a transaction finds the tree again by name (and throws `.treeNotFound` when it
/// is gone).
///
/// Invariant (TX-6): a handle is trusted only when its schema counter equals the transaction's,
/// and every transaction that creates or drops a tree takes a counter never used before.
@_spi(Benchmarks) public struct Tree: Sendable, Hashable, CustomStringConvertible {
    @_spi(Benchmarks) public let name: String
    let root: UInt32
    let schemaCounter: UInt64

    public var description: String { "Tree(\(name))" }
}

/// What read and write transactions share: every table read (`get`, `select`, `scan`,
/// `aggregate`, `count`, `records`, the guild query patterns) over one consistent snapshot.
///
/// ```swift
/// let (recent, total) = try await db.read { tx in
///     (try tx.select("notes", where: ["guild_id": .uint(42)], orderBy: [.descending("created_at")], limit: 20),
///      try tx.count("notes", where: ["guild_id": .uint(42)]))
/// }
/// let note = try await db.read { try $0.get(Note.self, key: [.uint(1)]) }   // a TableRecord
/// ```
public class Transaction {
    let engine: StorageEngine
    let pageSize: Int
    /// Counts this transaction's page changes (insert, remove, `writable`, allocate, free) and
    /// its end (commit, rollback, `end`): a leaf remembered while it was n is unchanged and
    /// readable while it is n (`LeafFinger`).
    final var pageWrites = 0
    /// The table this transaction compiled or found last, and the schema counter it holds
    /// under: a query asks for its table several times, and this answers without the engine's
    /// lock (a transaction is used by one task at a time).
    final var lastCompiled: (counter: UInt64, table: CompiledTable)?

    init(engine: StorageEngine) {
        self.engine = engine
        self.pageSize = engine.pageSize
    }

    /// The page as this transaction sees it.
    func page(_ number: UInt32) throws -> PageRef {
        preconditionFailure("subclasses provide page(_:)")
    }

    /// Starts loading page `number` into the CPU's caches if that is free (a hint).
    func prefetchPage(_ number: UInt32) {}

    /// The header as this transaction sees it.
    var header: DatabaseHeader {
        preconditionFailure("subclasses provide header")
    }

    @inline(__always)
    func node(_ number: UInt32) throws -> (Node, PageRef) {
        let ref = try page(number)
        return (try Node(ref, number: number, pageSize: pageSize), ref)
    }

    /// The root page of `tree` in this transaction.
    func root(of tree: Tree) throws -> UInt32 {
        if tree.schemaCounter == header.schemaCounter { return tree.root }
        guard let found = try self.tree(tree.name) else { throw GuildStoreError.treeNotFound(tree.name) }
        return found.root
    }

    // MARK: Catalog

    /// The tree named `name`, or nil.
    @_spi(Benchmarks) public final func tree(_ name: String) throws -> Tree? {
        let key = Array(name.utf8)
        let header = self.header
        let root: UInt32? = try key.withUnsafeBytes { raw in
            try withValue(raw, root: header.catalogRoot) { value in
                guard value.count >= 4 else {
                    throw GuildStoreError.corruptPage(page: header.catalogRoot, reason: "catalog entry for \(name) is \(value.count) bytes")
                }
                return value.baseAddress!.u32(0)
            }
        }
        guard let root else { return nil }
        guard root > 0, root < header.pageCount else {
            throw GuildStoreError.corruptPage(page: header.catalogRoot, reason: "catalog entry for \(name) points at page \(root)")
        }
        return Tree(name: name, root: root, schemaCounter: header.schemaCounter)
    }

    /// Every tree, in name order.
    package final func trees() throws -> [Tree] {
        var result: [Tree] = []
        let header = self.header
        try scan(root: header.catalogRoot, range: KeyRange()) { key, value in
            guard value.count >= 4 else {
                throw GuildStoreError.corruptPage(page: header.catalogRoot, reason: "short catalog entry")
            }
            let name = String(decoding: key, as: UTF8.self)
            result.append(Tree(name: name, root: value.baseAddress!.u32(0), schemaCounter: header.schemaCounter))
            return true
        }
        return result
    }

    // MARK: Point reads

    /// The value stored under `key`, or nil.
    package final func get(_ key: [UInt8], in tree: Tree) throws -> [UInt8]? {
        let root = try root(of: tree)
        return try key.withUnsafeBytes { raw in try withValue(raw, root: root) { Array($0) } }
    }

    package final func contains(_ key: [UInt8], in tree: Tree) throws -> Bool {
        try get(key, in: tree) != nil
    }

    /// Calls `body` with the value stored under `key` without copying it (when it is stored
    /// inline); returns nil when the key is absent. The buffer is valid only inside `body`.
    @_spi(Benchmarks) public final func withValue<T>(_ key: UnsafeRawBufferPointer, in tree: Tree, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try withValue(key, root: try root(of: tree), body)
    }
}

/// A pinned snapshot: every read sees the database as of the last commit before `beginRead`,
/// whatever the writer does meanwhile. Call `end()` when done (deinit does it too); inside
/// `Database.read` the snapshot ends with the closure.
///
/// ```swift
/// let recent = try await db.read { tx in
///     try tx.select("message_events", where: ["guild_id": .uint(guild)], limit: 20)
/// }
/// ```
public final class ReadTransaction: Transaction {
    let snapshot: Snapshot
    private var finished = false

    init(engine: StorageEngine, snapshot: Snapshot) {
        self.snapshot = snapshot
        super.init(engine: engine)
    }

    deinit { end() }

    override func page(_ number: UInt32) throws -> PageRef {
        guard !finished else { throw GuildStoreError.transactionFinished }
        return try engine.readPage(number, snapshot: snapshot)
    }

    override func prefetchPage(_ number: UInt32) {
        if !finished { engine.prefetchPage(number, snapshot: snapshot) }
    }

    override var header: DatabaseHeader { snapshot.header }

    /// Releases the snapshot so checkpoints may pass it.
    public func end() {
        guard !finished else { return }
        finished = true
        pageWrites &+= 1  // a remembered leaf must not outlive the snapshot (`LeafFinger`)
        if let id = snapshot.readerID { engine.endReader(id) }
    }
}
