/// Foreign keys: a child table's columns name a row of a parent table by its primary key
/// (`REFERENCES guilds(id) ON DELETE CASCADE`).
///
/// Stored in the catalog as part of the child's `TableSchema` (JSON):
///
///     {"columns": ["guild_id"], "parentTable": "guilds", "onDelete": "cascade"}
///
/// `onDelete` is one of `cascade`, `restrict`, `setNull`. A catalog entry written before
/// foreign keys existed has no `foreignKeys` key and decodes with none.
///
/// Invariants:
/// (FK-1) A child row whose foreign-key columns are all non-NULL names an existing parent row.
///      A child row with any NULL foreign-key column references nothing (SQL's MATCH SIMPLE).
///      Insert and update check this before they write anything.
/// (FK-2) Deleting a parent row first plans the whole delete: every child reached through a
///      `cascade` key (recursively), every child a `setNull` key clears, every child a
///      `restrict` key protects. If a protected child would survive the statement, it throws
///      `.foreignKeyRestricted` having written nothing. Only then are the rows deleted and the
///      columns cleared. A restricted child that the same statement deletes through another
///      path does not block (the check is at the end of the statement, like SQL's NO ACTION).
///      An I/O failure in the middle of the writes leaves the transaction half done; the
///      caller's `write { }` rolls the whole transaction back.
/// (FK-3) A parent row's primary key does not change while children reference it: an update
///      that would re-key it throws `.foreignKeyRestricted` (SQL's ON UPDATE NO ACTION).
/// (FK-4) A parent row FK-1 found stays in the write transaction's `knownParents` until the
///      transaction deletes any key of any tree or drops a tree: only a delete can make a
///      found parent disappear, so a bulk load looks each guild, user and channel up once.
///      A commit hands its `knownParents` (all found since its last delete, so all still
///      there) to the next write transaction, which takes them only when it builds on that
///      very commit (`StorageEngine.beginWrite`, by sequence); a rollback hands nothing on,
///      as its inserted parents are gone. Rows change only through this engine's write
///      transactions (a vacuum moves them to another file unchanged, and drops what was
///      carried all the same), so nothing else can remove a parent in between.
///
/// Finding the children of a parent row uses, in this order: the child's primary key when
/// its leading columns are the foreign-key columns (seed 000's guild_members (guild_id,
/// user_id)); else the first secondary index whose leading columns are the foreign-key
/// columns and that holds every row that can reference a parent (no predicate, or
/// `IS NOT NULL` on a foreign-key column). Without either, the delete scans the whole child
/// table once per parent row deleted: O(child rows) per parent, so declare the index
/// (`TableSchema.childLookup(for:)` says which path a key takes).
///
/// ```swift
/// let events = TableSchema("message_events",
///     columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint)],
///     primaryKey: ["id"],
///     foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])
/// ```
public struct ForeignKey: Sendable, Hashable, Codable {
    /// What deleting a parent row does to the rows that reference it.
    ///
    /// ```swift
    /// let members = ForeignKey(["guild_id"], references: "guilds", onDelete: .cascade)
    /// let owner = ForeignKey("owner_id", references: "users")   // .restrict by default
    /// ```
    public enum Action: String, Sendable, Hashable, Codable {
        /// Delete them too (and their own children, recursively).
        case cascade
        /// Refuse the delete while any exists.
        case restrict
        /// Set their foreign-key columns to NULL (the columns must be nullable).
        case setNull
    }

    /// The child's columns, in the order of the parent's primary-key columns.
    public var columns: [String]
    /// The parent table, whose primary key the columns hold. May be the child table itself.
    public var parentTable: String
    public var onDelete: Action

    public init(_ columns: [String], references parentTable: String, onDelete: Action = .restrict) {
        self.columns = columns
        self.parentTable = parentTable
        self.onDelete = onDelete
    }

    public init(_ column: String, references parentTable: String, onDelete: Action = .restrict) {
        self.init([column], references: parentTable, onDelete: onDelete)
    }
}

/// How a delete finds the rows that reference a parent row through one foreign key.
package enum ChildLookup: Sendable, Hashable {
    /// A prefix range of the child's primary key.
    case primaryKey
    /// A prefix range of this secondary index.
    case index(String)
    /// A scan of the whole child table (no index leads with the foreign-key columns).
    case scan
}

extension TableSchema {
    /// The checks a foreign key needs from this table alone (the parent is checked when the
    /// table is created, `WriteTransaction.validateForeignKeys`).
    func validateForeignKeyColumns() throws {
        for key in foreignKeys {
            guard !key.columns.isEmpty, Set(key.columns).count == key.columns.count, !key.parentTable.isEmpty else {
                throw GuildStoreError.invalidSchema("a foreign key of \(name) needs distinct columns and a parent table")
            }
            for column in key.columns {
                let definition = columns[try columnIndex(column)]
                if key.onDelete == .setNull, !definition.nullable {
                    throw GuildStoreError.invalidSchema("foreign key \(name).\(column) is ON DELETE SET NULL but the column is NOT NULL")
                }
            }
        }
    }

