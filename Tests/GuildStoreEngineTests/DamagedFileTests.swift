import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Issue 13: damaged, crafted and half-written files never crash, hang or lose data silently.
/// Each test crafts a file the way a corruption fuzzer found it: a small database is built and
/// checkpointed, then bytes of a page are patched and the page's checksum is sealed again
/// (`sealPage`), so only the structural damage remains. The operation must end in a typed
/// `GuildStoreError`, never a trap, a hang or a silent success.
@Suite("Damaged files")
struct DamagedFileTests {
    static let pageSize = 4096
    static let configuration = EngineConfiguration(pageSize: pageSize)
    static let value = [UInt8](repeating: 0xA5, count: 100)

    /// Keys of entry `i`: even numbers, so odd ones fall between existing keys.
    static func key(_ i: Int) -> [UInt8] { bigEndianKey(UInt64(i * 2)) }

    /// Builds a database at `path` with `count` entries (100-byte values) in each tree,
    /// checkpointed into the file with an empty WAL, and closes it.
    static func build(_ path: String, trees: [(name: String, count: Int)]) throws {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.write { tx in
            for (name, count) in trees {
                let tree = try tx.createTree(name)
                for i in 0..<count { try tx.put(key(i), value, in: tree) }
            }
        }
        _ = try engine.checkpoint(.truncate)
        try engine.close()
    }

