import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The B+tree against a sorted in-memory reference: seeded random inserts, updates, deletes
/// (with bursts over contiguous ranges that force merges and root collapse), point reads,
/// range scans and cursor walks over several trees in one file, with commits, rollbacks,
/// checkpoints, long-lived snapshots and reopens in between. Every reopen compares every tree
/// entry by entry and walks the file's structure (`checkStructure`).
///
/// Replay a failure with GUILDSTORE_MODEL_SEED=<seed> (the seed is in the failure message).
@Suite("B+tree model")
struct BTreeModelTests {
    @Test("4 KiB pages, 200k operations")
    func model4K() throws {
        var run = ModelRun(pageSize: 4096, operations: 200_000, seed: Self.seed(0x6A17_D5EE_0000_4096))
        try run.run()
    }

    @Test("64 KiB pages, 40k operations")
    func model64K() throws {
        var run = ModelRun(pageSize: 65536, operations: 40_000, seed: Self.seed(0x6A17_D5EE_0006_5536))
        try run.run()
    }

    static func seed(_ fallback: UInt64) -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["GUILDSTORE_MODEL_SEED"], let seed = UInt64(text) { return seed }
        return fallback
    }
}

/// One randomized run. Counts below are per top-level operation.
struct ModelRun {
    let pageSize: Int
    let operations: Int
    let seed: UInt64

    static let treeNames = ["alpha", "beta", "gamma", "delta"]

    var rng: SplitMix64
    /// Committed state of every tree.
    var committed: [String: ReferenceMap] = [:]
    /// State inside the open write transaction.
    var current: [String: ReferenceMap] = [:]
    let pool: [UInt8]
    var valueCounter: UInt32 = 0
    var stats: [String: Int] = [:]

