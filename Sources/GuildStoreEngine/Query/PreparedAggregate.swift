/// An aggregate query planned once and run many times with bound values, as a prepared
/// statement is: the table, the columns its equalities and its range name, the grouping, the
/// aggregates and their order are fixed; each run gives the values.
///
/// The first run in a database resolves it (column positions and types, the rollups that can
/// answer it, the checks), and every later run under the same schema counter takes that
/// resolution as it is: no column is looked up by name, no dictionary is built, no plan shape
/// is hashed. The walk it takes is the one `planScan` would choose for the same values (QP-1);
/// the answer is the one `aggregate(_:where:range:...)` gives (QP-3).
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
    /// Names this query in the engine's cache of resolutions: unique in the process, never
    /// reused (an address could be, once the query is gone).
    let id: UInt64

    private static let nextID = Locked<UInt64>(0)

    public init(_ table: String, equals equalColumns: [String] = [], range rangeColumn: String? = nil, groupBy: [GroupKey] = [],
                _ aggregates: [Aggregate], orderBy: [AggregateOrder] = []) {
        self.table = table
        self.equalColumns = equalColumns
        self.rangeColumn = rangeColumn
        self.groupBy = groupBy
        self.aggregates = aggregates
        self.orderBy = orderBy
        id = Self.nextID.withLock { next in
            next += 1
            return next
        }
    }

    public var description: String {
        var text = "aggregate \(aggregates.map(\.description).joined(separator: ", ")) of \(table)"
        if !equalColumns.isEmpty { text += " where " + equalColumns.map { "\($0) = ?" }.joined(separator: " and ") }
        if let rangeColumn { text += " and \(rangeColumn) in [?, ?)" }
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
        let range = try resolution.range(values, from: lower, below: upper)
        for candidate in resolution.rollups {
            if let predicate = candidate.predicate, values[predicate.source] != predicate.value { continue }
            let prefix = candidate.prefixSources.map { values[$0] }
            if let answer = try aggregate(candidate.answer, table: resolution.compiled, prefix: prefix, range: range, limit: limit, edges: { edge in
                try self.aggregate(try resolution.plan(values, range: edge, in: self), shape: candidate.answer.edgeShape, filter: nil, limit: .max)
            }) {
                return answer
            }
        }
        return try aggregate(try resolution.plan(values, range: range, in: self), shape: resolution.shape, filter: nil, limit: limit)
    }

    /// `query` resolved under this transaction's schema counter: the engine's, or made now.
    private func resolution(of query: PreparedAggregate) throws -> AggregateResolution {
        let counter = header.schemaCounter
        if let cached = engine.preparedAggregates.withLock({ $0[query.id] }), cached.counter == counter { return cached }
        let made = try AggregateResolution(query, compiled: try compiledTable(query.table), counter: counter)
        engine.preparedAggregates.withLock { cache in
            if cache.count >= PlanShape.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[query.id] = made
        }
        return made
    }
}

/// A `PreparedAggregate` resolved against one schema counter of one database (the engine keeps
/// it under the query's id): the columns' types, the rollups that can answer the query's shape,
/// and the walks `planScan` chooses, one per combination of what the values make of the
/// partial indexes' predicates and of which range bounds are given (QP-1's shape, values aside).
final class AggregateResolution: @unchecked Sendable {
    // Safe to share: every stored property is immutable but `templates`, behind its lock.
    let counter: UInt64
    let compiled: CompiledTable
    let query: PreparedAggregate
    let shape: AggregateShape
    let equalTypes: [ColumnType]
    let rangeType: ColumnType?
    /// The rollups that can answer the shape, in the table's order (the order
    /// `aggregate(_:where:...)` tries them in): where each fixed group value comes from among
    /// the values, and the value a predicate wants.
    let rollups: [(answer: RollupAnswer, prefixSources: [Int], predicate: (source: Int, value: Value)?)]
    /// The partial indexes' predicates in schema order, each one bit of a template's key (after
    /// the two range bits); nil past 62 of them, when plans come from `planScan`.
    private let predicates: [PredicateTest]?
    private let templates = Locked<[UInt64: PlanTemplate]>([:])

    /// Whether a partial index's predicate holds for every row the values select.
    private enum PredicateTest {
        /// `column = value`: the equality on it (its source among the values) gives that value.
        case equals(source: Int?, value: Value)
        /// `column IS NOT NULL`: an equality gives it a value, or the range is on it.
        case notNull(source: Int?, rangeColumn: Bool)

        func holds(_ values: [Value], range: ColumnRange?) -> Bool {
            switch self {
            case .equals(let source, let value): return source.map { values[$0] == value } ?? false
            case .notNull(let source, let rangeColumn):
                if let source, !values[source].isNull { return true }
                return rangeColumn && range != nil
            }
        }
    }

    /// A plan `planScan` chose, and where its values come from among a run's values.
    private struct PlanTemplate {
        let plan: ScanPlan
        let prefixSources: [Int]
        /// The prefix is the values' first `prefixSources.count` (the common case: the
        /// equalities name the index's leading columns in its order).
        let prefixLeads: Bool
        /// Per residual condition, the source of its equality (nil: a range condition).
        let residualSources: [Int?]
    }