    /// Which path finds the children of a parent row through `key` (see `ForeignKey`).
    package func childLookup(for key: ForeignKey) -> ChildLookup {
        let n = key.columns.count
        if primaryKey.count >= n, Array(primaryKey.prefix(n)) == key.columns { return .primaryKey }
        for index in indexes where index.columns.count >= n && Array(index.columns.prefix(n)) == key.columns {
            switch index.predicate {
            case nil: return .index(index.name)
            case .isNotNull(let column) where key.columns.contains(column): return .index(index.name)
            default: continue
            }
        }
        return .scan
    }
}

/// A row named by table and encoded primary key.
struct RowIdentity: Hashable {
    let table: String
    let key: [UInt8]
}

/// The parent rows an insert or update in this transaction found (FK-4). A parent whose key
/// is one `uint` column (every key of the seeds' schema) is filed by id in its table's
/// `UIntKeyTable`: a lookup builds no array and hashes no table name, and the tables are found
/// by comparing names, a handful of short strings. Any other key is filed by its values.
struct KnownParents {
    private var ids: [(table: String, ids: UIntKeyTable)] = []
    private var keys: Set<[Value]> = []
    private var keyTables: [String] = []

    /// At most this many are carried from one transaction to the next (a few megabytes).
    static let kept = 200_000

    var count: Int { ids.reduce(keys.count) { $0 + $1.ids.count } }

    func contains(table: String, id: UInt64) -> Bool {
        for i in ids.indices where ids[i].table == table { return ids[i].ids.contains(id) }
        return false
    }

    mutating func insert(table: String, id: UInt64) {
        if let i = ids.indices.first(where: { ids[$0].table == table }) {
            _ = ids[i].ids.number(of: id)
        } else {
            var table = (table: table, ids: UIntKeyTable())
            _ = table.ids.number(of: id)
            ids.append(table)
        }
    }

    /// A key of several columns is filed with its table's position in `keyTables` in front,
    /// so the same values in two tables are two parents.
    func contains(table: String, key: [Value]) -> Bool {
        guard let i = keyTables.firstIndex(of: table) else { return false }
        return keys.contains([.int(Int64(i))] + key)
    }

    mutating func insert(table: String, key: [Value]) {
        let i = keyTables.firstIndex(of: table) ?? {
            keyTables.append(table)
            return keyTables.count - 1
        }()
        keys.insert([.int(Int64(i))] + key)
    }

    mutating func removeAll() {
        ids.removeAll()
        keys.removeAll()
        keyTables.removeAll()
    }
}

/// Everything one delete statement does (FK-2), worked out before anything is written.
struct DeletePlan {
    /// Rows to delete, parents before children.
    var deletes: [(schema: TableSchema, row: [Value])] = []
    var deleted: Set<RowIdentity> = []
    /// Child rows whose columns to clear, with the column positions.
    var clears: [(schema: TableSchema, primaryKey: [Value], id: RowIdentity, columns: [Int])] = []
    /// Children a `restrict` key protects: a violation unless they are deleted too.
    var protected: [(parent: String, parentKey: [Value], child: String, id: RowIdentity)] = []
}

extension WriteTransaction {
    /// Checks `schema`'s foreign keys against the catalog: the parent exists (or is the table
    /// itself) and the columns match the parent's primary key in number and type.
    func validateForeignKeys(_ schema: TableSchema) throws {
        for key in schema.foreignKeys {
            let parent: TableSchema
            if key.parentTable == schema.name {
                parent = schema
            } else {
                do {
                    parent = try table(key.parentTable)
                } catch GuildStoreError.unknownTable {
                    throw GuildStoreError.invalidSchema("foreign key \(schema.name)(\(key.columns.joined(separator: ", "))) references missing table \(key.parentTable)")
                }
            }
            guard parent.primaryKey.count == key.columns.count else {
                throw GuildStoreError.invalidSchema("foreign key \(schema.name)(\(key.columns.joined(separator: ", "))) has \(key.columns.count) columns; \(parent.name)'s primary key has \(parent.primaryKey.count)")
            }
            for (column, parentType) in zip(key.columns, parent.primaryKeyTypes) {
                let type = schema.columns[try schema.columnIndex(column)].type
                guard type == parentType else {
                    throw GuildStoreError.columnTypeMismatch(table: schema.name, column: column, expected: "\(parentType) (\(parent.name)'s primary key)", found: "\(type)")
                }
            }
        }
    }

