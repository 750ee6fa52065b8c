import Foundation

/// Schema migrations: an ordered list of named changes, each applied once
/// (`prisma migrate deploy`).
///
/// ```swift
/// let migrations = [
///     Migration("001_guilds") { tx in try tx.createTable(guilds) },
///     Migration("002_users_role") { tx in
///         try tx.addColumn(to: "users", ColumnDefinition("role", .text, default: .value("MEMBER")))
///         try tx.addIndex(to: "users", IndexDefinition("idx_users_role", on: ["role"]))
///     },
/// ]
/// let applied = try engine.migrate(migrations)   // names applied by this run
/// ```
///
/// Applied migrations live in tree `_migrations`, one entry each:
///
///     key    the migration's name, UTF-8
///     value  row encoding (RowEncoding) of two columns:
///              0  ordinal     uint       0 for the first migration applied, then 1, 2, ...
///              1  applied_at  timestamp  seconds since 1970 when its transaction ran
///
/// Invariants:
/// (MG-1) A migration's changes and its `_migrations` entry commit in the same transaction: a
///      name is recorded exactly when the migration's effects are in the database.
/// (MG-2) `migrate` runs the migrations not yet recorded, in list order, each in a transaction of
///      its own. The first that throws is rolled back alone (those before it stay committed)
///      and stops the run with `.migrationFailed` naming it. Re-running a list is a no-op.
///      Recorded names missing from the list are left alone.
/// (MG-3) A schema change rewrites the table's catalog entry and takes a new schema counter
///      (TX-6), so no cached `TableSchema` or `Tree` handle outlives it.
public struct Migration: Sendable {
    public let name: String
    public let apply: @Sendable (WriteTransaction) throws -> Void

    public init(_ name: String, _ apply: @escaping @Sendable (WriteTransaction) throws -> Void) {
        self.name = name
        self.apply = apply
    }

    /// Throws `.migrationFailed` when a name appears twice in the list (before anything runs).
    static func checkNamesAreUnique(_ migrations: [Migration]) throws {
        var seen: Set<String> = []
        for migration in migrations where !seen.insert(migration.name).inserted {
            throw GuildStoreError.migrationFailed(name: migration.name, reason: "the name appears twice in the list")
        }
    }
}

/// One entry of `_migrations`.
///
/// ```swift
/// let applied = try await db.read { tx in try tx.appliedMigrations() }
/// for migration in applied { print(migration.ordinal, migration.name, migration.appliedAt) }
/// ```
public struct AppliedMigration: Sendable, Hashable {
    public let name: String
    /// Position in the order migrations were applied, from 0.
    public let ordinal: Int
    /// Seconds since 1970.
    public let appliedAt: Int64
}

extension Transaction {
    static let migrationsTreeName = "_migrations"
    private static let migrationEntryTypes: [ColumnType] = [.uint, .timestamp]

    /// The migrations applied so far, in the order they were applied.
    public final func appliedMigrations() throws -> [AppliedMigration] {
        guard let tree = try tree(Self.migrationsTreeName) else { return [] }
        var result: [AppliedMigration] = []
        try scan(tree) { key, value in
            let fields = try RowEncoding.decode(value, types: Self.migrationEntryTypes)
            guard case .uint(let ordinal) = fields[0], ordinal <= UInt64(Int.max), case .timestamp(let at) = fields[1] else {
                throw GuildStoreError.corruptEncoding(reason: "\(Self.migrationsTreeName) entry with missing fields")
            }
            guard let name = String(validating: key, as: UTF8.self) else {
                throw GuildStoreError.corruptEncoding(reason: "\(Self.migrationsTreeName) key is not UTF-8")
            }
            result.append(AppliedMigration(name: name, ordinal: Int(ordinal), appliedAt: at))
            return true
        }
        return result.sorted { $0.ordinal < $1.ordinal }
    }
}

extension WriteTransaction {
    /// Applies `migration` in this transaction and records it (MG-1), unless it is recorded
    /// already; returns whether it ran. An error it throws comes out as `.migrationFailed`;
    /// the caller rolls the transaction back (`StorageEngine.migrate` does).
    @discardableResult
    package func apply(_ migration: Migration) throws -> Bool {
        let key = Array(migration.name.utf8)
        if let tree = try tree(Self.migrationsTreeName), try get(key, in: tree) != nil { return false }
        do {
            try migration.apply(self)
            let tree = try openTree(Self.migrationsTreeName)
            let ordinal = UInt64(try appliedMigrations().count)
            let now = Int64(Date().timeIntervalSince1970)
            try put(key, try RowEncoding.encode([.uint(ordinal), .timestamp(now)], types: [.uint, .timestamp]), in: tree)
        } catch {
            throw GuildStoreError.migrationFailed(name: migration.name, reason: "\(error)")
        }
        return true
    }

