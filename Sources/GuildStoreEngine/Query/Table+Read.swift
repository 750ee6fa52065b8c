/// Row reads: by primary key, and streaming scans over the primary key or an index with an
/// equality prefix and a half-open range on the next column.
extension Transaction {
    /// The row with primary key `key` (one value per primary-key column), or nil.
    public final func get(_ tableName: String, key: [Value]) throws -> Row? {
        let table = try compiledTable(tableName)
        return try fetchRow(table, key: key).map { Row(table: table.schema.name, columns: table.columnNames, values: $0) }
    }

    /// Calls `body` with each row, in the order of the primary key (`index` nil) or of the
    /// index, until it returns false. `equals` fixes the leading columns of that order;
    /// `from`/`below` bound the next column (`from <= value < below`); `reverse` walks down.
    /// Rows stream: nothing is materialized.
    public final func scan(_ tableName: String, index indexName: String? = nil, equals prefix: [Value] = [],
                           from lower: Value? = nil, below upper: Value? = nil, reverse: Bool = false,
                           _ body: (Row) throws -> Bool) throws {
        let table = try compiledTable(tableName)
        let columnNames = table.columnNames
        try walk(table, index: indexName, equals: prefix, from: lower, below: upper, reverse: reverse, indexOnly: false) { values in
            try body(Row(table: table.schema.name, columns: columnNames, values: values))
        }
    }

    /// The tree a walk reads (the row tree, or the index's) and the key range of the equal
    /// leading values and `lower <= next < upper`, values checked against the columns' types.
    func walkTarget(_ table: CompiledTable, index indexName: String?, equals prefix: [Value], from lower: Value?, below upper: Value?,
                    reverse: Bool, typesChecked: Bool = false) throws -> (tree: Tree, range: KeyRange, index: CompiledIndex?) {
        let index = try table.index(resolving: indexName)
        let (tree, range) = try walkTarget(table, index: index, equals: prefix, from: lower, below: upper, reverse: reverse,
                                           typesChecked: typesChecked)
        return (tree, range, index)
    }

    /// `walkTarget` with the index resolved already.
    func walkTarget(_ table: CompiledTable, index: CompiledIndex?, equals prefix: [Value], from lower: Value?, below upper: Value?,
                    reverse: Bool, typesChecked: Bool = false) throws -> (tree: Tree, range: KeyRange) {
        let schema = table.schema
        // The walk's order: the index's columns (or none), then the primary key's, ascending.
        let leading = index?.definition.columns ?? []
        let columnCount = leading.count + schema.primaryKey.count
        func column(_ i: Int) -> String { i < leading.count ? leading[i] : schema.primaryKey[i - leading.count] }
        let bounded = prefix.count + (lower != nil || upper != nil ? 1 : 0)
        guard bounded <= columnCount else {
            throw GuildStoreError.invalidSchema("\(prefix.count) equal values and a range exceed the \(columnCount) columns of that order")
        }
        if !typesChecked {
            for (i, value) in prefix.enumerated() { try checkType(value, column: column(i), table: table) }
            if let lower { try checkType(lower, column: column(prefix.count), table: table) }
            if let upper { try checkType(upper, column: column(prefix.count), table: table) }
        }
        // The index's checked flags, one per indexed column; `keyRange` reads the first
        // `bounded` and takes the primary key's columns past them as ascending.
        let range = Self.keyRange(prefix: prefix, lower: lower, upper: upper, descending: index?.descending ?? [], reverse: reverse)
        guard let tree = index?.tree ?? (index == nil ? table.rowTree : nil) else { throw GuildStoreError.unknownTable(schema.name) }
        return (tree, range)
    }

    /// The number of entries a plan's walk visits, when it checks nothing on them (no
    /// residual conditions): counted a leaf at a time, nothing decoded.
    func countEntries(_ plan: ScanPlan) throws -> Int64 {
        precondition(plan.residual.isEmpty, "a plan with residual conditions counts by walking")
        let (table, index) = try target(of: plan)
        let (tree, range) = try walkTarget(table, index: index, equals: plan.prefix,
                                           from: plan.range?.from, below: plan.range?.below, reverse: false, typesChecked: true)
        return Int64(try countEntries(tree, range))
    }

    /// The walk under every scan: each entry of the primary key or of the index in the bounds,
    /// as a row's values in column order. With `indexOnly` the values come from the index
    /// entries alone (the caller checked the index carries what it reads, `CompiledIndex.covers`):
    /// the positions the entry does not carry hold NULL, and with `reading` only the columns at
    /// those positions are decoded (`CompiledIndex.entryReading`: the key is parsed up to the
    /// last indexed column read, the stored value only when it holds one read). Otherwise each
    /// index entry fetches its row; with `reading`, only the columns at those positions and the
    /// primary key's are decoded, the others hold NULL (or their default).
    func walk(_ table: CompiledTable, index indexName: String?, equals prefix: [Value], from lower: Value?, below upper: Value?,
              reverse: Bool, indexOnly: Bool, reading: [Int]? = nil, typesChecked: Bool = false,
              _ body: ([Value]) throws -> Bool) throws {
        let index = try table.index(resolving: indexName)
        try walk(table, index: index, equals: prefix, from: lower, below: upper, reverse: reverse,
                 reading: WalkReading(table, index: index, indexOnly: indexOnly, reading: reading), typesChecked: typesChecked, body)
    }