    init(pageSize: Int, operations: Int, seed: UInt64) {
        self.pageSize = pageSize
        self.operations = operations
        self.seed = seed
        rng = SplitMix64(seed: seed)
        var poolRNG = SplitMix64(seed: seed ^ 0xA5A5)
        var pool = [UInt8](repeating: 0, count: 1 << 17)
        pool.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in 0..<words.count { words[i] = poolRNG.next() }
        }
        self.pool = pool
    }

    // MARK: Random data

    mutating func random(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &rng) == 0 }

    mutating func randomBytes(_ count: Int) -> [UInt8] {
        let start = random(0...(pool.count - count))
        return Array(pool[start..<(start + count)])
    }

    /// Keys of 1...200 bytes from several families: a tiny alphabet rich in 0x00/0xFF (many
    /// collisions and prefixes), extensions and prefixes of existing keys, long keys sharing a
    /// long prefix, and plain random bytes.
    mutating func makeKey(_ reference: ReferenceMap) -> [UInt8] {
        let alphabet: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]
        switch random(0...9) {
        case 0, 1, 2:
            let n = random(1...10)
            var key: [UInt8] = []
            for _ in 0..<n { key.append(alphabet[random(0...(alphabet.count - 1))]) }
            return key
        case 3, 4:
            guard reference.count > 0 else { return randomBytes(random(1...24)) }
            var key = reference.keys[random(0...(reference.count - 1))]
            let extra = random(1...6)
            for _ in 0..<extra { key.append(chance(3) ? alphabet[random(0...5)] : UInt8.random(in: 0...255, using: &rng)) }
            return Array(key.prefix(200))
        case 5:
            guard reference.count > 0 else { return randomBytes(random(1...24)) }
            let key = reference.keys[random(0...(reference.count - 1))]
            return key.count > 1 ? Array(key.prefix(random(1...(key.count - 1)))) : key
        case 6:
            let shared = [UInt8](repeating: chance(2) ? 0xFF : 0x00, count: random(60...150))
            return Array((shared + randomBytes(random(1...60))).prefix(200))
        default:
            return randomBytes(random(1...24))
        }
    }

    mutating func makeValue() -> [UInt8] {
        let length: Int
        let roll = random(0...999)
        if roll < 10 {
            // Overflow: 10-20 KB on 4 KiB pages; on 64 KiB pages cells overflow past 16 KB,
            // so go up to 80 KB there for multi-page chains.
            length = pageSize == 4096 ? random(10_000...20_000) : random(15_000...80_000)
        } else if roll < 400 {
            length = random(0...40)
        } else if roll < 780 {
            length = random(0...300)
        } else {
            length = random(300...3000)
        }
        var value = randomBytes(length)
        valueCounter &+= 1
        if length >= 4 { withUnsafeBytes(of: valueCounter) { for i in 0..<4 { value[i] = $0[i] } } }
        return value
    }

    mutating func randomBound(_ reference: ReferenceMap) -> KeyRange.Bound? {
        if chance(6) { return nil }
        let key = reference.count > 0 && chance(2) ? reference.keys[random(0...(reference.count - 1))] : makeKey(reference)
        return chance(2) ? .inclusive(key) : .exclusive(key)
    }

    mutating func count(_ what: String, _ n: Int = 1) { stats[what, default: 0] += n }

    // MARK: The run

    mutating func run() throws {
        let directory = try TemporaryDirectory("gs-model")
        defer { directory.remove() }
        let path = directory.file("model.gsdb")
        let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .off, checkpointThreshold: 400)
        let started = ContinuousClock.now
        var engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.write { tx throws in
            for name in Self.treeNames { _ = try tx.createTree(name) }
        }
        for name in Self.treeNames { committed[name] = ReferenceMap() }

        // A snapshot kept alive over several commits and checkpoints, with the state it saw.
        var pinned: (tx: ReadTransaction, state: [String: ReferenceMap], commitsLeft: Int)? = nil
        var done = 0
        var nextReopen = random(3000...8000)
        var deepest = 0
        var largest = 0

        let (seed, pageSize) = (self.seed, self.pageSize)
        func fail(_ message: String) -> ModelFailure {
            ModelFailure("seed \(seed), pageSize \(pageSize), operation \(done): \(message)")
        }

        while done < operations {
            // One write transaction of a few hundred operations.
            let tx = try engine.beginWrite()
            var handles: [String: Tree] = [:]
            for name in Self.treeNames {
                let tree: Tree = try #require(try tx.tree(name))
                handles[name] = tree
            }
            current = committed
            var touched: [(String, [UInt8])] = []
            let batch = random(50...600)
            var i = 0
            while i < batch && done < operations {
                i += 1
                done += 1
                let name = Self.treeNames[random(0...(Self.treeNames.count - 1))]
                let tree = handles[name]!
                var reference = current.removeValue(forKey: name)!  // moved out, so it stays uniquely referenced
                defer { current[name] = reference }
                let target = pageSize == 4096 ? 12_000 : 5000
                // Grow each tree towards `target` entries, then hover around it.
                let growing = reference.count < target
                let (insertEnd, updateEnd) = growing ? (58, 70) : (30, 45)
                let roll = random(0...99)
                if roll < insertEnd {
                    let key = makeKey(reference)
                    let value = makeValue()
                    try tx.put(key, value, in: tree)
                    reference.put(key, value)
                    if touched.count < 64 { touched.append((name, key)) }
                    count("put")
                } else if roll < updateEnd {
                    guard reference.count > 0 else { continue }
                    let key = reference.keys[random(0...(reference.count - 1))]
                    let value = makeValue()
                    try tx.put(key, value, in: tree)
                    reference.put(key, value)
                    if touched.count < 64 { touched.append((name, key)) }
                    count("update")
                } else if roll < 80 {
                    let key: [UInt8]
                    if reference.count > 0 && !chance(8) {
                        key = reference.keys[random(0...(reference.count - 1))]
                    } else {
                        key = makeKey(reference)
                    }
                    let removed = try tx.delete(key, in: tree)
                    let expected = reference.remove(key)
                    guard removed == expected else { throw fail("delete \(hex(key)) in \(name) returned \(removed), expected \(expected)") }
                    if touched.count < 64 { touched.append((name, key)) }
                    count("delete")
                } else if roll < 90 {
                    let key = reference.count > 0 && chance(2) ? reference.keys[random(0...(reference.count - 1))] : makeKey(reference)
                    let value = try tx.get(key, in: tree)
                    guard value == reference.get(key) else {
                        throw fail("get \(hex(key)) in \(name): engine \(value.map { hex($0) } ?? "nil"), reference \(reference.get(key).map { hex($0) } ?? "nil")")
                    }
                    count("get")
                } else if roll < 95 {
                    try checkScan(tx, tree, reference, fail)
                    count("scan")
                } else if roll < 99 {
                    try checkCursor(tx, tree, reference, fail)
                    count("cursor")
                } else if chance(25) && reference.count > 0 {
                    // A burst: delete a contiguous run of keys (sometimes the whole tree).
                    let whole = chance(15)
                    let start = whole ? 0 : random(0...(reference.count - 1))
                    let end = whole ? reference.count : min(reference.count, start + random(50...1500))
                    for key in reference.keys[start..<end] {
                        guard try tx.delete(key, in: tree) else { throw fail("burst delete of \(hex(key)) in \(name) found nothing") }
                    }
                    reference.removeSubrange(start..<end)
                    count("burst")
                    count("burst keys", end - start)
                    if reference.count == 0 {
                        var cursor = try tx.cursor(tree)
                        guard try !cursor.first(), try !cursor.last() else { throw fail("emptied tree \(name) still has entries") }
                        let (root, ref) = try tx.node(try tx.root(of: tree))
                        let isLeaf = withExtendedLifetime(ref) { root.isLeaf }
                        guard isLeaf else { throw fail("emptied tree \(name): root did not collapse to a leaf") }
                        count("emptied")
                    }
                } else if chance(600) {
                    // Clear the tree, keeping it.
                    try tx.clear(tree)
                    reference.removeAll()
                    guard try tx.entries(tree).isEmpty else { throw fail("cleared tree \(name) still has entries") }
                    count("clear")
                } else if chance(400) {
                    // Drop the tree and create it again, empty.
                    try tx.dropTree(name)
                    guard try tx.tree(name) == nil else { throw fail("dropped tree \(name) still found") }
                    handles[name] = try tx.createTree(name)
                    reference.removeAll()
                    count("drop")
                }
            }

            if chance(12) {
                tx.rollback()
                count("rollback")
                // The rolled-back work must be gone: the touched keys read as committed.
                try engine.read { rtx throws in
                    for (name, key) in touched {
                        let tree = try #require(try rtx.tree(name))
                        guard try rtx.get(key, in: tree) == committed[name]!.get(key) else {
                            throw fail("after rollback, \(hex(key)) in \(name) does not read as committed")
                        }
                    }
                    if chance(3) {
                        let name = Self.treeNames[random(0...(Self.treeNames.count - 1))]
                        try compareTree(rtx, try #require(try rtx.tree(name)), committed[name]!, context: "seed \(seed) after rollback")
                    }
                }
            } else {
                try tx.commit()
                committed = current
                count("commit")
            }

            // The pinned snapshot must still read exactly what it saw.
            if var pin = pinned {
                pin.commitsLeft -= 1
                let name = Self.treeNames[random(0...(Self.treeNames.count - 1))]
                let reference = pin.state[name]!
                let tree = try #require(try pin.tx.tree(name))
                if pin.commitsLeft <= 0 || reference.count < 400 {
                    try compareTree(pin.tx, tree, reference, context: "seed \(seed) pinned snapshot")
                } else {
                    for _ in 0..<50 {
                        let key = reference.keys[random(0...(reference.count - 1))]
                        guard try pin.tx.get(key, in: tree) == reference.get(key) else {
                            throw fail("pinned snapshot reads a newer value for \(hex(key)) in \(name)")
                        }
                    }
                }
                if pin.commitsLeft <= 0 {
                    pin.tx.end()
                    pinned = nil
                } else {
                    pinned = pin
                }
            } else if chance(10) {
                pinned = (try engine.beginRead(), committed, random(2...15))
                count("pinned snapshot")
            }

            if chance(15) {
                let modes: [CheckpointMode] = [.passive, .passive, .full, .truncate]
                let mode = modes[random(0...3)]
                let result = try engine.checkpoint(mode, timeout: .zero)
                if pinned == nil && mode != .passive && !result.walRestarted && result.framesInWAL > 0 {
                    throw fail("\(mode) checkpoint without readers did not restart the log: \(result)")
                }
                if mode == .truncate && pinned == nil {
                    guard engine.statistics().walFrames == 0 else { throw fail("truncate checkpoint left frames") }
                }
                count("checkpoint")
            }

            if done >= nextReopen || done >= operations {
                nextReopen = done + random(3000...8000)
                pinned?.tx.end()
                pinned = nil
                try engine.close()
                engine = try StorageEngine.open(path: path, configuration: configuration)
                count("reopen")
                try engine.read { rtx throws in
                    let names = try rtx.trees().map(\.name)
                    guard names == Self.treeNames.sorted() else { throw fail("trees after reopen: \(names)") }
                    for name in Self.treeNames {
                        try compareTree(rtx, try #require(try rtx.tree(name)), committed[name]!, context: "seed \(seed) after reopen at \(done)")
                    }
                    let report = try checkStructure(rtx)
                    for name in Self.treeNames where report.entries[name] != committed[name]!.count {
                        throw fail("structure walk counts \(report.entries[name] ?? -1) entries in \(name), reference \(committed[name]!.count)")
                    }
                    deepest = max(deepest, report.depth.values.max() ?? 0)
                    largest = max(largest, committed.values.map(\.count).max() ?? 0)
                    count("empty leaves seen", report.emptyLeaves)
                    count("keyless interior nodes seen", report.keylessInteriorNodes)
                }
            }
        }
        try engine.close()
        let elapsed = ContinuousClock.now - started
        let summary = stats.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("model pageSize=\(pageSize) seed=\(seed) ops=\(done) deepest=\(deepest) largest=\(largest) final=\(Self.treeNames.map { committed[$0]!.count }) in \(elapsed): \(summary)")
        #expect(done >= operations)
        #expect(deepest >= (pageSize == 4096 ? 2 : 1), "trees should grow several levels deep")
        #expect((stats["burst"] ?? 0) > 0 && (stats["rollback"] ?? 0) > 0 && (stats["reopen"] ?? 0) > 0)
    }

    /// A random range scan, forward or reverse, stopped after a random number of entries.
    mutating func checkScan(_ tx: Transaction, _ tree: Tree, _ reference: ReferenceMap, _ fail: (String) -> ModelFailure) throws {
        var range = KeyRange(lower: randomBound(reference), upper: randomBound(reference), reverse: chance(2))
        if chance(10), reference.count > 0 {
            let key = reference.keys[random(0...(reference.count - 1))]
            range = KeyRange.prefix(Array(key.prefix(random(1...key.count))), reverse: range.reverse)
        }
        let expected = reference.indices(range)
        let limit = chance(20) ? Int.max : random(1...300)
        let want = min(limit, expected.count)
        var seen = 0
        var failure: String?
        try tx.scan(tree, range) { key, value in
            guard seen < expected.count else {
                failure = "scan returned an extra key \(hex(Array(key)))"
                return false
            }
            let index = range.reverse ? expected.upperBound - 1 - seen : expected.lowerBound + seen
            guard sameBytes(reference.keys[index], key), sameBytes(reference.values[index], value) else {
                failure = "scan entry \(seen): engine \(hex(Array(key))), reference \(hex(reference.keys[index]))"
                return false
            }
            seen += 1
            return seen < limit
        }
        if let failure { throw fail("\(tree.name) \(range): \(failure)") }
        guard seen == want else { throw fail("\(tree.name) \(range): scan returned \(seen) entries, expected \(want)") }
        if chance(4) {
            let entries = try tx.entries(tree, range, limit: 7)
            guard entries.count == min(7, expected.count) else { throw fail("entries(limit: 7) returned \(entries.count)") }
        }
    }

    /// A seek by either rule, then a walk of a few steps in a random direction.
    mutating func checkCursor(_ tx: Transaction, _ tree: Tree, _ reference: ReferenceMap, _ fail: (String) -> ModelFailure) throws {
        var cursor = try tx.cursor(tree)
        let key = reference.count > 0 && chance(3) ? reference.keys[random(0...(reference.count - 1))] : makeKey(reference)
        var position: Int
        var valid: Bool
        switch random(0...3) {
        case 0:
            valid = try cursor.seek(key, .atOrAfter)
            position = reference.lowerBound(key).index
        case 1:
            valid = try cursor.seek(key, .atOrBefore)
            position = reference.upperBound(key) - 1
        case 2:
            valid = try cursor.first()
            position = 0
        default:
            valid = try cursor.last()
            position = reference.count - 1
        }
        let forward = chance(2)
        for _ in 0..<random(1...40) {
            let expectedValid = position >= 0 && position < reference.count
            guard valid == expectedValid else {
                throw fail("cursor on \(tree.name) (seek \(hex(key))) valid=\(valid), expected \(expectedValid) at \(position)")
            }
            guard valid else { break }
            let (k, v) = (try cursor.key, try cursor.value)
            guard k == reference.keys[position], v == reference.values[position] else {
                throw fail("cursor on \(tree.name) at \(position): \(hex(k)), expected \(hex(reference.keys[position]))")
            }
            valid = forward ? try cursor.next() : try cursor.previous()
            position += forward ? 1 : -1
        }
    }
}

