import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Cursor positioning and movement, and bounded scans, over a tree of many leaves whose keys
/// are the even numbers 2...2N (so every odd number is an absent key between two present ones).
@Suite("Cursors and ranges")
struct CursorTests {
    static let n: UInt64 = 6000

    /// Value for key 2i: long enough that the tree spans many leaves.
    static func value(_ i: UInt64) -> [UInt8] { Array("value-\(i)-".utf8) + [UInt8](repeating: UInt8(i & 0xFF), count: 40) }

    /// Opens a fresh engine with tree "t" holding the even keys and an empty tree "empty".
    static func withTree(_ body: (StorageEngine, Tree) throws -> Void) throws {
        let directory = try TemporaryDirectory("gs-cursor")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"), configuration: EngineConfiguration(synchronous: .off))
        let tree = try engine.write { tx -> Tree in
            let tree = try tx.createTree("t")
            _ = try tx.createTree("empty")
            for i in 1...n { try tx.put(bigEndianKey(2 * i), value(2 * i), in: tree) }
            return tree
        }
        try engine.read { tx throws in
            let report = try checkStructure(tx)
            #expect(report.depth["t"]! >= 1, "the tree spans several leaves")
        }
        try body(engine, tree)
        try engine.close()
    }

    func number(_ cursor: Cursor) throws -> UInt64 {
        let key = try cursor.key
        return key.reduce(0) { $0 << 8 | UInt64($1) }
    }