    /// (FK-1) Throws `.foreignKeyViolation` when `row` names a parent row that does not exist.
    /// Keys whose values are the same in `old` (an update that leaves them alone) are not
    /// looked up again.
    func checkParents(_ row: [Value], old: [Value]?, table: CompiledTable) throws {
        // `table.schema` is read in place, never copied whole (that copy costs a retain and a
        // release of each of its arrays, on every row).
        for (k, positions) in table.foreignKeyPositions.enumerated() {
            let key = table.schema.foreignKeys[k]
            let values: [Value]
            if positions.count == 1, case .uint(let id) = row[positions[0]] {
                if let old, old[positions[0]] == row[positions[0]] { continue }
                // Only whether the parent row exists: nothing of it is decoded. A parent found
                // once stays found until this transaction deletes a key of any tree (FK-4).
                if knownParents.contains(table: key.parentTable, id: id) { continue }
                values = [.uint(id)]
            } else {
                values = positions.map { row[$0] }
                if values.contains(where: \.isNull) { continue }
                if let old, positions.map({ old[$0] }) == values { continue }
                if knownParents.contains(table: key.parentTable, key: values) { continue }
            }
            // A row may reference itself (a self-referencing key on its own primary key).
            if key.parentTable == table.schema.name, table.primaryKeyValues(row) == values { continue }
            let exists = key.parentTable == table.schema.name ? try fetchRow(table.schema, key: values) != nil
                                                               : try rowExists(try compiledTable(key.parentTable), key: values)
            guard exists else {
                throw GuildStoreError.foreignKeyViolation(
                    table: table.schema.name, column: key.columns.joined(separator: ", "),
                    value: describeValues(values), parent: key.parentTable)
            }
            if values.count == 1, case .uint(let id) = values[0] {
                knownParents.insert(table: key.parentTable, id: id)
            } else {
                knownParents.insert(table: key.parentTable, key: values)
            }
        }
    }

    /// Every foreign key of every table that references `parent`.
    func references(to parent: String) throws -> [(child: TableSchema, key: ForeignKey)] {
        var result: [(child: TableSchema, key: ForeignKey)] = []
        for child in try tables() {
            for key in child.foreignKeys where key.parentTable == parent { result.append((child, key)) }
        }
        return result
    }

    /// The rows of `child` whose `key` columns equal `parentKey`, decoded with defaults.
    func childRows(of parentKey: [Value], child: TableSchema, key: ForeignKey) throws -> [[Value]] {
        guard let rows = try tree(child.rowTreeName) else { throw GuildStoreError.unknownTable(child.name) }
        var result: [[Value]] = []
        switch child.childLookup(for: key) {
        case .primaryKey:
            try scan(rows, KeyRange.prefix(TupleEncoding.encode(parentKey))) { key, value in
                result.append(try child.decodeRow(key: key, value: value))
                return true
            }
        case .index(let name):
            guard let index = child.indexes.first(where: { $0.name == name }),
                  let indexTree = try tree(child.indexTreeName(index)) else {
                throw GuildStoreError.invalidSchema("index \(name) of \(child.name) has no tree")
            }
            var encoder = TupleEncoder()
            encoder.append(contentsOf: parentKey, descending: Array(index.descending.prefix(parentKey.count)))
            let compiledIndex = try CompiledIndex(index, schema: child, tree: indexTree)
            var primaryKeys: [[Value]] = []
            try scan(indexTree, KeyRange.prefix(encoder.bytes)) { key, value in
                primaryKeys.append(try compiledIndex.primaryKey(key: key, value: value))
                return true
            }
            for primary in primaryKeys {
                guard let row = try fetchRow(child, key: primary) else {
                    throw GuildStoreError.corruptPage(page: 0, reason: "index \(child.indexTreeName(index)) names a row \(child.name) does not hold")
                }
                result.append(row)
            }
        case .scan:
            // No index leads with the key's columns: O(rows of the child table).
            let positions = try key.columns.map { try child.columnIndex($0) }
            try scan(rows) { key, value in
                let row = try child.decodeRow(key: key, value: value)
                if positions.map({ row[$0] }) == parentKey { result.append(row) }
                return true
            }
        }
        return result
    }