/// How densely the B+tree packs pages, and trees of maximum-size keys.
@Suite("B+tree space and large keys")
struct BTreeSpaceTests {
    @Test("increasing inserts leave leaves nearly full", arguments: [50, 5000])
    func sequentialFill(keysPerTransaction: Int) throws {
        let directory = try TemporaryDirectory("gs-fill")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("f.gsdb"), configuration: EngineConfiguration(pageSize: 4096, synchronous: .off))
        let count = 100_000
        let tree = try engine.write { tx in try tx.createTree("seq") }
        let baseline = engine.statistics()
        // Snowflake-like ids: increasing, with a shared high part.
        func key(_ k: Int) -> [UInt8] { bigEndianKey((1 << 62) + UInt64(k) * 4096 + UInt64(k % 7)) }
        var next = 0
        while next < count {
            let stop = min(count, next + keysPerTransaction)
            try engine.write { tx throws in
                for k in next..<stop { try tx.put(key(k), bigEndianKey(UInt64(k)), in: tree) }
            }
            next = stop
        }
        let stats = engine.statistics()
        // Per cell: 1-byte key length, 1-byte value length, 8 + 8 bytes, and a 2-byte slot.
        let usable = 4096 - NodeLayout.headerSize
        let cellsPerLeaf = usable / (1 + 1 + 8 + 8 + NodeLayout.slotSize)
        let leaves = (count + cellsPerLeaf - 1) / cellsPerLeaf
        // Interior cells: 4-byte child, 1-byte length, a separator of at most 8 bytes, a slot.
        let fanout = usable / (4 + 1 + 8 + NodeLayout.slotSize) + 1
        var ideal = leaves, level = leaves
        while level > 1 {
            level = (level + fanout - 1) / fanout
            ideal += level
        }
        let used = stats.pageCount - baseline.pageCount + 1 - stats.freePages  // + 1: the root page
        print("sequential fill, \(keysPerTransaction) keys per transaction: \(used) pages, ideal \(ideal) (\(leaves) leaves)")
        #expect(Double(used) <= 1.15 * Double(ideal), "tree uses \(used) pages, ideal \(ideal) (\(leaves) leaves)")
        try engine.read { tx throws in
            let report = try checkStructure(tx)
            #expect(report.entries["seq"] == count)
            #expect(report.treePages == used + 1, "catalog + tree")
            #expect(try tx.entries(tree, KeyRange(reverse: true), limit: 1).first?.key == key(count - 1))
        }
        try engine.close()
    }

    @Test("increasing runs inside leaves leave them mostly full")
    func interleavedRunsFill() throws {
        let directory = try TemporaryDirectory("gs-runs")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"), configuration: EngineConfiguration(pageSize: 4096, synchronous: .off))
        // An index on (guild, time): 50 guilds, each one's keys increasing, the guilds
        // interleaved at random, so every guild's run grows inside a leaf it shares.
        let count = 100_000, groups = 50
        var rng = SplitMix64(seed: 50)
        var next = [UInt64](repeating: 0, count: groups)
        let tree = try engine.write { tx in try tx.createTree("runs") }
        var inserted = 0
        while inserted < count {
            try engine.write { tx throws in
                for _ in 0..<1000 {
                    let group = Int.random(in: 0..<groups, using: &rng)
                    let key = [UInt8(group)] + bigEndianKey(next[group] * 3)
                    next[group] += 1
                    try tx.put(key, [], in: tree)
                }
            }
            inserted += 1000
        }
        // Per cell: 1-byte key length, 1-byte value length, 9 key bytes, and a 2-byte slot.
        let leaves = (count + 1) / ((4096 - NodeLayout.headerSize) / (1 + 1 + 9 + NodeLayout.slotSize))
        try engine.read { tx throws in
            let expected = (0..<groups).flatMap { group in (0..<next[group]).map { [UInt8(group)] + bigEndianKey($0 * 3) } }
            #expect(try tx.entries(tree).map(\.key) == expected)
            let report = try checkStructure(tx)
            let used = report.treePages - 1  // the catalog
            print("interleaved runs: \(used) pages for \(leaves) full leaves")
            #expect(Double(used) <= 1.25 * Double(leaves), "tree uses \(used) pages, \(leaves) full leaves")
        }
        try engine.close()
    }

    @Test("maximum-size keys with long shared prefixes", arguments: [4096, 16384])
    func maximumKeys(pageSize: Int) throws {
        let directory = try TemporaryDirectory("gs-bigkeys")
        defer { directory.remove() }
        let path = directory.file("k.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(pageSize: pageSize, synchronous: .off))
        let limit = engine.maxKeySize
        #expect(limit == StorageEngine.maximumKeySize(pageSize: pageSize))
        var rng = SplitMix64(seed: UInt64(pageSize))
        var reference = ReferenceMap()
        let tree = try engine.write { tx in try tx.createTree("k") }
        // Leaves store the keys' shared prefix once (BT-6), so hundreds of these keys fit a
        // leaf: enough of them that interior nodes of maximum-size separators split too.
        let perRound = max(400, pageSize / 8)
        for round in 0..<6 {
            try engine.write { tx throws in
                for _ in 0..<perRound {
                    // Keys differ only near their end, so separators are long too.
                    let length = Int.random(in: (limit - 40)...limit, using: &rng)
                    var key = [UInt8](repeating: 0xAB, count: length)
                    for i in (length - 6)..<length { key[i] = UInt8.random(in: 0...3, using: &rng) }
                    if Int.random(in: 0..<4, using: &rng) == 0, reference.count > 0 {
                        let victim = reference.keys[Int.random(in: 0..<reference.count, using: &rng)]
                        #expect(try tx.delete(victim, in: tree))
                        reference.remove(victim)
                        continue
                    }
                    let big = Int.random(in: 0..<10, using: &rng) == 0
                    let value = [UInt8](repeating: UInt8(round), count: big ? pageSize * 2 + 17 : Int.random(in: 0...300, using: &rng))
                    try tx.put(key, value, in: tree)
                    reference.put(key, value)
                }
            }
            try engine.read { tx throws in
                try compareTree(tx, tree, reference, context: "round \(round)")
                let report = try checkStructure(tx)
                if round == 5 { #expect(report.depth["k"]! >= 2, "depth \(report.depth["k"]!)") }
            }
        }
        // Delete everything: merges all the way up, and the root collapses to a leaf.
        try engine.write { tx throws in
            for key in reference.keys.shuffled(using: &rng) { #expect(try tx.delete(key, in: tree)) }
        }
        try engine.close()
        engine = try StorageEngine.open(path: path)
        try engine.read { tx throws in
            #expect(try tx.entries(tree).isEmpty)
            let report = try checkStructure(tx)
            #expect(report.depth["k"] == 0)
            #expect(report.treePages == 2)
            #expect(report.overflowPages == 0)
        }
        try engine.close()
    }
}

// MARK: - Shared helpers (reference map, comparisons, structure walk)

// Helpers shared by the B+tree model, cursor, overflow and checkpoint suites: a sorted
// in-memory reference map, fast byte comparisons for debug builds, and a structural checker
// that walks every tree and the free list through the engine's internal page accessors.

/// Thrown to stop a randomized test at its first divergence, with enough context to replay it.
struct ModelFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// memcmp order, as the engine sorts keys.
@inline(__always)
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareRaw(x, y) } }
}

