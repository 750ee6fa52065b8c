import Testing
@_spi(Benchmarks) @testable import GuildStoreEngine

/// `ByteKeyTable`, which files a transaction's rollup deltas: every key gets the next number
/// the first time and the same number ever after, across growth, for keys that are empty,
/// prefixes of one another, or equal in their first 8 bytes.
@Suite("Byte key table")
struct ByteKeyTableTests {
    @Test("numbers match a dictionary's first-seen numbering over 20,000 lookups")
    func matchesDictionary() {
        var random = SplitMix64(seed: 99)
        var table = ByteKeyTable()
        var reference: [[UInt8]: Int] = [:]
        var keys: [[UInt8]] = []
        for _ in 0..<20_000 {
            let key: [UInt8]
            if !keys.isEmpty, random.next() % 3 == 0 {
                key = keys[Int(random.next() % UInt64(keys.count))]
            } else {
                let length = Int(random.next() % 20)
                // A shared first 8 bytes and small alphabets: many near-equal keys.
                key = Array([7, 7, 7, 7, 7, 7, 7, 7].prefix(length)) + (0..<max(0, length - 8)).map { _ in UInt8(random.next() % 3) }
            }
            let expected = reference[key] ?? keys.count
            let (number, added) = key.withUnsafeBytes { table.number(of: $0) }
            #expect(number == expected)
            #expect(added == (reference[key] == nil))
            if added {
                reference[key] = number
                keys.append(key)
            }
        }
        #expect(table.count == keys.count)
        for (i, key) in keys.enumerated() { #expect(table.key(i) == key) }
    }
}
