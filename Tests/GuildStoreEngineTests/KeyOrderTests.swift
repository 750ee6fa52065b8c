import Testing
@_spi(Benchmarks) @testable import GuildStoreEngine

/// `KeyOrder`: keys sorted by their 16-byte heads first must come out exactly as a stable sort
/// by `compareKeys` puts them, for keys that share heads, end inside a head, are prefixes of
/// one another, end in zero bytes or repeat.
@Suite("Key order")
struct KeyOrderTests {
    /// Keys drawn from a few shapes that make heads tie or mislead: a common first 12 bytes,
    /// lengths 0 to 24 (so heads are padded), trailing zeros, and repeats.
    static func keys(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        let common: [UInt8] = (0..<12).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var keys: [[UInt8]] = []
        for _ in 0..<count {
            let length = Int(random.next() % 25)
            var key: [UInt8]
            switch random.next() % 4 {
            case 0: key = Array(common.prefix(length)) + (0..<max(0, length - 12)).map { _ in UInt8(truncatingIfNeeded: random.next() % 3) }
            case 1: key = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next() % 2) }
            case 2: key = (keys.randomElement(using: &random) ?? []) + [0]
            default: key = keys.randomElement(using: &random) ?? []
            }
            keys.append(key)
        }
        return keys
    }

    static func reference(_ keys: [[UInt8]]) -> [Int] {
        keys.indices.sorted { i, j in
            let c = keys[i].withUnsafeBytes { a in keys[j].withUnsafeBytes { b in compareKeys(a, b) } }
            return c != 0 ? c < 0 : i < j
        }
    }

    /// `KeyOrder.positions` over `keys` held as deferred puts and rollup groups hold theirs:
    /// one byte array, each key's bytes after the one before.
    static func positions(_ keys: [[UInt8]]) -> [Int] {
        var bytes: [UInt8] = [], offsets: [Int] = []
        for key in keys {
            offsets.append(bytes.count)
            bytes.append(contentsOf: key)
        }
        return bytes.withUnsafeBytes { all in
            KeyOrder.positions(count: keys.count) { i in
                UnsafeRawBufferPointer(rebasing: all[offsets[i]..<(offsets[i] + keys[i].count)])
            }
        }
    }

    @Test("positions equal a stable sort by compareKeys", arguments: [1, 2, 3, 4, 5])
    func matchesReference(seed: UInt64) {
        let keys = Self.keys(count: 2_000, seed: seed)
        #expect(Self.positions(keys) == Self.reference(keys))
    }

    /// Keys already in order take the one-pass check instead of the sort: in order with
    /// repeats (whose positions must stay as they are), and in order but for one pair, swapped
    /// at each place in turn, which the check must not take for sorted.
    @Test("keys in order already, or in order but for one swapped pair", arguments: [6, 7])
    func nearlySorted(seed: UInt64) {
        let shuffled = Self.keys(count: 300, seed: seed)
        let sorted = Self.reference(shuffled).map { shuffled[$0] }
        #expect(Self.positions(sorted) == Array(sorted.indices))
        for i in sorted.indices.dropLast() where sorted[i] != sorted[i + 1] {
            var keys = sorted
            keys.swapAt(i, i + 1)
            #expect(Self.positions(keys) == Self.reference(keys), "pair at \(i) swapped")
        }
    }

    @Test("a few keys (sorted by insertion up to KeyOrder.smallCount, by heads past it) equal the stable sort too")
    func fewKeys() {
        for count in 0...(KeyOrder.smallCount + 2) {
            for seed: UInt64 in 0..<300 {
                let keys = Self.keys(count: count, seed: seed)
                #expect(Self.positions(keys) == Self.reference(keys), "\(count) keys, seed \(seed)")
            }
        }
    }

    @Test("a key that is a prefix of another, padded to the same head, sorts first")
    func prefixes() {
        let keys: [[UInt8]] = [[1, 2, 0], [1, 2], [1, 2, 0, 0], [], [0], [1, 2]]
        #expect(Self.positions(keys) == [3, 4, 1, 5, 0, 2])
    }
}