@inline(__always)
func compareRaw(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Int {
    let n = min(x.count, y.count)
    if n > 0 {
        let c = memcmp(x.baseAddress!, y.baseAddress!, n)
        if c != 0 { return Int(c) }
    }
    return x.count - y.count
}

@inline(__always)
func sameBytes(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
    a.withUnsafeBytes { compareRaw($0, b) == 0 }
}

func hex(_ bytes: [UInt8], limit: Int = 24) -> String {
    let shown = bytes.prefix(limit).map { String(format: "%02x", $0) }.joined()
    return bytes.count > limit ? "\(shown)…(\(bytes.count) bytes)" : "\(shown)(\(bytes.count))"
}

/// A sorted key/value map: the reference the engine is compared with. A value type, so a
/// copy is a cheap snapshot (copy-on-write).
struct ReferenceMap {
    private(set) var keys: [[UInt8]] = []
    private(set) var values: [[UInt8]] = []

    var count: Int { keys.count }

    /// First index whose key is >= `key`, and whether it is equal.
    func lowerBound(_ key: [UInt8]) -> (index: Int, found: Bool) {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) >> 1
            let c = compareBytes(keys[mid], key)
            if c < 0 { low = mid + 1 } else if c > 0 { high = mid } else { return (mid, true) }
        }
        return (low, false)
    }

    /// First index whose key is > `key`.
    func upperBound(_ key: [UInt8]) -> Int {
        let (index, found) = lowerBound(key)
        return found ? index + 1 : index
    }

    func get(_ key: [UInt8]) -> [UInt8]? {
        let (index, found) = lowerBound(key)
        return found ? values[index] : nil
    }

    mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        let (index, found) = lowerBound(key)
        if found {
            values[index] = value
        } else {
            keys.insert(key, at: index)
            values.insert(value, at: index)
        }
    }

    @discardableResult
    mutating func remove(_ key: [UInt8]) -> Bool {
        let (index, found) = lowerBound(key)
        guard found else { return false }
        keys.remove(at: index)
        values.remove(at: index)
        return true
    }

    mutating func removeSubrange(_ range: Range<Int>) {
        keys.removeSubrange(range)
        values.removeSubrange(range)
    }

    mutating func removeAll() {
        keys.removeAll()
        values.removeAll()
    }

    /// The indices a `KeyRange` selects (ignoring `reverse`).
    func indices(_ range: KeyRange) -> Range<Int> {
        let low: Int
        switch range.lower {
        case nil: low = 0
        case .inclusive(let k): low = lowerBound(k).index
        case .exclusive(let k): low = upperBound(k)
        }
        let high: Int
        switch range.upper {
        case nil: high = keys.count
        case .inclusive(let k): high = upperBound(k)
        case .exclusive(let k): high = lowerBound(k).index
        }
        return low < high ? low..<high : low..<low
    }
}

