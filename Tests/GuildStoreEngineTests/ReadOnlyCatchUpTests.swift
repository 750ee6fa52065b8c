import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// RO-2's catch-up within a generation (`WriteAheadLog.continueRecovery`) reads the new frames
/// in chunks that start at `firstCatchUpFrames` and double: commits of every size, one or
/// several between two snapshots, split across chunks anywhere, and a restarted log whose file
/// runs on with the older generation's frames, all give the owner's content exactly.
@Suite("Read-only catch-up: reads that start small and double")
struct ReadOnlyCatchUpTests {
    @Test("catch-ups over commits of 1 to 400 pages, alone and in runs, before and after restarts of a longer log: the opening sees exactly the owner's rows")
    func catchUpsOfEverySize() throws {
        let directory = try TemporaryDirectory("gs-ro-catch-up")
        defer { directory.remove() }
        let path = directory.file("catch-up.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        var expected: [UInt64: UInt64] = [:]
        var round: UInt64 = 1
        // Rows of about 400 bytes, so a commit of n rows of fresh keys dirties about n / 9 leaves.
        func commit(rows: Int) throws {
            let first = UInt64(expected.count)
            try owner.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in first..<(first + UInt64(rows)) {
                    try tx.put(bigEndianKey(key), bigEndianKey(key &* round) + [UInt8](repeating: UInt8(key & 0xff), count: 392), in: tree)
                    expected[key] = key &* round
                }
            }
            round += 1
        }
        func rewriteEvery(_ stride: Int) throws {
            try owner.write { tx in
                let tree = try #require(try tx.tree("t"))
                for key in expected.keys.sorted() where Int(key) % stride == 0 {
                    try tx.put(bigEndianKey(key), bigEndianKey(key &* round) + [UInt8](repeating: 1, count: 392), in: tree)
                    expected[key] = key &* round
                }
            }
            round += 1
        }
        try commit(rows: 10)
        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
        func readerValues() throws -> [UInt64: UInt64] {
            try reader.read { tx in
                guard let tree = try tx.tree("t") else { return [:] }
                var found: [UInt64: UInt64] = [:]
                for entry in try tx.entries(tree) {
                    found[entry.key.reduce(0) { $0 << 8 | UInt64($1) }] = entry.value.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
                }
                return found
            }
        }
        #expect(try readerValues() == expected)
        let framesAtStart = owner.statistics().walFrames

        // Single commits around each chunk boundary, then runs of several between snapshots.
        let first = WriteAheadLog.firstCatchUpFrames
        for pages in [1, first - 1, first, first + 1, 2 * first + 3, 7 * first + 1, 400] {
            try commit(rows: pages * 9)
            #expect(try readerValues() == expected, "one commit of about \(pages) pages")
        }
        for run in [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [3, first, 2 * first, 5], [60, 1, 130]] {
            for pages in run { try commit(rows: pages * 9) }
            try rewriteEvery(7)
            #expect(try readerValues() == expected, "the commits \(run) and a rewrite between two snapshots")
        }
        #expect(reader.statistics().commitNumber == owner.statistics().commitNumber)
        #expect(owner.statistics().walFrames > framesAtStart + 8 * first, "the log holds many chunks of frames")

        // A restart keeps the file's length: the new generation is followed by the old one's
        // frames, which the catch-up must stop at (another salt), however large its reads.
        for restart in 0..<3 {
            let result = try owner.checkpoint(.full)
            #expect(result.walRestarted, "\(result)")
            #expect(try readerValues() == expected, "restart \(restart): an empty generation")
            for pages in [2, first + 2, 3 * first] {
                try commit(rows: pages * 9)
                #expect(try readerValues() == expected, "restart \(restart): a commit of about \(pages) pages")
            }
            try rewriteEvery(3)
            #expect(try readerValues() == expected, "restart \(restart): a rewrite")
        }
        #expect(reader.statistics().commitNumber == owner.statistics().commitNumber)
        #expect(try reader.check().isOK)
        try reader.close()
        try owner.close()
    }
}
