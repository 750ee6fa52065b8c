/// Aggregates answered from a rollup (`RollupDefinition`): the whole buckets of the time range
/// from the rollup's counters, its two partial edges from the rows themselves, merged per
/// group. The answer is the one the rows give, for any range: a rollup only changes the cost.
///
/// A rollup answers an aggregate when:
/// - the equalities fix exactly its leading plain group columns (any number of them, F),
///   plus the rollup's predicate when it has one (`column = value`);
/// - the range, if any, is on the column of the rollup's time bucket, which comes right
///   after F (so whole buckets are one key range); or the rollup has no bucket, the range's
///   column is NOT NULL, and an index of every row (not partial) leads with some of F and then
///   that column: the rollup then answers the values whose rows all lie in the range, which
///   two probes of that index outside the range prove (`RollupCoverage`; an all-time
///   leaderboard reads one entry per user instead of one per event);
/// - each group key of the aggregate is a group column of the rollup, or a bucket of its
///   bucket column whose width is a multiple of the rollup's;
/// - each aggregate is `count`, or a `sum` / `countWhere` the rollup keeps, or a
///   `countDistinct` it keeps when the aggregate's groups are exactly the rollup's (every
///   group column after F grouped, the bucket at the same width), so no two rollup groups
///   meet in one result.
/// How one aggregate reads a rollup's counters: the counter's position (0: the rows).
enum RollupRead: Sendable {
    case additive(Int)
    /// A sum, NULL when the counter at `nonNull` (its column's non-NULL rows; 0 for the
    /// rows of a NOT NULL column) is zero.
    case sum(Int, nonNull: Int)
    case distinct(Int)

    var counter: Int {
        switch self {
        case .additive(let c), .sum(let c, _), .distinct(let c): c
        }
    }
}

/// How one rollup answers an aggregate query's shape, values aside (a prepared query keeps it):
/// the counters each aggregate reads, how many leading group columns the equalities fix, the
/// predicate value the query's values must meet, and the aggregate the partial edges run on
/// the rows. A class: a prepared query hands it to every run without copying its arrays.
final class RollupAnswer: Sendable {
    let rollup: CompiledRollup
    let shape: AggregateShape
    let reads: [RollupRead]
    /// The rollup's leading plain group columns the equalities fix, in group order.
    let fixedColumns: [String]
    /// The rollup's predicate `column = value`: the query's equality on `column` must be `value`.
    let predicate: (column: String, value: Value)?
    /// The edges' aggregate over the rows: the rows, the query's aggregates, and each sum's
    /// non-NULL rows.
    let edgeShape: AggregateShape
    /// The width of the rollup's time bucket; `Int64.max` without one (a group spans all time).
    /// Among the rollups that answer a query the widest is tried first: it has the fewest
    /// entries to read.
    let bucketWidth: Int64
    /// Each rollup entry the walk reads is a result group of its own: the query groups by
    /// every group key of the rollup after the fixed ones (the bucket at the rollup's width),
    /// and entries differ in those.
    let entryPerGroup: Bool
    /// For a rollup without a bucket asked about a range: the index that shows whether the
    /// range holds every row of the fixed values (nil otherwise).
    let coverage: RollupCoverage?