    /// `walk` with the index resolved and what it decodes worked out already (a prepared
    /// plan's `PlanTarget` keeps both).
    func walk(_ table: CompiledTable, index: CompiledIndex?, equals prefix: [Value], from lower: Value?, below upper: Value?,
              reverse: Bool, reading: WalkReading, typesChecked: Bool, _ body: ([Value]) throws -> Bool) throws {
        let schema = table.schema
        let (tree, range) = try walkTarget(table, index: index, equals: prefix, from: lower, below: upper, reverse: reverse,
                                           typesChecked: typesChecked)
        // Captured one by one, so the closure copies no schema per row.
        let rows = table.rowTree
        let tableName = schema.name
        // One array for every row: rows are decoded into it in place, unless the caller kept
        // the previous one (then it is copied first). An index-only walk writes the positions
        // its entries carry, every time; the others stay NULL.
        var values = Value.nulls(schema.columns.count)
        let (indexOnly, valueColumns, entryReading) = (reading.indexOnly, reading.valueColumns, reading.entryReading)
        // Index entries in one range mostly name rows that sit near each other (rows of one
        // guild's hour): each fetch starts at the leaf the previous one ended in. The row
        // tree's root is found again after the body changes anything (it may drop the table).
        var rowRoot = try rows.map { try root(of: $0) }
        var rootFoundAt = pageWrites
        var finger: LeafFinger?
        try scan(tree, range) { key, value in
            if let index {
                if let entryReading {
                    try index.decodeEntry(key: key, value: value, into: &values, reading: entryReading)
                } else if indexOnly {
                    try index.decodeEntry(key: key, value: value, into: &values)
                } else {
                    if pageWrites != rootFoundAt, let rows {
                        rowRoot = try root(of: rows)
                        rootFoundAt = pageWrites
                    }
                    let found = try index.withRowKey(key: key, value: value) { rowKey -> Bool in
                        guard let rowRoot else { return false }
                        return try withValue(rowKey, root: rowRoot, near: &finger) {
                            try table.decodeRow(key: rowKey, value: $0, into: &values, reading: valueColumns)
                        } != nil
                    }
                    guard found else {
                        throw GuildStoreError.corruptPage(page: 0, reason: "index \(index.treeName) names a row \(tableName) does not hold")
                    }
                }
            } else {
                try table.decodeRow(key: key, value: value, into: &values, reading: valueColumns)
            }
            return try body(values)
        }
    }

    /// `plan`'s prepared target when it was resolved in this engine under this transaction's
    /// schema counter (QP-3); nil otherwise.
    func resolvedTarget(of plan: ScanPlan) -> PlanTarget? {
        guard let target = plan.choice.target, target.engine == engine.instance, target.counter == header.schemaCounter else {
            return nil
        }
        return target
    }

    /// The table and index `plan` walks: its prepared target's when `resolvedTarget` gives it,
    /// otherwise looked up by name.
    func target(of plan: ScanPlan) throws -> (table: CompiledTable, index: CompiledIndex?) {
        if let target = resolvedTarget(of: plan) { return (target.table, target.index) }
        let table = try compiledTable(plan.table)
        return (table, try table.index(resolving: plan.index))
    }

    /// Rows of a scan, copied (see `scan`), at most `limit`.
    public final func rows(_ tableName: String, index: String? = nil, equals prefix: [Value] = [],
                           from lower: Value? = nil, below upper: Value? = nil, reverse: Bool = false,
                           limit: Int = .max) throws -> [Row] {
        var result: [Row] = []
        guard limit > 0 else { return result }
        try scan(tableName, index: index, equals: prefix, from: lower, below: upper, reverse: reverse) { row in
            result.append(row)
            return result.count < limit
        }
        return result
    }

    private func checkType(_ value: Value, column: String, table: CompiledTable) throws {
        guard let position = table.positions[column] else { throw GuildStoreError.unknownColumn(table: table.schema.name, column: column) }
        let type = table.schema.columns[position].type
        guard value.isNull || value.fits(type) else {
            throw GuildStoreError.columnTypeMismatch(table: table.schema.name, column: column, expected: "\(type)",
                                                     found: value.columnType.map { "\($0)" } ?? "null")
        }
    }

