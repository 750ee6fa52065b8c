import Foundation

/// A column's default when an insert leaves it out.
///
/// ```swift
/// ColumnDefinition("is_active", .bool, default: .value(.bool(true)))
/// ColumnDefinition("created_at", .timestamp, default: .now)
/// ```
public enum ColumnDefault: Sendable, Hashable {
    /// This value.
    case value(Value)
    /// The time of the insert, as a timestamp (seconds since 1970): `created_at`,
    /// `updated_at`.
    case now
}

/// One column of a table: its name, type, whether it may hold NULL, and its default.
///
/// ```swift
/// let columns = [ColumnDefinition("id", .uint),
///                ColumnDefinition("name", .text, nullable: true),
///                ColumnDefinition("updated_at", .timestamp, default: .now, updatedAtNow: true)]
/// ```
public struct ColumnDefinition: Sendable, Hashable {
    public var name: String
    public var type: ColumnType
    public var nullable: Bool
    public var defaultValue: ColumnDefault?
    /// Set to the time of the write on every update too (`updated_at`).
    public var updatedAtNow: Bool

    public init(_ name: String, _ type: ColumnType, nullable: Bool = false, default defaultValue: ColumnDefault? = nil, updatedAtNow: Bool = false) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.defaultValue = defaultValue
        self.updatedAtNow = updatedAtNow
    }
}

/// Which rows a partial index holds.
///
/// ```swift
/// IndexDefinition("active", on: ["created_at"], where: .equals("is_active", .bool(true)))
/// IndexDefinition("by_parent", on: ["parent_id"], where: .isNotNull("parent_id"))
/// ```
public enum IndexPredicate: Sendable, Hashable {
    /// Rows whose column equals the value (seed 000's `WHERE is_active = true`).
    case equals(String, Value)
    /// Rows whose column is not NULL.
    case isNotNull(String)
}

/// A secondary index of a table: columns in order (each ascending or descending), optionally
/// unique, partial (`where:`) or covering (`including:`).
///
/// ```swift
/// IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])
/// IndexDefinition("by_user", on: ["user_id", "created_at"], including: ["character_count"])
/// IndexDefinition("by_name", on: ["name"], unique: true)
/// ```
public struct IndexDefinition: Sendable, Hashable {
    public var name: String
    /// Indexed columns, in order; `descending` per column.
    public var columns: [String]
    public var descending: [Bool]
    public var unique: Bool
    /// Nil: every row. Otherwise only rows that satisfy it (a partial index).
    public var predicate: IndexPredicate?
    /// Extra columns stored in the entry so a scan can answer without fetching the row.
    public var including: [String]

    public init(_ name: String, on columns: [String], descending: [Bool]? = nil, unique: Bool = false,
                where predicate: IndexPredicate? = nil, including: [String] = []) {
        self.name = name
        self.columns = columns
        self.descending = descending ?? Array(repeating: false, count: columns.count)
        self.unique = unique
        self.predicate = predicate
        self.including = including
    }
}

/// A table: typed columns, a primary key (one or more columns) the rows are clustered by,
/// secondary indexes, and foreign keys to other tables' primary keys (see `ForeignKeys.swift`).
///
/// ```swift
/// let notes = TableSchema("notes",
///     columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint),
///               ColumnDefinition("text", .text), ColumnDefinition("created_at", .timestamp, default: .now)],
///     primaryKey: ["id"],
///     indexes: [IndexDefinition("by_guild", on: ["guild_id", "created_at"])],
///     foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])
/// try await db.migrate([Migration("001_notes") { tx in try tx.createTable(notes) }])
/// ```
///
/// Storage: rows live in tree `table:NAME`, keyed by the tuple encoding of the primary key,
/// valued by the row encoding of every other column (`RowLayout`, TB-2). Index `I` lives in
/// tree `index:NAME.I`, keyed by the tuple encoding of its columns followed by the primary key (a unique index whose
/// columns hold no NULL omits the primary key, so equal keys collide). A non-unique index
/// without included columns stores an empty value (the key ends with the primary key); any
/// other index is valued by the row encoding of the primary key and the included columns
/// (`CompiledIndex` is the one definition of the format).
public struct TableSchema: Sendable, Hashable {
    public var name: String
    public var columns: [ColumnDefinition]
    public var primaryKey: [String]
    public var indexes: [IndexDefinition]
    /// References from this table's columns to other tables' (or its own) primary keys.
    /// Catalogs written before foreign keys existed decode with none.
    public var foreignKeys: [ForeignKey]
    /// Maintained aggregates over this table's rows (`RollupDefinition`). Catalogs written
    /// before rollups existed decode with none.
    public var rollups: [RollupDefinition]

