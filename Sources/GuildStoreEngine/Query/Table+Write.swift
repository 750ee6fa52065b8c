import Foundation

/// Row writes. Each statement checks everything (types, NOT NULL, every unique index, every
/// foreign key) before it writes anything, so a failed statement leaves no trace; indexes are
/// kept in step with the rows on insert, update and delete, and a delete carries out its
/// foreign keys' cascades (see `ForeignKeys.swift`, FK-1 to FK-3).
///
/// Stored rows are read through `TableSchema.decodeRow`, which fills the defaults of NOT NULL
/// columns a migration added after the row was written (invariant TB-1).
extension WriteTransaction {
    /// Inserts a row given by column name; missing columns take their default (or NULL).
    /// Returns false when `onConflict` is `.ignore` and the primary key existed.
    @discardableResult
    public func insert(_ values: [String: Value], into tableName: String, onConflict: ConflictPolicy = .fail) throws -> Bool {
        let table = try compiledTable(tableName)
        let row = try completeRow(values, table: table)
        return try insert(row: row, table: table, onConflict: onConflict) { values[table.columnNames[$0]] != nil }
    }

    /// Inserts `row` (every column's value, in the table's order, defaults filled and checked
    /// against the columns' types): the statement behind every insert. `given(i)` says
    /// whether the caller set column i (an upsert keeps the old row's creation times where it
    /// did not).
    func insert(row: [Value], table: CompiledTable, onConflict: ConflictPolicy, given: (Int) -> Bool) throws -> Bool {
        // `table.schema` is read where needed, never copied whole: on every row, that copy
        // costs a retain and a release of each of its arrays.
        if !table.foreignKeyPositions.isEmpty { try checkParents(row, old: nil, table: table) }  // FK-1
        let groups = table.rollups.isEmpty ? [] : try rollupGroups(row, table.rollups)
        let rows = try table.rows()
        let key = table.encodedPrimaryKey(row)
        // Without unique indexes nothing can fail once the row is stored: store it in the same
        // descent that checks the primary key.
        let stored = table.hasUniqueIndex ? nil : try putIfAbsent(key, try table.layout.value(row), in: rows)
        if stored != true, let existing = try get(key, in: rows) {
            switch onConflict {
            case .fail:
                throw GuildStoreError.uniqueViolation(table: table.schema.name, index: "primary key", key: describe(table.primaryKeyValues(row)))
            case .ignore:
                return false
            case .replace:
                let old = try key.withUnsafeBytes { k in try existing.withUnsafeBytes { try table.decodeRow(key: k, value: $0) } }
                try replace(old: old, new: carryingCreation(row, from: old, schema: table.schema, given: given), table: table)
                return true
            }
        }
        if stored != true {
            try checkUnique(row, replacing: nil, table: table)
            try put(key, try table.layout.value(row), in: rows)
        }
        // One buffer for every entry's key and value: each is copied where it goes.
        var entryKey = TupleEncoder(reservingCapacity: 64)
        var entryValue: [UInt8] = []
        for index in table.indexes where index.holds(row) {
            entryKey.removeAll()
            entryValue.removeAll(keepingCapacity: true)
            _ = try index.encodeEntry(for: row, key: &entryKey, value: &entryValue)
            if index.unique {
                try put(entryKey.bytes, entryValue, in: try index.tree(of: table.schema.name))
            } else {
                // Nothing checks a non-unique entry: it goes in with the others, sorted (DP-1).
                try deferPut(entryKey.bytes, entryValue, in: try index.tree(of: table.schema.name))
            }
        }
        try addRollups(row, groups: groups, sign: 1, table.rollups)  // RU-2
        return true
    }