    /// The key range for equal leading values and `lower <= next < upper`. On a descending
    /// column the encodings run backwards, so the bounds trade places.
    static func keyRange(prefix: [Value], lower: Value?, upper: Value?, descending: [Bool], reverse: Bool) -> KeyRange {
        var base = TupleEncoder()
        base.append(contentsOf: prefix, descending: descending)
        guard lower != nil || upper != nil else { return KeyRange.prefix(base.bytes, reverse: reverse) }
        let rangeDescending = descending.count > prefix.count && descending[prefix.count]
        func bound(_ value: Value) -> [UInt8] {
            var encoder = base
            encoder.append(value, descending: rangeDescending)
            return encoder.bytes
        }
        // An open end is the prefix's own (`KeyRange.prefix`), made only when an end is open.
        var range = KeyRange(reverse: reverse)
        if !rangeDescending {
            range.lower = .inclusive(lower.map(bound) ?? base.bytes)
            if let upper {
                // The last use of `base`: the bound goes into its own buffer (copied first only
                // when the lower end shares it, an open lower end).
                base.append(upper, descending: false)
                range.upper = .exclusive(base.bytes)
            } else {
                range.upper = KeyRange.prefix(base.bytes).upper
            }
        } else {
            // Larger values come first: keys of `upper` and above precede the range.
            range.lower = upper.map { u in TupleEncoding.prefixSuccessor(bound(u)).map { .inclusive($0) } ?? .exclusive(bound(u)) } ?? .inclusive(base.bytes)
            range.upper = lower.map { l in TupleEncoding.prefixSuccessor(bound(l)).map { .exclusive($0) } } ?? KeyRange.prefix(base.bytes).upper
        }
        return range
    }
}

/// What a walk decodes of each entry for the columns it reads: the row's value columns
/// (`RowLayout.valueColumns`), or, reading an index alone, the parts of each entry
/// (`CompiledIndex.entryReading`); nil: everything.
struct WalkReading: Sendable {
    let indexOnly: Bool
    let valueColumns: [Bool]?
    let entryReading: CompiledIndex.EntryReading?

    init(_ table: CompiledTable, index: CompiledIndex?, indexOnly: Bool, reading: [Int]?) {
        self.indexOnly = indexOnly
        // An index-only walk decodes no row.
        valueColumns = indexOnly && index != nil ? nil : reading.map { table.layout.valueColumns(reading: $0) }
        entryReading = indexOnly ? reading.flatMap { index?.entryReading($0) } : nil
    }

    /// What an index-only walk reading the columns at `positions` decodes into slots (SL-1);
    /// nil for other walks, and where the index lacks a column read or one fits no slot.
    func slotReading(_ table: CompiledTable, index: CompiledIndex?, positions: [Int]?) -> SlotReading? {
        guard let index, let entryReading, let positions else { return nil }
        return SlotReading(index, positions: positions, reading: entryReading, columnCount: table.schema.columns.count)
    }
}

// MARK: - Planned reads: index choice, filters, order, limit

/// A half-open range on one column, `from <= value < below`; a nil end is open. NULL is in no
/// range (as in SQL's `col >= x AND col < y`).
///
/// ```swift
/// let lastDay = try await db.read { tx in
///     try tx.select("message_events", where: ["guild_id": .uint(guild)],
///                   range: ColumnRange("created_at", from: .timestamp(since), below: .timestamp(until)))
/// }
/// ```
public struct ColumnRange: Sendable, Hashable, CustomStringConvertible {
    public var column: String
    public var from: Value?
    public var below: Value?

    public init(_ column: String, from: Value? = nil, below: Value? = nil) {
        self.column = column
        self.from = from
        self.below = below
    }

    /// Whether `value` lies in the range.
    public func contains(_ value: Value) -> Bool {
        guard !value.isNull else { return false }
        if let from, value < from { return false }
        if let below, !(value < below) { return false }
        return true
    }

    public var description: String {
        "\(column) in [\(from.map { "\($0)" } ?? "-inf"), \(below.map { "\($0)" } ?? "+inf"))"
    }
}

/// One key of an `ORDER BY`: a column and its direction.
///
/// ```swift
/// let newest = try await db.read { tx in
///     try tx.select("message_events", orderBy: [SortKey("created_at", descending: true)], limit: 20)
/// }
/// ```
public struct SortKey: Sendable, Hashable, CustomStringConvertible {
    public var column: String
    public var descending: Bool

    public init(_ column: String, descending: Bool = false) {
        self.column = column
        self.descending = descending
    }

    public static func ascending(_ column: String) -> SortKey { SortKey(column) }
    public static func descending(_ column: String) -> SortKey { SortKey(column, descending: true) }

    public var description: String { descending ? "\(column) desc" : column }
}

