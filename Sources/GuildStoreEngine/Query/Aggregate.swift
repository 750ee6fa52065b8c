/// Aggregates over a streaming scan: count, sum, min, max, avg, count distinct, grouped by
/// columns and time buckets, ordered and limited (top-N). The scanned rows stream through
/// once; only the groups (and, for count distinct, the distinct values) are held.
///
/// Results follow SQL (and SQLite, which the differential tests compare with):
///
///     aggregate            result type                         NULL inputs      no input
///     count                .int                                counted          0
///     countNonNull(c)      .int                                skipped          0
///     countWhere(c, v)     .int (rows whose c equals v)        never equal v    0
///     countDistinct(c)     .int                                skipped          0
///     sum(c)               .int (int, timestamp, bool columns) skipped          NULL
///                          .uint (uint), .double (double)
///     min(c), max(c)       c's type                            skipped          NULL
///     avg(c)               .double                             skipped          NULL
///
/// A sum of integers that overflows 64 bits throws `.aggregateOverflow` (as SQLite's `SUM`
/// does); `avg` goes on with a floating-point sum instead. Integer averages divide the exact
/// integer sum once, at the end; double sums are compensated (Kahan–Babuška–Neumaier).
///
/// ```swift
/// let totals = try await db.read { tx in
///     try tx.aggregate("message_events", where: ["guild_id": .uint(guild)],
///                      [.count, .sum("character_count"), .countDistinct("user_id")])
/// }
/// ```
public enum Aggregate: Sendable, Hashable, CustomStringConvertible {
    /// `COUNT(*)`.
    case count
    /// `COUNT(column)`: rows whose column is not NULL.
    case countNonNull(String)
    /// `COUNT(CASE WHEN column = value THEN 1 END)` (seed 004's attachment count).
    case countWhere(String, equals: Value)
    /// `COUNT(DISTINCT column)`.
    case countDistinct(String)
    case sum(String)
    case min(String)
    case max(String)
    case avg(String)

    /// The column the aggregate reads, if any.
    public var column: String? {
        switch self {
        case .count: nil
        case .countNonNull(let c), .countWhere(let c, _), .countDistinct(let c), .sum(let c), .min(let c), .max(let c), .avg(let c): c
        }
    }

    public var description: String {
        switch self {
        case .count: "count(*)"
        case .countNonNull(let c): "count(\(c))"
        case .countWhere(let c, let v): "count(\(c) = \(v))"
        case .countDistinct(let c): "count(distinct \(c))"
        case .sum(let c): "sum(\(c))"
        case .min(let c): "min(\(c))"
        case .max(let c): "max(\(c))"
        case .avg(let c): "avg(\(c))"
        }
    }
}

/// One key of a `GROUP BY`.
///
/// ```swift
/// let hourly = try await db.read { tx in
///     try tx.aggregate("message_events", groupBy: [.column("guild_id"), .hour("created_at")], [.count])
/// }
/// ```
public enum GroupKey: Sendable, Hashable, CustomStringConvertible {
    /// The column's value; NULLs form one group.
    case column(String)
    /// `floor(column / seconds) * seconds` on a timestamp (or int) column: the start of the
    /// bucket the value falls in, of the column's type. NULL stays NULL.
    case timeBucket(String, seconds: Int64)

    /// Hour buckets (3600 s), seed 001's `date_trunc('hour', timestamp)`.
    public static func hour(_ column: String) -> GroupKey { .timeBucket(column, seconds: 3_600) }
    /// Day buckets (86400 s, UTC days).
    public static func day(_ column: String) -> GroupKey { .timeBucket(column, seconds: 86_400) }

    public var column: String {
        switch self {
        case .column(let c), .timeBucket(let c, _): c
        }
    }

    public var description: String {
        switch self {
        case .column(let c): c
        case .timeBucket(let c, let seconds): "bucket(\(c), \(seconds)s)"
        }
    }
}

