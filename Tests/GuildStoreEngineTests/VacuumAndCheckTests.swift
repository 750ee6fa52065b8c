import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

@Suite("Vacuum and integrity check")
struct VacuumAndCheckTests {
    /// Loads `count` keys with 100-byte values into tree "t".
    private func load(_ engine: StorageEngine, count: Int) throws {
        try engine.write { tx in
            let tree = try tx.openTree("t")
            for i in 0..<count {
                try tx.put(bigEndianKey(UInt64(i)), [UInt8](repeating: UInt8(i & 0xFF), count: 100), in: tree)
            }
        }
    }

    @Test("a sound database checks clean, with per-tree figures")
    func checkClean() throws {
        let dir = try TemporaryDirectory("check")
        defer { dir.remove() }
        let engine = try StorageEngine.open(path: dir.file("db.gsdb"))
        try load(engine, count: 20_000)
        try engine.write { tx in
            let other = try tx.createTree("other")
            try tx.put([1], [UInt8](repeating: 7, count: 50_000), in: other)
        }
        let report = try engine.check()
        #expect(report.isOK, "\(report.problems)")
        let t = try #require(report.trees.first { $0.name == "t" })
        #expect(t.entries == 20_000)
        #expect(t.depth >= 2)
        // Increasing keys fill leaves almost completely (the append split).
        #expect(t.fillFactor > 0.9)
        let other = try #require(report.trees.first { $0.name == "other" })
        #expect(other.overflowPages == 13)  // 50,000 bytes in 4,080-byte overflow pages
        try engine.close()
    }

    @Test("the file shrinks after mass deletes, and data and handles survive")
    func vacuumShrinks() throws {
        let dir = try TemporaryDirectory("vacuum")
        defer { dir.remove() }
        let path = dir.file("db.gsdb")
        let engine = try StorageEngine.open(path: path)
        try load(engine, count: 50_000)
        let handle = try engine.read { try #require(try $0.tree("t")) }
        try engine.write { tx in
            for i in 0..<50_000 where i % 10 != 0 { try tx.delete(bigEndianKey(UInt64(i)), in: handle) }
        }
        _ = try engine.checkpoint(.truncate)
        let before = engine.statistics()
        #expect(before.freePages > 0)
        let beforeCheck = try engine.check()
        #expect(beforeCheck.fragmentation > 0.5)

        let result = try engine.vacuum()
        #expect(result.pagesAfter * 5 < result.pagesBefore)
        #expect(result.fileBytesAfter * 5 < result.fileBytesBefore)
        let after = engine.statistics()
        #expect(after.freePages == 0)
        let report = try engine.check()
        #expect(report.isOK, "\(report.problems)")
        #expect(report.fragmentation < 0.1)

        // The old handle is resolved again by name.
        try engine.read { tx throws in
            #expect(try tx.entries(handle).count == 5_000)
            #expect(try tx.get(bigEndianKey(49_990), in: handle) == [UInt8](repeating: UInt8(49_990 & 0xFF), count: 100))
            #expect(try tx.get(bigEndianKey(49_991), in: handle) == nil)
        }
        // Writes go on against the new file, and everything survives reopen.
        try engine.write { tx in try tx.put(bigEndianKey(1), [9], in: handle) }
        try engine.close()
        let reopened = try StorageEngine.open(path: path)
        try reopened.read { tx throws in
            let tree = try #require(try tx.tree("t"))
            #expect(try tx.entries(tree).count == 5_001)
            #expect(try tx.get(bigEndianKey(1), in: tree) == [9])
        }
        #expect(try reopened.check().isOK)
        try reopened.close()
    }

    @Test("vacuum refuses while a snapshot is open")
    func vacuumBusy() throws {
        let dir = try TemporaryDirectory("vacuum-busy")
        defer { dir.remove() }
        let engine = try StorageEngine.open(path: dir.file("db.gsdb"))
        try load(engine, count: 100)
        let reader = try engine.beginRead()
        #expect(throws: GuildStoreError.self) { try engine.vacuum() }
        reader.end()
        _ = try engine.vacuum()
        try engine.close()
    }
}