/// Compares every entry of `tree` with `reference`, in order.
func compareTree(_ tx: Transaction, _ tree: Tree, _ reference: ReferenceMap, context: @autoclosure () -> String) throws {
    var i = 0
    var failure: String?
    try tx.scan(tree) { key, value in
        guard i < reference.count else {
            failure = "engine has extra key \(hex(Array(key))) at position \(i)"
            return false
        }
        guard sameBytes(reference.keys[i], key) else {
            failure = "position \(i): engine key \(hex(Array(key))), reference key \(hex(reference.keys[i]))"
            return false
        }
        guard sameBytes(reference.values[i], value) else {
            failure = "key \(hex(reference.keys[i])): engine value \(hex(Array(value))), reference value \(hex(reference.values[i]))"
            return false
        }
        i += 1
        return true
    }
    if failure == nil && i != reference.count {
        failure = "engine has \(i) entries, reference \(reference.count); first missing \(hex(reference.keys[i]))"
    }
    if let failure { throw ModelFailure("\(context()) tree \(tree.name): \(failure)") }
}

/// What `checkStructure` found.
struct StructureReport {
    var treePages = 0
    var overflowPages = 0
    var freePages = 0
    var entries: [String: Int] = [:]
    var depth: [String: Int] = [:]
    /// Non-root leaves without cells, and non-root interior nodes without keys (one child):
    /// legal, but pages the tree could give back.
    var emptyLeaves = 0
    var keylessInteriorNodes = 0
}