/// One key of the order of aggregate results: a group key or an aggregate, by position.
///
/// ```swift
/// let top = try await db.read { tx in
///     try tx.aggregate("message_events", groupBy: [.column("user_id")], [.count],
///                      orderBy: [.aggregate(0), .group(0)], limit: 10)
/// }
/// ```
public struct AggregateOrder: Sendable, Hashable {
    /// What a key orders by: the group key or the aggregate at this position.
    ///
    /// ```swift
    /// let byCount = AggregateOrder(.aggregate(0), descending: true)
    /// let byUser = AggregateOrder(.group(0), descending: false)
    /// ```
    public enum Target: Sendable, Hashable {
        case group(Int)
        case aggregate(Int)
    }

    public var target: Target
    public var descending: Bool

    public init(_ target: Target, descending: Bool) {
        self.target = target
        self.descending = descending
    }

    /// By the `index`th aggregate; largest first unless told otherwise (a leaderboard).
    public static func aggregate(_ index: Int, descending: Bool = true) -> AggregateOrder {
        AggregateOrder(.aggregate(index), descending: descending)
    }

    /// By the `index`th group key; smallest first unless told otherwise.
    public static func group(_ index: Int, descending: Bool = false) -> AggregateOrder {
        AggregateOrder(.group(index), descending: descending)
    }
}

/// One result row: the group's key values (one per `GroupKey`, none without grouping) and
/// the aggregates' values (one per `Aggregate`, typed as the table on `Aggregate` says).
///
/// ```swift
/// let rows = try await db.read { tx in
///     try tx.aggregate("message_events", groupBy: [.column("user_id")], [.count])
/// }
/// for row in rows { print(row.group[0], row.int(0) ?? 0) }
/// ```
public struct AggregateRow: Sendable, Hashable, CustomStringConvertible {
    public let group: [Value]
    public let values: [Value]

    public init(group: [Value], values: [Value]) {
        self.group = group
        self.values = values
    }

    /// The `index`th aggregate as an integer: counts, and sums of int columns (nil if NULL
    /// or of another type).
    public func int(_ index: Int) -> Int64? {
        guard values.indices.contains(index), case .int(let v) = values[index] else { return nil }
        return v
    }

    /// The `index`th aggregate as a double: averages, sums of double columns.
    public func double(_ index: Int) -> Double? {
        guard values.indices.contains(index), case .double(let v) = values[index] else { return nil }
        return v
    }

    /// The `index`th aggregate as an unsigned integer: sums, min and max of uint columns.
    public func uint(_ index: Int) -> UInt64? {
        guard values.indices.contains(index), case .uint(let v) = values[index] else { return nil }
        return v
    }

    /// The `index`th group key as a timestamp: time buckets.
    public func timestamp(group index: Int) -> Int64? {
        guard group.indices.contains(index), case .timestamp(let v) = group[index] else { return nil }
        return v
    }

    public var description: String {
        "(" + (group + values).map { "\($0)" }.joined(separator: ", ") + ")"
    }
}

/// The keys of an aggregate's groups, flat: group `g`'s key is `keys[g * width ..< (g + 1) * width]`.
struct GroupKeys {
    let keys: [Value]
    let width: Int
    let count: Int

    init(_ keys: [Value], width: Int, count: Int) {
        (self.keys, self.width, self.count) = (keys, width, count)
    }

    func key(_ g: Int) -> ArraySlice<Value> { keys[g * width ..< (g + 1) * width] }
}

