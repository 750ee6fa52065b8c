/// One counter a rollup keeps per group.
///
/// ```swift
/// RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")],
///                  [.count, .sum("character_count"), .countDistinct("user_id")])
/// ```
public enum RollupValue: Sendable, Hashable, CustomStringConvertible {
    /// The group's rows (`COUNT(*)`).
    case count
    /// `SUM(column)` of an int, timestamp or bool column, kept exact in 128 bits. A nullable
    /// column's sum needs the rollup to keep `countNonNull` of it too: SQL's sum of NULLs
    /// alone is NULL.
    case sum(String)
    /// `COUNT(column)`: rows whose column is not NULL.
    case countNonNull(String)
    /// `COUNT(CASE WHEN column = value THEN 1 END)`.
    case countWhere(String, equals: Value)
    /// `COUNT(DISTINCT column)` within the group: each value's rows are counted in a tree of
    /// their own, and the group's counter moves when a value's count leaves or reaches zero.
    case countDistinct(String)

    /// The column the counter reads, if any.
    public var column: String? {
        switch self {
        case .count: nil
        case .sum(let c), .countNonNull(let c), .countWhere(let c, _), .countDistinct(let c): c
        }
    }

    public var description: String {
        switch self {
        case .count: "count(*)"
        case .sum(let c): "sum(\(c))"
        case .countNonNull(let c): "count(\(c))"
        case .countWhere(let c, let v): "count(\(c) = \(v))"
        case .countDistinct(let c): "count(distinct \(c))"
        }
    }
}

/// A maintained aggregate (a "rollup", what TimescaleDB's continuous aggregates give seed
/// 001, but always exact): counters per group of a table's rows, kept in the same write
/// transaction as the rows they count, so `aggregate` can answer a time range from whole
/// buckets plus the rows of its two partial edges instead of walking every row.
///
///     RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")],
///                      [.count, .countDistinct("user_id")])
///
/// Storage (invariant RU-1): tree `rollup:TABLE.NAME`, keyed by the tuple encoding of the
/// group's values (time buckets as their first second), valued by the counters as zigzag
/// LEB128 varints of up to 128 bits, shortest form: the group's rows, then one per `values`
/// entry. A group with no rows has no entry. Each `countDistinct` value j has tree
/// `rollup:TABLE.NAME#j`, keyed by the group's key followed by the tuple encoding of the
/// column's value, valued by the count of such rows (a zigzag varint, at least 1); NULLs are
/// not counted (as in SQL).
///
/// Grouping: plain columns, and at most one time bucket. `predicate` limits the rollup to
/// the rows a partial index with that predicate would hold.
///
/// ```swift
/// try await db.write { tx in
///     try tx.addRollup(to: "message_events",
///         RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")], [.count]))
/// }
/// ```
public struct RollupDefinition: Sendable, Hashable {
    public var name: String
    public var groupBy: [GroupKey]
    public var values: [RollupValue]
    public var predicate: IndexPredicate?

    public init(_ name: String, groupBy: [GroupKey], _ values: [RollupValue], where predicate: IndexPredicate? = nil) {
        self.name = name
        self.groupBy = groupBy
        self.values = values
        self.predicate = predicate
    }

    /// The time bucket's position in `groupBy`, if it has one.
    var bucketPosition: Int? {
        groupBy.firstIndex { if case .timeBucket = $0 { true } else { false } }
    }

    /// Checks the definition against its table's columns.
    func validate(in schema: TableSchema) throws {
        func invalid(_ why: String) -> GuildStoreError { .invalidSchema("rollup \(name) of \(schema.name): \(why)") }
        guard !name.isEmpty, !name.contains("#") else { throw invalid("needs a name without '#'") }
        guard !groupBy.isEmpty else { throw invalid("needs at least one group key") }
        var buckets = 0
        for key in groupBy {
            let i = try schema.columnIndex(key.column)
            if case .timeBucket(let column, let seconds) = key {
                buckets += 1
                guard seconds > 0, [.timestamp, .int].contains(schema.columns[i].type) else {
                    throw invalid("a time bucket needs a timestamp or int column and a positive width, not \(column), \(seconds) s")
                }
            }
        }
        guard buckets <= 1 else { throw invalid("at most one time bucket") }
        for value in values {
            guard let column = value.column else { continue }
            let definition = schema.columns[try schema.columnIndex(column)]
            switch value {
            case .sum(let c):
                guard [.int, .timestamp, .bool].contains(definition.type) else {
                    throw invalid("\(value) needs an int, timestamp or bool column")
                }
                guard !definition.nullable || values.contains(.countNonNull(c)) else {
                    throw invalid("\(value) of a nullable column needs count(\(c)) beside it")
                }
            case .countWhere(_, let expected):
                guard expected.fits(definition.type) else { throw invalid("\(value): the value is not of the column's type") }
            default: break
            }
        }
        switch predicate {
        case .equals(let column, _), .isNotNull(let column): _ = try schema.columnIndex(column)
        case nil: break
        }
    }
}

extension TableSchema {
    func rollupTreeName(_ rollup: RollupDefinition) -> String { "rollup:\(name).\(rollup.name)" }

    /// The tree counting the distinct values of `rollup.values[value]`.
    func rollupDistinctTreeName(_ rollup: RollupDefinition, value: Int) -> String { "rollup:\(name).\(rollup.name)#\(value)" }

    /// Every tree of `rollup`: its counters, then one per `countDistinct`.
    func rollupTreeNames(_ rollup: RollupDefinition) -> [String] {
        [rollupTreeName(rollup)] + rollup.values.indices.compactMap { j in
            if case .countDistinct = rollup.values[j] { rollupDistinctTreeName(rollup, value: j) } else { nil }
        }
    }
}

// MARK: - Persistence (in the table's catalog JSON)

extension RollupDefinition: Codable {}

extension GroupKey: Codable {
    private enum CodingKeys: String, CodingKey { case column, bucketSeconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let column = try container.decode(String.self, forKey: .column)
        if let seconds = try container.decodeIfPresent(Int64.self, forKey: .bucketSeconds) {
            self = .timeBucket(column, seconds: seconds)
        } else {
            self = .column(column)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(column, forKey: .column)
        if case .timeBucket(_, let seconds) = self { try container.encode(seconds, forKey: .bucketSeconds) }
    }
}

extension RollupValue: Codable {
    private enum CodingKeys: String, CodingKey { case kind, column, equals }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "count": self = .count
        case "sum": self = .sum(try container.decode(String.self, forKey: .column))
        case "countNonNull": self = .countNonNull(try container.decode(String.self, forKey: .column))
        case "countWhere":
            self = .countWhere(try container.decode(String.self, forKey: .column),
                               equals: try ColumnDefault.decodeValue(try container.decode([UInt8].self, forKey: .equals)))
        case "countDistinct": self = .countDistinct(try container.decode(String.self, forKey: .column))
        case let kind: throw GuildStoreError.corruptEncoding(reason: "a rollup value of unknown kind \(kind)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .count: try container.encode("count", forKey: .kind)
        case .sum(let c):
            try container.encode("sum", forKey: .kind)
            try container.encode(c, forKey: .column)
        case .countNonNull(let c):
            try container.encode("countNonNull", forKey: .kind)
            try container.encode(c, forKey: .column)
        case .countWhere(let c, let v):
            try container.encode("countWhere", forKey: .kind)
            try container.encode(c, forKey: .column)
            try container.encode(TupleEncoding.encode([v]), forKey: .equals)
        case .countDistinct(let c):
            try container.encode("countDistinct", forKey: .kind)
            try container.encode(c, forKey: .column)
        }
    }
}
