/// A rollup's deltas waiting in a write transaction (RU-2, RU-3): per group, what the rows
/// written so far add to its counters, and per distinct value, how its count moves. They go
/// into the rollup's trees at flush time (`WriteTransaction.flushRollup`).
///
/// Each row written adds to every rollup that counts it, so this is on the path of every
/// insert and delete: a group is found with one hash of its key's bytes, and its deltas lie
/// in one flat array (no allocation per group beyond its key).
struct PendingRollup {
    /// A key as a dictionary key, hashed as one run of bytes (`[UInt8]`'s own `Hashable`
    /// feeds the hasher a byte at a time: most of a delta's cost when it was the key).
    struct Key: Hashable {
        var bytes: [UInt8]

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    /// A distinct tree's entry (group key, then the value) and the length of its group-key
    /// prefix.
    struct DistinctEntry: Hashable {
        /// The `countDistinct` value's position among the rollup's values.
        var value: Int
        var groupLength: Int
        var key: Key
    }

    let rollup: CompiledRollup
    /// `rollup.width`: counters per group.
    let width: Int
    /// The roots of the rollup's trees as they were when the deltas began to wait, under
    /// which `pendingRollupRoots` names them (RU-3).
    let roots: [UInt32]
    /// Each group's slot: its key is `groupKeys[slot]`, its deltas
    /// `deltas[slot * width ..< (slot + 1) * width]` (rows first, then one per value).
    private(set) var slots: [Key: Int] = [:]
    private(set) var groupKeys: [[UInt8]] = []
    private(set) var deltas: [Int128] = []
    private(set) var distinct: [DistinctEntry: Int64] = [:]

    init(_ rollup: CompiledRollup, roots: [UInt32]) {
        self.rollup = rollup
        width = rollup.width
        self.roots = roots
    }

    /// The slot of `group`, added with zero deltas when it has none yet.
    mutating func slot(of group: [UInt8]) -> Int {
        let next = groupKeys.count
        let slot = Self.value(&slots[Key(group), default: next])
        if slot == next {
            groupKeys.append(group)
            deltas.append(contentsOf: repeatElement(0, count: width))
        }
        return slot
    }

    /// Adds `sign` (1: stored, -1: removed) times `row`'s contribution to its group, whose
    /// key is `group`: the counters now, the distinct values' counts to move at flush time.
    mutating func add(_ row: [Value], group: [UInt8], sign: Int128) {
        let slot = slot(of: group)
        deltas.withUnsafeMutableBufferPointer { all in
            var counters = UnsafeMutableBufferPointer(rebasing: all[(slot * width)..<((slot + 1) * width)])
            rollup.add(row, sign: sign, to: &counters)
        }
        if rollup.hasDistinctCounters { addDistinct(row, group: group, sign: sign) }
    }

    /// Adds `sign` to the count of each of `row`'s distinct values in `group` (the distinct
    /// counters themselves move at flush time).
    mutating func addDistinct(_ row: [Value], group: [UInt8], sign: Int128) {
        for (j, counter) in rollup.counters.enumerated() {
            guard case .countDistinct(let p, _) = counter, !row[p].isNull else { continue }
            var encoder = TupleEncoder(reservingCapacity: group.count + 16)
            encoder.append(encoded: group)
            encoder.append(row[p])
            distinct[DistinctEntry(value: j, groupLength: group.count, key: Key(encoder.bytes)), default: 0] += Int64(sign)
        }
    }

    /// Adds `delta` (`width` counters) to `group`'s deltas.
    mutating func add(_ delta: [Int128], group: [UInt8]) {
        let start = slot(of: group) * width
        for i in 0..<width { deltas[start + i] += delta[i] }
    }

    /// Adds `change` to counter `counter` of `group` (a distinct counter moving at flush time).
    mutating func add(_ change: Int128, counter: Int, group: [UInt8]) {
        deltas[slot(of: group) * width + counter] += change
    }

    /// Whether the slot's deltas are all zero (its rows came and went): nothing to write.
    func isZero(slot: Int) -> Bool {
        deltas[(slot * width)..<((slot + 1) * width)].allSatisfy { $0 == 0 }
    }

    /// Reserves room for `count` more distinct entries (a statement's batch, one per row at most).
    mutating func reserveDistinct(_ count: Int) {
        distinct.reserveCapacity(distinct.count + count)
    }

    private static func value(_ slot: inout Int) -> Int { slot }
}