/// How a read walks a table: which tree (the primary key or one index), the equal values that
/// fix its leading columns, the range on the next one, the direction, and the conditions the
/// walk cannot decide (checked on each row as it streams by). Made by `planScan`; run by
/// `scan(_:_:)`, `select` and `aggregate`. Its `description` names the choice, for tests and
/// a query log.
/// What `planScan`'s choice depends on, besides the values themselves (QP-1): the same shape
/// always gets the same index, order and checks. The partial indexes' predicates are in it as
/// whether the conditions imply each, the only way values sway the choice.
struct PlanShape: Hashable, Sendable {
    /// Cached plans past this many are dropped all at once (a program asks a bounded number
    /// of query shapes; this bounds one that makes them up).
    static let cacheLimit = 4_096

    var table: String
    var schemaCounter: UInt64
    var equalColumns: [String]
    var predicates: [Bool]
    var rangeColumn: String?
    var rangeFrom: Bool
    var rangeBelow: Bool
    var orderBy: [SortKey]
    var reading: [String]?
}

/// How a read walks a table (`planScan`): the index chosen, its equality prefix and range,
/// the direction, and whether the index alone answers; `description` is what the query log prints.
///
/// ```swift
/// let plan = try await db.read { tx in
///     try tx.planScan("message_events", equals: ["guild_id": .uint(guild)], orderBy: [.descending("created_at")])
/// }
/// print(plan)   // the index chosen, as the query log prints it
/// ```
public struct ScanPlan: Sendable, Hashable, CustomStringConvertible {
    /// A condition checked on each row: the column's position and what it must satisfy.
    struct Residual: Sendable, Hashable {
        var position: Int
        var equals: Value?
        var range: ColumnRange?

        func admits(_ values: [Value]) -> Bool {
            let value = values[position]
            if let equals, value != equals { return false }
            if let range, !range.contains(value) { return false }
            return true
        }
    }

    /// What the plan chose, the same in every run of its shape (`with`, prepared runs): kept
    /// in one shared object, so a plan made again with new values copies one reference for it.
    final class Choice: Sendable, Hashable {
        let table: String
        let index: String?
        let prefixColumns: [String]
        let reverse: Bool
        let indexOnly: Bool
        let order: [SortKey]
        let fixed: Set<String>
        /// Whether the walk applies the query's range to the column after the prefix.
        let usesRange: Bool
        /// What a prepared plan's names resolve to (`ScanResolution`); nil for `planScan`'s.
        /// Not part of the choice's identity: a prepared plan equals the one `planScan` makes
        /// for the same conditions (QP-1) whether or not it carries one.
        let target: PlanTarget?

        init(table: String, index: String?, prefixColumns: [String], reverse: Bool, indexOnly: Bool, order: [SortKey],
             fixed: Set<String>, usesRange: Bool, target: PlanTarget? = nil) {
            (self.table, self.index, self.prefixColumns, self.reverse, self.indexOnly) = (table, index, prefixColumns, reverse, indexOnly)
            (self.order, self.fixed, self.usesRange, self.target) = (order, fixed, usesRange, target)
        }

        /// This choice carrying `target`.
        func resolved(_ target: PlanTarget) -> Choice {
            Choice(table: table, index: index, prefixColumns: prefixColumns, reverse: reverse, indexOnly: indexOnly, order: order,
                   fixed: fixed, usesRange: usesRange, target: target)
        }

        static func == (a: Choice, b: Choice) -> Bool {
            a === b || (a.table == b.table && a.index == b.index && a.prefixColumns == b.prefixColumns && a.reverse == b.reverse
                && a.indexOnly == b.indexOnly && a.order == b.order && a.fixed == b.fixed && a.usesRange == b.usesRange)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(table)
            hasher.combine(index)
            hasher.combine(prefixColumns)
            hasher.combine(reverse)
            hasher.combine(indexOnly)
            hasher.combine(order)
            hasher.combine(fixed)
            hasher.combine(usesRange)
        }
    }

    let choice: Choice
    public var table: String { choice.table }
    /// The index walked; nil for the primary key.
    public var index: String? { choice.index }
    /// The columns of that order the equal values fix, and the values.
    public var prefixColumns: [String] { choice.prefixColumns }
    public let prefix: [Value]
    /// The range the walk applies to the column after the prefix; nil when it applies none.
    public let range: ColumnRange?
    /// Whether the walk runs from the high end down.
    public var reverse: Bool { choice.reverse }
    /// Whether the walk reads the index entries alone, never the rows: the index carries every
    /// column the read asked for (`planScan(reading:)`) and every column it checks.
    public var indexOnly: Bool { choice.indexOnly }
    /// The order rows come out in, after the fixed prefix (directions include `reverse`).
    public var order: [SortKey] { choice.order }
    /// The columns an equality fixes: constant in every row, so free in any order.
    public var fixed: Set<String> { choice.fixed }
    /// Conditions the walk does not decide: equal values past the prefix, a range it cannot
    /// use (and NULL exclusion for a range without a lower end).
    let residual: [Residual]
    /// The conditions the plan selects rows by, whole: every equality and the range, however
    /// the walk splits them (a delete drops rollup groups they cover, `dropCoveredGroups`).
    let selection: Selection

