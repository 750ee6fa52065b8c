/// A rollup's deltas waiting in a write transaction (RU-2, RU-3): per group, what the rows
/// written so far add to its counters, and per distinct value, how its count moves. They go
/// into the rollup's trees at flush time (`WriteTransaction.flushRollup`).
///
/// Each row written adds to every rollup that counts it, so this is on the path of every
/// insert and delete: a group is found with one hash of its key's bytes, compared in place
/// (`ByteKeyTable`), and its deltas lie in one flat array (no allocation per group).
struct PendingRollup {
    let rollup: CompiledRollup
    /// `rollup.width`: counters per group.
    let width: Int
    /// The roots of the rollup's trees as they were when the deltas began to wait, under
    /// which `pendingRollupRoots` names them (RU-3).
    let roots: [UInt32]
    /// Each group's key, numbered by its slot: its deltas are
    /// `deltas[slot * width ..< (slot + 1) * width]` (rows first, then one per value).
    private(set) var groups = ByteKeyTable()
    private(set) var deltas: [Int128] = []
    /// Each distinct tree entry whose count moves, filed under `distinctPrefixSize` bytes of
    /// its `countDistinct` counter's position among the rollup's values (big-endian, so the
    /// table's keys sort by counter, then by entry) and then the entry's key (group key, then
    /// the value); numbered like `distinctMoves`.
    private(set) var distinctKeys = ByteKeyTable()
    /// For each of `distinctKeys`: how the value's count moves, and its group key's length.
    private(set) var distinctMoves: [(delta: Int64, groupLength: Int)] = []
    /// Holds one distinct key while it is looked up (its storage serves every row).
    private var scratch = TupleEncoder(reservingCapacity: 64)
    /// Each value position's prefix in `distinctKeys`.
    private let distinctPrefixes: [[UInt8]]

    static let distinctPrefixSize = 4

    init(_ rollup: CompiledRollup, roots: [UInt32]) {
        self.rollup = rollup
        width = rollup.width
        self.roots = roots
        distinctPrefixes = rollup.counters.indices.map { j in (0..<Self.distinctPrefixSize).reversed().map { UInt8(truncatingIfNeeded: j >> (8 * $0)) } }
    }

    /// The `countDistinct` counter's position among the rollup's values that distinct key
    /// `key` (from `distinctKeys`) is filed under.
    static func distinctValue(_ key: UnsafeRawBufferPointer) -> Int {
        key.prefix(distinctPrefixSize).reduce(0) { $0 << 8 | Int($1) }
    }

    /// The slot of `group`, added with zero deltas when it has none yet.
    mutating func slot(of group: [UInt8]) -> Int {
        let (slot, added) = group.withUnsafeBytes { groups.number(of: $0) }
        if added { deltas.append(contentsOf: repeatElement(0, count: width)) }
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
            scratch.removeAll()
            scratch.append(encoded: distinctPrefixes[j])
            scratch.append(encoded: group)
            scratch.append(row[p])
            let (number, added) = scratch.bytes.withUnsafeBytes { distinctKeys.number(of: $0) }
            if added { distinctMoves.append((0, group.count)) }
            distinctMoves[number].delta += Int64(sign)
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
}
