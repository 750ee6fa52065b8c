/// Aggregates over slot walks (SL-2): grouping, filters and aggregates on the machine words a
/// slot walk decodes each index entry into (`SlotReading`), with no `Value` per column, no row
/// array and nothing reference counted per entry. A 30-day leaderboard groups 50,000 entries
/// by user this way.
///
/// Invariant (SL-2): an aggregate answered here equals the one `aggregate(_:shape:filter:limit:)`
/// computes over `Value`s for the same plan: the same entries admitted (residual conditions
/// compared by the same rules: equality of one type, NULL in no range), the same groups (a
/// NULL key its own group), the same states (`AggregateState`, through the same integer steps
/// and overflow rules, groups taken in the order they first come, so an overflow names the
/// same column), ordered as `ordered` orders them. Text, checked to be UTF-8 by the walk, is
/// compared as bytes with the expected value's UTF-8. Shapes or conditions this cannot express
/// (min, max, distinct counts, doubles, a text group or range) take the `Value` walk.
extension Transaction {
    /// `aggregate(_:shape:filter:limit:)` without a filter, through a slot walk; nil when the
    /// shape, the plan's conditions or its columns need the `Value` walk (nothing walked then).
    final func aggregateSlots(_ plan: ScanPlan, shape: AggregateShape, limit: Int) throws -> [AggregateRow]? {
        guard let program = shape.slotProgram, let filters = SlotFilter.filters(plan.residual, schema: shape.schema) else { return nil }
        let schema = shape.schema
        var groups = SlotGroups(program: program)
        var overflow = false
        let walked = try program.texts.withUnsafeBytes { texts in
            try program.steps.withUnsafeBufferPointer { steps in
                try filters.conditions.withUnsafeBufferPointer { conditions in
                    try filters.texts.withUnsafeBytes { filterTexts in
                        try walkSlots(plan, reading: shape.positionsRead) { slots, nulls, value in
                            for condition in conditions where !condition.admits(slots, nulls, value, texts: filterTexts) { return true }
                            guard groups.add(slots, nulls, value, steps: steps, texts: texts) else {
                                overflow = true
                                return false
                            }
                            return true
                        }
                    }
                }
            }
        }
        guard walked else { return nil }
        if overflow, let key = program.key {
            throw GuildStoreError.aggregateOverflow(table: schema.name, column: schema.columns[key.position].name)
        }
        if let rows = try groups.topRows(shape: shape, limit: limit) { return rows }
        let (states, keys) = groups.finished()
        return try Self.rows(of: states, groupKeys: keys, groupCount: keys.count, shape: shape, limit: limit)
    }

    /// The result rows of an aggregate's states: one state per aggregate a group, group g keyed
    /// by `groupKeys[g * keys ..< (g + 1) * keys]`; without grouping, the one group's.
    static func rows(of states: [AggregateState], groupKeys: [Value], groupCount: Int, shape: AggregateShape,
                     limit: Int) throws -> [AggregateRow] {
        let resolved = shape.resolved
        let table = shape.schema.name
        if shape.keys.isEmpty {
            var values: [Value] = []
            values.reserveCapacity(resolved.count)
            for j in resolved.indices { values.append(try resolved[j].result(states[j], table: table)) }
            return limit > 0 ? [AggregateRow(group: [], values: values)] : []
        }
        // From trivial values and borrowed states: nothing reference counted per group.
        var values: [Value] = []
        values.reserveCapacity(states.count)
        let width = resolved.count
        try shape.steps.withUnsafeBufferPointer { steps in
            try shape.types.withUnsafeBufferPointer { types in
                try states.withUnsafeBufferPointer { states in
                    for i in 0..<states.count {
                        let j = i % width
                        guard let value = ResolvedAggregate.result(steps[j].kind, type: types[j], of: states[i]) else {
                            throw GuildStoreError.aggregateOverflow(table: table, column: resolved[j].aggregate.column ?? "")
                        }
                        values.append(value)
                    }
                }
            }
        }
        return ordered(GroupKeys(groupKeys, width: shape.keys.count, count: groupCount),
                       values: values, width: resolved.count, grouped: true, orderBy: shape.orderBy, limit: limit)
    }
}

/// The groups of a slot aggregate and their states, in one struct: the walk's closure makes
/// one access to it per entry, not one per variable it would otherwise capture.
struct SlotGroups {
    let key: SlotProgram.Key?
    let width: Int
    /// Key words numbered in the order they come: word group n's states are
    /// `states[n * width ..< (n + 1) * width]`.
    var words = UIntKeyTable()
    var states: [AggregateState]
    /// The NULL key's states (empty until one comes), and how many word groups came before it:
    /// its place among the groups in the order they came.
    var nullStates: [AggregateState] = []
    var nullPosition: Int?