    /// Nil when the rollup cannot answer queries of this shape: equalities on `equalColumns`,
    /// a range on `rangeColumn` (if any).
    init?(_ rollup: CompiledRollup, table: CompiledTable, equalColumns: Set<String>, rangeColumn: String?,
          shape: AggregateShape) throws {
        let definition = rollup.definition
        let fixedColumns = definition.groupBy.prefix { key in if case .column(let c) = key { equalColumns.contains(c) } else { false } }
            .map(\.column)
        // The equalities are the fixed columns and the predicate's, nothing else: counting
        // them suffices.
        switch definition.predicate {
        case nil:
            guard equalColumns.count == fixedColumns.count else { return nil }
            predicate = nil
        case .equals(let column, let value):
            guard equalColumns.contains(column), equalColumns.count == fixedColumns.count + 1,
                  !fixedColumns.contains(column) else { return nil }
            predicate = (column, value)
        case .isNotNull: return nil
        }
        let fixedCount = fixedColumns.count
        var bucketColumn: String?
        var bucketSeconds: Int64 = 0
        if let bucket = definition.bucketPosition, case .timeBucket(let column, let seconds) = definition.groupBy[bucket] {
            (bucketColumn, bucketSeconds) = (column, seconds)
            if rangeColumn != nil, bucket != fixedCount { return nil }
        }
        var coverage: RollupCoverage?
        if let rangeColumn, rangeColumn != bucketColumn {
            guard bucketColumn == nil,
                  let found = RollupCoverage(table: table, fixedColumns: fixedColumns, rangeColumn: rangeColumn) else { return nil }
            coverage = found
        }
        let groupBy = shape.groupBy
        // The rollup's groups after the fixed ones, all grouped alike: one rollup group per result.
        let exact = definition.groupBy.suffix(from: fixedCount).allSatisfy { groupBy.contains($0) }
        for key in groupBy {
            switch key {
            case .column(let c): guard definition.groupBy.contains(.column(c)) else { return nil }
            case .timeBucket(let c, let seconds): guard c == bucketColumn, seconds % bucketSeconds == 0 else { return nil }
            }
        }
        var reads: [RollupRead] = []
        // The counter of a column's non-NULL rows: the rows themselves for a NOT NULL column.
        func nonNull(_ c: String) -> Int? {
            if let j = definition.values.firstIndex(of: .countNonNull(c)) { return j + 1 }
            return rollup.notNullColumns.contains(c) ? 0 : nil
        }
        for aggregate in shape.aggregates {
            let counter: Int?
            switch aggregate {
            case .count: counter = 0
            case .countNonNull(let c): counter = nonNull(c)
            case .sum(let c):
                guard let j = definition.values.firstIndex(of: .sum(c)), let nonNull = nonNull(c) else { return nil }
                reads.append(.sum(j + 1, nonNull: nonNull))
                continue
            case .countWhere(let c, let v): counter = definition.values.firstIndex(of: .countWhere(c, equals: v)).map { $0 + 1 }
            case .countDistinct(let c):
                guard exact else { return nil }
                guard let j = definition.values.firstIndex(of: .countDistinct(c)) else { return nil }
                reads.append(.distinct(j + 1))
                continue
            default: return nil
            }
            guard let counter else { return nil }
            reads.append(.additive(counter))
        }
        let nonNullCounts = zip(reads, shape.aggregates).map { read, aggregate -> Aggregate in
            if case .sum = read, let column = aggregate.column { .countNonNull(column) } else { .count }
        }
        self.rollup = rollup
        self.shape = shape
        self.reads = reads
        self.fixedColumns = fixedColumns
        bucketWidth = bucketColumn == nil ? Int64.max : bucketSeconds
        entryPerGroup = exact
        self.coverage = coverage
        edgeShape = try AggregateShape(shape.schema, groupBy: groupBy, [.count] + shape.aggregates + nonNullCounts, orderBy: [])
    }
}

extension RollupAnswer {
    /// The table's rollups that can answer queries of this shape, widest bucket first (table
    /// order among equals): the order a query tries them in.
    static func candidates(_ table: CompiledTable, equalColumns: Set<String>, rangeColumn: String?,
                           shape: AggregateShape) throws -> [RollupAnswer] {
        let answers = try table.rollups.compactMap {
            try RollupAnswer($0, table: table, equalColumns: equalColumns, rangeColumn: rangeColumn, shape: shape)
        }
        return answers.enumerated().sorted { a, b in
            a.element.bucketWidth != b.element.bucketWidth ? a.element.bucketWidth > b.element.bucketWidth : a.offset < b.offset
        }.map(\.element)
    }
}