    /// Sets columns of the row with primary key `key`; columns marked `updatedAtNow` take the
    /// current time. Returns false when there is no such row.
    @discardableResult
    public func update(_ tableName: String, key: [Value], set changes: [String: Value]) throws -> Bool {
        let table = try compiledTable(tableName)
        let schema = table.schema
        guard let old = try fetchRow(table, key: key) else { return false }
        var new = old
        for (column, value) in changes {
            guard let i = table.positions[column] else { throw GuildStoreError.unknownColumn(table: schema.name, column: column) }
            new[i] = try checked(value, for: schema.columns[i], schema: schema)
        }
        let now = Value.timestamp(Int64(Date().timeIntervalSince1970))
        for (i, column) in schema.columns.enumerated() where column.updatedAtNow && changes[column.name] == nil {
            new[i] = now
        }
        if !schema.foreignKeys.isEmpty { try checkParents(new, old: old, table: table) }  // FK-1
        if table.encodedPrimaryKey(new) != table.encodedPrimaryKey(old) {
            try checkNoChildren(old, schema: schema)  // FK-3
        }
        try replace(old: old, new: new, table: table)
        return true
    }

    /// Deletes the row with primary key `key`; returns whether it existed. Rows that reference
    /// it through foreign keys are deleted, cleared or protect it, as their keys say (FK-2); a
    /// refused delete throws `.foreignKeyRestricted` and deletes nothing.
    @discardableResult
    public func delete(from tableName: String, key: [Value]) throws -> Bool {
        let table = try compiledTable(tableName)
        guard let old = try fetchRow(table, key: key) else { return false }
        try execute(try planDelete([old], schema: table.schema))
        return true
    }

    /// Deletes every row `predicate` accepts (`WHERE ...`); returns how many of this table's
    /// rows matched (cascaded deletes in other tables are not counted). The rows are found
    /// first and deleted after, so the scan never sees its own deletes; the whole statement,
    /// cascades included, is planned before anything is written (FK-2).
    @discardableResult
    public func delete(from tableName: String, where predicate: (Row) throws -> Bool) throws -> Int {
        var matched: [[Value]] = []
        let table = try compiledTable(tableName)
        let schema = table.schema
        let columnNames = schema.columns.map(\.name)
        try scan(try table.rows()) { key, value in
            let values = try table.decodeRow(key: key, value: value)
            if try predicate(Row(table: schema.name, columns: columnNames, values: values)) { matched.append(values) }
            return true
        }
        guard !matched.isEmpty else { return 0 }
        try execute(try planDelete(matched, schema: schema))
        return matched.count
    }

    /// Deletes every row `plan` selects, with their foreign keys' cascades (FK-2), planned as
    /// one statement and carried out a tree at a time in key order; returns how many of the
    /// plan's table's rows it deleted. The rows are found first and deleted after, so the
    /// walk never sees its own deletes.
    @discardableResult
    public func delete(_ plan: ScanPlan) throws -> Int {
        var matched: [[Value]] = []
        try walk(plan) { values in
            matched.append(values)
            return true
        }
        guard !matched.isEmpty else { return 0 }
        try execute(try planDelete(matched, schema: try table(plan.table)), selection: (plan.table, plan.selection))
        return matched.count
    }

    // MARK: Helpers

    func indexTree(_ schema: TableSchema, _ index: IndexDefinition) throws -> Tree {
        guard let tree = try tree(schema.indexTreeName(index)) else {
            throw GuildStoreError.invalidSchema("index \(index.name) of \(schema.name) has no tree")
        }
        return tree
    }

    /// The compiled form of `schema`: the cached one when the catalog holds this very schema.
    func compiled(_ schema: TableSchema) throws -> CompiledTable {
        if let cached = try? compiledTable(schema.name), cached.schema == schema { return cached }
        return try CompiledTable(schema) { try tree($0) }
    }

    /// Replaces `old` with `new` (same or different primary key), keeping indexes in step.
    func replace(old: [Value], new: [Value], schema: TableSchema) throws {
        try replace(old: old, new: new, table: try compiled(schema))
    }

