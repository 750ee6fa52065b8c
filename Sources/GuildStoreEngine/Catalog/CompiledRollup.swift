/// One rollup of a `CompiledTable`: its trees and the positions of the columns it reads, so
/// a row's group key and contribution cost no name lookups (see `RollupDefinition`, RU-1).
final class CompiledRollup: Sendable {
    /// How one counter reads a row.
    enum Counter: Sendable {
        case count
        case sum(Int)
        case countNonNull(Int)
        case countWhere(Int, Value)
        /// Moves only when a value's count in the distinct tree leaves or reaches zero.
        case countDistinct(Int, tree: String)
    }

    let definition: RollupDefinition
    let treeName: String
    let tree: Tree?
    /// Every tree of the rollup by name (counters and distinct trees).
    let trees: [String: Tree]
    let groupPositions: [Int]
    let groupTypes: [ColumnType]
    /// The bucket width of each group key; nil for a plain column.
    let bucketSeconds: [Int64?]
    let predicate: CompiledIndex.Predicate?
    /// One per `definition.values` entry.
    let counters: [Counter]
    /// Whether some counter is a `countDistinct` (its values' counts are kept per row).
    let hasDistinctCounters: Bool
    /// Every column the rollup reads (groups, predicate, counters): a row decoded only as far
    /// as these counts exactly as the whole row would.
    let readPositions: [Int]
    /// The table's NOT NULL columns: their non-NULL rows are the group's rows.
    let notNullColumns: Set<String>

    /// Counters per group: the rows, then one per value.
    var width: Int { 1 + counters.count }

    init(_ rollup: RollupDefinition, schema: TableSchema, trees: (String) throws -> Tree?) throws {
        definition = rollup
        treeName = schema.rollupTreeName(rollup)
        tree = try trees(treeName)
        var all: [String: Tree] = [:]
        for name in schema.rollupTreeNames(rollup) { if let tree = try trees(name) { all[name] = tree } }
        self.trees = all
        notNullColumns = Set(schema.columns.filter { !$0.nullable }.map(\.name))
        groupPositions = try rollup.groupBy.map { try schema.columnIndex($0.column) }
        groupTypes = groupPositions.map { schema.columns[$0].type }
        bucketSeconds = rollup.groupBy.map { if case .timeBucket(_, let seconds) = $0 { seconds } else { nil } }
        predicate = try CompiledIndex.Predicate(rollup.predicate, schema: schema)
        counters = try rollup.values.enumerated().map { j, value in
            switch value {
            case .count: .count
            case .sum(let c): .sum(try schema.columnIndex(c))
            case .countNonNull(let c): .countNonNull(try schema.columnIndex(c))
            case .countWhere(let c, let v): .countWhere(try schema.columnIndex(c), v)
            case .countDistinct(let c): .countDistinct(try schema.columnIndex(c), tree: schema.rollupDistinctTreeName(rollup, value: j))
            }
        }
        hasDistinctCounters = counters.contains { if case .countDistinct = $0 { true } else { false } }
        var read = groupPositions
        switch predicate {
        case .equals(let p, _), .isNotNull(let p): read.append(p)
        case nil: break
        }
        for counter in counters {
            switch counter {
            case .count: break
            case .sum(let p), .countNonNull(let p), .countWhere(let p, _), .countDistinct(let p, _): read.append(p)
            }
        }
        readPositions = Array(Set(read)).sorted()
    }

    func tree(named name: String) throws -> Tree {
        guard let tree = trees[name] else { throw GuildStoreError.invalidSchema("rollup tree \(name) is missing") }
        return tree
    }

    /// Whether the rollup counts the row.
    @inline(__always)
    func holds(_ values: [Value]) -> Bool {
        predicate?.admits(values) ?? true
    }

    /// The key of the row's group in the counter tree: its group-by values encoded, time
    /// buckets as their first second. Runs for every row written, per rollup: no array of
    /// values between.
    func groupKey(of values: [Value]) throws -> [UInt8] {
        var encoder = TupleEncoder(reservingCapacity: 10 * groupPositions.count)
        for i in groupPositions.indices {
            let value = values[groupPositions[i]]
            guard let seconds = bucketSeconds[i] else {
                encoder.append(value)
                continue
            }
            guard let start = Transaction.bucket(value, seconds: seconds) else {
                throw GuildStoreError.aggregateOverflow(table: treeName, column: definition.groupBy[i].column)
            }
            encoder.append(start)
        }
        return encoder.bytes
    }