    init(program: SlotProgram) {
        (key, width) = (program.key, program.steps.count)
        // Without grouping, the one group's states, made first (SQL's one row, even over none).
        states = key == nil ? Array(repeating: AggregateState(), count: width) : []
    }

    /// Adds an entry to its group's states; false when its time bucket does not fit 64 bits.
    @inline(__always)
    mutating func add(_ slots: UnsafeMutablePointer<UInt64>, _ nulls: UInt64, _ value: UnsafeRawBufferPointer,
                      steps: UnsafeBufferPointer<SlotStep>, texts: UnsafeRawBufferPointer) -> Bool {
        guard let key else {
            for j in 0..<width { steps[j].add(slots, nulls, value, texts: texts, to: &states[j]) }
            return true
        }
        if nulls & (1 << UInt64(key.position)) != 0 {
            if nullPosition == nil {
                nullPosition = words.count
                nullStates = Array(repeating: AggregateState(), count: width)
            }
            for j in 0..<width { steps[j].add(slots, nulls, value, texts: texts, to: &nullStates[j]) }
            return true
        }
        var word = slots[key.position]
        if let seconds = key.bucket {
            guard let start = Transaction.bucketStart(Int64(bitPattern: word), seconds: seconds) else { return false }
            word = UInt64(bitPattern: start)
        }
        let (number, added) = words.number(of: word)
        if added { for _ in 0..<width { states.append(AggregateState()) } }
        let base = number * width
        for j in 0..<width { steps[j].add(slots, nulls, value, texts: texts, to: &states[base + j]) }
        return true
    }

    /// The rows of a top-N ordered by one integer aggregate (a leaderboard: by count or sum,
    /// then by the group key ascending, as `ordered` orders them), chosen on the counters
    /// themselves: only the N rows returned get `Value`s. Nil for other shapes (they go through
    /// `rows(of:)`). An integer sum that overflowed throws, naming the column `rows(of:)` would
    /// (the first in the order the groups came).
    func topRows(shape: AggregateShape, limit: Int) throws -> [AggregateRow]? {
        guard let key, shape.orderBy.count == 1, case .aggregate(let ordered) = shape.orderBy[0].target else { return nil }
        let descending = shape.orderBy[0].descending
        let steps = shape.steps
        let kind = steps[ordered].kind
        let type = shape.types[ordered]
        // The order's integer: counts, and sums of integers (NULL, below every number, without
        // a value to add; a uint sum compares as unsigned).
        let unsignedSum = kind == .sum && type == .uint
        guard [.count, .countNonNull, .countWhere].contains(kind) || (kind == .sum && [.int, .timestamp, .bool, .uint].contains(type))
        else { return nil }
        // Group g < words.count is the gth word's; group words.count the NULL key's.
        let groupCount = words.count + (nullPosition == nil ? 0 : 1)
        let isNull = { (g: Int) in g == words.count }
        func state(_ g: Int, _ j: Int) -> AggregateState { isNull(g) ? nullStates[j] : states[g * width + j] }
        for position in 0..<groupCount {
            let g = position == nullPosition ? words.count : position - (nullPosition.map { position > $0 ? 1 : 0 } ?? 0)
            for j in 0..<width where steps[j].kind == .sum && state(g, j).approximate {
                throw GuildStoreError.aggregateOverflow(table: shape.schema.name, column: shape.resolved[j].aggregate.column ?? "")
            }
        }
        /// (has a value, the value's bits for an ascending comparison)
        func orderKey(_ g: Int) -> (Bool, UInt64) {
            let s = state(g, ordered)
            switch kind {
            case .sum where s.count == 0: return (false, 0)
            case .sum where unsignedSum: return (true, s.uintSum)
            case .sum: return (true, UInt64(bitPattern: s.intSum) ^ (1 << 63))
            default: return (true, UInt64(bitPattern: s.count) ^ (1 << 63))
            }
        }
        let signedKey = key.type == .int || key.type == .timestamp
        func keyBits(_ g: Int) -> UInt64 {
            let word = words.keys[g]
            return signedKey ? word ^ (1 << 63) : word
        }
        func precedes(_ a: Int, _ b: Int) -> Bool {
            let (x, y) = (orderKey(a), orderKey(b))
            if x != y {
                let ascending = x.0 != y.0 ? !x.0 : x.1 < y.1  // NULL first ascending
                return descending ? !ascending : ascending
            }
            // Ties by the group key ascending: the NULL key first.
            if isNull(a) || isNull(b) { return isNull(a) && !isNull(b) }
            return keyBits(a) < keyBits(b)
        }
        let best = Transaction.first(limit, of: groupCount, by: precedes)
        return try best.map { g in
            let values = try (0..<width).map { j in try shape.resolved[j].result(state(g, j), table: shape.schema.name) }
            return AggregateRow(group: [isNull(g) ? .null : key.value(words.keys[g])], values: values)
        }
    }