extension Transaction {
    /// The aggregate from a rollup of `tableName`, or nil when none answers it (the caller
    /// walks the rows).
    final func aggregateFromRollup(_ tableName: String, where equals: [String: Value], range: ColumnRange?, groupBy: [GroupKey],
                                   _ aggregates: [Aggregate], orderBy: [AggregateOrder], limit: Int) throws -> [AggregateRow]? {
        let table = try compiledTable(tableName)
        guard !table.rollups.isEmpty else { return nil }
        let shape = try AggregateShape(table.schema, groupBy: groupBy, aggregates, orderBy: orderBy)
        let equalColumns = Set(equals.keys)
        for answer in try RollupAnswer.candidates(table, equalColumns: equalColumns, rangeColumn: range?.column, shape: shape) {
            if let predicate = answer.predicate, equals[predicate.column] != predicate.value { continue }
            let prefix = answer.fixedColumns.compactMap { equals[$0] }
            guard let result = try aggregate(answer, table: table, prefix: prefix, range: range, limit: limit, edges: { edge in
                try self.aggregateRows(tableName, where: equals, range: edge, shape: answer.edgeShape)
            }) else { continue }
            return result
        }
        return nil
    }

    /// The aggregate `answer` gives for the equal values `prefix` (of its fixed columns, in
    /// group order) and `range`, its partial edges aggregated by `edges` over the rows; nil when
    /// the rollup cannot answer these values (another type than a column's, a range without a
    /// whole bucket).
    final func aggregate(_ answer: RollupAnswer, table: CompiledTable, prefix: [Value], range: ColumnRange?, limit: Int,
                         edges aggregateEdge: (ColumnRange) throws -> [AggregateRow]) throws -> [AggregateRow]? {
        let (rollup, reads) = (answer.rollup, answer.reads)
        let (groupBy, aggregates, orderBy) = (answer.shape.groupBy, answer.shape.aggregates, answer.shape.orderBy)
        let definition = rollup.definition
        let bucket = definition.bucketPosition
        let fixedCount = answer.fixedColumns.count
        // Values of another type than their column's are the rows' path to refuse.
        guard prefix.count == fixedCount else { return nil }
        for (i, value) in prefix.enumerated() where !value.fits(rollup.groupTypes[i]) { return nil }
        if let range, let bucket {
            let type = rollup.groupTypes[bucket]
            if let from = range.from, !from.fits(type) { return nil }
            if let below = range.below, !below.fits(type) { return nil }
        }
        // The whole buckets the range holds: [start, end); the rest are its edges, each inside
        // one bucket. The walk of the rollup also reads the edges' buckets: an edge whose
        // bucket has no entry holds no row, and is not walked.
        var wholeTimes: (start: Int64, end: Int64?)?
        var edges: [(range: ColumnRange, bucket: Int64)] = []
        var walked: (from: Value?, below: Value?) = (nil, nil)
        if let range, let bucket, case .timeBucket(let column, let seconds) = definition.groupBy[bucket] {
            let type = table.schema.columns[rollup.groupPositions[bucket]].type
            func time(_ value: Value?) -> Int64? {
                switch value {
                case .timestamp(let t)?, .int(let t)?: t
                default: nil
                }
            }
            func value(_ t: Int64) -> Value { type == .timestamp ? .timestamp(t) : .int(t) }
            // A range with no lower end still holds no NULL: it starts at the least value.
            let since = time(range.from) ?? Int64.min
            guard range.from == nil || time(range.from) != nil, range.below == nil || time(range.below) != nil else { return nil }
            guard case .timestamp(let floor)? = Self.bucket(.timestamp(since), seconds: seconds) else { return nil }
            let start: Int64
            if floor == since {
                start = since
            } else {
                let (next, overflow) = floor.addingReportingOverflow(seconds)
                guard !overflow else { return nil }
                start = next
            }
            var end: Int64?
            var walkedEnd: Int64?
            if let until = time(range.below) {
                guard case .timestamp(let e)? = Self.bucket(.timestamp(until), seconds: seconds) else { return nil }
                end = e
                walkedEnd = e
                // No whole bucket: the rows answer it all.
                guard start < e else { return nil }
                if e < until {
                    edges.append((ColumnRange(column, from: value(e), below: value(until)), e))
                    let (next, overflow) = e.addingReportingOverflow(seconds)
                    walkedEnd = overflow ? nil : next
                }
            }
            if since < start { edges.append((ColumnRange(column, from: value(since), below: value(start)), floor)) }
            wholeTimes = (start, end)
            walked = (value(since < start ? floor : start), walkedEnd.map(value))
        } else if let range {
            // RU-5: without a bucket the rollup's groups span all time, so it answers only
            // values whose rows all lie in the range, and then as if there were no range.
            guard let coverage = answer.coverage, try rangeHoldsEveryRow(range, of: coverage, table: table, prefix: prefix) else {
                return nil
            }
        }

        // Result groups, each with its totals at `g * width`: the rows, one counter per
        // aggregate, then per aggregate the non-NULL rows its sum adds up (the rows of a NOT
        // NULL column; unused but for sums).
        let nonNullBase = 1 + reads.count
        var result = GroupTotals(width: 1 + 2 * reads.count, keyWidth: groupBy.count, treeName: rollup.treeName)
        let keyPositions = groupBy.map { key in
            switch key {
            case .column: definition.groupBy.firstIndex(of: key) ?? 0
            case .timeBucket: bucket ?? 0
            }
        }
        // Each rollup entry its own result group (`RollupAnswer.entryPerGroup`): entries are
        // distinct groups, so the walk appends them unlooked-up; the index is built only for
        // the edges' rows to find theirs.
        let entryPerGroup = answer.entryPerGroup
        // Rollup keys are all ascending.
        let keyRange = Self.keyRange(prefix: prefix, lower: walked.from, upper: walked.below, descending: [], reverse: false)
        var edgeBucketsSeen: Set<Int64> = []
        guard let tree = rollup.tree else { throw GuildStoreError.invalidSchema("rollup tree \(rollup.treeName) is missing") }
        var read = 0
        defer {
            // The query log, as `walk` writes it for the rows.
            engine.configuration.queryLog?.debug("query \(table.schema.name) via rollup \(definition.name): \(read) groups read, \(edges.count) partial edges")
        }
        var counters: [Int128] = []
        // Without grouping every entry adds to the one result group, made first.
        if groupBy.isEmpty { _ = result.group([]) }
        var groupValues: [Value] = []
        var groupKey: [Value] = []
        groupKey.reserveCapacity(groupBy.count)
        // The walk's state is in the values above, not in local functions: what a closure
        // captures through a local function is checked for exclusive access at run time, on
        // every entry.
        try scan(tree, keyRange) { key, value in
            read += 1
            try TupleEncoding.decode(key, types: rollup.groupTypes, into: &groupValues)
            if let wholeTimes, let bucket {
                let time: Int64? = switch groupValues[bucket] {
                case .timestamp(let t), .int(let t): t
                default: nil
                }
                if let time, time < wholeTimes.start || wholeTimes.end.map({ time >= $0 }) == true {
                    edgeBucketsSeen.insert(time)  // an edge's bucket: its rows come from the table
                    return true
                }
            }
            try rollup.decodeCounters(value, into: &counters)
            var base = 0
            if !groupBy.isEmpty {
                // The result group the entry's group values fall in, its key made in one
                // reused buffer.
                groupKey.removeAll(keepingCapacity: true)
                for i in groupBy.indices {
                    let stored = groupValues[keyPositions[i]]
                    guard case .timeBucket(_, let seconds) = groupBy[i] else {
                        groupKey.append(stored)
                        continue
                    }
                    guard let start = Self.bucket(stored, seconds: seconds) else {
                        throw GuildStoreError.aggregateOverflow(table: table.schema.name, column: groupBy[i].column)
                    }
                    groupKey.append(start)
                }
                base = (entryPerGroup ? result.append(groupKey) : result.group(groupKey)) * result.width
            }
            try result.add(counters[0], to: base)
            for j in reads.indices {
                let read = reads[j]
                try result.add(counters[read.counter], to: base + 1 + j)
                if case .sum(_, let nonNull) = read { try result.add(counters[nonNull], to: base + nonNullBase + j) }
            }
            return true
        }
        // The edges, from the rows: the rows, the same aggregates, and each sum's non-NULL rows
        // (`RollupAnswer.edgeShape`).
        for (edge, bucket) in edges where edgeBucketsSeen.contains(bucket) {
            let rows = try aggregateEdge(edge)
            for row in rows {
                guard let count = row.int(0), count > 0 else { continue }
                let base = result.group(row.group) * result.width
                try result.add(Int128(count), to: base)
                for j in reads.indices {
                    if case .int(let v) = row.values[1 + j] { try result.add(Int128(v), to: base + 1 + j) }
                    if case .int(let v) = row.values[1 + aggregates.count + j] { try result.add(Int128(v), to: base + nonNullBase + j) }
                }
            }
        }
        // Every group's results in one array (an overflow in any group throws); rows are made
        // only for the groups returned (`ordered`).
        let totals = result.totals
        var values: [Value] = []
        values.reserveCapacity(result.count * aggregates.count)
        for g in 0..<result.count {
            let base = g * result.width
            for (j, aggregate) in aggregates.enumerated() {
                if case .sum(let column) = aggregate {
                    // SUM of no rows, or of NULLs alone.
                    guard totals[base + nonNullBase + j] > 0 else {
                        values.append(.null)
                        continue
                    }
                    guard let sum = Int64(exactly: totals[base + 1 + j]) else {
                        throw GuildStoreError.aggregateOverflow(table: table.schema.name, column: column)
                    }
                    values.append(.int(sum))
                    continue
                }
                guard let count = Int64(exactly: totals[base + 1 + j]) else {
                    throw GuildStoreError.aggregateOverflow(table: table.schema.name, column: aggregate.column ?? "*")
                }
                values.append(.int(count))
            }
        }
        return Self.ordered(GroupKeys(result.keys, width: groupBy.count, count: result.count), values: values, width: aggregates.count,
                            grouped: !groupBy.isEmpty, orderBy: orderBy, limit: limit)
    }
}