    @Test("seek on present and absent keys, both rules")
    func seek() throws {
        try Self.withTree { engine, tree in
            try engine.read { tx throws in
                var cursor = try tx.cursor(tree)
                var rng = SplitMix64(seed: 11)
                for _ in 0..<2000 {
                    let k = UInt64.random(in: 1...(2 * Self.n + 1), using: &rng)
                    let even = k % 2 == 0
                    // >=: k itself when present, else the next even key.
                    #expect(try cursor.seek(bigEndianKey(k), .atOrAfter) == (k <= 2 * Self.n))
                    if cursor.isValid {
                        #expect(try number(cursor) == (even ? k : k + 1))
                        #expect(try cursor.value == Self.value(even ? k : k + 1))
                    }
                    // <=: k itself when present, else the previous even key.
                    #expect(try cursor.seek(bigEndianKey(k), .atOrBefore) == (k >= 2))
                    if cursor.isValid { #expect(try number(cursor) == (even ? k : k - 1)) }
                }
            }
        }
    }

    @Test("seek past both ends and at the ends")
    func seekEnds() throws {
        try Self.withTree { engine, tree in
            try engine.read { tx throws in
                var cursor = try tx.cursor(tree)
                // Below the first key.
                #expect(try cursor.seek([], .atOrAfter))
                #expect(try number(cursor) == 2)
                #expect(try !cursor.seek([], .atOrBefore))
                #expect(!cursor.isValid)
                #expect(try !cursor.seek(bigEndianKey(1), .atOrBefore))
                #expect(try cursor.seek(bigEndianKey(1), .atOrAfter))
                #expect(try number(cursor) == 2)
                #expect(try !cursor.previous())
                // Exactly the first and last keys.
                #expect(try cursor.seek(bigEndianKey(2), .atOrBefore))
                #expect(try number(cursor) == 2)
                #expect(try cursor.seek(bigEndianKey(2 * Self.n), .atOrAfter))
                #expect(try number(cursor) == 2 * Self.n)
                #expect(try !cursor.next())
                #expect(!cursor.isValid)
                #expect(try !cursor.next(), "an invalid cursor stays invalid")
                // Above the last key.
                #expect(try !cursor.seek(bigEndianKey(2 * Self.n + 1), .atOrAfter))
                #expect(try !cursor.seek([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], .atOrAfter))
                #expect(try cursor.seek([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], .atOrBefore))
                #expect(try number(cursor) == 2 * Self.n)
                // A key that is a prefix of every key sorts before them all.
                #expect(try cursor.seek([0, 0], .atOrAfter))
                #expect(try number(cursor) == 2)
                #expect(try !cursor.seek([0, 0], .atOrBefore))
                // first / last.
                #expect(try cursor.first())
                #expect(try number(cursor) == 2)
                #expect(try !cursor.previous())
                #expect(try cursor.last())
                #expect(try number(cursor) == 2 * Self.n)
                #expect(try !cursor.next())
            }
        }
    }

    @Test("next and previous walk every key across leaf boundaries")
    func walk() throws {
        try Self.withTree { engine, tree in
            try engine.read { tx throws in
                var cursor = try tx.cursor(tree)
                var expected: UInt64 = 2
                var valid = try cursor.first()
                while valid {
                    #expect(try number(cursor) == expected)
                    expected += 2
                    valid = try cursor.next()
                }
                #expect(expected == 2 * Self.n + 2)
                expected = 2 * Self.n
                valid = try cursor.last()
                while valid {
                    #expect(try number(cursor) == expected)
                    expected -= 2
                    valid = try cursor.previous()
                }
                #expect(expected == 0)
                // Zig-zag: next then previous returns to the same key, everywhere.
                valid = try cursor.seek(bigEndianKey(2), .atOrAfter)
                var k: UInt64 = 2
                while valid && k < 2 * Self.n {
                    #expect(try cursor.next())
                    #expect(try cursor.previous())
                    #expect(try number(cursor) == k)
                    valid = try cursor.next()
                    k += 2
                }
            }
        }
    }

    @Test("an empty tree, and a tree emptied by deletes")
    func emptyTrees() throws {
        try Self.withTree { engine, tree in
            try engine.read { tx throws in
                let empty = try #require(try tx.tree("empty"))
                var cursor = try tx.cursor(empty)
                #expect(try !cursor.first())
                #expect(try !cursor.last())
                #expect(try !cursor.seek([1], .atOrAfter))
                #expect(try !cursor.seek([1], .atOrBefore))
                #expect(try !cursor.next())
                #expect(try !cursor.previous())
                #expect(throws: GuildStoreError.self) { _ = try cursor.key }
                #expect(try tx.entries(empty).isEmpty)
                #expect(try tx.entries(empty, KeyRange(reverse: true)).isEmpty)
            }
            try engine.write { tx throws in
                for i in 1...Self.n { #expect(try tx.delete(bigEndianKey(2 * i), in: tree)) }
                var cursor = try tx.cursor(tree)
                #expect(try !cursor.first())
                #expect(try !cursor.last())
            }
            try engine.read { tx throws in
                var cursor = try tx.cursor(tree)
                #expect(try !cursor.first())
                #expect(try !cursor.last())
                #expect(try !cursor.seek(bigEndianKey(100), .atOrBefore))
                let report = try checkStructure(tx)
                #expect(report.depth["t"] == 0, "deleting every key collapses the root to a leaf")
                #expect(report.treePages == 3, "catalog, t and empty are one page each")
            }
        }
    }

    @Test("bounded ranges in both directions")
    func ranges() throws {
        try Self.withTree { engine, tree in
            try engine.read { tx throws in
                func keys(_ range: KeyRange) throws -> [UInt64] {
                    try tx.entries(tree, range).map { $0.key.reduce(0) { $0 << 8 | UInt64($1) } }
                }
                func evens(_ from: UInt64, _ to: UInt64) -> [UInt64] { Array(stride(from: from, through: to, by: 2)) }
                func down(_ from: UInt64, _ to: UInt64) -> [UInt64] { Array(evens(from, to).reversed()) }
                let k = bigEndianKey
                // Present bounds.
                #expect(try keys(KeyRange(lower: .inclusive(k(100)), upper: .inclusive(k(200)))) == evens(100, 200))
                #expect(try keys(KeyRange(lower: .exclusive(k(100)), upper: .exclusive(k(200)))) == evens(102, 198))
                #expect(try keys(KeyRange(lower: .inclusive(k(100)), upper: .exclusive(k(200)), reverse: true)) == down(100, 198))
                #expect(try keys(KeyRange(lower: .exclusive(k(100)), upper: .inclusive(k(200)), reverse: true)) == down(102, 200))
                // Absent bounds: inclusive and exclusive agree.
                #expect(try keys(KeyRange(lower: .inclusive(k(101)), upper: .inclusive(k(201)))) == evens(102, 200))
                #expect(try keys(KeyRange(lower: .exclusive(k(101)), upper: .exclusive(k(201)), reverse: true)) == down(102, 200))
                // Half-open and unbounded.
                #expect(try keys(KeyRange(upper: .exclusive(k(11)))) == evens(2, 10))
                #expect(try keys(KeyRange(upper: .inclusive(k(10)), reverse: true)) == down(2, 10))
                #expect(try keys(KeyRange(lower: .inclusive(k(2 * Self.n - 8)))) == evens(2 * Self.n - 8, 2 * Self.n))
                #expect(try keys(KeyRange(lower: .exclusive(k(2 * Self.n - 8)), reverse: true)) == down(2 * Self.n - 6, 2 * Self.n))
                #expect(try keys(KeyRange()).count == Int(Self.n))
                #expect(try keys(KeyRange(reverse: true)) == down(2, 2 * Self.n))
                // Empty and inverted ranges.
                #expect(try keys(KeyRange(lower: .inclusive(k(101)), upper: .inclusive(k(101)))).isEmpty)
                #expect(try keys(KeyRange(lower: .exclusive(k(100)), upper: .exclusive(k(102)))).isEmpty)
                #expect(try keys(KeyRange(lower: .inclusive(k(100)), upper: .inclusive(k(100)), reverse: true)) == [100])
                #expect(try keys(KeyRange(lower: .inclusive(k(300)), upper: .inclusive(k(200)))).isEmpty)
                #expect(try keys(KeyRange(lower: .inclusive(k(300)), upper: .inclusive(k(200)), reverse: true)).isEmpty)
                #expect(try keys(KeyRange(lower: .inclusive(k(2 * Self.n + 1)))).isEmpty)
                #expect(try keys(KeyRange(upper: .exclusive(k(2)), reverse: true)).isEmpty)
                // A long range crossing many leaves, and a limit.
                #expect(try keys(KeyRange(lower: .inclusive(k(1001)), upper: .inclusive(k(9999)), reverse: true)) == down(1002, 9998))
                #expect(try tx.entries(tree, KeyRange(lower: .inclusive(k(1001))), limit: 3).map { $0.value } == [1002, 1004, 1006].map(Self.value))
                // scan stops when the body returns false.
                var visited = 0
                try tx.scan(tree, KeyRange(reverse: true)) { _, _ in
                    visited += 1
                    return visited < 5
                }
                #expect(visited == 5)
            }
        }
    }

    @Test("KeyRange.prefix, including 0xFF and empty prefixes")
    func prefix() throws {
        let directory = try TemporaryDirectory("gs-prefix")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("p.gsdb"))
        let keys: [[UInt8]] = [
            [0x00], [0x00, 0x00], [0x01], [0x01, 0x00], [0x01, 0x02], [0x01, 0x02, 0x03], [0x01, 0xFF],
            [0x01, 0xFF, 0x00], [0x01, 0xFF, 0xFF], [0x01, 0xFF, 0xFF, 0x07], [0x02], [0x02, 0x00],
            [0x7F, 0xFF], [0xFF], [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x01],
        ]
        let tree = try engine.write { tx throws in
            let tree = try tx.createTree("p")
            for key in keys.shuffled() { try tx.put(key, key, in: tree) }
            return tree
        }
        try engine.read { tx throws in
            for length in 0...4 {
                var prefixes: [[UInt8]] = Array(Set(keys.map { Array($0.prefix(length)) }))
                prefixes += [[0x03], [0x01, 0x03], [0xFE]]
                for prefix in prefixes {
                    let expected = keys.filter { $0.starts(with: prefix) }
                    let forward: [[UInt8]] = try tx.entries(tree, .prefix(prefix)).map { $0.key }
                    let backward: [[UInt8]] = try tx.entries(tree, .prefix(prefix, reverse: true)).map { $0.key }
                    #expect(forward == expected, "prefix \(prefix)")
                    #expect(backward == Array(expected.reversed()), "reverse prefix \(prefix)")
                }
            }
            #expect(KeyRange.prefix([0x01, 0xFF]) == KeyRange(lower: .inclusive([0x01, 0xFF]), upper: .exclusive([0x02])))
            #expect(KeyRange.prefix([0xFF, 0xFF]).upper == nil)
        }
        try engine.close()
    }

    @Test("a write transaction's cursor sees its own changes")
    func cursorInWriteTransaction() throws {
        try Self.withTree { engine, tree in
            try engine.write { tx throws in
                try tx.put(bigEndianKey(3), [3], in: tree)
                #expect(try tx.delete(bigEndianKey(4), in: tree))
                var cursor = try tx.cursor(tree)
                #expect(try cursor.seek(bigEndianKey(3), .atOrAfter))
                #expect(try number(cursor) == 3)
                #expect(try cursor.next())
                #expect(try number(cursor) == 6)
                #expect(try cursor.seek(bigEndianKey(5), .atOrBefore))
                #expect(try number(cursor) == 3)
            }
            try engine.read { tx throws in
                #expect(try tx.entries(tree, KeyRange(lower: .inclusive(bigEndianKey(1)), upper: .inclusive(bigEndianKey(8)))).map { $0.key.last! } == [2, 3, 6, 8])
            }
        }
    }
}