    func replace(old: [Value], new: [Value], table: CompiledTable) throws {
        let schema = table.schema
        let oldKey = table.encodedPrimaryKey(old)
        let newKey = table.encodedPrimaryKey(new)
        let rows = try table.rows()
        if newKey != oldKey, try get(newKey, in: rows) != nil {
            throw GuildStoreError.uniqueViolation(table: schema.name, index: "primary key", key: describe(table.primaryKeyValues(new)))
        }
        try checkUnique(new, replacing: old, table: table)
        let (oldGroups, newGroups) = table.rollups.isEmpty ? ([], []) : (try rollupGroups(old, table.rollups), try rollupGroups(new, table.rollups))
        try removeIndexEntries(old, table: table)
        if newKey != oldKey { try delete(oldKey, in: rows) }
        try put(newKey, try table.layout.value(new), in: rows)
        for index in table.indexes where index.holds(new) {
            let entry = try index.entry(for: new)
            try put(entry.key, entry.value, in: try index.tree(of: schema.name))
        }
        try addRollups(old, groups: oldGroups, sign: -1, table.rollups)  // RU-2
        try addRollups(new, groups: newGroups, sign: 1, table.rollups)
    }

    func removeIndexEntries(_ row: [Value], schema: TableSchema) throws {
        try removeIndexEntries(row, table: try compiled(schema))
    }

    func removeIndexEntries(_ row: [Value], table: CompiledTable) throws {
        for index in table.indexes where index.holds(row) {
            try delete(index.entryKey(for: row), in: try index.tree(of: table.schema.name))
        }
    }

    /// Throws `.uniqueViolation` if a unique index already holds `row`'s key for another row.
    private func checkUnique(_ row: [Value], replacing old: [Value]?, table: CompiledTable) throws {
        for index in table.indexes where index.definition.unique {
            guard index.holds(row) else { continue }
            let entry = try index.entry(for: row)
            guard entry.checksUniqueness, let existing = try get(entry.key, in: try index.tree(of: table.schema.name)) else { continue }
            if let old, try index.entry(for: old).value == existing { continue }
            let key = index.columnPositions.map { row[$0] }
            throw GuildStoreError.uniqueViolation(table: table.schema.name, index: index.definition.name, key: describe(key))
        }
    }

    /// Fills defaults, checks names, types and NOT NULL.
    private func completeRow(_ values: [String: Value], table: CompiledTable) throws -> [Value] {
        var row = table.defaultRow
        // Rows of one table often come as dictionaries with the same keys in the same iteration
        // order (a dictionary's order follows its storage: a reused or rebuilt-alike one keeps
        // it): each name is first matched against the previous row's name at that step (equal
        // strings from one literal compare without hashing), else looked up, and the order is
        // noted in place for the next row. Taken out of the transaction while it is written,
        // so it is written without a copy.
        var order = rowNameOrder?.table === table ? rowNameOrder?.names ?? [] : []
        rowNameOrder = nil
        var step = 0
        for (name, value) in values {
            let i: Int
            if step < order.count, order[step].name == name {
                i = order[step].position
            } else {
                guard let position = table.positions[name] else { throw GuildStoreError.unknownColumn(table: table.schema.name, column: name) }
                i = position
                if step < order.count { order[step] = (name, position) } else { order.append((name, position)) }
            }
            row[i] = value
            step += 1
        }
        order.removeLast(order.count - step)
        rowNameOrder = (table, order)
        // Names are distinct and each names one column: a row giving as many values as the
        // table has columns gives every column.
        if values.count < row.count {
            var now: Value?
            for i in table.nowColumns where values[table.columnNames[i]] == nil {
                if now == nil { now = Value.timestamp(Int64(Date().timeIntervalSince1970)) }
                row[i] = now ?? .null
            }
        }
        try checkColumns(row, table: table)
        return row
    }