/// The running state of one aggregate of one group. Only the fields its kind needs move.
///
/// Counts and integer sums, what almost every aggregate keeps, sit in the state itself; what
/// only min, max, count distinct and floating-point sums keep sits in `rare`, made the first
/// time one needs it. A walk grouped by user keeps a state per user (12,000 in the busiest
/// guild): at 40 bytes, not 80, its states take half the memory to grow and fault in.
struct AggregateState {
    var count: Int64 = 0
    /// Integer sums: of int, timestamp and bool values, and of uint values. A state sums one
    /// column, whose values are of one type, but a damaged catalog's default could give a
    /// column values of another: kept apart, they never mix.
    var intSum: Int64 = 0
    var uintSum: UInt64 = 0
    /// An integer sum overflowed: `real` carries it on.
    var approximate = false
    private var rare: Rare?

    /// A class, copied before a write when shared (`writableRare`): states keep value semantics.
    private final class Rare {
        /// Compensated floating-point sum: `real + compensation`.
        var real: Double = 0
        var compensation: Double = 0
        var extreme: Value = .null
        var distinct: Set<Value> = []

        func copy() -> Rare {
            let copy = Rare()
            (copy.real, copy.compensation, copy.extreme, copy.distinct) = (real, compensation, extreme, distinct)
            return copy
        }
    }

    var real: Double { rare?.real ?? 0 }
    var compensation: Double { rare?.compensation ?? 0 }
    var extreme: Value { rare?.extreme ?? .null }
    var distinctCount: Int { rare?.distinct.count ?? 0 }

    private mutating func writableRare() -> Rare {
        if isKnownUniquelyReferenced(&rare), let rare { return rare }
        let made = rare.map { $0.copy() } ?? Rare()
        rare = made
        return made
    }

    mutating func setExtreme(_ value: Value) {
        writableRare().extreme = value
    }

    mutating func insertDistinct(_ value: Value) {
        writableRare().distinct.insert(value)
    }

    mutating func addReal(_ value: Double) {
        let rare = writableRare()
        let total = rare.real + value
        if Swift.abs(rare.real) >= Swift.abs(value) {
            rare.compensation += (rare.real - total) + value
        } else {
            rare.compensation += (value - total) + rare.real
        }
        rare.real = total
    }
}

/// An aggregate resolved against a schema: the column's position and type.
struct ResolvedAggregate: Sendable {
    let aggregate: Aggregate
    let position: Int
    let type: ColumnType?
    /// What `add` does per row, without the column's name: switching on `aggregate` itself
    /// would copy its string (a retain and a release) for every row.
    let kind: Kind
    /// The value `countWhere` counts.
    let expected: Value

    enum Kind: Sendable { case count, countNonNull, countWhere, countDistinct, min, max, sum, avg }

    init(aggregate: Aggregate, position: Int, type: ColumnType?) {
        (self.aggregate, self.position, self.type) = (aggregate, position, type)
        (kind, expected) = Self.kind(of: aggregate)
    }

    private static func kind(of aggregate: Aggregate) -> (Kind, Value) {
        switch aggregate {
        case .count: (.count, .null)
        case .countNonNull: (.countNonNull, .null)
        case .countWhere(_, let value): (.countWhere, value)
        case .countDistinct: (.countDistinct, .null)
        case .min: (.min, .null)
        case .max: (.max, .null)
        case .sum: (.sum, .null)
        case .avg: (.avg, .null)
        }
    }

    func validate(table: String) throws {
        switch aggregate {
        case .sum(let c), .avg(let c):
            guard let type, [.int, .uint, .double, .timestamp, .bool].contains(type) else {
                throw GuildStoreError.invalidQuery("\(aggregate) on \(table).\(c): the column is not numeric")
            }
        case .countWhere(let c, let value):
            guard let type, value.fits(type) else {
                throw GuildStoreError.columnTypeMismatch(table: table, column: c, expected: type.map { "\($0)" } ?? "?",
                                                         found: value.columnType.map { "\($0)" } ?? "null")
            }
        default: break
        }
    }

    /// What `add` reads of an aggregate, per row: trivial values, so a walk copies no string
    /// or `Value` (no reference counting) to call it.
    struct Step: Sendable {
        let kind: Kind
        let position: Int
        /// Where `expected` is among the walk's `countWhere` values.
        let expectedIndex: Int
    }