    struct Selection: Sendable, Hashable {
        /// The equalities, `columns[i] = values[i]`, each column once.
        var columns: [String]
        var values: [Value]
        var range: ColumnRange?

        init(columns: [String], values: [Value], range: ColumnRange?) {
            (self.columns, self.values, self.range) = (columns, values, range)
        }

        init(equals: [String: Value], range: ColumnRange?) {
            let sorted = equals.sorted { $0.key < $1.key }
            self.init(columns: sorted.map(\.key), values: sorted.map(\.value), range: range)
        }

        /// The value the equalities give `column`, if any.
        func value(of column: String) -> Value? {
            columns.firstIndex(of: column).map { values[$0] }
        }
    }

    /// True when the plan walks the primary key.
    public var usesPrimaryKey: Bool { index == nil }

    /// This plan (made for the same shape, `PlanShape`) with other values: the prefix, the
    /// range and the residual conditions take the new ones, the choice stays.
    func with(equals: [String: Value], range newRange: ColumnRange?, schema: TableSchema) throws -> ScanPlan {
        func value(_ column: String) throws -> Value {
            guard let value = equals[column] else { throw GuildStoreError.invalidQuery("a cached plan of \(table) misses \(column)") }
            return value
        }
        let prefix = try prefixColumns.map(value)
        let residual = try self.residual.map { condition in
            var condition = condition
            if condition.equals != nil { condition.equals = try value(schema.columns[condition.position].name) }
            if condition.range != nil { condition.range = newRange }
            return condition
        }
        return ScanPlan(choice: choice, prefix: prefix, range: choice.usesRange ? newRange : nil, residual: residual,
                        selection: Selection(equals: equals, range: newRange))
    }

    /// Whether rows come out in `orderBy` order as they are (columns fixed by an equality may
    /// be left out of it or included anywhere).
    public func provides(_ orderBy: [SortKey]) -> Bool {
        Self.matches(orderBy, order, fixed: fixed) == .forward
    }

    enum OrderMatch { case forward, backward, no }

    /// Whether `order` (as walked) gives `wanted` as it is, walked backwards, or not at all.
    static func matches(_ wanted: [SortKey], _ order: [SortKey], fixed: Set<String>) -> OrderMatch {
        // Both orders without the fixed columns, compared pairwise (no arrays made).
        func isFixed(_ key: SortKey) -> Bool { !fixed.isEmpty && fixed.contains(key.column) }
        var (i, j) = (0, 0)
        var direction: OrderMatch?
        while true {
            while i < wanted.count, isFixed(wanted[i]) { i += 1 }
            guard i < wanted.count else { return direction ?? .forward }
            while j < order.count, isFixed(order[j]) { j += 1 }
            guard j < order.count, wanted[i].column == order[j].column else { return .no }
            let here: OrderMatch = wanted[i].descending == order[j].descending ? .forward : .backward
            if let direction, direction != here { return .no }
            direction = here
            i += 1
            j += 1
        }
    }

    public var description: String {
        var text = "\(table) via " + (index.map { "index \($0)" } ?? "primary key")
        var bounds = zip(prefixColumns, prefix).map { "\($0) = \($1)" }
        if let range { bounds.append("\(range)") }
        if !bounds.isEmpty { text += " (" + bounds.joined(separator: ", ") + ")" }
        if reverse { text += " reversed" }
        if indexOnly { text += ", index only" }
        if !residual.isEmpty { text += ", filtering \(residual.count) condition\(residual.count == 1 ? "" : "s")" }
        return text
    }
}

