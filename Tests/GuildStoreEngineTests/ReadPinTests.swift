import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// TX-7, found by the page-tree libFuzzer target under AddressSanitizer: the B+tree code keeps
/// a `Node` (raw pointers into a page) and drops the page's `PageRef`, so a page a write
/// transaction read with pread (no mapping, or past it) was freed while still read
/// (`isRightmost` after an insert: a use after free).
@Suite("Pages a write transaction read")
struct ReadPinTests {
    @Test("a page read with pread stays alive until the write transaction ends, not until its reference is dropped")
    func preadPagesLiveUntilTheTransactionEnds() throws {
        let directory = try TemporaryDirectory("gs-pins")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        // No mapping: every page of the file is read with pread into a buffer of its own.
        let configuration = EngineConfiguration(pageSize: 4096, checkpointThreshold: 0, mapReservation: 0)
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        defer { try? engine.close() }
        try engine.write { tx in
            let tree = try tx.createTree("t")
            for i in UInt64(0)..<500 { try tx.put(bigEndianKey(i), [UInt8](repeating: 1, count: 40), in: tree) }
        }
        _ = try engine.checkpoint(.truncate)
        let root = try engine.read { tx in try tx.root(of: try #require(try tx.tree("t"))) }

        weak var buffer: PageBuffer?
        let tx = try engine.beginWrite()
        do {
            let (node, ref) = try tx.node(root)
            #expect(!node.isLeaf)
            buffer = ref.owner
        }
        #expect(buffer != nil, "the page's buffer outlives its PageRef while the transaction runs")
        // An insert at the right edge: the path that read a dropped page (`isRightmost`).
        try tx.put(bigEndianKey(10_000), [2], in: try #require(try tx.tree("t")))
        try tx.commit()
        #expect(buffer == nil, "and is let go when the transaction ends")
        #expect(try engine.read { try $0.get(bigEndianKey(10_000), in: try #require(try $0.tree("t"))) } == [2])
    }
}
