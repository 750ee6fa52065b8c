import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The split policy's effect on how full leaves stay (`BTree+Insert.swift`): leaves share
/// their cells with a sibling before they split, and cut between runs of keys. Each load is
/// read back completely, so a policy that loses or misplaces a cell fails here too.
@Suite("Leaf fill under random and many-run inserts")
struct LeafFillTests {
    /// Puts `keys` into tree "t", 1,000 per transaction, with `valueSize`-byte values; then
    /// checks the file and reads every key back. Returns the tree's leaf fill factor.
    private func loadAndCheck(_ keys: [[UInt8]], valueSize: Int) throws -> Double {
        let dir = try TemporaryDirectory("leaf-fill")
        defer { dir.remove() }
        let engine = try StorageEngine.open(path: dir.file("db.gsdb"))
        for start in stride(from: 0, to: keys.count, by: 1_000) {
            try engine.write { tx in
                let tree = try tx.openTree("t")
                for key in keys[start..<min(keys.count, start + 1_000)] {
                    try tx.put(key, Array(key.prefix(valueSize)) + [UInt8](repeating: 0x5A, count: max(0, valueSize - key.count)), in: tree)
                }
            }
        }
        let report = try engine.check()
        #expect(report.isOK, "\(report.problems)")
        let tree = try #require(report.trees.first { $0.name == "t" })
        #expect(tree.entries == keys.count)
        try engine.read { tx throws in
            let t = try #require(try tx.tree("t"))
            var cursor = try tx.cursor(t)
            var seen: [[UInt8]] = []
            var more = try cursor.first()
            while more {
                seen.append(try cursor.key)
                more = try cursor.next()
            }
            #expect(seen == keys.sorted { $0.lexicographicallyPrecedes($1) })
        }
        try engine.close()
        return tree.fillFactor
    }

    @Test("random keys fill leaves past 80 % (splitting in halves leaves 69 %)")
    func randomKeys() throws {
        var random = SplitMix64(seed: 0xF111)
        let keys = (0..<40_000).map { _ in bigEndianKey(random.next()) }
        let fill = try loadAndCheck(keys, valueSize: 8)
        #expect(fill > 0.8, "leaf fill \(fill)")
    }

    @Test("keys that grow at the ends of 2,000 runs (an index on (user_id, created_at)) fill leaves past 75 % (halves: 72 %)")
    func manyRuns() throws {
        var random = SplitMix64(seed: 0x2115)
        var next = [UInt64](repeating: 0, count: 2_000)
        var keys: [[UInt8]] = []
        for _ in 0..<60_000 {
            // Skewed: a few runs take most of the keys, as a few users send most messages.
            let u = Double(random.next() >> 11) / Double(1 << 53)
            let run = min(next.count - 1, Int(u * u * u * Double(next.count)))
            next[run] += 1 + random.next() % 1_000
            keys.append(bigEndianKey(UInt64(run) << 8 | 0x0F) + bigEndianKey(next[run]))
        }
        let fill = try loadAndCheck(keys, valueSize: 0)
        #expect(fill > 0.75, "leaf fill \(fill)")
    }
}