    /// Adds one row to `state` for the aggregate `step` describes; `expected` holds the
    /// `countWhere` values (`Step.expectedIndex`).
    static func add(_ step: Step, expected: [Value], _ values: [Value], to state: inout AggregateState) {
        let position = step.position
        switch step.kind {
        case .count:
            state.count += 1
        case .countNonNull:
            if !values[position].isNull { state.count += 1 }
        case .countWhere:
            let value = values[position]
            if !value.isNull, value == expected[step.expectedIndex] { state.count += 1 }
        case .countDistinct:
            let value = values[position]
            if !value.isNull { state.insertDistinct(value) }
        case .min:
            let value = values[position]
            if !value.isNull, state.extreme.isNull || value < state.extreme { state.setExtreme(value) }
        case .max:
            let value = values[position]
            if !value.isNull, state.extreme.isNull || state.extreme < value { state.setExtreme(value) }
        case .sum, .avg:
            let value = values[position]
            state.count += value.isNull ? 0 : 1
            switch value {
            case .int(let v), .timestamp(let v): Self.addInteger(v, to: &state)
            case .bool(let v): Self.addInteger(v ? 1 : 0, to: &state)
            case .uint(let v): Self.addUInt(v, to: &state)
            case .double(let v): state.addReal(v)
            default: break
            }
        }
    }

    /// Adds a uint to a sum, carried on in floating point past 64 bits.
    static func addUInt(_ v: UInt64, to state: inout AggregateState) {
        if let sum = exactSum(state.uintSum, v, &state) { state.uintSum = sum }
    }

    /// Adds an int to a sum, carried on in floating point past 64 bits.
    static func addInteger(_ v: Int64, to state: inout AggregateState) {
        if let sum = exactSum(state.intSum, v, &state) { state.intSum = sum }
    }

    /// `sum + v` while the state's sum is exact; nil once it is not (this addition overflowed,
    /// or an earlier one), the state then carrying the sum on in floating point.
    @inline(__always)
    private static func exactSum<T: FixedWidthInteger>(_ sum: T, _ v: T, _ state: inout AggregateState) -> T? {
        if state.approximate {
            state.addReal(Double(v))
            return nil
        }
        let (total, overflow) = sum.addingReportingOverflow(v)
        guard overflow else { return total }
        state.approximate = true
        state.addReal(Double(sum))
        state.addReal(Double(v))
        return nil
    }

    /// The aggregate's value for a group's state.
    func result(_ state: AggregateState, table: String) throws -> Value {
        guard let value = Self.result(kind, type: type, of: state) else {
            throw GuildStoreError.aggregateOverflow(table: table, column: aggregate.column ?? "")
        }
        return value
    }

    /// The value of an aggregate of `kind` over a column of `type` for a group's state; nil
    /// when an integer sum overflowed. From trivial values and a borrowed state: results are
    /// made once per group and aggregate, and copying an aggregate copies its column's name.
    static func result(_ kind: Kind, type: ColumnType?, of state: borrowing AggregateState) -> Value? {
        switch kind {
        case .count, .countNonNull, .countWhere: return .int(state.count)
        case .countDistinct: return .int(Int64(state.distinctCount))
        case .min, .max: return state.extreme
        case .sum:
            guard state.count > 0 else { return .null }
            if state.approximate { return nil }
            switch type {
            case .double: return .double(state.real + state.compensation)
            case .uint: return .uint(state.uintSum)
            default: return .int(state.intSum)
            }
        case .avg:
            guard state.count > 0 else { return .null }
            let total: Double
            if state.approximate || type == .double {
                total = state.real + state.compensation
            } else if type == .uint {
                total = Double(state.uintSum)
            } else {
                total = Double(state.intSum)
            }
            return .double(total / Double(state.count))
        }
    }
}