    /// Every group's states and key values (one a group; none without grouping), in the order
    /// the groups came.
    func finished() -> (states: [AggregateState], keys: [Value]) {
        guard let key else { return (states, []) }
        var keys = words.keys.map(key.value)
        var states = states
        if let nullPosition {
            keys.insert(.null, at: nullPosition)
            states.insert(contentsOf: nullStates, at: nullPosition * width)
        }
        return (states, keys)
    }
}

/// An aggregate shape in slot terms (SL-2): at most one group key, of an integer column (or a
/// time bucket of one), and aggregates that count or sum integers or compare with a value.
struct SlotProgram: Sendable {
    struct Key: Sendable {
        let position: Int
        let type: ColumnType
        let bucket: Int64?

        /// A group's key value from its word.
        func value(_ word: UInt64) -> Value {
            switch type {
            case .uint: .uint(word)
            case .timestamp: .timestamp(Int64(bitPattern: word))
            case .bool: .bool(word != 0)
            default: .int(Int64(bitPattern: word))
            }
        }
    }

    let key: Key?
    let steps: [SlotStep]
    /// The UTF-8 of the text values `countWhere` steps compare with, back to back.
    let texts: [UInt8]

    /// The slot form of a shape; nil when some part of it needs `Value`s.
    init?(schema: TableSchema, keys: [(position: Int, bucket: Int64?)], resolved: [ResolvedAggregate]) {
        guard schema.columns.count <= 64, keys.count <= 1 else { return nil }
        if let only = keys.first {
            let type = schema.columns[only.position].type
            guard SlotReading.holds(type, inKey: true) else { return nil }
            key = Key(position: only.position, type: type, bucket: only.bucket)
        } else {
            key = nil
        }
        var texts: [UInt8] = []
        var steps: [SlotStep] = []
        for aggregate in resolved {
            guard let step = SlotStep(aggregate, texts: &texts) else { return nil }
            steps.append(step)
        }
        (self.steps, self.texts) = (steps, texts)
    }
}

/// One aggregate's step per entry, in slot terms.
struct SlotStep: Sendable {
    enum Kind: Sendable { case count, countNonNull, countEqual, countText, sumInt, sumUInt }
    let kind: Kind
    let position: Int
    /// `countEqual`: the expected word; `countText`: where the expected UTF-8 starts in the texts.
    let expected: UInt64
    let length: Int

    init?(_ aggregate: ResolvedAggregate, texts: inout [UInt8]) {
        var (expected, length) = (UInt64(0), 0)
        switch (aggregate.kind, aggregate.type) {
        case (.count, _):
            kind = .count
        case (.countNonNull, let type?) where SlotReading.holds(type, inKey: true):
            kind = .countNonNull
        case (.countWhere, let type?):
            if let word = SlotWord(aggregate.expected, type: type) {
                (kind, expected) = (.countEqual, word.value)
            } else if let utf8 = SlotWord.text(aggregate.expected, type: type) {
                (kind, expected, length) = (.countText, UInt64(texts.count), utf8.count)
                texts.append(contentsOf: utf8)
            } else {
                return nil
            }
        case (.sum, .int?), (.sum, .timestamp?), (.sum, .bool?), (.avg, .int?), (.avg, .timestamp?), (.avg, .bool?):
            kind = .sumInt
        case (.sum, .uint?), (.avg, .uint?):
            kind = .sumUInt
        default:
            return nil
        }
        (position, self.expected, self.length) = (aggregate.position, expected, length)
    }

    @inline(__always)
    func add(_ slots: UnsafeMutablePointer<UInt64>, _ nulls: UInt64, _ value: UnsafeRawBufferPointer,
             texts: UnsafeRawBufferPointer, to state: inout AggregateState) {
        // Only a bare count counts a NULL.
        guard kind == .count || nulls & (1 << UInt64(position)) == 0 else { return }
        let word = slots[position]
        switch kind {
        case .count, .countNonNull: state.count += 1
        case .countEqual: if word == expected { state.count += 1 }
        case .countText:
            let expectedText = UnsafeRawBufferPointer(rebasing: texts[Int(expected) ..< Int(expected) + length])
            if SlotWord.textEquals(word, in: value, expectedText) { state.count += 1 }
        case .sumInt:
            state.count += 1
            ResolvedAggregate.addInteger(Int64(bitPattern: word), to: &state)
        case .sumUInt:
            state.count += 1
            ResolvedAggregate.addUInt(word, to: &state)
        }
    }
}

