import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `delete(sorted:in:)` removes a sorted batch a leaf at a time, or rewrites the tree for
/// half of it or more: the tree must hold exactly what deleting the keys one by one leaves,
/// stay structurally sound (BT-1, BT-2, one leaf depth, every page used once), and give its
/// pages back as leaves empty out.
@Suite("Sorted batch deletes")
struct SortedDeleteTests {
    @Test("random batches (runs, scattered keys, absent keys, repeats, overflow values) equal a model")
    func batchesMatchModel() throws {
        let directory = try TemporaryDirectory("sorted-delete")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("s.gsdb"))
        defer { try? engine.close() }
        var random = SplitMix64(seed: 0xde1e7e)
        var model: [UInt64: [UInt8]] = [:]
        func key(_ k: UInt64) -> [UInt8] { bigEndianKey(k) }
        try engine.write { tx in
            let tree = try tx.openTree("t")
            for k in 0..<UInt64(30_000) {
                // Every 97th value is large enough to live in overflow pages.
                let value = [UInt8](repeating: UInt8(truncatingIfNeeded: k), count: k % 97 == 0 ? 5_000 : Int(k % 40))
                try tx.put(key(k * 2), value, in: tree)
                model[k * 2] = value
            }
        }
        for round in 0..<40 {
            var batch: [UInt64] = []
            switch round == 29 ? 4 : round % 4 {
            case 4:  // half of what is left, with absent keys and repeats: the tree is rewritten
                let present = model.keys.sorted()
                batch = stride(from: 0, to: present.count, by: 2).map { present[$0] } + [present[0], 1, 3, 70_000]
            case 0:  // one contiguous run, present and absent keys alike
                let start = UInt64.random(in: 0..<60_000, using: &random)
                batch = Array(start..<min(start + UInt64.random(in: 1...4_000, using: &random), 60_100))
            case 1:  // scattered
                batch = (0..<Int.random(in: 1...2_000, using: &random)).map { _ in UInt64.random(in: 0..<61_000, using: &random) }
            case 2:  // a few long runs
                for _ in 0..<5 {
                    let start = UInt64.random(in: 0..<60_000, using: &random)
                    batch += Array(start..<(start + 500))
                }
            default:  // repeats and keys past the end
                let k = UInt64.random(in: 0..<60_000, using: &random)
                batch = [k, k, k + 2, 70_000, 70_001]
            }
            let keys = batch.sorted().map(key)
            let expected = Set(batch).filter { model[$0] != nil }.count
            let removed = try engine.write { tx in try tx.delete(sorted: keys, in: try tx.openTree("t")) }
            #expect(removed == expected, "round \(round)")
            for k in batch { model[k] = nil }
            try engine.read { tx in
                let tree = try #require(try tx.tree("t"))
                let entries = try tx.entries(tree)
                #expect(entries.count == model.count, "round \(round)")
                #expect(entries.elementsEqual(model.sorted { $0.key < $1.key }.map { (key($0.key), $0.value) }) { $0.key == $1.0 && $0.value == $1.1 },
                        "round \(round)")
                let structure = try checkStructure(tx)
                #expect(structure.entries["t"] == model.count)
            }
        }
        let report = try engine.check()
        #expect(report.problems.isEmpty)
        // Unsorted keys are refused and change nothing.
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in try tx.delete(sorted: [key(10), key(4)], in: try tx.openTree("t")) }
        }
        // Emptying the tree gives its pages back but the root.
        let pagesBefore = try engine.read { try checkStructure($0).treePages }
        try engine.write { tx in try tx.delete(sorted: model.keys.sorted().map(key), in: try tx.openTree("t")) }
        try engine.read { tx in
            let tree = try #require(try tx.tree("t"))
            let left = try tx.entries(tree)
            let pagesAfter = try checkStructure(tx).treePages
            #expect(left.isEmpty)
            #expect(pagesAfter < pagesBefore / 10, "\(pagesAfter) of \(pagesBefore) tree pages left")
        }
    }
}