/// The grouping, aggregates and order of an aggregate query resolved against one table's
/// schema, values aside: column positions and types, checked once (a prepared query keeps it).
final class AggregateShape: Sendable {
    let schema: TableSchema
    let groupBy: [GroupKey]
    let aggregates: [Aggregate]
    let orderBy: [AggregateOrder]
    let resolved: [ResolvedAggregate]
    /// Each group key's column position, and its bucket width for a time bucket.
    let keys: [(position: Int, bucket: Int64?)]
    /// The columns the grouping and the aggregates read, by name (a plan made `reading` them
    /// may read an index alone).
    let columnsRead: [String]
    /// The same columns by position.
    let positionsRead: [Int]
    /// Each aggregate's per-row step and the `countWhere` values they compare with, made once
    /// for the shape: a run allocates neither.
    let steps: [ResolvedAggregate.Step]
    let expected: [Value]
    /// Each aggregate's column type (nil for a count): with `steps`' kinds, what a result needs.
    let types: [ColumnType?]
    /// The shape over slot walks (SL-2); nil when it needs `Value`s.
    let slotProgram: SlotProgram?

    init(_ schema: TableSchema, groupBy: [GroupKey], _ aggregates: [Aggregate], orderBy: [AggregateOrder]) throws {
        let resolved = try aggregates.map { aggregate in
            let position = try aggregate.column.map { try schema.columnIndex($0) } ?? 0
            return ResolvedAggregate(aggregate: aggregate, position: position,
                                     type: aggregate.column == nil ? nil : schema.columns[position].type)
        }
        for aggregate in resolved { try aggregate.validate(table: schema.name) }
        let keys = try groupBy.map { key -> (position: Int, bucket: Int64?) in
            let position = try schema.columnIndex(key.column)
            guard case .timeBucket(let column, let seconds) = key else { return (position, nil) }
            guard seconds > 0 else { throw GuildStoreError.invalidQuery("time bucket of \(seconds) seconds on \(column)") }
            guard [.timestamp, .int].contains(schema.columns[position].type) else {
                throw GuildStoreError.invalidQuery("time bucket on \(schema.name).\(column): the column is not a timestamp")
            }
            return (position, seconds)
        }
        for order in orderBy {
            switch order.target {
            case .group(let i) where !keys.indices.contains(i),
                 .aggregate(let i) where !resolved.indices.contains(i):
                throw GuildStoreError.invalidQuery("order by \(order.target): no such group key or aggregate")
            default: break
            }
        }
        (self.schema, self.groupBy, self.aggregates, self.orderBy) = (schema, groupBy, aggregates, orderBy)
        (self.resolved, self.keys) = (resolved, keys)
        columnsRead = groupBy.map(\.column) + aggregates.compactMap(\.column)
        positionsRead = keys.map(\.position) + resolved.filter { $0.aggregate.column != nil }.map(\.position)
        steps = resolved.indices.map { ResolvedAggregate.Step(kind: resolved[$0].kind, position: resolved[$0].position, expectedIndex: $0) }
        expected = resolved.map(\.expected)
        types = resolved.map(\.type)
        slotProgram = SlotProgram(schema: schema, keys: keys, resolved: resolved)
    }
}

extension Transaction {
    /// Aggregates the rows of `table` that `planScan(table, equals:, range:)` and `filter`
    /// select, grouped by `groupBy` (one result row per group; exactly one row without
    /// grouping, even over no rows, as in SQL), ordered by `orderBy` then by the group keys
    /// ascending (so ties have one order), at most `limit` rows (top-N).
    ///
    /// The rows stream: memory is one state per group and aggregate, plus the distinct values
    /// of each `countDistinct`.
    public final func aggregate(_ tableName: String, where equals: [String: Value] = [:], range: ColumnRange? = nil,
                                filter: ((Row) throws -> Bool)? = nil, groupBy: [GroupKey] = [],
                                _ aggregates: [Aggregate], orderBy: [AggregateOrder] = [],
                                limit: Int = .max) throws -> [AggregateRow] {
        if filter == nil, let answer = try aggregateFromRollup(tableName, where: equals, range: range, groupBy: groupBy, aggregates,
                                                              orderBy: orderBy, limit: limit) {
            return answer
        }
        return try aggregateRows(tableName, where: equals, range: range, filter: filter, groupBy: groupBy, aggregates,
                                 orderBy: orderBy, limit: limit)
    }