extension Transaction {
    /// Chooses how to read `table` for rows whose columns equal `equals` and whose `range`
    /// column lies in the range: the order (primary key or index) whose leading columns
    /// cover the most equality columns, then the range column; among equals, one that gives
    /// `orderBy` without a sort, then one read alone (below), then one that leaves the fewest
    /// equalities to check per row (a partial index's predicate settles its own), then the
    /// primary key (no row fetch), then the shortest index.
    /// A partial index is a candidate only when the conditions imply its predicate.
    ///
    /// `reading` names the columns the caller will read from the rows (nil: all of them). An
    /// index that carries those and every column the plan checks is read alone, without
    /// fetching rows (`indexOnly`), and is preferred to one that is not, among equals.
    ///
    /// Equality uses the engine's value order, in which NULL equals NULL: `equals: [c: nil]`
    /// means `c IS NULL`. Every condition the walk does not decide is checked on each row, so
    /// the plan's choice changes the cost, never the rows.
    ///
    /// Plans are cached per shape (`PlanShape`: the table and its schema counter, which columns
    /// the equalities and the range name, what the partial indexes' predicates make of the
    /// values, the order and the columns read): a query asked again with other values takes
    /// the cached choice and only puts its values in (QP-1).
    public final func planScan(_ tableName: String, equals: [String: Value] = [:], range: ColumnRange? = nil,
                               orderBy: [SortKey] = [], reading: [String]? = nil) throws -> ScanPlan {
        let compiled = try compiledTable(tableName)
        let schema = compiled.schema
        for (column, value) in equals { try checkType(value, column: column, table: compiled) }
        if let range {
            if let from = range.from { try checkType(from, column: range.column, table: compiled) }
            if let below = range.below { try checkType(below, column: range.column, table: compiled) }
        }
        let shape = PlanShape(table: schema.name, schemaCounter: header.schemaCounter, equalColumns: equals.keys.sorted(),
                              predicates: schema.indexes.compactMap { index in
                                  index.predicate.map { Self.implies(equals: equals, range: range, $0) }
                              },
                              rangeColumn: range?.column, rangeFrom: range?.from != nil, rangeBelow: range?.below != nil,
                              orderBy: orderBy, reading: reading)
        if let cached = engine.planCache.withLock({ $0[shape] }) {
            return try cached.with(equals: equals, range: range, schema: schema)
        }
        let plan = try choosePlan(compiled, equals: equals, range: range, orderBy: orderBy, reading: reading)
        engine.planCache.withLock { cache in
            if cache.count >= PlanShape.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[shape] = plan
        }
        return plan
    }

    /// `planScan`'s choice, made anew.
    func choosePlan(_ compiled: CompiledTable, equals: [String: Value], range: ColumnRange?, orderBy: [SortKey],
                            reading: [String]?) throws -> ScanPlan {
        let schema = compiled.schema
        let tableName = schema.name
        for key in orderBy { _ = try schema.columnIndex(key.column) }
        let fixed = Set(equals.keys)
        // Every column the read touches: what it reads, and what the plan may check per row
        // (an equality a partial index's predicate implies needs no check on that index).
        let readPositions = try reading.map { columns in Set(try columns.map { try schema.columnIndex($0) }) }
        let checkPositions = try equals.keys.map { ($0, try schema.columnIndex($0)) } + (try range.map { [($0.column, try schema.columnIndex($0.column))] } ?? [])

        struct Candidate {
            var index: IndexDefinition?
            var columns: [String]
            var descending: [Bool]
            var equalCount: Int
            var usesRange: Bool
            var orderMatch: ScanPlan.OrderMatch
            var indexOnly: Bool
        }
        var best: (candidate: Candidate, score: [Int])?
        let orders: [IndexDefinition?] = [nil] + schema.indexes.map { $0 }
        for index in orders {
            if let index, !Self.implies(equals: equals, range: range, index.predicate) { continue }
            var columns = index?.columns ?? schema.primaryKey
            var descending = index?.descending ?? schema.primaryKey.map { _ in false }
            var equalCount = 0
            while equalCount < columns.count, equals[columns[equalCount]] != nil { equalCount += 1 }
            let usesRange = range.map { equalCount < columns.count && columns[equalCount] == $0.column } ?? false
            // The walk's order: the index columns, then the primary key that ends each entry.
            for column in schema.primaryKey where !columns.contains(column) {
                columns.append(column)
                descending.append(false)
            }
            let walked = zip(columns, descending).dropFirst(equalCount).map { SortKey($0, descending: $1) }
            let orderMatch = ScanPlan.matches(orderBy, walked, fixed: fixed)
            let indexOnly = index.flatMap { index in
                readPositions.map { reads in
                    let checks = checkPositions.filter { !Self.predicate(index.predicate, settles: $0.0, equals: equals) }.map(\.1)
                    return compiled.index(named: index.name)?.covers(reads.union(checks)) ?? false
                }
            } ?? false
            let candidate = Candidate(index: index, columns: columns, descending: descending, equalCount: equalCount,
                                      usesRange: usesRange, orderMatch: orderMatch, indexOnly: indexOnly)
            // Equalities left to check on each entry: those past the prefix that the index's
            // predicate does not settle (a partial index of leaves checks no event type).
            let residualChecks = equals.keys.filter { column in
                !columns.prefix(equalCount).contains(column) && !Self.predicate(index?.predicate, settles: column, equals: equals)
            }.count
            // The primary key holds the rows: it never fetches either.
            let score = [equalCount, usesRange ? 1 : 0, orderMatch == .no ? 0 : 1, index == nil || indexOnly ? 1 : 0,
                         -residualChecks, index == nil ? 1 : 0, -(index?.columns.count ?? 0)]
            if let current = best, !current.score.lexicographicallyPrecedes(score) { continue }
            best = (candidate, score)
        }
        guard let chosen = best?.candidate else { throw GuildStoreError.unknownTable(tableName) }

        let prefixColumns = Array(chosen.columns.prefix(chosen.equalCount))
        let prefix = prefixColumns.compactMap { equals[$0] }
        let reverse = chosen.orderMatch == .backward
        let order = zip(chosen.columns, chosen.descending).dropFirst(chosen.equalCount).map {
            SortKey($0, descending: $1 != reverse)
        }
        var residual: [ScanPlan.Residual] = []
        for (column, value) in equals.sorted(by: { $0.key < $1.key })
            where !prefixColumns.contains(column) && !Self.predicate(chosen.index?.predicate, settles: column, equals: equals) {
            residual.append(.init(position: try schema.columnIndex(column), equals: value, range: nil))
        }
        // A walk bounded only from above still meets NULLs (they sort first, or last on a
        // descending column), so such a range stays a residual too.
        if let range, !chosen.usesRange || range.from == nil {
            residual.append(.init(position: try schema.columnIndex(range.column), equals: nil, range: range))
        }
        let choice = ScanPlan.Choice(table: schema.name, index: chosen.index?.name, prefixColumns: prefixColumns, reverse: reverse,
                                     indexOnly: chosen.indexOnly, order: order, fixed: fixed, usesRange: chosen.usesRange && range != nil)
        return ScanPlan(choice: choice, prefix: prefix, range: choice.usesRange ? range : nil, residual: residual,
                        selection: ScanPlan.Selection(equals: equals, range: range))
    }

