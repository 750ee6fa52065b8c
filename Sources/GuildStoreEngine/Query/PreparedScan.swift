/// A read's walk planned once and made again for each run's values, as a prepared statement's
/// plan is: the table, the columns its equalities and its range name, the order and the columns
/// read are fixed; each run gives the values.
///
/// `planScan(_:equals:from:below:)` returns exactly the plan `planScan(_:equals:range:orderBy:reading:)`
/// makes for the same conditions (QP-1), without building a dictionary or hashing a plan shape:
/// the choice is resolved once per schema counter and per combination of what the values make
/// of the partial indexes' predicates and of which range bounds are given.
///
/// ```swift
/// let recent = PreparedScan("message_events", equals: ["guild_id"], range: "created_at",
///                           orderBy: [.descending("created_at")], reading: ["user_id", "created_at"])
/// let rows = try await db.read { tx in
///     try tx.select(try tx.planScan(recent, equals: [.uint(guild)], from: .timestamp(since)), limit: 20)
/// }
/// ```
public final class PreparedScan: Sendable, CustomStringConvertible {
    public let table: String
    /// The columns the equalities fix, in the order `planScan(_:equals:...)` gives their values.
    public let equalColumns: [String]
    /// The column the range bounds, if the read has one.
    public let rangeColumn: String?
    public let orderBy: [SortKey]
    /// The columns the caller reads from the rows (nil: all of them), as in `planScan`.
    public let reading: [String]?
    /// Names this read in the engine's cache of resolutions (`PreparedQuery.nextID`).
    let id = PreparedQuery.nextID()

    public init(_ table: String, equals equalColumns: [String] = [], range rangeColumn: String? = nil, orderBy: [SortKey] = [],
                reading: [String]? = nil) {
        self.table = table
        self.equalColumns = equalColumns
        self.rangeColumn = rangeColumn
        self.orderBy = orderBy
        self.reading = reading
    }

    public var description: String {
        var text = "scan of \(table)"
        text += PreparedQuery.conditions(equalColumns, rangeColumn)
        if !orderBy.isEmpty { text += " order by " + orderBy.map(\.description).joined(separator: ", ") }
        return text
    }
}

extension Transaction {
    /// The plan `planScan(query.table, equals:range:orderBy:reading:)` makes for these values:
    /// `values[i]` for `query.equalColumns[i]` (NULL equals NULL), and
    /// `from <= rangeColumn < below` when a bound is given (no bound: no range condition).
    public final func planScan(_ query: PreparedScan, equals values: [Value] = [], from lower: Value? = nil,
                               below upper: Value? = nil) throws -> ScanPlan {
        try walkPlan(query, equals: values, from: lower, below: upper).plan
    }

    /// As `planScan(_:equals:from:below:)`, with what a caller of the walk needs to know
    /// without looking a column up by name: where the query's `reading` columns sit in the
    /// values the walk gives, and whether it comes in the query's `orderBy`.
    package final func walkPlan(_ query: PreparedScan, equals values: [Value] = [], from lower: Value? = nil,
                                below upper: Value? = nil) throws -> PreparedWalk {
        let resolution = try engine.preparedScans.resolution(query.id, counter: header.schemaCounter) {
            try ScanResolution(try compiledTable(query.table), equalColumns: query.equalColumns, rangeColumn: query.rangeColumn,
                               orderBy: query.orderBy, reading: query.reading, counter: $0)
        }
        let (plan, ordered) = try resolution.plan(values, range: try resolution.range(values, from: lower, below: upper), in: self)
        return PreparedWalk(plan: plan, columns: resolution.readingPositions, ordered: ordered)
    }
}

/// One run's plan of a `PreparedScan` (`walkPlan`).
package struct PreparedWalk {
    package let plan: ScanPlan
    /// Where each of the query's `reading` columns sits in the values a walk of `plan` gives,
    /// in `reading`'s order (none when it reads every column).
    package let columns: [Int]
    /// Whether the walk gives the rows in the query's `orderBy` (otherwise its caller sorts).
    package let ordered: Bool
}

/// What prepared scans and aggregates share: their ids, unique in the process and never reused
/// (an address could be, once a query is gone) so an engine's cache entry never answers for
/// another query (engines take their `instance` from the same count), and how they describe
/// their conditions.
enum PreparedQuery {
    private static let last = Locked<UInt64>(0)

    static func nextID() -> UInt64 {
        last.withLock { last in
            last += 1
            return last
        }
    }

    /// A prepared query's conditions as its description shows them: " where a = ? and
    /// t in [?, ?)", or nothing.
    static func conditions(_ equalColumns: [String], _ rangeColumn: String?) -> String {
        let conditions = equalColumns.map { "\($0) = ?" } + (rangeColumn.map { ["\($0) in [?, ?)"] } ?? [])
        return conditions.isEmpty ? "" : " where " + conditions.joined(separator: " and ")
    }
}