/// A residual condition of a plan in slot terms, with the values of one run: trivial values,
/// so checking one copies nothing reference counted.
struct SlotFilter: Sendable {
    enum Kind: Sendable { case equal, text, range }
    let kind: Kind
    let position: Int
    /// `equal`: the word; `text`: where the UTF-8 starts in the run's texts; `range`: the lower
    /// bound's word.
    let expected: UInt64
    /// `text`: the UTF-8's length.
    let length: Int
    /// `range`: the upper bound's word, which bounds are given, and whether words compare as Int64.
    let upper: UInt64
    let hasLower: Bool
    let hasUpper: Bool
    let signed: Bool

    private init(_ kind: Kind, position: Int, expected: UInt64 = 0, length: Int = 0, upper: UInt64 = 0,
                 hasLower: Bool = false, hasUpper: Bool = false, signed: Bool = false) {
        (self.kind, self.position, self.expected, self.length) = (kind, position, expected, length)
        (self.upper, self.hasLower, self.hasUpper, self.signed) = (upper, hasLower, hasUpper, signed)
    }

    /// The slot forms of `residual` and the UTF-8 of their text values; nil when one needs `Value`s.
    static func filters(_ residual: [ScanPlan.Residual], schema: TableSchema) -> (conditions: [SlotFilter], texts: [UInt8])? {
        var conditions: [SlotFilter] = []
        var texts: [UInt8] = []
        for condition in residual {
            let type = schema.columns[condition.position].type
            if let equals = condition.equals {
                if let word = SlotWord(equals, type: type) {
                    conditions.append(SlotFilter(.equal, position: condition.position, expected: word.value))
                } else if let utf8 = SlotWord.text(equals, type: type) {
                    conditions.append(SlotFilter(.text, position: condition.position, expected: UInt64(texts.count), length: utf8.count))
                    texts.append(contentsOf: utf8)
                } else {
                    return nil
                }
            }
            if let range = condition.range {
                // Bounds of the column's own type only (`ColumnRange.contains` orders other
                // types by the cross-type rank).
                guard SlotReading.holds(type, inKey: true) else { return nil }
                var lower: UInt64 = 0, upper: UInt64 = 0
                if let from = range.from {
                    guard let word = SlotWord(from, type: type) else { return nil }
                    lower = word.value
                }
                if let below = range.below {
                    guard let word = SlotWord(below, type: type) else { return nil }
                    upper = word.value
                }
                conditions.append(SlotFilter(.range, position: condition.position, expected: lower, upper: upper,
                                             hasLower: range.from != nil, hasUpper: range.below != nil,
                                             signed: type == .int || type == .timestamp))
            }
        }
        return (conditions, texts)
    }

    /// Whether an entry meets the condition (a NULL meets none, as `Residual.admits` has it for
    /// a non-NULL expected value and for every range).
    @inline(__always)
    func admits(_ slots: UnsafeMutablePointer<UInt64>, _ nulls: UInt64, _ value: UnsafeRawBufferPointer,
                texts: UnsafeRawBufferPointer) -> Bool {
        guard nulls & (1 << UInt64(position)) == 0 else { return false }
        let word = slots[position]
        switch kind {
        case .equal: return word == expected
        case .text:
            let expectedText = UnsafeRawBufferPointer(rebasing: texts[Int(expected) ..< Int(expected) + length])
            return SlotWord.textEquals(word, in: value, expectedText)
        case .range:
            if hasLower, less(word, expected) { return false }
            if hasUpper, !less(word, upper) { return false }
            return true
        }
    }

    @inline(__always)
    private func less(_ a: UInt64, _ b: UInt64) -> Bool {
        signed ? Int64(bitPattern: a) < Int64(bitPattern: b) : a < b
    }
}

/// A value as the word its column's slot holds.
struct SlotWord {
    let value: UInt64

    /// nil for NULL, and for a value whose type is not the column's (no slot equals it then,
    /// which `Value`'s equality across types would say too, so such shapes take that walk) or
    /// that no word holds.
    init?(_ value: Value, type: ColumnType) {
        guard value.columnType == type else { return nil }
        switch value {
        case .int(let v), .timestamp(let v): self.value = UInt64(bitPattern: v)
        case .uint(let v): self.value = v
        case .bool(let b): self.value = b ? 1 : 0
        default: return nil
        }
    }

    /// The UTF-8 of a text or JSON value of the column's type; nil otherwise.
    static func text(_ value: Value, type: ColumnType) -> [UInt8]? {
        guard value.columnType == type else { return nil }
        switch value {
        case .text(let s), .json(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// Whether the text slot `word` (inside `value`) holds `expected`'s bytes.
    @inline(__always)
    static func textEquals(_ word: UInt64, in value: UnsafeRawBufferPointer, _ expected: UnsafeRawBufferPointer) -> Bool {
        let text = SlotReading.text(word, in: value)
        return text.count == expected.count && compareKeys(text, expected) == 0
    }
}