    // MARK: Schema changes

    /// Adds `column` at the end of table `tableName`'s columns. Rows already stored are not
    /// rewritten: they read the new column as NULL, or as its default when it is NOT NULL
    /// (`TableSchema.fillingDefaults`). For that to be exact (TB-1) the column must be either
    /// nullable without a default, or NOT NULL with a `.value` default; anything else throws
    /// `.invalidSchema` and changes nothing. (A nullable column with a default could not tell
    /// an old row from a new row that stored NULL: the row format drops trailing NULLs.)
    public func addColumn(to tableName: String, _ column: ColumnDefinition) throws {
        var schema = try table(tableName)
        switch (column.nullable, column.defaultValue) {
        case (true, nil): break
        case (false, .value(let value)) where !value.isNull: break
        case (true, _):
            throw GuildStoreError.invalidSchema("column \(tableName).\(column.name) is added nullable with a default; add it NOT NULL with a value default, or nullable without one")
        case (false, _):
            throw GuildStoreError.invalidSchema("column \(tableName).\(column.name) is added NOT NULL and needs a non-NULL value default for the rows already stored")
        }
        schema.columns.append(column)
        try schema.validate()
        try storeSchema(schema)
    }

    /// Adds `index` to table `tableName` and fills it from the rows already stored. If the
    /// index is unique and two rows share a key, throws `.uniqueViolation` having written
    /// nothing. Builds the entries in memory (key and value of each row the index holds),
    /// sorts them, then inserts them in key order: memory O(rows), one pass over the table.
    public func addIndex(to tableName: String, _ index: IndexDefinition) throws {
        var schema = try table(tableName)
        schema.indexes.append(index)
        try schema.validate()
        var entries: [(key: [UInt8], checksUniqueness: Bool, value: [UInt8])] = []
        try scan(try rowTree(schema)) { key, value in
            let row = try schema.decodeRow(key: key, value: value)
            if try schema.index(index, holds: row) { entries.append(try schema.indexEntry(index, for: row)) }
            return true
        }
        entries.sort { $0.key.precedes($1.key) }
        for i in entries.indices.dropFirst() where entries[i].checksUniqueness && entries[i].key == entries[i - 1].key {
            let primary = Array(try RowEncoding.decode(entries[i].value, types: schema.primaryKeyTypes + (try index.including.map { schema.columns[try schema.columnIndex($0)].type })).prefix(schema.primaryKey.count))
            let row = try fetchRow(schema, key: primary) ?? []
            let key = row.isEmpty ? [] : try index.columns.map { row[try schema.columnIndex($0)] }
            throw GuildStoreError.uniqueViolation(table: schema.name, index: index.name, key: describeValues(key))
        }
        let tree = try createTree(schema.indexTreeName(index))
        for entry in entries { try put(entry.key, entry.value, in: tree) }
        try storeSchema(schema)
    }

    /// Drops index `indexName` of table `tableName` and frees its pages. A foreign key that
    /// found its children through it falls back to the next index, or to a scan.
    public func dropIndex(from tableName: String, named indexName: String) throws {
        var schema = try table(tableName)
        guard let position = schema.indexes.firstIndex(where: { $0.name == indexName }) else {
            throw GuildStoreError.invalidSchema("table \(tableName) has no index \(indexName)")
        }
        let index = schema.indexes.remove(at: position)
        try dropTree(schema.indexTreeName(index))
        try storeSchema(schema)
    }

    /// Rewrites `schema`'s catalog entry and takes a new schema counter (MG-3).
    func storeSchema(_ schema: TableSchema) throws {
        let json: Data
        do {
            json = try JSONEncoder().encode(schema)
        } catch {
            throw GuildStoreError.invalidSchema("table \(schema.name) cannot be encoded: \(error)")
        }
        try put(Array(schema.name.utf8), Array(json), in: try openTree(Self.catalogTreeName))
        workingHeader.schemaCounter = try engine.nextSchemaCounter()  // TX-6: cached schemas of this table are stale
    }
}

extension StorageEngine {
    /// Applies the migrations of `migrations` not yet applied, in order, each in its own
    /// transaction (MG-2); returns the names this run applied. Throws `.migrationFailed` naming
    /// the first that failed (it is rolled back; the ones before it stay applied), or
    /// `.migrationFailed` before running anything when a name appears twice.
    @discardableResult
    package func migrate(_ migrations: [Migration]) throws -> [String] {
        try Migration.checkNamesAreUnique(migrations)
        var applied: [String] = []
        for migration in migrations {
            if try write({ tx in try tx.apply(migration) }) { applied.append(migration.name) }
        }
        return applied
    }

    /// The migrations applied so far, in the order they were applied.
    package func appliedMigrations() throws -> [AppliedMigration] {
        try read { try $0.appliedMigrations() }
    }
}
