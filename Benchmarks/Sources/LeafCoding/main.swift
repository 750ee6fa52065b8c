// How many bytes a GuildStore file's trees would take under other leaf encodings: the
// evidence behind "Where the bytes go" in README.md. Reads every entry of every tree through
// the public API and prices it three ways, at 100 % leaf fill:
//
//   stored        what the file holds now: the tree's pages over the main table's rows
//                 (leaf prefixes, 2-byte slots and 1-2 byte cell headers, at the fill found)
//   front-coded   each key as (shared length, new length, new bytes) against the previous
//                 key, a full key every 16 entries (LevelDB's restart points), plus the value
//   column-delta  each key element an integer delta against the previous key's same element
//                 (a varint; the element where the keys first differ is the only one that must
//                 ascend, later ones zigzag), text and other types front-coded, a full key every
//                 16 entries, plus the value
//
// Values (rows) are priced as stored, and both estimates keep a 2-byte slot per entry (one per
// restart point instead would save at most 1.9 bytes per entry).
//
// Usage: swift run -c release LeafCoding PATH.gsdb

@_spi(Benchmarks) import GuildStoreEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func varintSize(_ v: UInt64) -> Int {
    var v = v, n = 1
    while v >= 0x80 { v >>= 7; n += 1 }
    return n
}

func zigzag(_ d: Int64) -> UInt64 { UInt64(bitPattern: (d << 1) ^ (d >> 63)) }

/// An element as an integer when it is one (ints, uints and timestamps), for deltas.
func integer(_ value: Value) -> UInt64? {
    switch value {
    case .int(let v), .timestamp(let v): UInt64(bitPattern: v)
    case .uint(let v): v
    default: nil
    }
}

struct Prices {
    var entries = 0
    var values = 0
    var frontCoded = 0
    var columnDelta = 0
}

let restartInterval = 16

func price(_ tx: ReadTransaction, tree: Tree, types: [ColumnType], descending: [Bool]) throws -> Prices {
    var prices = Prices()
    var previousKey: [UInt8] = []
    var previous: [Value] = []
    try tx.scan(tree) { keyBytes, value in
        let key = Array(keyBytes)
        let elements = try TupleEncoding.decode(keyBytes, types: types, descending: descending)
        // The slot and the value's length (none for an empty value), as stored now.
        let overhead = 2 + (value.isEmpty ? 0 : varintSize(UInt64(value.count) << 1))
        prices.values += value.count
        if prices.entries % restartInterval == 0 {
            // A whole key and its length.
            prices.frontCoded += overhead + 1 + key.count
            prices.columnDelta += overhead + 1 + key.count
        } else {
            var shared = 0
            while shared < key.count, shared < previousKey.count, key[shared] == previousKey[shared] { shared += 1 }
            // Shared length, new length, new bytes.
            prices.frontCoded += overhead + 2 + key.count - shared
            // The first differing element, then every later one.
            var first = 0
            while first < elements.count, elements[first] == previous[first] { first += 1 }
            var bytes = 1  // which element differs first (each element is self-delimiting)
            for i in first..<elements.count {
                if let now = integer(elements[i]), let then = integer(previous[i]) {
                    bytes += varintSize(i == first ? now &- then : zigzag(Int64(bitPattern: now &- then)))
                } else {
                    bytes += TupleEncoding.encode([elements[i]]).count
                }
            }
            prices.columnDelta += overhead + bytes
        }
        prices.entries += 1
        previousKey = key
        previous = elements
        return true
    }
    return prices
}

guard CommandLine.arguments.count == 2 else {
    print("usage: LeafCoding PATH.gsdb")
    exit(2)
}
do {
    let engine = try StorageEngine.open(path: CommandLine.arguments[1])
    defer { try? engine.close() }
    let report = try engine.check()
    let pageSize = engine.statistics().pageSize
    try engine.read { tx in
        for table in try tx.tables() {
            let keyTypes = try table.primaryKey.map { try table.columns[table.columnIndex($0)].type }
            guard let rowTree = try tx.tree("table:\(table.name)") else { continue }
            var trees: [(name: String, tree: Tree, types: [ColumnType], descending: [Bool])] = [
                ("table:\(table.name)", rowTree, keyTypes, keyTypes.map { _ in false })]
            for index in table.indexes {
                guard let tree = try tx.tree("index:\(table.name).\(index.name)") else { continue }
                let columns = try index.columns.map { try table.columns[table.columnIndex($0)].type }
                // A non-unique key ends with the primary key; a unique one may (NULLs): the
                // decoder is given both and stops where the key does.
                let types = index.unique ? columns : columns + keyTypes
                trees.append((tree.name, tree, types, index.descending + keyTypes.map { _ in false }))
            }
            var rows = 0
            var totals = (stored: 0.0, front: 0.0, delta: 0.0)
            print("table \(table.name)")
            for entry in trees {
                let prices = try price(tx, tree: entry.tree, types: entry.types, descending: entry.descending)
                if entry.name.hasPrefix("table:") { rows = prices.entries }
                let perRow = Double(max(rows, 1))
                let stored = report.trees.first { $0.name == entry.name }.map { Double(($0.leafPages + $0.interiorPages) * pageSize) } ?? 0
                let front = Double(prices.frontCoded + prices.values), delta = Double(prices.columnDelta + prices.values)
                totals = (totals.stored + stored, totals.front + front, totals.delta + delta)
                print("  \(entry.name): stored \(fmt(stored / perRow)), front-coded \(fmt(front / perRow)), column-delta \(fmt(delta / perRow)) bytes per row")
            }
            let perRow = Double(max(rows, 1))
            print("  all trees: stored \(fmt(totals.stored / perRow)), front-coded \(fmt(totals.front / perRow)), column-delta \(fmt(totals.delta / perRow)) bytes per row (\(rows) rows)")
        }
    }
} catch {
    print("LeafCoding: \(error)")
    exit(1)
}

func fmt(_ x: Double) -> String {
    let tenths = Int((x * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