    /// The pages of tree `name` by level: the root first, the leaves last.
    static func levels(_ path: String, tree name: String) throws -> [[UInt32]] {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        defer { try? engine.close() }
        return try engine.read { tx in
            var levels = [[try tx.root(of: try #require(try tx.tree(name)))]]
            while true {
                var next: [UInt32] = []
                for page in levels[levels.count - 1] {
                    let (node, ref) = try tx.node(page)
                    guard !node.isLeaf else { return levels }
                    try withExtendedLifetime(ref.owner) {
                        for i in 0...node.count { next.append(try node.child(i)) }
                    }
                }
                levels.append(next)
            }
        }
    }

    /// Runs `body` and returns the `GuildStoreError` it threw (failing the test otherwise).
    static func error(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> GuildStoreError? {
        do {
            try body()
            Issue.record("expected a GuildStoreError, the operation succeeded", sourceLocation: sourceLocation)
        } catch let error as GuildStoreError {
            return error
        } catch {
            Issue.record("expected a GuildStoreError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// The page a `.corruptPage` names, nil for any other error.
    static func corruptPage(_ error: GuildStoreError?) -> UInt32? {
        if case .corruptPage(let page, _)? = error { return page }
        return nil
    }

    // MARK: 1. Reads past the page end

    @Test("an interior cell offset within 4 bytes of the page end: .corruptPage for that page, not a read past it")
    func interiorCellAtPageEnd() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        let levels = try Self.levels(path, tree: "t")
        let root = levels[0][0], leaves = levels[levels.count - 1]
        let file = PageFile(path: path, pageSize: Self.pageSize)
        // The file's last page becomes an interior node whose only cell starts 2 bytes before
        // the page's end (reading its child pointer through the mapping would touch the bytes
        // after the file's end); the root's first child points at it.
        let last = UInt32(try file.pageCount() - 1)
        #expect(last != root)
        try file.patch(last) { page in
            NodeLayout.initialize(page, pageSize: Self.pageSize, type: .interior)
            page.setU16(6, 1)
            page.setU32(8, UInt32(Self.pageSize - 2))
            page.setU16(NodeLayout.headerSize, Self.pageSize - 2)
            page.setU32(16, leaves[1])
        }
        try file.patch(root) { page in page.setU32(UnsafeRawPointer(page).u16(NodeLayout.headerSize), last) }
        let before = try file.bytes()

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        // The cursor's left-edge descent.
        let scanned = Self.error { _ = try engine.read { tx in try tx.entries(try #require(try tx.tree("t"))) } }
        #expect(Self.corruptPage(scanned) == last, "\(String(describing: scanned))")
        let vacuumed = Self.error { _ = try engine.vacuum() }
        #expect(vacuumed != nil)
        #expect(try file.bytes() == before, "a refused vacuum leaves the file alone")
    }

    // MARK: 2. Arithmetic on numbers from disk

    @Test("a schema counter of UInt64.max: creating or dropping a tree is .corruptHeader, not a trap")
    func schemaCounterAtMaximum() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 10)])
        try PageFile(path: path, pageSize: Self.pageSize).patch(0) { $0.setU64(40, .max) }

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        for operation in [{ (tx: WriteTransaction) in _ = try tx.createTree("u") }, { tx in try tx.dropTree("t") }] {
            let thrown = Self.error { try engine.write(operation) }
            guard case .corruptHeader(let errorPath, _)? = thrown else {
                Issue.record("expected .corruptHeader, got \(String(describing: thrown))")
                continue
            }
            #expect(errorPath == path)
        }
        #expect(try engine.read { try $0.entries(try #require(try $0.tree("t"))).count } == 10)
    }

    @Test("a leaf's fragmented-bytes field near UInt32.max: a delete is .corruptPage for the leaf, not a trap")
    func fragmentedNearMaximum() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        let leaf = try Self.levels(path, tree: "t").last![5]
        try PageFile(path: path, pageSize: Self.pageSize).patch(leaf) { $0.setU32(12, .max - 5) }
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let firstKey = try engine.read { tx in
            let (node, ref) = try tx.node(leaf)
            return try withExtendedLifetime(ref.owner) { try node.withKey(0) { Array($0) } }
        }
        let thrown = Self.error { try engine.write { tx in _ = try tx.delete(firstKey, in: try #require(try tx.tree("t"))) } }
        #expect(Self.corruptPage(thrown) == leaf, "\(String(describing: thrown))")
    }

    @Test("an overflow chain that loops: dropping its tree is .corruptPage, and no page is freed twice")
    func overflowChainLoop() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.write { tx in try tx.put([1], [UInt8](repeating: 7, count: 20_000), in: try tx.createTree("t")) }
        _ = try engine.checkpoint(.truncate)
        let chain = try engine.read { tx in
            let root = try tx.root(of: try #require(try tx.tree("t")))
            let (node, ref) = try tx.node(root)
            let cell = try withExtendedLifetime(ref.owner) { try node.leafCell(0) }
            return try tx.overflowPages(first: cell.overflowPage, length: cell.valueLength)
        }
        try engine.close()
        // The chain's second page points back at its first.
        try PageFile(path: path, pageSize: Self.pageSize).patch(chain[1]) { $0.setU32(8, chain[0]) }

        let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? reopened.close() }
        let thrown = Self.error { try reopened.write { tx in try tx.dropTree("t") } }
        #expect(Self.corruptPage(thrown) == chain[0], "\(String(describing: thrown))")
        #expect(try reopened.check().isOK == false)
    }

    // MARK: 3. A page count the file cannot hold

    @Test("a header page count beyond the file and its log: the open is .corruptHeader", arguments: [UInt32.max, 0])
    func pageCountBeyondTheFile(count: UInt32) throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 100)])
        let file = PageFile(path: path, pageSize: Self.pageSize)
        // 0 stands for one page more than the file holds.
        let pages = count == 0 ? UInt32(try file.pageCount() + 1) : count
        try file.patch(0) { $0.setU32(24, pages) }
        let thrown = Self.error {
            let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
            try engine.close()
        }
        guard case .corruptHeader(let errorPath, _)? = thrown else {
            Issue.record("expected .corruptHeader, got \(String(describing: thrown))")
            return
        }
        #expect(errorPath == path)
    }

    // MARK: 4. Pages reached twice

    @Test("interior nodes whose children all lead to the same next level: walks stop with .corruptPage instead of taking 2^depth paths")
    func childrenSharedByEveryLevel() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        let levels = try Self.levels(path, tree: "t")
        let root = levels[0][0], leaves = levels[levels.count - 1]
        let file = PageFile(path: path, pageSize: Self.pageSize)
        // root -> chain[0] -> ... -> chain[11] -> chain[12] (a leaf), each by both of its
        // child pointers: 2^13 paths to one leaf.
        let chain = Array(leaves.prefix(13))
        for (page, next) in zip([root] + chain.dropLast(), chain) {
            try file.patch(page) { $0.makeInterior(pageSize: Self.pageSize, children: [next], keys: [[0x80]], rightChild: next) }
        }
        let before = try file.bytes()

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let scanned = Self.error {
            var entries = 0
            try engine.read { tx in try tx.scan(try #require(try tx.tree("t"))) { _, _ in entries += 1; return true } }
        }
        #expect(Self.corruptPage(scanned) != nil, "scan: \(String(describing: scanned))")
        // What `stats` runs: a count a leaf at a time.
        let counted = Self.error { _ = try engine.read { tx in try tx.countEntries(try #require(try tx.tree("t")), KeyRange()) } }
        #expect(Self.corruptPage(counted) != nil, "count: \(String(describing: counted))")
        let report = try engine.check()
        #expect(!report.isOK)
        #expect(Self.error { _ = try engine.vacuum() } != nil)
        #expect(try file.bytes() == before, "a refused vacuum leaves the file alone")
        let dropped = Self.error { try engine.write { tx in try tx.dropTree("t") } }
        #expect(Self.corruptPage(dropped) != nil, "drop: \(String(describing: dropped))")
    }

    // MARK: 5. A fragmented-bytes field that lies

    @Test("a leaf whose fragmented-bytes field is inflated: check names it, and an insert there is .corruptPage, not a slot array overwritten")
    func inflatedFragmentedBytes() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        let leaf = try Self.levels(path, tree: "t").last![10]
        let file = PageFile(path: path, pageSize: Self.pageSize)
        try file.patch(leaf) { $0.setU32(12, 2000) }

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let report = try engine.check()
        #expect(report.problems.contains { $0.contains("page \(leaf)") && $0.contains("fragmented") }, "\(report.problems)")
        // A key right after the leaf's first one lands in it; the leaf has no room for it.
        let (entries, after) = try engine.read { tx in
            let (node, ref) = try tx.node(leaf)
            let first = try withExtendedLifetime(ref.owner) { try node.withKey(0) { Array($0) } }
            var after = first
            after[after.count - 1] += 1
            return (try tx.entries(try #require(try tx.tree("t"))), after)
        }
        let thrown = Self.error { try engine.write { tx in try tx.put(after, Self.value, in: try #require(try tx.tree("t"))) } }
        #expect(Self.corruptPage(thrown) == leaf, "\(String(describing: thrown))")
        #expect(try engine.read { tx in try tx.entries(try #require(try tx.tree("t"))) }.elementsEqual(entries) { $0 == $1 })
    }

    // MARK: 5b. A slot no read touches

    @Test("a leaf slot pointing outside the content area, which the insert's search never reads: the insert is .corruptPage, not a trap after the edit")
    func slotOutsideContentArea() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 10)])
        let leaf = try Self.levels(path, tree: "t")[0][0]
        // The last slot points into the slot array; a binary search for a key between the
        // first two keys never reads it (found by the corruption fuzzer: the debug build's
        // BT-8 assertion trapped after the insert, a release build wrote the page on).
        try PageFile(path: path, pageSize: Self.pageSize).patch(leaf) { page in
            page.setU16(NodeLayout.headerSize + 9 * NodeLayout.slotSize, NodeLayout.headerSize + 2)
        }
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        var between = Self.key(0)
        between[between.count - 1] += 1
        let thrown = Self.error { try engine.write { tx in try tx.put(between, Self.value, in: try #require(try tx.tree("t"))) } }
        #expect(Self.corruptPage(thrown) == leaf, "\(String(describing: thrown))")
        #expect(try !engine.check().isOK)
    }

    // MARK: 6. A stale free list

    @Test("a stale free-list trunk (a lost write) listing live pages: the next write that allocates is .corruptPage, nothing live is handed out")
    func staleFreeListTrunk() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.write { tx in
            let tree = try #require(try tx.tree("t"))
            for i in 500..<2000 { try tx.delete(Self.key(i), in: tree) }
        }
        _ = try engine.checkpoint(.truncate)
        let trunk = engine.statistics().freePages > 0 ? try engine.read { $0.header.freeListHead } : 0
        try engine.close()
        #expect(trunk != 0)
        let file = PageFile(path: path, pageSize: Self.pageSize)
        let stale = try file.page(trunk)

        // Splits take pages from the trunk; then the trunk's write is lost.
        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.write { tx in
            let tree = try #require(try tx.tree("t"))
            for i in 500..<800 { try tx.put(Self.key(i), Self.value, in: tree) }
        }
        _ = try engine.checkpoint(.truncate)
        #expect(try engine.read { $0.header.freeListHead } == trunk)
        try engine.close()
        try file.write(trunk, stale)

        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        #expect(try !engine.check().isOK)
        let thrown = Self.error {
            try engine.write { tx in
                let tree = try #require(try tx.tree("t"))
                for i in 800..<1100 { try tx.put(Self.key(i), Self.value, in: tree) }
            }
        }
        #expect(Self.corruptPage(thrown) == trunk, "\(String(describing: thrown))")
        #expect(try engine.read { try $0.entries(try #require(try $0.tree("t"))).count } == 1800)
    }

    // MARK: 6b. A page of another database

    @Test("a leaf of another database copied in at its own page number: a checksum mismatch on read and in check (WALR-9)")
    func foreignPageAtItsOwnNumber() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb"), otherPath = directory.file("other.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        // Another database of the same shape, one key fewer at the front: its leaf at any
        // number holds other keys than this one's.
        let other = try StorageEngine.open(path: otherPath, configuration: Self.configuration)
        try other.write { tx in
            let tree = try tx.createTree("t")
            for i in 1..<3001 { try tx.put(Self.key(i), Self.value, in: tree) }
        }
        _ = try other.checkpoint(.truncate)
        try other.close()
        let leaf = try Self.levels(path, tree: "t").last![3]
        let foreign = try PageFile(path: otherPath, pageSize: Self.pageSize).page(leaf)
        let file = PageFile(path: path, pageSize: Self.pageSize)
        #expect(try file.page(leaf) != foreign, "the two leaves differ")
        #expect(foreign.withUnsafeBytes { pageChecksumHolds($0.baseAddress!, number: leaf, size: Self.pageSize, salt: 0) } == false,
                "sealed with its own database's identity, not unsalted")
        try file.write(leaf, foreign)  // as it is: sealed by its own database as page `leaf`

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let scanned = Self.error {
            try engine.read { tx in try tx.scan(try #require(try tx.tree("t"))) { _, _ in true } }
        }
        guard case .checksumMismatch(_, let page)? = scanned else {
            Issue.record("expected .checksumMismatch, got \(String(describing: scanned))")
            return
        }
        #expect(page == leaf)
        let report = try engine.check()
        #expect(!report.isOK)
    }

    // MARK: 7. Vacuum and backup copy only what check passes

    /// A database with two trees "a" and "b" of 3,000 entries, and a leaf of each.
    static func twoTrees(in directory: TemporaryDirectory) throws -> (path: String, leafOfA: UInt32, leafOfB: UInt32) {
        let path = directory.file("db.gsdb")
        try build(path, trees: [("a", 3000), ("b", 3000)])
        return (path, try levels(path, tree: "a").last![5], try levels(path, tree: "b").last![20])
    }

    @Test("two leaves of two trees swapped: vacuum refuses with the damage named and leaves the file alone")
    func vacuumRefusesSwappedLeaves() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let (path, a, b) = try Self.twoTrees(in: directory)
        // Whole pages swapped: each fails its checksum as the other's number (WALR-4), and
        // the check names them.
        let file = PageFile(path: path, pageSize: Self.pageSize)
        let (pageA, pageB) = (try file.page(a), try file.page(b))
        try file.write(a, pageB)
        try file.write(b, pageA)
        let before = try file.bytes()

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let thrown = Self.error { _ = try engine.vacuum() }
        guard case .integrityCheckFailed(let errorPath, let problems)? = thrown else {
            Issue.record("expected .integrityCheckFailed, got \(String(describing: thrown))")
            return
        }
        #expect(errorPath == path)
        #expect(problems.contains { $0.contains("page \(a)") }, "\(problems)")
        #expect(try file.bytes() == before, "a refused vacuum leaves the file alone")
        #expect(!FileManager.default.fileExists(atPath: path + "-vacuum"))
    }

    @Test("a leaf of one tree copied over a leaf of another, checksum resealed: a backup refuses with the damage named and leaves no file (BK-6)")
    func backupRefusesMisplacedLeaf() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let (path, a, b) = try Self.twoTrees(in: directory)
        // Every page passes its checksum, so only the check can see the damage: the backup's
        // own reads copy it without a complaint.
        let file = PageFile(path: path, pageSize: Self.pageSize)
        let leafOfA = try file.page(a)
        try file.patch(b) { page in leafOfA.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }

        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? engine.close() }
        let target = directory.file("db.gsbackup")
        let thrown = Self.error { _ = try engine.writeBackup(to: target, parent: nil) }
        guard case .integrityCheckFailed(let errorPath, let problems)? = thrown else {
            Issue.record("expected .integrityCheckFailed, got \(String(describing: thrown))")
            return
        }
        #expect(errorPath == path)
        #expect(problems.contains { $0.contains("page \(b)") }, "\(problems)")
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(!FileManager.default.fileExists(atPath: target + ".partial"))
        #expect(engine.statistics().activeReaders == 0, "the backup's snapshot and its check's both ended")
    }

    @Test("a backup whose pages and manifest are sound but whose database fails check is not restored: the destination stays as it was (BK-4)")
    func restoreChecksBeforeReplacing() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let (path, a, b) = try Self.twoTrees(in: directory)
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        let sound = try engine.writeBackup(to: directory.file("sound.gsbackup"), parent: nil)
        try engine.close()
        // The misplaced leaf of `backupRefusesMisplacedLeaf`, which a backup would refuse
        // (BK-6): put into the sound backup's content by hand, its manifest entry and the
        // trailer's checksum made to match, so every check a backup file gets passes.
        let file = PageFile(path: path, pageSize: Self.pageSize)
        let leafOfA = try file.page(a)
        try file.patch(b) { page in leafOfA.withUnsafeBytes { page.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        let damagedPage = try file.page(b)
        var content = try LZ4Frame.decompress(try readFile(sound.path))
        let pageCount = sound.pageCount
        var offset = BackupHeader.size
        var replaced = false
        while true {
            let number = content.withUnsafeBytes { $0.baseAddress!.u32(offset) }
            if number == BackupHeader.endOfPages { break }
            if number == b {
                content.replaceSubrange((offset + 4)..<(offset + 4 + Self.pageSize), with: damagedPage)
                replaced = true
            }
            offset += 4 + Self.pageSize
        }
        try #require(replaced)
        let manifest = offset + 12
        content.withUnsafeMutableBytes { raw in
            let hash = damagedPage.withUnsafeBytes { BackupFile.pageHash($0.baseAddress!, pageSize: Self.pageSize) }
            raw.baseAddress!.setU64(manifest + 8 * Int(b), hash)
            let trailer = UnsafeRawBufferPointer(start: raw.baseAddress! + offset + 4, count: 8 + 8 * pageCount)
            raw.baseAddress!.setU32(offset + 12 + 8 * pageCount, crc32c(trailer))
        }
        let crafted = directory.file("crafted.gsbackup")
        try writeFile(crafted, try LZ4Frame.compress(content))
        _ = try BackupFile.scan(path: crafted, fileSystem: PosixFileSystem())  // every backup check passes

        // Restored over an existing database, with force: refused by the check, and the
        // database there is what it was, byte for byte, with nothing left beside it.
        let destination = directory.file("live.gsdb")
        try Self.build(destination, trees: [("c", 500)])
        let before = try readFile(destination)
        let thrown = Self.error {
            try BackupRestore.restore(from: [crafted], to: destination, at: .latest, force: true, fileSystem: PosixFileSystem(), progress: nil)
        }
        guard case .integrityCheckFailed(_, let problems)? = thrown else {
            Issue.record("expected .integrityCheckFailed, got \(String(describing: thrown))")
            return
        }
        #expect(problems.contains { $0.contains("page \(b)") }, "\(problems)")
        #expect(try readFile(destination) == before)
        for leftover in [".restore", ".restore-wal"] {
            #expect(!FileManager.default.fileExists(atPath: destination + leftover), "\(leftover)")
        }
    }

    @Test("a vacuum whose copy fails leaves no half-made copy behind, and the database as it was")
    func failedVacuumCopyIsRemoved() throws {
        let directory = try TemporaryDirectory("gs-damage")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        try Self.build(path, trees: [("t", 3000)])
        let plan = FaultPlan()
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration, fileSystem: FaultyFileSystem(plan))
        defer { try? engine.close() }
        plan.failWrite(1, pathSuffix: "-vacuum-wal")
        #expect(Self.error { _ = try engine.vacuum() } != nil)
        #expect(!FileManager.default.fileExists(atPath: path + "-vacuum"))
        #expect(!FileManager.default.fileExists(atPath: path + "-vacuum-wal"))
        #expect(try engine.read { try $0.entries(try #require(try $0.tree("t"))).count } == 3000)
    }

    @Test("DISK-11: the strict mode refuses a commit that wrote a node with keys out of order; nothing reaches the log")
    func strictModeRefusesBrokenNode() throws {
        let directory = try TemporaryDirectory("gs-strict")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(synchronous: .full, checkpointThreshold: 0))
        defer { try? engine.close() }
        #expect(engine.configuration.verifiesPagesOnCommit, "on in the test builds")
        try engine.write { tx in
            let tree = try tx.createTree("t")
            for i in UInt64(0)..<20 { try tx.put(bigEndianKey(i), [UInt8(i)], in: tree) }
        }
        let frames = engine.walFrameCount
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in
                let tree = try #require(try tx.tree("t"))
                try tx.put(bigEndianKey(100), [1], in: tree)  // the root leaf is now dirty
                // An edit gone wrong: the first two slots swapped, so keys 0 and 1 are out of order.
                let leaf = try tx.writable(tree.root)
                let first = UnsafeRawPointer(leaf.pointer).u16(NodeLayout.headerSize)
                let second = UnsafeRawPointer(leaf.pointer).u16(NodeLayout.headerSize + NodeLayout.slotSize)
                leaf.pointer.setU16(NodeLayout.headerSize, second)
                leaf.pointer.setU16(NodeLayout.headerSize + NodeLayout.slotSize, first)
            }
        }
        #expect(engine.walFrameCount == frames, "nothing was appended")
        #expect(try engine.check().isOK)
        #expect(try engine.read { tx in try tx.get(bigEndianKey(100), in: try #require(try tx.tree("t"))) } == nil)
        try engine.write { tx in try tx.put(bigEndianKey(101), [1], in: try #require(try tx.tree("t"))) }
    }
}

/// A database file patched a page at a time.
struct PageFile {
    let path: String
    let pageSize: Int

    func bytes() throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func pageCount() throws -> Int { try bytes().count / pageSize }

    func page(_ number: UInt32) throws -> [UInt8] {
        let all = try bytes()
        let start = Int(number) * pageSize
        return Array(all[start..<(start + pageSize)])
    }

    /// Writes `bytes` as page `number` as they are (a page taken from elsewhere keeps its
    /// checksum).
    func write(_ number: UInt32, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(number) * UInt64(pageSize))
        try handle.write(contentsOf: Data(bytes))
    }

    /// Lets `body` change page `number`, then seals its checksum again (PG-1), so the page
    /// passes the checksum and only the structural damage remains.
    func patch(_ number: UInt32, _ body: (UnsafeMutableRawPointer) throws -> Void) throws {
        var bytes = try page(number)
        // WALR-9: sealed with the salt the header names (the patched page's own, for page 0).
        let header = number == 0 ? nil : try page(0)
        try bytes.withUnsafeMutableBytes { raw in
            try body(raw.baseAddress!)
            let salt = header?.withUnsafeBytes { namedChecksumSalt(headerPage: $0.baseAddress!) }
                ?? namedChecksumSalt(headerPage: raw.baseAddress!)
            sealPage(raw.baseAddress!, number: number, size: pageSize, salt: salt)
        }
        try write(number, bytes)
    }
}

extension UnsafeMutableRawPointer {
    /// Makes this page an interior node: cell i points at `children[i]` with separator
    /// `keys[i]`, and `rightChild` follows them.
    func makeInterior(pageSize: Int, children: [UInt32], keys: [[UInt8]], rightChild: UInt32) {
        NodeLayout.initialize(self, pageSize: pageSize, type: .interior)
        var offset = pageSize
        for (i, (child, key)) in zip(children, keys).enumerated() {
            let cell = key.withUnsafeBytes { GuildStoreEngine.Cell.interior(child: child, key: $0) }
            offset -= cell.count
            cell.withUnsafeBytes { (self + offset).copyMemory(from: $0.baseAddress!, byteCount: cell.count) }
            setU16(NodeLayout.headerSize + i * NodeLayout.slotSize, offset)
        }
        setU16(6, children.count)
        setU32(8, UInt32(offset))
        setU32(16, rightChild)
    }
}