    /// `aggregate` over the rows themselves, never a rollup.
    final func aggregateRows(_ tableName: String, where equals: [String: Value], range: ColumnRange?,
                             filter: ((Row) throws -> Bool)?, groupBy: [GroupKey], _ aggregates: [Aggregate],
                             orderBy: [AggregateOrder], limit: Int) throws -> [AggregateRow] {
        // Without a filter the columns read are known: an index that carries them answers alone.
        let shape = try AggregateShape(try table(tableName), groupBy: groupBy, aggregates, orderBy: orderBy)
        let plan = try planScan(tableName, equals: equals, range: range, reading: filter == nil ? shape.columnsRead : nil)
        return try aggregate(plan, shape: shape, filter: filter, limit: limit)
    }

    /// `aggregateRows` of a shape resolved already, without a filter, every row.
    final func aggregateRows(_ tableName: String, where equals: [String: Value], range: ColumnRange?,
                             shape: AggregateShape) throws -> [AggregateRow] {
        let plan = try planScan(tableName, equals: equals, range: range, reading: shape.columnsRead)
        return try aggregate(plan, shape: shape, filter: nil, limit: .max)
    }

    /// `aggregate` over a plan made already (see `planScan`). A plan that reads the index alone
    /// must have been made `reading` every column the grouping, the aggregates and `filter` use.
    public final func aggregate(_ plan: ScanPlan, filter: ((Row) throws -> Bool)? = nil, groupBy: [GroupKey] = [],
                                _ aggregates: [Aggregate], orderBy: [AggregateOrder] = [],
                                limit: Int = .max) throws -> [AggregateRow] {
        let shape = try AggregateShape(try table(plan.table), groupBy: groupBy, aggregates, orderBy: orderBy)
        return try aggregate(plan, shape: shape, filter: filter, limit: limit)
    }