/// Prepared queries resolved by one engine, by the query's id; a resolution serves only the
/// schema counter it was made under.
final class PreparedResolutions<Resolution: PreparedResolution>: Sendable {
    private let cache = Locked<[UInt64: Resolution]>([:])

    /// The resolution of query `id` under `counter`: the cached one, or `make`'s (kept).
    func resolution(_ id: UInt64, counter: UInt64, make: (UInt64) throws -> Resolution) throws -> Resolution {
        if let cached = cache.withLock({ $0[id] }), cached.counter == counter { return cached }
        let made = try make(counter)
        cache.withLock { cache in
            // Resolutions past this many are dropped all at once, as `planScan`'s plans are.
            if cache.count >= PlanShape.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[id] = made
        }
        return made
    }
}

protocol PreparedResolution: AnyObject, Sendable {
    /// The schema counter the resolution was made under.
    var counter: UInt64 { get }
}

/// A prepared read resolved against one schema counter: the columns' types, and the plans
/// `planScan` chose, one per combination of what the values make of the partial indexes'
/// predicates and of which range bounds are given (QP-1's shape, values aside).
final class ScanResolution: PreparedResolution, @unchecked Sendable {
    // Safe to share: every stored property is immutable but `templates`, behind its lock.
    let counter: UInt64
    let compiled: CompiledTable
    let equalColumns: [String]
    let rangeColumn: String?
    let orderBy: [SortKey]
    let reading: [String]?
    private let equalTypes: [ColumnType]
    private let rangeType: ColumnType?
    /// The equal columns sorted by name, as a plan's `selection` lists them, and where each
    /// one's value sits among a run's values (nil: they come sorted already).
    private let selectionColumns: [String]
    private let selectionSources: [Int]?
    /// Where each of `reading`'s columns sits in a row's values.
    let readingPositions: [Int]
    /// The partial indexes' predicates in schema order, each one bit of a template's key (after
    /// the two range bits); nil past 62 of them, when plans come from `planScan`.
    private let predicates: [PredicateTest]?
    private let templates = Locked<[UInt64: PlanTemplate]>([:])

    /// Whether a partial index's predicate holds for every row the values select (as
    /// `Transaction.implies` decides it).
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

    /// A plan `planScan` chose, and where its values come from among a run's values. A class:
    /// a run takes it out of the lock with one retain.
    private final class PlanTemplate: Sendable {
        let plan: ScanPlan
        let prefixSources: [Int]
        /// The prefix is the values' first `prefixSources.count` (the common case: the
        /// equalities name the index's leading columns in its order).
        let prefixLeads: Bool
        /// Per residual condition, the source of its equality (nil: a range condition).
        let residualSources: [Int?]
        /// Whether the plan's walk gives the query's `orderBy`.
        let ordered: Bool

        init(plan: ScanPlan, prefixSources: [Int], prefixLeads: Bool, residualSources: [Int?], ordered: Bool) {
            self.plan = plan
            self.prefixSources = prefixSources
            self.prefixLeads = prefixLeads
            self.residualSources = residualSources
            self.ordered = ordered
        }
    }

    init(_ compiled: CompiledTable, equalColumns: [String], rangeColumn: String?, orderBy: [SortKey], reading: [String]?,
         counter: UInt64) throws {
        let schema = compiled.schema
        if let repeated = equalColumns.enumerated().first(where: { equalColumns.firstIndex(of: $0.element) != $0.offset }) {
            throw GuildStoreError.invalidQuery("prepared query of \(schema.name) names \(repeated.element) twice")
        }
        equalTypes = try equalColumns.map { schema.columns[try schema.columnIndex($0)].type }
        rangeType = try rangeColumn.map { schema.columns[try schema.columnIndex($0)].type }
        for column in orderBy.map(\.column) { _ = try schema.columnIndex(column) }
        readingPositions = try (reading ?? []).map { try schema.columnIndex($0) }
        let partial = schema.indexes.compactMap(\.predicate)
        predicates = partial.count > 62 ? nil : partial.map { predicate in
            switch predicate {
            case .equals(let column, let value): .equals(source: equalColumns.firstIndex(of: column), value: value)
            case .isNotNull(let column): .notNull(source: equalColumns.firstIndex(of: column), rangeColumn: rangeColumn == column)
            }
        }
        let sorted = equalColumns.indices.sorted { equalColumns[$0] < equalColumns[$1] }
        selectionColumns = sorted.map { equalColumns[$0] }
        selectionSources = sorted == Array(equalColumns.indices) ? nil : sorted
        (self.counter, self.compiled, self.equalColumns, self.rangeColumn) = (counter, compiled, equalColumns, rangeColumn)
        (self.orderBy, self.reading) = (orderBy, reading)
    }