/// Walks the catalog, every tree, every overflow chain and the free list; checks the B+tree
/// invariants (BT-1 keys strictly increasing, BT-2 keys within their separators, all leaves at one
/// depth) and that every page of the file is used exactly once: header + trees + overflow +
/// free == pageCount.
func checkStructure(_ tx: Transaction) throws -> StructureReport {
    var report = StructureReport()
    var seen = Set<UInt32>([0])
    let header = tx.header

    func claim(_ page: UInt32, _ what: String) throws {
        guard page > 0, page < header.pageCount else {
            throw ModelFailure("\(what): page \(page) outside 1..<\(header.pageCount)")
        }
        guard seen.insert(page).inserted else { throw ModelFailure("\(what): page \(page) is used twice") }
    }

    func walk(_ page: UInt32, lower: [UInt8]?, upper: [UInt8]?, depth: Int, isRoot: Bool,
              leafDepth: inout Int?, name: String) throws -> Int {
        try claim(page, "tree \(name)")
        report.treePages += 1
        let (node, ref) = try tx.node(page)
        return try withExtendedLifetime(ref) {
            if !isRoot && node.count == 0 {
                if node.isLeaf { report.emptyLeaves += 1 } else { report.keylessInteriorNodes += 1 }
            }
            var previous: [UInt8]? = nil
            var keys: [[UInt8]] = []
            for i in 0..<node.count {
                let key = try node.withKey(i) { Array($0) }
                if let previous, compareBytes(previous, key) >= 0 {
                    throw ModelFailure("tree \(name) page \(page): key \(i) \(hex(key)) not above \(hex(previous)) (B1)")
                }
                if let lower, compareBytes(key, lower) < 0 {
                    throw ModelFailure("tree \(name) page \(page): key \(hex(key)) below separator \(hex(lower)) (B2)")
                }
                if let upper, compareBytes(key, upper) >= 0 {
                    throw ModelFailure("tree \(name) page \(page): key \(hex(key)) not below separator \(hex(upper)) (B2)")
                }
                previous = key
                keys.append(key)
            }
            if node.isLeaf {
                if let leafDepth, leafDepth != depth {
                    throw ModelFailure("tree \(name): leaves at depths \(leafDepth) and \(depth)")
                }
                leafDepth = depth
                for i in 0..<node.count {
                    let cell = try node.leafCell(i)
                    if cell.inlineValue == nil {
                        for p in try tx.overflowPages(first: cell.overflowPage, length: cell.valueLength) {
                            try claim(p, "overflow of \(name)")
                            report.overflowPages += 1
                        }
                    }
                }
                return node.count
            }
            var total = 0
            for i in 0...node.count {
                let low = i == 0 ? lower : keys[i - 1]
                let high = i == node.count ? upper : keys[i]
                total += try walk(try node.child(i), lower: low, upper: high, depth: depth + 1, isRoot: false,
                                  leafDepth: &leafDepth, name: name)
            }
            return total
        }
    }

    var catalogDepth: Int? = nil
    _ = try walk(header.catalogRoot, lower: nil, upper: nil, depth: 0, isRoot: true, leafDepth: &catalogDepth, name: "(catalog)")
    for tree in try tx.trees() {
        var leafDepth: Int? = nil
        report.entries[tree.name] = try walk(tree.root, lower: nil, upper: nil, depth: 0, isRoot: true,
                                             leafDepth: &leafDepth, name: tree.name)
        report.depth[tree.name] = leafDepth ?? 0
    }

    // The free list: trunks and their entries.
    var trunk = header.freeListHead
    var trunks = 0
    while trunk != 0 {
        try claim(trunk, "free-list trunk")
        report.freePages += 1
        trunks += 1
        let ref = try tx.page(trunk)
        let next: UInt32 = try withExtendedLifetime(ref) {
            guard ref.base.u8(4) == PageType.freeTrunk.rawValue else { throw ModelFailure("page \(trunk) on the free list is not a trunk") }
            let count = Int(ref.base.u32(12))
            for i in 0..<count {
                try claim(ref.base.u32(FreeListLayout.headerSize + 4 * i), "free-list entry")
                report.freePages += 1
            }
            return ref.base.u32(8)
        }
        trunk = next
    }
    guard report.freePages == Int(header.freePageCount) else {
        throw ModelFailure("free list holds \(report.freePages) pages, header says \(header.freePageCount)")
    }
    // Every page the header counts exists (in the WAL or the file) and passes its checksum.
    for page in 0..<header.pageCount {
        do {
            _ = try tx.page(page)
        } catch {
            throw ModelFailure("page \(page) of \(header.pageCount) cannot be read: \(error)")
        }
    }
    guard seen.count == Int(header.pageCount) else {
        let missing = (0..<header.pageCount).filter { !seen.contains($0) }
        throw ModelFailure("\(Int(header.pageCount) - seen.count) pages leaked (neither in a tree nor free): \(missing.prefix(20))")
    }
    return report
}