    /// Whether every entry of an index with `predicate` satisfies the equality on `column`
    /// (the predicate is that very equality), so the walk need not check it.
    private static func predicate(_ predicate: IndexPredicate?, settles column: String, equals: [String: Value]) -> Bool {
        guard case .equals(let c, let value)? = predicate, c == column, let wanted = equals[column] else { return false }
        return value == wanted
    }

    /// Whether rows meeting the conditions all satisfy a partial index's predicate.
    private static func implies(equals: [String: Value], range: ColumnRange?, _ predicate: IndexPredicate?) -> Bool {
        switch predicate {
        case nil: return true
        case .equals(let column, let value): return equals[column] == value
        case .isNotNull(let column):
            if let value = equals[column], !value.isNull { return true }
            return range?.column == column
        }
    }

    /// Calls `body` with each row the plan selects, in the plan's order, until it returns
    /// false. Rows stream: nothing is materialized. When the plan reads the index alone
    /// (`indexOnly`), the columns it was not made `reading` are NULL in the rows.
    public final func scan(_ plan: ScanPlan, _ body: (Row) throws -> Bool) throws {
        let schema = try compiledTable(plan.table).schema
        let columnNames = schema.columns.map(\.name)
        try walk(plan) { values in try body(Row(table: schema.name, columns: columnNames, values: values)) }
    }

    /// `scan` handing each row's values, in column order, without making a `Row`. With
    /// `reading` (column positions; they must include every column `plan` checks), only those
    /// columns are sure to be decoded (a walk of the rows decodes the primary key's too), the
    /// others are NULL or their default.
    package final func walk(_ plan: ScanPlan, reading: [Int]? = nil, _ body: ([Value]) throws -> Bool) throws {
        var visited = 0
        let start = queryLogStart()
        defer { logQuery(plan, visited: visited, since: start) }
        let reading = plan.residual.isEmpty ? reading : reading.map { $0 + plan.residual.map(\.position) }
        let table: CompiledTable, index: CompiledIndex?, walkReading: WalkReading
        if let target = resolvedTarget(of: plan), target.reading == reading {
            (table, index, walkReading) = (target.table, target.index, target.walkReading)
        } else {
            (table, index) = try self.target(of: plan)
            walkReading = WalkReading(table, index: index, indexOnly: plan.indexOnly, reading: reading)
        }
        // `planScan` checked the plan's values against their columns.
        try walk(table, index: index, equals: plan.prefix, from: plan.range?.from, below: plan.range?.below,
                 reverse: plan.reverse, reading: walkReading, typesChecked: true) { values in
            visited += 1
            for condition in plan.residual where !condition.admits(values) { return true }
            return try body(values)
        }
    }

    /// `walk(_:reading:_:)` with each entry decoded into slots (SL-1) instead of `Value`s, for
    /// an index-only plan whose columns read (`reading`, then the residual conditions') all fit
    /// one. `body` gets the slots (by column position), their NULL mask and the entry's stored
    /// value (which text slots point into); it checks the residual conditions itself. Returns
    /// false, walking nothing, when the plan cannot be walked so.
    final func walkSlots(_ plan: ScanPlan, reading: [Int],
                         _ body: (UnsafeMutablePointer<UInt64>, UInt64, UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        guard plan.indexOnly else { return false }
        let reading = plan.residual.isEmpty ? reading : reading + plan.residual.map(\.position)
        let table: CompiledTable, index: CompiledIndex?, slotReading: SlotReading?
        if let target = resolvedTarget(of: plan), target.reading == reading {
            (table, index, slotReading) = (target.table, target.index, target.slotReading)
        } else {
            (table, index) = try self.target(of: plan)
            slotReading = WalkReading(table, index: index, indexOnly: true, reading: reading).slotReading(table, index: index, positions: reading)
        }
        guard let slotReading else { return false }
        var visited = 0
        let start = queryLogStart()
        defer { logQuery(plan, visited: visited, since: start) }
        let (tree, range) = try walkTarget(table, index: index, equals: plan.prefix, from: plan.range?.from, below: plan.range?.below,
                                           reverse: plan.reverse, typesChecked: true)
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: table.schema.columns.count)
        defer { slots.deallocate() }
        slots.initialize(repeating: 0, count: table.schema.columns.count)
        try scan(tree, range) { key, value in
            visited += 1
            let nulls = try slotReading.decode(key: key, value: value, into: slots)
            return try body(slots, nulls, value)
        }
        return true
    }

