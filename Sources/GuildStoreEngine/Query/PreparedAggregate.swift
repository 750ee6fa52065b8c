/// An aggregate query planned once and run many times with bound values, as a prepared
/// statement is: the table, the columns its equalities and its range name, the grouping, the
/// aggregates and their order are fixed; each run gives the values.
///
/// The first run in a database resolves it (column positions and types, the rollups that can
/// answer it, the checks), and every later run under the same schema counter takes that
/// resolution as it is: no column is looked up by name, no dictionary is built, no plan shape
/// is hashed. The walk it takes is the one `planScan` would choose for the same values
/// (`PreparedScan`, QP-1); the answer is the one `aggregate(_:where:range:...)` gives (QP-3).
///
/// ```swift
/// let userStats = PreparedAggregate("message_events", equals: ["guild_id", "user_id"], range: "created_at",
///                                   [.count, .sum("character_count")])
/// let rows = try await db.read { tx in
///     try tx.aggregate(userStats, equals: [.uint(guild), .uint(user)], from: .timestamp(since))
/// }
/// ```
public final class PreparedAggregate: Sendable, CustomStringConvertible {
    public let table: String
    /// The columns the equalities fix, in the order `aggregate(_:equals:...)` gives their values.
    public let equalColumns: [String]
    /// The column the range bounds, if the query has one.
    public let rangeColumn: String?
    public let groupBy: [GroupKey]
    public let aggregates: [Aggregate]
    public let orderBy: [AggregateOrder]
    /// Names this query in the engine's cache of resolutions (`PreparedQuery.nextID`).
    let id = PreparedQuery.nextID()

    public init(_ table: String, equals equalColumns: [String] = [], range rangeColumn: String? = nil, groupBy: [GroupKey] = [],
                _ aggregates: [Aggregate], orderBy: [AggregateOrder] = []) {
        self.table = table
        self.equalColumns = equalColumns
        self.rangeColumn = rangeColumn
        self.groupBy = groupBy
        self.aggregates = aggregates
        self.orderBy = orderBy
    }

    public var description: String {
        var text = "aggregate \(aggregates.map(\.description).joined(separator: ", ")) of \(table)"
        text += PreparedQuery.conditions(equalColumns, rangeColumn)
        if !groupBy.isEmpty { text += " group by " + groupBy.map(\.description).joined(separator: ", ") }
        return text
    }
}

extension Transaction {
    /// The aggregate `query` gives for these values: `values[i]` for `query.equalColumns[i]`
    /// (NULL equals NULL, as in `planScan`), and `from <= rangeColumn < below` when a bound is
    /// given (no bound: no range condition). The same rows, groups, order and `limit` as
    /// `aggregate(_:where:range:groupBy:_:orderBy:limit:)` with those conditions.
    public final func aggregate(_ query: PreparedAggregate, equals values: [Value] = [], from lower: Value? = nil,
                                below upper: Value? = nil, limit: Int = .max) throws -> [AggregateRow] {
        let resolution = try resolution(of: query)
        let range = try resolution.scan.range(values, from: lower, below: upper)
        for candidate in resolution.rollups {
            if let predicate = candidate.predicate, values[predicate.source] != predicate.value { continue }
            let prefix = candidate.prefixSources.map { values[$0] }
            if let answer = try aggregate(candidate.answer, table: resolution.compiled, prefix: prefix, range: range, limit: limit, edges: { edge in
                try self.aggregate(try resolution.scan.plan(values, range: edge, in: self).0, shape: candidate.answer.edgeShape, filter: nil, limit: .max)
            }) {
                return answer
            }
        }
        return try aggregate(try resolution.scan.plan(values, range: range, in: self).0, shape: resolution.shape, filter: nil, limit: limit)
    }

    /// `query` resolved under this transaction's schema counter: the engine's, or made now.
    private func resolution(of query: PreparedAggregate) throws -> AggregateResolution {
        try engine.preparedAggregates.resolution(query.id, counter: header.schemaCounter) {
            try AggregateResolution(query, compiled: try compiledTable(query.table), counter: $0)
        }
    }
}

/// A `PreparedAggregate` resolved against one schema counter of one database (the engine keeps
/// it under the query's id): the shape, the rollups that can answer it, and the walk of the rows.
final class AggregateResolution: PreparedResolution {
    let counter: UInt64
    let compiled: CompiledTable
    let query: PreparedAggregate
    let shape: AggregateShape
    /// The walk of the rows, reading the columns the shape reads (every edge aggregate of a
    /// rollup reads the same columns: counts, the sums' columns).
    let scan: ScanResolution
    /// The rollups that can answer the shape, in the order `aggregate(_:where:...)` tries them
    /// in (`RollupAnswer.candidates`): where each fixed group value comes from among the
    /// values, and the value a predicate wants.
    let rollups: [(answer: RollupAnswer, prefixSources: [Int], predicate: (source: Int, value: Value)?)]

    init(_ query: PreparedAggregate, compiled: CompiledTable, counter: UInt64) throws {
        let schema = compiled.schema
        let shape = try AggregateShape(schema, groupBy: query.groupBy, query.aggregates, orderBy: query.orderBy)
        let scan = try ScanResolution(compiled, equalColumns: query.equalColumns, rangeColumn: query.rangeColumn, orderBy: [],
                                      reading: shape.columnsRead, counter: counter)
        let columns = query.equalColumns
        let equalSet = Set(columns)
        rollups = try RollupAnswer.candidates(compiled, equalColumns: equalSet, rangeColumn: query.rangeColumn, shape: shape).compactMap { answer in
            // Every fixed column and the predicate's column is among the equalities (`RollupAnswer`).
            let prefixSources = answer.fixedColumns.compactMap { columns.firstIndex(of: $0) }
            guard prefixSources.count == answer.fixedColumns.count else { return nil }
            var predicate: (source: Int, value: Value)?
            if let wanted = answer.predicate {
                guard let source = columns.firstIndex(of: wanted.column) else { return nil }
                predicate = (source, wanted.value)
            }
            return (answer, prefixSources, predicate)
        }
        (self.counter, self.compiled, self.query, self.shape, self.scan) = (counter, compiled, query, shape, scan)
    }
}