    /// Throws unless every value of `row` may stand in its column (NULL only where nullable,
    /// else of the column's type).
    func checkColumns(_ row: [Value], table: CompiledTable) throws {
        for i in row.indices where !(row[i].isNull ? table.nullable[i] : row[i].fits(table.columnTypes[i])) {
            try check(row[i], for: table.schema.columns[i], table: table.schema.name)  // throws the precise error
        }
    }

    private func checked(_ value: Value, for column: ColumnDefinition, schema: TableSchema) throws -> Value {
        try check(value, for: column, table: schema.name)
        return value
    }

    /// Throws unless `value` may stand in `column`: NULL only where nullable, else of its type.
    private func check(_ value: Value, for column: ColumnDefinition, table: String) throws {
        if value.isNull {
            guard column.nullable else { throw GuildStoreError.missingValue(table: table, column: column.name) }
            return
        }
        guard value.fits(column.type) else {
            throw GuildStoreError.columnTypeMismatch(table: table, column: column.name, expected: "\(column.type)",
                                                     found: value.columnType.map { "\($0)" } ?? "null")
        }
    }

    /// An upsert keeps the old row's `created_at`-style defaults (`.now` columns the caller
    /// did not set).
    private func carryingCreation(_ row: [Value], from old: [Value], schema: TableSchema, given: (Int) -> Bool) -> [Value] {
        var row = row
        for (i, column) in schema.columns.enumerated() where column.defaultValue == .now && !column.updatedAtNow && !given(i) {
            row[i] = old[i]
        }
        return row
    }

    private func describe(_ values: [Value]) -> String {
        "(" + values.map { "\($0)" }.joined(separator: ", ") + ")"
    }
}

extension Transaction {
    func rowTree(_ schema: TableSchema) throws -> Tree {
        if let cached = try? compiledTable(schema.name), let tree = cached.rowTree {
            return tree
        }
        guard let tree = try tree(schema.rowTreeName) else { throw GuildStoreError.unknownTable(schema.name) }
        return tree
    }

    /// The row with primary key `key` of a table in the catalog, decoded in place from its
    /// page (defaults filled, TB-1), or nil.
    func fetchRow(_ table: CompiledTable, key: [Value]) throws -> [Value]? {
        let encoded = try encodedKey(key, table.schema)
        return try encoded.withUnsafeBytes { k in
            try withValue(k, root: try root(of: try table.rows())) { try table.decodeRow(key: k, value: $0) }
        }
    }

    /// Whether the table holds a row with primary key `key` (nothing decoded).
    func rowExists(_ table: CompiledTable, key: [Value]) throws -> Bool {
        let encoded = try encodedKey(key, table.schema)
        return try encoded.withUnsafeBytes { k in try withValue(k, root: try root(of: try table.rows())) { _ in true } } ?? false
    }

    /// `key` encoded for the row tree, after checking it against the primary key's columns.
    private func encodedKey(_ key: [Value], _ schema: TableSchema) throws -> [UInt8] {
        guard key.count == schema.primaryKey.count else {
            throw GuildStoreError.invalidSchema("\(schema.name)'s primary key has \(schema.primaryKey.count) columns, not \(key.count)")
        }
        for (value, type) in zip(key, schema.primaryKeyTypes) where !value.fits(type) {
            throw GuildStoreError.columnTypeMismatch(table: schema.name, column: "primary key", expected: "\(type)",
                                                     found: value.columnType.map { "\($0)" } ?? "null")
        }
        return TupleEncoding.encode(key)
    }

    /// The row with primary key `key` of `schema` (which may differ from the catalog's, in a
    /// migration), decoded, or nil.
    func fetchRow(_ schema: TableSchema, key: [Value]) throws -> [Value]? {
        let encoded = try encodedKey(key, schema)
        guard let bytes = try get(encoded, in: try rowTree(schema)) else { return nil }
        return try encoded.withUnsafeBytes { k in try bytes.withUnsafeBytes { try schema.decodeRow(key: k, value: $0) } }
    }
}