    /// (FK-2) Works out what deleting `rows` of `schema` (distinct rows: each from a scan or a
    /// key lookup) does, recursively, and throws `.foreignKeyRestricted` if a `restrict` key
    /// forbids it. Writes nothing.
    func planDelete(_ rows: [[Value]], schema: TableSchema) throws -> DeletePlan {
        var plan = DeletePlan()
        // No table references this one: nothing cascades, clears or protects, and the rows
        // are distinct already, so the plan is the rows (no identity per row to hash).
        if try references(to: schema.name).isEmpty {
            plan.deletes = rows.map { (schema, $0) }
            return plan
        }
        for row in rows {
            let id = RowIdentity(table: schema.name, key: try schema.encodedPrimaryKey(row))
            if plan.deleted.insert(id).inserted { plan.deletes.append((schema, row)) }
        }
        var referencing: [String: [(child: TableSchema, key: ForeignKey)]] = [:]
        var next = 0
        while next < plan.deletes.count {
            let (parent, row) = plan.deletes[next]
            next += 1
            let refs: [(child: TableSchema, key: ForeignKey)]
            if let cached = referencing[parent.name] {
                refs = cached
            } else {
                refs = try references(to: parent.name)
                referencing[parent.name] = refs
            }
            guard !refs.isEmpty else { continue }
            let parentKey = try parent.primaryKeyValues(row)
            for (child, key) in refs {
                for childRow in try childRows(of: parentKey, child: child, key: key) {
                    let id = RowIdentity(table: child.name, key: try child.encodedPrimaryKey(childRow))
                    switch key.onDelete {
                    case .cascade:
                        if plan.deleted.insert(id).inserted { plan.deletes.append((child, childRow)) }
                    case .restrict:
                        plan.protected.append((parent.name, parentKey, child.name, id))
                    case .setNull:
                        plan.clears.append((child, try child.primaryKeyValues(childRow), id,
                                            try key.columns.map { try child.columnIndex($0) }))
                    }
                }
            }
        }
        for entry in plan.protected where !plan.deleted.contains(entry.id) {
            throw GuildStoreError.foreignKeyRestricted(table: entry.parent, key: describeValues(entry.parentKey), child: entry.child)
        }
        return plan
    }

    /// Carries out a plan from `planDelete`: deletes its rows and their index entries, then
    /// clears the columns of the surviving `setNull` children. Returns the rows deleted.
    /// `selection`: the conditions that picked the rows of `table` (a `ScanPlan`'s), whose
    /// rollup groups they empty whole are dropped as entries (RU-4).
    @discardableResult
    func execute(_ plan: DeletePlan, selection: (table: String, conditions: ScanPlan.Selection)? = nil) throws -> Int {
        // A table at a time, each tree's keys as one sorted batch (`delete(sorted:in:)`): the
        // keys of one leaf leave it together, and each table is compiled once, not per row.
        var order: [String] = []
        var rowsByTable: [String: (schema: TableSchema, rows: [[Value]])] = [:]
        for (schema, row) in plan.deletes {
            if rowsByTable[schema.name] == nil {
                order.append(schema.name)
                rowsByTable[schema.name] = (schema, [])
            }
            rowsByTable[schema.name]?.rows.append(row)
        }
        func deleteSorted(_ keys: [[UInt8]], in tree: Tree) throws {
            try delete(sorted: keys.sorted { $0.precedes($1) }, in: tree)
        }
        for name in order {
            guard let (schema, rows) = rowsByTable[name] else { continue }
            let table = try compiled(schema)
            for index in table.indexes {
                try deleteSorted(rows.filter { index.holds($0) }.map { index.entryKey(for: $0) }, in: try index.tree(of: name))
            }
            try deleteSorted(rows.map { table.encodedPrimaryKey($0) }, in: try table.rows())
            for rollup in table.rollups {
                if let selection, selection.table == name,
                   let covered = coveredGroups(rollup, table: table, selection: selection.conditions) {
                    let current = try dropCoveredGroups(rollup, covered, of: name)  // RU-4
                    try noteRollups(rows.filter { !covered.holds($0) }, sign: -1, rollup: current)
                } else {
                    try noteRollups(rows, sign: -1, rollup: rollup)  // RU-2
                }
            }
        }
        for clear in plan.clears where !plan.deleted.contains(clear.id) {
            // Re-read: an earlier clear may have changed the row already.
            guard let old = try fetchRow(clear.schema, key: clear.primaryKey) else { continue }
            var new = old
            for i in clear.columns { new[i] = .null }
            if new != old { try replace(old: old, new: new, schema: clear.schema) }
        }
        return plan.deletes.count
    }

    /// (FK-3) Throws `.foreignKeyRestricted` when rows reference the primary key of `row`.
    func checkNoChildren(_ row: [Value], schema: TableSchema) throws {
        let parentKey = try schema.primaryKeyValues(row)
        for (child, key) in try references(to: schema.name) {
            let children = try childRows(of: parentKey, child: child, key: key)
            // A row that references only itself does not hold its own key in place.
            let others = try children.filter { try !(child.name == schema.name && child.primaryKeyValues($0) == parentKey) }
            if !others.isEmpty {
                throw GuildStoreError.foreignKeyRestricted(table: schema.name, key: describeValues(parentKey), child: child.name)
            }
        }
    }

    func describeValues(_ values: [Value]) -> String {
        "(" + values.map { "\($0)" }.joined(separator: ", ") + ")"
    }
}
