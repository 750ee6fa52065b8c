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
        // The reload after a restart, with the new generation already holding commits of many
        // chunks (the opening idle from before the restart until after them): it reads them
        // all, and stops at the older generation's frames after them.
        for pages in [3 * first, 1, 2 * first + 5] { try commit(rows: pages * 9) }
        #expect(try readerValues() == expected)
        #expect(try owner.checkpoint(.full).walRestarted)
        for pages in [2, 4 * first + 1, first] { try commit(rows: pages * 9) }
        try rewriteEvery(2)
        #expect(try readerValues() == expected, "a reload of a generation of several commits")
        #expect(reader.statistics().commitNumber == owner.statistics().commitNumber)
        #expect(try reader.check().isOK)
        try reader.close()
        try owner.close()
    }

    /// The reload after a restart keeps the opening's mapping of the file (PG-3): every page
    /// the owner's copy rewrote is checked again when next read, so one damaged on disk after
    /// the copy is reported, never read as it is.
    @Test("after a restart, a page the owner's copy rewrote and that was then damaged on disk is reported by the read-only opening, though it had read and checked that page before")
    func rewrittenPagesAreCheckedAgain() throws {
        let directory = try TemporaryDirectory("gs-ro-catch-up")
        defer { directory.remove() }
        let path = directory.file("recheck.gsdb")
        let pageSize = 4096
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(pageSize: pageSize, checkpointThreshold: 0))
        func put(_ range: Range<UInt64>, times factor: UInt64) throws {
            try owner.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * factor), in: tree) }
            }
        }
        try put(0..<3_000, times: 3)
        #expect(try owner.checkpoint(.truncate).walRestarted)
        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
        let before = Dictionary(uniqueKeysWithValues: (0..<UInt64(3_000)).map { ($0, $0 * 3) })
        #expect(try reader.read { try ReadOnlyOpeningTests.values($0) } == before, "every leaf read and checked once")

        func fileBytes() throws -> [UInt8] {
            let handle = try PosixFileSystem().openForReading(path)
            defer { try? handle.close() }
            var bytes = [UInt8](repeating: 0, count: Int(try handle.size()))
            _ = try bytes.withUnsafeMutableBytes { try handle.read(into: $0, at: 0) }
            return bytes
        }
        let old = try fileBytes()
        try put(0..<1_000, times: 5)
        #expect(try owner.checkpoint(.full).walRestarted)
        let new = try fileBytes()
        // Every page the copy rewrote (the header page aside, which every load reads and
        // checks anyway) gets a byte changed in its middle.
        let rewritten = (1..<(min(old.count, new.count) / pageSize)).filter { page in
            old[(page * pageSize)..<((page + 1) * pageSize)] != new[(page * pageSize)..<((page + 1) * pageSize)]
        }
        #expect(!rewritten.isEmpty)
        let handle = try PosixFileSystem().open(path, create: false)
        for page in rewritten {
            let offset = page * pageSize + pageSize / 2
            try [new[offset] ^ 0x5A].withUnsafeBytes { try handle.write($0, at: Int64(offset)) }
        }
        try handle.close()
        // A page's checksum, not its decoding: a flipped byte in a cell could fail to decode
        // whether or not the page was checked again.
        do {
            let count = try reader.read { try ReadOnlyOpeningTests.values($0) }.count
            Issue.record("read \(count) rows from damaged pages it had checked before the copy rewrote them")
        } catch GuildStoreError.checksumMismatch(let damaged, let page) {
            #expect(damaged == path && rewritten.contains(Int(page)), "page \(page)")
        }
        try reader.close()
        try owner.close()
    }
}