/// The result groups of a rollup read and their counters: group `g`'s key is
/// `keys[g * keyWidth ..< (g + 1) * keyWidth]`, its counters `totals[g * width ..< (g + 1) * width]`.
/// Keys are kept flat, so a new group costs no array of its own.
private struct GroupTotals {
    let width: Int
    let keyWidth: Int
    let treeName: String
    private(set) var count = 0
    private(set) var keys: [Value] = []
    private(set) var totals: [Int128] = []
    private var index: [[Value]: Int] = [:]
    /// Invariant: when `indexed`, `index` holds every group. Until more than
    /// `groupsComparedInLine` groups are looked up among, it is not built at all.
    private var indexed = false

    init(width: Int, keyWidth: Int, treeName: String) {
        (self.width, self.keyWidth, self.treeName) = (width, keyWidth, treeName)
    }

    private func key(_ g: Int) -> ArraySlice<Value> { keys[g * keyWidth ..< (g + 1) * keyWidth] }

    /// The group `key`, found or added. A few groups (statuses, kinds) are found faster by
    /// comparing than by hashing: the index is built only once there are more (`indexed`).
    mutating func group(_ key: [Value]) -> Int {
        if count <= Transaction.groupsComparedInLine {
            for g in 0..<count where self.key(g).elementsEqual(key) { return g }
        } else {
            if !indexed { indexGroups() }
            if let found = index[key] { return found }
        }
        return append(key)
    }

    /// A group known to be new, added without a lookup.
    mutating func append(_ key: [Value]) -> Int {
        keys.append(contentsOf: key)
        totals.append(contentsOf: repeatElement(0, count: width))
        if indexed { index[key] = count }
        count += 1
        return count - 1
    }

    /// Puts every group in the index: from then on `append` keeps it whole.
    private mutating func indexGroups() {
        for g in 0..<count { index[Array(key(g))] = g }
        indexed = true
    }

    /// DISK-3: counters come from disk; sound ones (sums of Int64 values over fewer than
    /// 2^64 rows) never overflow Int128, so an overflow is a damaged rollup, not a trap.
    mutating func add(_ value: Int128, to total: Int) throws {
        let (sum, overflow) = totals[total].addingReportingOverflow(value)
        guard !overflow else {
            throw GuildStoreError.corruptEncoding(reason: "rollup \(treeName): counters add up past 128 bits (run check)")
        }
        totals[total] = sum
    }
}