    /// The rows `plan` selects aggregated as `shape` says (resolved against the plan's table).
    final func aggregate(_ plan: ScanPlan, shape: AggregateShape, filter: ((Row) throws -> Bool)?, limit: Int) throws -> [AggregateRow] {
        let schema = shape.schema
        let resolved = shape.resolved
        let keys = shape.keys
        let groupBy = shape.groupBy

        // A bare count of what the walk visits needs no entry decoded: leaves count themselves.
        if keys.isEmpty, filter == nil, plan.residual.isEmpty, !resolved.isEmpty,
           resolved.allSatisfy({ $0.kind == .count }) {
            let count = Value.int(try countEntries(plan))
            let row = AggregateRow(group: [], values: Array(repeating: count, count: resolved.count))
            return limit > 0 ? [row] : []
        }

        // Integer columns grouped and counted on their encoded words, no `Value` per entry (SL-2).
        if filter == nil, let rows = try aggregateSlots(plan, shape: shape, limit: limit) { return rows }

        // Groups, numbered in the order they first come: group g's key values are
        // `groupKeys[g * keys.count ..< (g + 1) * keys.count]`, its states
        // `states[g * width ..< (g + 1) * width]` (`aggregates.count` a group). Kept flat, so a
        // new group costs no array of its own.
        var groupKeys: [Value] = []
        var groupCount = 0
        var groupIndex: [[Value]: Int] = [:]
        var states: [AggregateState] = []
        // Without grouping every row adds to the one group's states, made first; it has no key.
        if keys.isEmpty {
            states.reserveCapacity(resolved.count)
            for _ in resolved.indices { states.append(AggregateState()) }
        }
        // When the walk's order starts with the grouped columns, each group's rows come
        // together: a row either continues the last group or starts a new one, nothing hashed.
        let contiguous = !groupBy.isEmpty && plan.provides(groupBy.compactMap { key in
            if case .column(let c) = key { SortKey(c) } else { nil }
        }) && groupBy.allSatisfy { if case .column = $0 { true } else { false } }
        // Grouped by one plain uint column (a user, a channel): groups found by the id itself
        // (`UIntKeyTable`), not by an array of enum values; `uintGroups[n]` is the group of the
        // table's id n. A NULL id takes the general path; the two never hold the same group.
        let byUInt = !contiguous && keys.count == 1 && keys[0].bucket == nil && schema.columns[keys[0].position].type == .uint
        var uintTable = UIntKeyTable()
        var uintGroups: [Int] = []
        var overflow: String?
        var key: [Value] = []
        key.reserveCapacity(keys.count)
        let keyWidth = keys.count
        let columnNames = filter == nil ? [] : schema.columns.map(\.name)
        // Without a filter (which sees whole rows) only the grouped and aggregated columns
        // are decoded.
        let reading = filter == nil ? shape.positionsRead : nil
        // Each aggregate's step as trivial values: nothing is retained per row.
        let (expected, steps) = (shape.expected, shape.steps)
        let width = resolved.count
        try steps.withUnsafeBufferPointer { steps in try walk(plan, reading: reading) { values in
            if let filter, try !filter(Row(table: schema.name, columns: columnNames, values: values)) { return true }
            var base = 0
            if byUInt, case .uint(let id) = values[keys[0].position] {
                let (number, added) = uintTable.number(of: id)
                if added {
                    uintGroups.append(groupCount)
                    groupKeys.append(.uint(id))
                    groupCount += 1
                    for _ in 0..<width { states.append(AggregateState()) }
                }
                base = uintGroups[number] * width
            } else if !keys.isEmpty {
                // One buffer for every row's key: a lookup allocates nothing.
                key.removeAll(keepingCapacity: true)
                for k in keys {
                    let value = values[k.position]
                    guard let seconds = k.bucket else { key.append(value); continue }
                    guard let bucketed = Self.bucket(value, seconds: seconds) else {
                        overflow = schema.columns[k.position].name
                        return false
                    }
                    key.append(bucketed)
                }
                if contiguous, groupCount > 0, Self.group(key, in: groupKeys, width: keyWidth, among: groupCount - 1 ..< groupCount) != nil {
                    base = (groupCount - 1) * width
                } else if !contiguous, groupCount <= Self.groupsComparedInLine, let found = Self.group(key, in: groupKeys, width: keyWidth, among: 0 ..< groupCount) {
                    // A few groups (statuses, kinds) are found faster by comparing than by hashing.
                    base = found * width
                } else if !contiguous, groupCount > Self.groupsComparedInLine, let found = groupIndex[key] {
                    base = found * width
                } else {
                    if !contiguous { groupIndex[key] = groupCount }
                    base = groupCount * width
                    groupKeys.append(contentsOf: key)
                    groupCount += 1
                    for _ in 0..<width { states.append(AggregateState()) }
                }
            }
            for j in 0..<width { ResolvedAggregate.add(steps[j], expected: expected, values, to: &states[base + j]) }
            return true
        } }
        if let overflow { throw GuildStoreError.aggregateOverflow(table: schema.name, column: overflow) }
        return try Self.rows(of: states, groupKeys: groupKeys, groupCount: groupCount, shape: shape, limit: limit)
    }

    /// The group among `range` whose key is `key`, in keys kept flat (`width` values a group);
    /// nil when none. A static function, so the walk's closure checks no captured state.
    private static func group(_ key: [Value], in keys: [Value], width: Int, among range: Range<Int>) -> Int? {
        for g in range where keys[g * width ..< (g + 1) * width].elementsEqual(key) { return g }
        return nil
    }

