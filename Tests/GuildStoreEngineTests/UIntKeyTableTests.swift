import Testing
@_spi(Benchmarks) @testable import GuildStoreEngine

/// `UIntKeyTable`, which numbers the groups of an aggregate grouped by an id: every id gets the
/// next number the first time and the same number ever after, across growth, for ids that are
/// dense, sparse, extreme, or equal in their low bits.
@Suite("UInt key table")
struct UIntKeyTableTests {
    @Test("numbers match a dictionary's first-seen numbering over 50,000 lookups")
    func matchesDictionary() {
        var random = SplitMix64(seed: 41)
        var table = UIntKeyTable()
        var reference: [UInt64: Int] = [:]
        var keys: [UInt64] = []
        for round in 0..<50_000 {
            let key: UInt64
            switch random.next() % 5 {
            case 0 where !keys.isEmpty: key = keys[Int(random.next() % UInt64(keys.count))]
            case 1: key = UInt64(round % 700)  // dense small ids, seen again and again
            case 2: key = (random.next() % 64) << 40  // equal low bits
            case 3: key = [0, 1, .max, .max - 1][Int(random.next() % 4)]
            default: key = random.next()
            }
            let expected = reference[key] ?? keys.count
            let (number, added) = table.number(of: key)
            #expect(number == expected)
            #expect(added == (reference[key] == nil))
            if added {
                reference[key] = number
                keys.append(key)
            }
        }
        #expect(table.count == keys.count)
        #expect(table.keys == keys)
    }
}