    /// The run's range, its values checked against the columns' types.
    func range(_ values: [Value], from lower: Value?, below upper: Value?) throws -> ColumnRange? {
        let table = compiled.schema.name
        guard values.count == equalTypes.count else {
            throw GuildStoreError.invalidQuery("prepared query of \(table) takes \(equalTypes.count) equal values, given \(values.count)")
        }
        for (i, value) in values.enumerated() where !value.isNull && !value.fits(equalTypes[i]) {
            throw mismatch(equalColumns[i], equalTypes[i], value)
        }
        guard lower != nil || upper != nil else { return nil }
        guard let column = rangeColumn, let rangeType else {
            throw GuildStoreError.invalidQuery("prepared query of \(table) has no range column, given a range")
        }
        if let lower, !lower.isNull, !lower.fits(rangeType) { throw mismatch(column, rangeType, lower) }
        if let upper, !upper.isNull, !upper.fits(rangeType) { throw mismatch(column, rangeType, upper) }
        return ColumnRange(column, from: lower, below: upper)
    }

    private func mismatch(_ column: String, _ type: ColumnType, _ value: Value) -> GuildStoreError {
        .columnTypeMismatch(table: compiled.schema.name, column: column, expected: "\(type)",
                            found: value.columnType.map { "\($0)" } ?? "null")
    }

    /// The plan for these values (checked by `range`), and whether it gives `orderBy`.
    func plan(_ values: [Value], range: ColumnRange?, in transaction: Transaction) throws -> (ScanPlan, ordered: Bool) {
        func equals() -> [String: Value] { Dictionary(uniqueKeysWithValues: zip(equalColumns, values)) }
        guard let predicates else {
            let plan = try transaction.planScan(compiled.schema.name, equals: equals(), range: range, orderBy: orderBy, reading: reading)
            return (plan, plan.provides(orderBy))
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
        return (ScanPlan(choice: plan.choice, prefix: prefix, range: plan.choice.usesRange ? range : nil, residual: residual,
                         selection: ScanPlan.Selection(columns: selectionColumns, values: selectionSources.map { $0.map { values[$0] } } ?? values,
                                                       range: range)),
                template.ordered)
    }

    private func makeTemplate(equals: [String: Value], range: ColumnRange?, in transaction: Transaction) throws -> PlanTemplate {
        let plan = try transaction.choosePlan(compiled, equals: equals, range: range, orderBy: orderBy, reading: reading)
        let prefixSources = plan.prefixColumns.compactMap { equalColumns.firstIndex(of: $0) }
        guard prefixSources.count == plan.prefixColumns.count else {
            throw GuildStoreError.invalidQuery("prepared query of \(compiled.schema.name): a plan fixes a column it was given no value for")
        }
        var residualSources: [Int?] = []
        for condition in plan.residual {
            guard condition.equals != nil else {
                residualSources.append(nil)
                continue
            }
            guard let source = equalColumns.firstIndex(of: compiled.schema.columns[condition.position].name) else {
                throw GuildStoreError.invalidQuery("prepared query of \(compiled.schema.name): a plan checks a column it was given no value for")
            }
            residualSources.append(source)
        }
        let target = PlanTarget(engine: transaction.engine.instance, table: compiled, index: try compiled.index(resolving: plan.index),
                                indexOnly: plan.indexOnly,
                                readingPositions: reading == nil ? nil : readingPositions,
                                residualPositions: plan.residual.map(\.position), counter: counter)
        let resolved = ScanPlan(choice: plan.choice.resolved(target), prefix: plan.prefix, range: plan.range, residual: plan.residual,
                                selection: plan.selection)
        return PlanTemplate(plan: resolved, prefixSources: prefixSources, prefixLeads: prefixSources == Array(prefixSources.indices),
                            residualSources: residualSources, ordered: plan.provides(orderBy))
    }
}

/// What a prepared plan's table and index names resolve to in one engine under one schema
/// counter, and what its walk decodes for the columns its query reads: kept with the plan, so a
/// run looks nothing up by name. A walk takes it only in the same engine, under the same
/// counter and for the same columns read (`Transaction.resolvedTarget`); otherwise it resolves
/// the names as for any plan (a public `ScanPlan` may be run in another database, whose
/// counter can be equal).
final class PlanTarget: Sendable {
    /// The engine's `instance`.
    let engine: UInt64
    let counter: UInt64
    let table: CompiledTable
    let index: CompiledIndex?
    /// The positions the walk reads (the query's, then the residual conditions'), as
    /// `walk(_:reading:_:)` makes them.
    let reading: [Int]?
    let walkReading: WalkReading
    /// The same read into slots (SL-1), when every column read fits one.
    let slotReading: SlotReading?

    /// The target of a plan that walks `index` (nil: the primary key), reading the index alone
    /// or not, and checking the columns at `residualPositions` on each row.
    init(engine: UInt64, table: CompiledTable, index: CompiledIndex?, indexOnly: Bool, readingPositions: [Int]?,
         residualPositions: [Int], counter: UInt64) {
        let reading = residualPositions.isEmpty ? readingPositions : readingPositions.map { $0 + residualPositions }
        (self.engine, self.counter, self.table, self.index, self.reading) = (engine, counter, table, index, reading)
        walkReading = WalkReading(table, index: index, indexOnly: indexOnly, reading: reading)
        slotReading = walkReading.slotReading(table, index: index, positions: reading)
    }
}