    /// Up to this many groups, an aggregate finds a row's group by comparing keys one by one;
    /// past it, through a hash index (which holds every group either way).
    static let groupsComparedInLine = 8

    /// Aggregate rows in `orderBy` order, then by group keys ascending, at most `limit`: group
    /// `g` is `groups.key(g)` with the aggregates `values[g * width ..< (g + 1) * width]`.
    /// Groups are distinct, so the order is total. A small `limit` (a top-N of many groups)
    /// keeps the best N by binary insertion instead of sorting every group, and only the rows
    /// returned are made: an all-time leaderboard of 12,000 users builds 10 rows, not 12,000.
    static func ordered(_ groups: GroupKeys, values: [Value], width: Int, grouped: Bool, orderBy: [AggregateOrder],
                        limit: Int) -> [AggregateRow] {
        func row(_ g: Int) -> AggregateRow {
            AggregateRow(group: Array(groups.key(g)), values: Array(values[g * width ..< (g + 1) * width]))
        }
        guard grouped || !orderBy.isEmpty else { return (0..<min(groups.count, max(0, limit))).map(row) }
        func precedes(_ a: Int, _ b: Int) -> Bool {
            for order in orderBy {
                let c = switch order.target {
                case .group(let i): Value.compare(groups.keys[a * groups.width + i], groups.keys[b * groups.width + i])
                case .aggregate(let i): Value.compare(values[a * width + i], values[b * width + i])
                }
                if c != 0 { return order.descending ? c > 0 : c < 0 }
            }
            return groups.key(a).lexicographicallyPrecedes(groups.key(b))
        }
        return first(limit, of: groups.count, by: precedes).map(row)
    }

    /// The first `limit` of `0..<count` in the order `precedes` gives (a strict total order),
    /// in that order. A small `limit` keeps the best by binary insertion instead of sorting all.
    static func first(_ limit: Int, of count: Int, by precedes: (Int, Int) -> Bool) -> [Int] {
        guard limit > 0 else { return [] }
        guard limit < count / 4 else { return Array((0..<count).sorted(by: precedes).prefix(limit)) }
        var best: [Int] = []
        best.reserveCapacity(limit + 1)
        for g in 0..<count {
            if best.count == limit, let last = best.last, !precedes(g, last) { continue }
            var low = 0, high = best.count
            while low < high {
                let middle = (low + high) / 2
                if precedes(g, best[middle]) { high = middle } else { low = middle + 1 }
            }
            best.insert(g, at: low)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    /// The rows `planScan(table, equals:, range:)` and `filter` select, counted.
    public final func count(_ tableName: String, where equals: [String: Value] = [:], range: ColumnRange? = nil,
                            filter: ((Row) throws -> Bool)? = nil) throws -> Int64 {
        let rows = try aggregate(tableName, where: equals, range: range, filter: filter, [.count])
        return rows.first?.int(0) ?? 0
    }

    /// `floor(value / seconds) * seconds`, of the value's type; NULL stays NULL; nil when the
    /// bucket start does not fit 64 bits.
    static func bucket(_ value: Value, seconds: Int64) -> Value? {
        switch value {
        case .timestamp(let v): return bucketStart(v, seconds: seconds).map { .timestamp($0) }
        case .int(let v): return bucketStart(v, seconds: seconds).map { .int($0) }
        default: return value
        }
    }

    /// `floor(v / seconds) * seconds`; nil when it does not fit 64 bits.
    @inline(__always)
    static func bucketStart(_ v: Int64, seconds: Int64) -> Int64? {
        var remainder = v % seconds
        if remainder < 0 { remainder += seconds }
        let (start, overflow) = v.subtractingReportingOverflow(remainder)
        return overflow ? nil : start
    }
}