    /// Adds `sign` times the row's contribution to `deltas` (`width` counters, indexed from 0),
    /// except the distinct counters, which move at flush time (`WriteTransaction.flushRollup`).
    @inline(__always)
    func add<Deltas: MutableCollection<Int128>>(_ values: [Value], sign: Int128, to deltas: inout Deltas) where Deltas.Index == Int {
        deltas[0] += sign
        for (j, counter) in counters.enumerated() {
            switch counter {
            case .count: deltas[1 + j] += sign
            case .sum(let p):
                switch values[p] {
                case .int(let v), .timestamp(let v): deltas[1 + j] += sign * Int128(v)
                case .bool(let v): deltas[1 + j] += v ? sign : 0
                default: break
                }
            case .countNonNull(let p):
                if !values[p].isNull { deltas[1 + j] += sign }
            case .countWhere(let p, let expected):
                if !values[p].isNull, values[p] == expected { deltas[1 + j] += sign }
            case .countDistinct: break
            }
        }
    }

    // MARK: Stored counters (RU-1)

    /// Counters as zigzag LEB128 varints, one after another (most are small: a few bytes per
    /// group instead of 16 per counter).
    static func encodeCounters(_ counters: [Int128]) -> [UInt8] {
        var bytes: [UInt8] = []
        encodeCounters(counters, into: &bytes)
        return bytes
    }

    /// `encodeCounters` into `bytes` (emptied first), which keeps its storage across calls.
    static func encodeCounters(_ counters: [Int128], into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(counters.count * 2)
        for counter in counters { appendZigzag(counter, to: &bytes) }
    }

    func decodeCounters(_ bytes: UnsafeRawBufferPointer) throws -> [Int128] {
        var counters: [Int128] = []
        try decodeCounters(bytes, into: &counters)
        return counters
    }

    /// `decodeCounters` into `counters` (emptied first), which keeps its storage across calls.
    func decodeCounters(_ bytes: UnsafeRawBufferPointer, into counters: inout [Int128]) throws {
        var offset = 0
        counters.removeAll(keepingCapacity: true)
        counters.reserveCapacity(width)
        while counters.count < width {
            guard let counter = Self.readZigzag(bytes, &offset) else {
                throw GuildStoreError.corruptEncoding(reason: "rollup \(treeName): a malformed counter")
            }
            counters.append(counter)
        }
        guard offset == bytes.count else {
            throw GuildStoreError.corruptEncoding(reason: "rollup \(treeName): \(bytes.count - offset) bytes after the counters")
        }
    }

    static func encodeDistinctCount(_ count: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        appendZigzag(Int128(count), to: &bytes)
        return bytes
    }

    func decodeDistinctCount(_ bytes: UnsafeRawBufferPointer) throws -> Int64 {
        var offset = 0
        guard let count = Self.readZigzag(bytes, &offset), offset == bytes.count, let value = Int64(exactly: count), value > 0 else {
            throw GuildStoreError.corruptEncoding(reason: "rollup \(treeName): a malformed distinct count")
        }
        return value
    }

    private static func appendZigzag(_ value: Int128, to bytes: inout [UInt8]) {
        var bits = UInt128(bitPattern: (value << 1) ^ (value >> 127))
        while bits >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: bits) | 0x80)
            bits >>= 7
        }
        bytes.append(UInt8(bits))
    }

    /// One zigzag varint at `offset`, which moves past it; nil when it is truncated, longer
    /// than 128 bits or not in its shortest form.
    private static func readZigzag(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> Int128? {
        var bits: UInt128 = 0
        var shift: UInt128 = 0
        var i = offset
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            guard shift < 128, shift < 126 || byte <= 0x03 else { return nil }
            bits |= UInt128(byte & 0x7F) << shift
            if byte < 0x80 {
                guard byte != 0 || shift == 0 else { return nil }
                offset = i
                return Int128(bitPattern: bits >> 1) ^ -Int128(bitPattern: bits & 1)
            }
            shift += 7
        }
        return nil
    }
}
