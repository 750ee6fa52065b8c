import Foundation

/// The persistent catalog of tables: tree `_tables`, keyed by table name, valued by the
/// schema as JSON. Creating a table creates its trees, which moves the schema counter, so a
/// cached schema is trusted only under the counter it was read with.
extension Transaction {
    static let catalogTreeName = "_tables"

    /// The schema of table `name`; `.unknownTable` when there is none.
    public final func table(_ name: String) throws -> TableSchema {
        try compiledTable(name).schema
    }

    /// The schema of table `name` with its trees and column positions resolved (cached with
    /// the schema, under the same counter).
    final func compiledTable(_ name: String) throws -> CompiledTable {
        let counter = header.schemaCounter
        if let last = lastCompiled, last.counter == counter, last.table.schema.name == name { return last.table }
        if let cached = engine.schemaCache.withLock({ $0[name] }), cached.counter == counter {
            lastCompiled = (counter, cached.compiled)
            return cached.compiled
        }
        guard let catalog = try tree(Self.catalogTreeName),
              let bytes = try get(Array(name.utf8), in: catalog) else {
            throw GuildStoreError.unknownTable(name)
        }
        let schema: TableSchema
        do {
            schema = try JSONDecoder().decode(TableSchema.self, from: Data(bytes))
        } catch {
            throw GuildStoreError.corruptEncoding(reason: "catalog entry for table \(name): \(error)")
        }
        let compiled = try CompiledTable(schema) { try tree($0) }
        engine.schemaCache.withLock { $0[name] = (counter, compiled) }
        lastCompiled = (counter, compiled)
        return compiled
    }

    /// Every table, by name.
    public final func tables() throws -> [TableSchema] {
        guard let catalog = try tree(Self.catalogTreeName) else { return [] }
        return try entries(catalog).map { try table(String(decoding: $0.key, as: UTF8.self)) }
    }
}

extension WriteTransaction {
    /// Creates a table and its index trees.
    public func createTable(_ schema: TableSchema) throws {
        try schema.validate()
        try validateForeignKeys(schema)
        let catalog = try openTree(Self.catalogTreeName)
        guard try get(Array(schema.name.utf8), in: catalog) == nil else {
            throw GuildStoreError.tableAlreadyExists(schema.name)
        }
        let json: Data
        do {
            json = try JSONEncoder().encode(schema)
        } catch {
            throw GuildStoreError.invalidSchema("table \(schema.name) cannot be encoded: \(error)")
        }
        _ = try createTree(schema.rowTreeName)
        for index in schema.indexes { _ = try createTree(schema.indexTreeName(index)) }
        for rollup in schema.rollups {
            for name in schema.rollupTreeNames(rollup) { _ = try createTree(name) }
        }
        try put(Array(schema.name.utf8), Array(json), in: try openTree(Self.catalogTreeName))
    }
}