    public init(_ name: String, columns: [ColumnDefinition], primaryKey: [String], indexes: [IndexDefinition] = [],
                foreignKeys: [ForeignKey] = [], rollups: [RollupDefinition] = []) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.indexes = indexes
        self.foreignKeys = foreignKeys
        self.rollups = rollups
    }

    var rowTreeName: String { Self.rowTreeName(name) }
    /// The tree holding the rows of table `table`.
    static func rowTreeName(_ table: String) -> String { "table:\(table)" }
    /// The table whose rows tree `tree` holds, or nil for any other tree.
    static func tableName(ofRowTree tree: String) -> String? {
        tree.hasPrefix("table:") ? String(tree.dropFirst("table:".count)) : nil
    }
    func indexTreeName(_ index: IndexDefinition) -> String { "index:\(name).\(index.name)" }

    /// Position of column `name`.
    public func columnIndex(_ column: String) throws -> Int {
        guard let i = columns.firstIndex(where: { $0.name == column }) else {
            throw GuildStoreError.unknownColumn(table: name, column: column)
        }
        return i
    }

    /// Checks that the definition can work.
    func validate() throws {
        guard !name.isEmpty, !columns.isEmpty else { throw GuildStoreError.invalidSchema("table \(name) needs a name and columns") }
        guard Set(columns.map(\.name)).count == columns.count else {
            throw GuildStoreError.invalidSchema("table \(name) names a column twice")
        }
        guard !primaryKey.isEmpty else { throw GuildStoreError.invalidSchema("table \(name) has no primary key") }
        for column in primaryKey {
            let i = try columnIndex(column)
            guard !columns[i].nullable else {
                throw GuildStoreError.invalidSchema("primary key column \(name).\(column) must be NOT NULL")
            }
        }
        guard Set(indexes.map(\.name)).count == indexes.count else {
            throw GuildStoreError.invalidSchema("table \(name) names an index twice")
        }
        for index in indexes {
            guard !index.columns.isEmpty, index.descending.count == index.columns.count else {
                throw GuildStoreError.invalidSchema("index \(index.name) of \(name) needs columns (and one direction each)")
            }
            for column in index.columns + index.including { _ = try columnIndex(column) }
            switch index.predicate {
            case .equals(let column, _), .isNotNull(let column): _ = try columnIndex(column)
            case nil: break
            }
        }
        for column in columns {
            if case .value(let value) = column.defaultValue, !value.isNull, !value.fits(column.type) {
                throw GuildStoreError.columnTypeMismatch(table: name, column: column.name, expected: "\(column.type)", found: "default \(value)")
            }
        }
        try validateForeignKeyColumns()
        guard Set(rollups.map(\.name)).count == rollups.count else {
            throw GuildStoreError.invalidSchema("table \(name) names a rollup twice")
        }
        for rollup in rollups { try rollup.validate(in: self) }
    }

    /// Fills the defaults of NOT NULL columns that read as NULL: columns a migration added
    /// (`addColumn`) after the row was written. The row format stores no trailing NULLs and
    /// reads missing trailing columns as NULL (RowEncoding invariant RE-1); a NOT NULL column can
    /// hold no NULL, so a NULL there always means "written before the column existed" and
    /// reads as the column's default. Every path that decodes a stored row of this table must
    /// pass it through here (`decodeRow` does both).
    ///
    /// Invariant (TB-1): a column added to a table with rows is either nullable without a default
    /// (old rows read NULL) or NOT NULL with a `.value` default (old rows read that value), so
    /// this function is exact: it never turns a stored NULL into a default.
    @inline(__always)
    package func fillingDefaults(_ values: [Value]) -> [Value] {
        var values = values
        for (i, column) in columns.enumerated() where i < values.count && !column.nullable && values[i].isNull {
            if case .value(let value) = column.defaultValue { values[i] = value }
        }
        return values
    }

    /// The row stored in this table's row tree under `key` with `value` (TB-2), its defaults
    /// filled (`fillingDefaults`). Throws `.corruptEncoding` on malformed bytes.
    package func decodeRow(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> [Value] {
        fillingDefaults(try RowLayout(self).decode(key: key, value: value))
    }
}

// MARK: - Persistence (the catalog stores schemas as JSON)

extension TableSchema: Codable {
    private enum CodingKeys: String, CodingKey { case name, columns, primaryKey, indexes, foreignKeys, rollups }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        columns = try container.decode([ColumnDefinition].self, forKey: .columns)
        primaryKey = try container.decode([String].self, forKey: .primaryKey)
        indexes = try container.decode([IndexDefinition].self, forKey: .indexes)
        // Catalog entries written before foreign keys existed have no such key.
        foreignKeys = try container.decodeIfPresent([ForeignKey].self, forKey: .foreignKeys) ?? []
        rollups = try container.decodeIfPresent([RollupDefinition].self, forKey: .rollups) ?? []
    }
}
extension ColumnDefinition: Codable {}
extension IndexDefinition: Codable {}
extension ColumnType: Codable {}

extension ColumnDefault: Codable {
    private enum CodingKeys: String, CodingKey { case now, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if try container.decodeIfPresent(Bool.self, forKey: .now) == true {
            self = .now
        } else {
            let bytes = try container.decode([UInt8].self, forKey: .value)
            self = .value(try ColumnDefault.decodeValue(bytes))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .now: try container.encode(true, forKey: .now)
        case .value(let value): try container.encode(TupleEncoding.encode([value]), forKey: .value)
        }
    }

    /// A single self-describing value: the tuple encoding carries its type tag.
    static func decodeValue(_ bytes: [UInt8]) throws -> Value {
        for type in ColumnType.allCases {
            if let values = try? TupleEncoding.decode(bytes, types: [type]), let value = values.first { return value }
        }
        throw GuildStoreError.corruptEncoding(reason: "a stored default value has no known type")
    }
}

extension IndexPredicate: Codable {
    private enum CodingKeys: String, CodingKey { case column, equals, notNull }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let column = try container.decode(String.self, forKey: .column)
        if let bytes = try container.decodeIfPresent([UInt8].self, forKey: .equals) {
            self = .equals(column, try ColumnDefault.decodeValue(bytes))
        } else {
            self = .isNotNull(column)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .equals(let column, let value):
            try container.encode(column, forKey: .column)
            try container.encode(TupleEncoding.encode([value]), forKey: .equals)
        case .isNotNull(let column):
            try container.encode(column, forKey: .column)
            try container.encode(true, forKey: .notNull)
        }
    }
}