    /// When the query log (seed 000 logs each query and its duration in development) is on,
    /// the time a walk starts; the clock is read only when there is one.
    private func queryLogStart() -> ContinuousClock.Instant? {
        engine.configuration.queryLog == nil ? nil : ContinuousClock.now
    }

    private func logQuery(_ plan: ScanPlan, visited: Int, since start: ContinuousClock.Instant?) {
        guard let log = engine.configuration.queryLog, let start else { return }
        let elapsed = ContinuousClock.now - start
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        log.debug("query \(plan): \(visited) \(plan.indexOnly ? "index entries" : "rows") read in \(micros) µs")
    }

    /// The rows of `table` whose columns equal `equals`, whose range column lies in `range`
    /// and that `filter` accepts (`WHERE`), in `orderBy` order, at most `limit` (`LIMIT`).
    ///
    /// The walk is `planScan`'s. When its order gives `orderBy`, rows stream and the read
    /// stops after `limit`. Otherwise the rows are sorted, which materializes them: every
    /// matching row, or about twice `limit` when a limit is given. Rows equal in every
    /// `orderBy` column keep the walk's order (the primary key's, unless an index was used);
    /// add the key to `orderBy` for an order that does not depend on the plan.
    ///
    /// `columns` (`SELECT a, b`) makes each result row carry just those columns, in that order,
    /// and lets the read come from an index alone when one carries them, the `orderBy` columns
    /// and the conditions' columns (the plan says `index only`); `filter` then sees only the
    /// columns named in `columns` and `orderBy` (the others read as NULL).
    public final func select(_ tableName: String, columns: [String]? = nil, where equals: [String: Value] = [:],
                             range: ColumnRange? = nil, filter: ((Row) throws -> Bool)? = nil, orderBy: [SortKey] = [],
                             limit: Int = .max) throws -> [Row] {
        let plan = try planScan(tableName, equals: equals, range: range, orderBy: orderBy,
                                reading: columns.map { $0 + orderBy.map(\.column) })
        let rows = try select(plan, filter: filter, orderBy: orderBy, limit: limit)
        guard let columns else { return rows }
        let schema = try table(tableName)
        let positions = try columns.map { try schema.columnIndex($0) }
        return rows.map { row in Row(table: row.table, columns: columns, values: positions.map { row.values[$0] }) }
    }

    /// `select` over a plan made already (see `planScan`).
    public final func select(_ plan: ScanPlan, filter: ((Row) throws -> Bool)? = nil, orderBy: [SortKey] = [],
                             limit: Int = .max) throws -> [Row] {
        var result: [Row] = []
        guard limit > 0 else { return result }
        if plan.provides(orderBy) {
            try scan(plan) { row in
                if let filter, try !filter(row) { return true }
                result.append(row)
                return result.count < limit
            }
            return result
        }
        // Sort: (row, sequence) so equal keys keep the walk's order; trimmed to `limit` as
        // the buffer grows, so a top-N read holds O(limit) rows.
        let schema = try table(plan.table)
        let keys = try orderBy.map { (position: try schema.columnIndex($0.column), descending: $0.descending) }
        func precedes(_ a: (row: Row, sequence: Int), _ b: (row: Row, sequence: Int)) -> Bool {
            for key in keys {
                let c = Value.compare(a.row.values[key.position], b.row.values[key.position])
                if c != 0 { return key.descending ? c > 0 : c < 0 }
            }
            return a.sequence < b.sequence
        }
        var buffer: [(row: Row, sequence: Int)] = []
        var sequence = 0
        let trimAt = limit > Int.max / 2 ? Int.max : max(64, limit * 2)
        try scan(plan) { row in
            if let filter, try !filter(row) { return true }
            buffer.append((row, sequence))
            sequence += 1
            if buffer.count >= trimAt {
                buffer.sort(by: precedes)
                buffer.removeSubrange(limit...)
            }
            return true
        }
        buffer.sort(by: precedes)
        return buffer.prefix(limit).map(\.row)
    }
}
