import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Large values (overflow chains) and how pages are used and reused.
@Suite("Overflow values and page use")
struct OverflowTests {
    static func randomValue(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var value = [UInt8](repeating: 0, count: count)
        value.withUnsafeMutableBytes { raw in
            let words = raw.count / 8
            let p = raw.baseAddress!
            for i in 0..<words { p.storeBytes(of: rng.next(), toByteOffset: i * 8, as: UInt64.self) }
            for i in (words * 8)..<raw.count { p.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
        }
        return value
    }

    @Test("a 4 MiB value round-trips, updates, deletes, and its pages are reused")
    func fourMiB() throws {
        let directory = try TemporaryDirectory("gs-overflow")
        defer { directory.remove() }
        let path = directory.file("o.gsdb")
        let configuration = EngineConfiguration(synchronous: .off)
        var engine = try StorageEngine.open(path: path, configuration: configuration)
        let size = 4 << 20
        let key = Array("big".utf8)
        let tree = try engine.write { tx throws in
            let tree = try tx.createTree("blobs")
            try tx.put(Array("small-before".utf8), [1, 2, 3], in: tree)
            try tx.put(Array("small-zz".utf8), [4, 5, 6], in: tree)
            return tree
        }
        let chainPages = (size + OverflowLayout.capacity(pageSize: 4096) - 1) / OverflowLayout.capacity(pageSize: 4096)
        var pageCounts: [Int] = []
        for round in 0..<5 {
            let first = Self.randomValue(size, seed: UInt64(2 * round + 1))
            let second = Self.randomValue(size, seed: UInt64(2 * round + 2))
            try engine.write { tx in try tx.put(key, first, in: tree) }
            try engine.read { tx throws in
                #expect(try tx.get(key, in: tree) == first)
                var cursor = try tx.cursor(tree)
                #expect(try cursor.seek(key, .atOrAfter))
                #expect(try cursor.value == first)
            }
            let afterPut = engine.statistics()
            #expect(afterPut.pageCount - afterPut.freePages >= chainPages)
            // Update to another 4 MiB value: the old chain is freed and reused at once.
            try engine.write { tx throws in
                try tx.put(key, second, in: tree)
                #expect(try tx.get(key, in: tree) == second, "the transaction sees its own update")
            }
            try engine.read { tx throws in #expect(try tx.get(key, in: tree) == second) }
            let afterUpdate = engine.statistics()
            #expect(afterUpdate.pageCount <= afterPut.pageCount + 2, "round \(round): an update reuses the freed chain")
            try engine.write { tx throws in #expect(try tx.delete(key, in: tree)) }
            try engine.read { tx throws in
                #expect(try tx.get(key, in: tree) == nil)
                #expect(try tx.entries(tree).map { $0.value } == [[1, 2, 3], [4, 5, 6]])
                _ = try checkStructure(tx)
            }
            let afterDelete = engine.statistics()
            #expect(afterDelete.freePages >= chainPages, "round \(round): the chain went back to the free list")
            pageCounts.append(afterDelete.pageCount)
            if round == 2 {
                try engine.close()
                engine = try StorageEngine.open(path: path, configuration: configuration)
            }
        }
        // Page count is flat after the first round: freed pages are reused, not appended.
        #expect(Set(pageCounts).count == 1, "page counts per round: \(pageCounts)")
        #expect(pageCounts[0] <= chainPages + 8, "page counts per round: \(pageCounts)")

        // Put and delete in one transaction: nothing is left behind.
        let before = engine.statistics()
        try engine.write { tx throws in
            try tx.put(key, Self.randomValue(size, seed: 99), in: tree)
            #expect(try tx.delete(key, in: tree))
        }
        #expect(engine.statistics().pageCount == before.pageCount)
        try engine.read { tx in _ = try checkStructure(tx) }
        try engine.close()
    }

    /// Regression: pages allocated past the end of the file and freed again by the same
    /// transaction went on the free list without ever being written, so the file ended short
    /// of the header's page count and reading those pages failed ("lies past the end").
    @Test("pages allocated and freed in one transaction still reach the file")
    func allocatedAndFreedInOneTransaction() throws {
        let directory = try TemporaryDirectory("gs-overflow-free")
        defer { directory.remove() }
        let path = directory.file("r.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(synchronous: .off))
        try engine.write { tx throws in
            let tree = try tx.createTree("t")
            try tx.put([1], [UInt8](repeating: 9, count: 100_000), in: tree)
            #expect(try tx.delete([1], in: tree))
        }
        for round in 0..<2 {
            _ = try engine.checkpoint(.truncate)
            let stats = engine.statistics()
            #expect(stats.freePages >= 24)
            let onDisk = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
            #expect(onDisk == stats.pageCount * 4096, "round \(round): the file holds every page the header counts")
            try engine.read { tx throws in
                for page in 0..<UInt32(stats.pageCount) { _ = try tx.page(page) }
                _ = try checkStructure(tx)
            }
            try engine.close()
            engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(synchronous: .off))
        }
        try engine.close()
    }

    @Test("values around the inline limit and chain-page boundaries", arguments: [4096, 65536])
    func boundaries(pageSize: Int) throws {
        let directory = try TemporaryDirectory("gs-overflow-edges")
        defer { directory.remove() }
        let path = directory.file("e.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(pageSize: pageSize, synchronous: .off))
        let maxCell = NodeLayout.maxCellSize(pageSize: pageSize)
        let capacity = OverflowLayout.capacity(pageSize: pageSize)
        var lengths = Array((maxCell - 24)...(maxCell + 4))
        for pages in 1...3 { lengths += [capacity * pages - 1, capacity * pages, capacity * pages + 1] }
        lengths += [0, 1]
        var expected: [[UInt8]: [UInt8]] = [:]
        var baseLength: [[UInt8]: Int] = [:]
        let tree = try engine.write { tx throws in
            let tree = try tx.createTree("v")
            for (i, length) in lengths.enumerated() {
                let key = Array("k\(i)".utf8) + [UInt8](repeating: 0x41, count: i % 13)
                let value = Self.randomValue(length, seed: UInt64(length))
                try tx.put(key, value, in: tree)
                expected[key] = value
                baseLength[key] = length
            }
            return tree
        }
        func verify() throws {
            try engine.read { tx throws in
                for (key, value) in expected { #expect(try tx.get(key, in: tree) == value, "length \(value.count)") }
                #expect(try tx.entries(tree).count == expected.count)
                _ = try checkStructure(tx)
            }
        }
        try verify()
        // Shrink every value to a tenth and grow it back: inline <-> overflow transitions.
        for factor in [10, 1] {
            try engine.write { tx throws in
                for key in expected.keys {
                    let length = baseLength[key]! / factor
                    let value = Self.randomValue(length, seed: UInt64(length) &+ 7)
                    try tx.put(key, value, in: tree)
                    expected[key] = value
                }
            }
            try verify()
        }
        try engine.close()
        engine = try StorageEngine.open(path: path)
        try verify()
        try engine.close()
    }
}