    init(_ query: PreparedAggregate, compiled: CompiledTable, counter: UInt64) throws {
        let schema = compiled.schema
        let columns = query.equalColumns
        if let repeated = columns.enumerated().first(where: { columns.firstIndex(of: $0.element) != $0.offset }) {
            throw GuildStoreError.invalidQuery("prepared aggregate of \(schema.name) names \(repeated.element) twice")
        }
        equalTypes = try columns.map { schema.columns[try schema.columnIndex($0)].type }
        rangeType = try query.rangeColumn.map { schema.columns[try schema.columnIndex($0)].type }
        let shape = try AggregateShape(schema, groupBy: query.groupBy, query.aggregates, orderBy: query.orderBy)
        let equalSet = Set(columns)
        rollups = try compiled.rollups.compactMap { rollup in
            guard let answer = try RollupAnswer(rollup, equalColumns: equalSet, rangeColumn: query.rangeColumn, shape: shape) else {
                return nil
            }
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
        let partial = schema.indexes.compactMap(\.predicate)
        predicates = partial.count > 62 ? nil : partial.map { predicate in
            switch predicate {
            case .equals(let column, let value): .equals(source: columns.firstIndex(of: column), value: value)
            case .isNotNull(let column): .notNull(source: columns.firstIndex(of: column), rangeColumn: query.rangeColumn == column)
            }
        }
        (self.counter, self.compiled, self.query, self.shape) = (counter, compiled, query, shape)
    }

    /// The run's range, its values checked against the columns' types.
    func range(_ values: [Value], from lower: Value?, below upper: Value?) throws -> ColumnRange? {
        guard values.count == equalTypes.count else {
            throw GuildStoreError.invalidQuery("\(query) takes \(equalTypes.count) equal values, given \(values.count)")
        }
        for (i, value) in values.enumerated() where !value.isNull && !value.fits(equalTypes[i]) {
            throw mismatch(query.equalColumns[i], equalTypes[i], value)
        }
        guard lower != nil || upper != nil else { return nil }
        guard let column = query.rangeColumn, let rangeType else {
            throw GuildStoreError.invalidQuery("\(query) has no range column, given a range")
        }
        for bound in [lower, upper] {
            if let bound, !bound.isNull, !bound.fits(rangeType) { throw mismatch(column, rangeType, bound) }
        }
        return ColumnRange(column, from: lower, below: upper)
    }

    private func mismatch(_ column: String, _ type: ColumnType, _ value: Value) -> GuildStoreError {
        .columnTypeMismatch(table: query.table, column: column, expected: "\(type)", found: value.columnType.map { "\($0)" } ?? "null")
    }

    /// The walk for these values (checked by `range`), reading the columns the shape reads
    /// (every edge aggregate of a rollup reads the same columns: counts, the sums' columns).
    func plan(_ values: [Value], range: ColumnRange?, in transaction: Transaction) throws -> ScanPlan {
        func equals() -> [String: Value] { Dictionary(uniqueKeysWithValues: zip(query.equalColumns, values)) }
        guard let predicates else {
            return try transaction.planScan(query.table, equals: equals(), range: range, reading: shape.columnsRead)
        }
        var key: UInt64 = (range?.from != nil ? 1 : 0) | (range?.below != nil ? 2 : 0)
        for (i, predicate) in predicates.enumerated() where predicate.holds(values, range: range) { key |= 1 << (i + 2) }
        let template: PlanTemplate
        if let known = templates.withLock({ $0[key] }) {
            template = known
        } else {
            template = try makeTemplate(equals: equals(), range: range, in: transaction)
            templates.withLock { $0[key] = template }
        }
        let plan = template.plan
        let prefix = template.prefixLeads && template.prefixSources.count == values.count
            ? values : template.prefixSources.map { values[$0] }
        var residual = plan.residual
        for (i, source) in template.residualSources.enumerated() {
            if let source { residual[i].equals = values[source] } else { residual[i].range = range }
        }
        return ScanPlan(table: plan.table, index: plan.index, prefixColumns: plan.prefixColumns, prefix: prefix,
                        range: plan.range == nil ? nil : range, reverse: plan.reverse, indexOnly: plan.indexOnly, order: plan.order,
                        fixed: plan.fixed, residual: residual,
                        selection: ScanPlan.Selection(columns: query.equalColumns, values: values, range: range))
    }

    private func makeTemplate(equals: [String: Value], range: ColumnRange?, in transaction: Transaction) throws -> PlanTemplate {
        let plan = try transaction.choosePlan(compiled, equals: equals, range: range, orderBy: [], reading: shape.columnsRead)
        let columns = query.equalColumns
        let prefixSources = plan.prefixColumns.compactMap { columns.firstIndex(of: $0) }
        guard prefixSources.count == plan.prefixColumns.count else {
            throw GuildStoreError.invalidQuery("\(query): a plan fixes a column it was given no value for")
        }
        var residualSources: [Int?] = []
        for condition in plan.residual {
            guard condition.equals != nil else {
                residualSources.append(nil)
                continue
            }
            guard let source = columns.firstIndex(of: compiled.schema.columns[condition.position].name) else {
                throw GuildStoreError.invalidQuery("\(query): a plan checks a column it was given no value for")
            }
            residualSources.append(source)
        }
        return PlanTemplate(plan: plan, prefixSources: prefixSources, prefixLeads: prefixSources == Array(prefixSources.indices),
                            residualSources: residualSources)
    }
}
