import Dispatch
import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Read-only openings (RO-1): a second opening of a database, usually another process's
/// (`guildstore stats` beside a bot), that sees the database as of its open and keeps the
/// owner from changing what it reads. Two openings in one process hold separate open file
/// descriptions, whose locks conflict exactly as two processes' do, so these tests run both
/// sides here; `CLITests/LiveDatabaseTests` runs them as separate processes.
@Suite("Read-only openings beside the owner")
struct ReadOnlyOpeningTests {
    private func readOnly(_ path: String) throws -> StorageEngine {
        try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
    }

    private func keys(_ engine: StorageEngine) throws -> [UInt64] {
        try engine.read { tx in
            guard let tree = try tx.tree("t") else { return [] }
            return try tx.entries(tree).map { $0.key.reduce(0) { $0 << 8 | UInt64($1) } }
        }
    }

    private func insert(_ range: Range<UInt64>, into engine: StorageEngine) throws {
        try engine.write { tx in
            let tree = try tx.tree("t") ?? tx.createTree("t")
            for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * 3), in: tree) }
        }
    }

    private func values(_ engine: StorageEngine) throws -> [UInt64: UInt64] {
        try engine.read { tx in try values(tx) }
    }

    /// Tree "t" as big-endian keys and values (empty without the tree).
    static func values(_ tx: ReadTransaction) throws -> [UInt64: UInt64] {
        guard let tree = try tx.tree("t") else { return [:] }
        var found: [UInt64: UInt64] = [:]
        for entry in try tx.entries(tree) {
            found[entry.key.reduce(0) { $0 << 8 | UInt64($1) }] = entry.value.reduce(0) { $0 << 8 | UInt64($1) }
        }
        return found
    }

    private func values(_ tx: ReadTransaction) throws -> [UInt64: UInt64] {
        try Self.values(tx)
    }

    private func put(_ range: Range<UInt64>, times factor: UInt64, into engine: StorageEngine) throws {
        try engine.write { tx in
            let tree = try tx.tree("t") ?? tx.createTree("t")
            for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * factor), in: tree) }
        }
    }

    /// RM-1. The snapshot reads the first 2,000 keys' leaves from the file and the rest from
    /// the log, where one transaction wrote the rest three times over; with a small cache it
    /// spills (TS-1), leaving dead frames, so the log holds more frames than its commits have
    /// sequences. The owner then rewrites the first 2,000 keys. Checkpoints must copy exactly
    /// the commits the snapshot reads (its mark), which changes the file under it, and nothing
    /// past them: no mark, or a mark taken as a count of sequences, copies the rewritten
    /// leaves into the file the snapshot reads and fails the values check.
    @Test("a read-only opening's live snapshot: checkpoints copy the commits it reads, never past them, and restart the log only once it ends; between snapshots it follows", arguments: [false, true])
    func checkpointsStopAtTheMark(spilling: Bool) throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("owner.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(
            checkpointThreshold: 0, transactionCacheBytes: spilling ? 4 * 4096 : 64 << 20))
        try put(0..<6_000, times: 3, into: owner)
        _ = try owner.checkpoint(.truncate)
        try owner.write { tx in  // in the log only
            let tree = try tx.openTree("t")
            for _ in 0..<3 {
                for key in UInt64(2_000)..<6_400 { try tx.put(bigEndianKey(key), bigEndianKey(key * 3), in: tree) }
            }
        }
        let framesRead = owner.walFrameCount
        #expect(spilling == (owner.statistics().spilledPages > 0))

        let reader = try readOnly(path)
        let pinned = try reader.beginRead()
        let expected = Dictionary(uniqueKeysWithValues: (0..<UInt64(6_400)).map { ($0, $0 * 3) })
        #expect(try values(pinned) == expected)
        try put(0..<2_000, times: 5, into: owner)  // rewrites the leaves the snapshot reads from the file
        try put(6_400..<6_700, times: 3, into: owner)
        let fileBefore = try Data(contentsOf: URL(fileURLWithPath: path))
        for mode in [CheckpointMode.passive, .full, .truncate] {
            let result = try owner.checkpoint(mode, timeout: .milliseconds(20))
            #expect(result.blockedByReaders, "\(mode)")
            #expect(!result.walRestarted, "\(mode)")
            #expect(result.framesCheckpointed <= framesRead && result.framesCheckpointed > 0, "\(mode): \(result)")
        }
        #expect(owner.statistics().checkpointsHeldByReadOnlyOpenings == 3)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) != fileBefore, "the commits the snapshot reads were copied")
        #expect(try values(pinned) == expected, "the pinned snapshot keeps its view")
        #expect(try values(reader) == expected, "a snapshot begun while another is live shares the catch-up of the first")
        #expect(try reader.check().isOK)
        #expect(reader.statistics().readOnly)
        pinned.end()

        // Idle, the opening holds nothing back; its next snapshot catches up.
        var now = Dictionary(uniqueKeysWithValues: (0..<UInt64(6_700)).map { ($0, $0 < 2_000 ? $0 * 5 : $0 * 3) })
        #expect(try values(reader) == now)
        let copied = try owner.checkpoint(.passive)
        #expect(!copied.blockedByReaders && owner.state.withLock { $0.backfilled == $0.lastCommit }, "everything copied: \(copied)")
        #expect(try values(reader) == now)
        let truncated = try owner.checkpoint(.truncate)
        #expect(!truncated.blockedByReaders && owner.statistics().walFrames == 0, "the log restarted")
        try put(6_700..<6_750, times: 3, into: owner)  // into the new generation of the log
        for key in UInt64(6_700)..<6_750 { now[key] = key * 3 }
        #expect(try values(reader) == now)
        #expect(reader.statistics().commitNumber == owner.statistics().commitNumber)
        #expect(try reader.check().isOK)
        try reader.close()
        try owner.close()
    }

    /// RO-3: a checkpoint that announced its intent keeps new snapshots of read-only openings
    /// out while it waits for the live ones, so readers whose snapshots follow one another
    /// without a gap cannot starve it. Checked without timing: the intent is seen through a
    /// descriptor of the test's own before a new snapshot is tried, and the live snapshot the
    /// checkpoint waits for ends only after that.
    @Test("a waiting checkpoint's intent keeps new read-only snapshots out; it runs once the live one ends")
    func checkpointIntentKeepsNewSnapshotsOut() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("intent.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try insert(0..<100, into: owner)
        let reader = try readOnly(path)
        let pinned = try reader.beginRead()
        try insert(100..<200, into: owner)

        let result = Locked<CheckpointResult?>(nil)
        let finished = DispatchGroup()
        finished.enter()
        Thread.detachNewThread {
            defer { finished.leave() }
            result.withLock { $0 = try? owner.checkpoint(.full, timeout: .seconds(300)) }
        }
        let probe = try PosixFileSystem().openForReading(path)
        defer { try? probe.close() }
        // Until the owner holds the intent byte, a shared lock on it is granted (and given back).
        while try probe.lockCheckpointIntent(.shared) {
            _ = try probe.lockCheckpointIntent(.none)
            usleep(100)
        }
        let newcomer = try PosixFileSystem().openForReading(path)
        defer { try? newcomer.close() }
        #expect(throws: GuildStoreError.self, "a new snapshot waits while the checkpoint wants the byte") {
            try ReaderLock.takeShared(newcomer, patience: .zero)
        }
        #expect(try pinned.entries(try #require(try pinned.tree("t"))).count == 100)
        pinned.end()
        finished.wait()
        let done = try #require(result.withLock { $0 })
        #expect(!done.blockedByReaders && owner.statistics().walFrames == 0, "\(done)")
        try ReaderLock.takeShared(newcomer, patience: .seconds(300))
        _ = try newcomer.lockReaders(.none)
        #expect(try keys(reader) == Array(0..<200))
        try reader.close()
        try owner.close()
    }

    @Test("a read-only opening writes nothing and creates nothing: writes, checkpoints and vacuums answer .readOnlyDatabase")
    func writesNothing() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let missing = directory.file("missing.gsdb")
        #expect(throws: GuildStoreError.databaseNotFound(path: missing)) { _ = try readOnly(missing) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)

        // A database whose last commits are in its log only (closed without a checkpoint).
        let path = directory.file("closed.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try insert(0..<50, into: owner)
        _ = try owner.checkpoint(.truncate)
        try insert(50..<80, into: owner)
        try owner.close()
        let files = [path, path + "-wal"]
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }

        let reader = try readOnly(path)
        #expect(try keys(reader) == Array(0..<80))
        #expect(throws: GuildStoreError.readOnlyDatabase(path: path)) { try insert(80..<81, into: reader) }
        #expect(throws: GuildStoreError.readOnlyDatabase(path: path)) { _ = try reader.checkpoint(.truncate) }
        #expect(throws: GuildStoreError.readOnlyDatabase(path: path)) { _ = try reader.vacuum() }
        try reader.close()
        #expect(try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)

        // Without a log: none is made.
        try FileManager.default.removeItem(atPath: path + "-wal")
        let bare = try readOnly(path)
        #expect(try keys(bare) == Array(0..<50))
        try bare.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test("vacuum and restore refuse while a read-only opening is open, with a snapshot or idle, naming its process, and run once it closes; a file replaced from outside is .databaseReplacedSinceOpen")
    func replacingRefusesReaders() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("replace.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try insert(0..<100, into: owner)
        let backup = directory.file("replace.gsbackup")
        _ = try owner.writeBackup(to: backup, parent: nil, progress: nil)
        try insert(100..<120, into: owner)

        let us = "pid \(getpid())"
        func expectRefused(_ operation: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(operation) replaced the database under a read-only opening")
            } catch GuildStoreError.busy(let message) {
                #expect(message.contains(operation) && message.contains(us), "\(message)")
            } catch {
                Issue.record("\(operation): \(error)")
            }
        }
        let reader = try readOnly(path)
        var pinned = try reader.beginRead()
        expectRefused("vacuum") { _ = try owner.vacuum() }
        #expect(try keys(owner) == Array(0..<120))
        pinned.end()
        // RO-4: idle, the opening still has the file open.
        expectRefused("vacuum") { _ = try owner.vacuum() }
        #expect(try keys(reader) == Array(0..<120), "the opening reads on, the file unchanged")
        try reader.close()
        _ = try owner.vacuum()
        try owner.close()

        let second = try readOnly(path)
        #expect(try keys(second) == Array(0..<120))
        pinned = try second.beginRead()
        expectRefused("restore") { _ = try Database.restore(from: [backup], to: path, force: true) }
        pinned.end()
        expectRefused("restore") { _ = try Database.restore(from: [backup], to: path, force: true) }
        #expect(try keys(second) == Array(0..<120))
        try second.close()
        _ = try Database.restore(from: [backup], to: path, force: true)
        let restored = try readOnly(path)
        #expect(try keys(restored) == Array(0..<100))

        // What RO-4 cannot stop: a file put at the path from outside the engine. Once the log
        // changes, the opening catches up, finds another file at the path, and never reads it
        // as the one it opened.
        let newOwner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try insert(100..<110, into: newOwner)
        #expect(try keys(restored) == Array(0..<110))
        let outside = directory.file("outside.gsdb")
        try FileManager.default.copyItem(atPath: path, toPath: outside)
        #expect(rename(outside, path) == 0)
        try insert(110..<120, into: newOwner)
        #expect(throws: GuildStoreError.databaseReplacedSinceOpen(path: path)) { _ = try keys(restored) }
        try restored.close()
        try newOwner.close()
    }

    /// Openings come and go, and one stays open reading again and again, while the owner
    /// commits and checkpoints: each catch-up must find the log whole up to a commit (the
    /// owner's append in progress is a torn tail to it, never a damaged log), and the
    /// checkpoints in between copy only what the live snapshots read from the log (RM-1) and
    /// restart the log only between them.
    @Test("read-only openings while the owner commits and checkpoints: every snapshot sees the same total, and a long-lived opening follows")
    func bankInvariantAcrossOpenings() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("bank.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 64))
        // Enough accounts for a dozen leaves: a snapshot reads some from the log and some from
        // the file, which the owner's automatic checkpoints copy into under it (RM-1).
        let accounts: UInt64 = 3_000, initial: UInt64 = 1_000
        try owner.write { tx in
            let tree = try tx.createTree("accounts")
            for account in 0..<accounts { try tx.put(bigEndianKey(account), bigEndianKey(initial), in: tree) }
        }
        let done = Locked(false)
        let failures = Locked<[String]>([])
        let openings = Locked(0)
        let ownerWork: @Sendable () -> Void = {
            var generator = SplitMix64(seed: 7)
            do {
                for n in 0..<2_000 {
                    try owner.write { tx in
                        let tree = try tx.openTree("accounts")
                        let from = bigEndianKey(UInt64.random(in: 0..<accounts, using: &generator))
                        let to = bigEndianKey(UInt64.random(in: 0..<accounts, using: &generator))
                        let a = amount(try tx.get(from, in: tree))
                        let moved = min(a, UInt64.random(in: 0...40, using: &generator))
                        try tx.put(from, bigEndianKey(a - moved), in: tree)
                        try tx.put(to, bigEndianKey(amount(try tx.get(to, in: tree)) + moved), in: tree)
                    }
                    if n % 400 == 399 { _ = try owner.checkpoint(.truncate, timeout: .milliseconds(20)) }
                }
            } catch {
                failures.withLock { $0.append("owner: \(error)") }
            }
            done.withLock { $0 = true }
        }
        let followed = Locked<[UInt64]>([])
        let longLived = try readOnly(path)
        let readerWork: @Sendable () -> Void = {
            repeat {
                do {
                    // The long-lived opening every other round, a fresh one in between.
                    let fresh = openings.withLock { $0 } % 2 == 0
                    let reader = fresh ? try readOnly(path) : longLived
                    let total = try reader.read { tx -> UInt64? in
                        guard let tree = try tx.tree("accounts") else { return nil }
                        var sum: UInt64 = 0
                        try tx.scan(tree) { _, value in
                            sum += amount(Array(value))
                            return true
                        }
                        return sum
                    }
                    if fresh { try reader.close() } else { followed.withLock { $0.append(reader.statistics().commitNumber) } }
                    if total != accounts * initial { failures.withLock { $0.append("an opening saw \(String(describing: total))") } }
                    openings.withLock { $0 += 1 }
                } catch {
                    failures.withLock { $0.append("opening: \(error)") }
                    return
                }
            } while !done.withLock { $0 }
        }
        // Real threads, so openings meet the owner's appends and checkpoints wherever the
        // scheduler puts them.
        let finished = DispatchGroup()
        for work in [ownerWork, readerWork] {
            finished.enter()
            Thread {
                defer { finished.leave() }
                work()
            }.start()
        }
        finished.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
        #expect(openings.withLock { $0 } > 0)
        let seen = followed.withLock { $0 }
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 }, "the long-lived opening never goes back")
        #expect(try longLived.read { tx in try tx.entries(try #require(try tx.tree("accounts"))).count } == Int(accounts))
        #expect(longLived.statistics().commitNumber == owner.statistics().commitNumber, "idle, it caught up with the last commit")
        try longLived.close()
        #expect(try owner.check().isOK)
        _ = try owner.checkpoint(.truncate)
        try owner.close()
        let last = try readOnly(path)
        #expect(try last.check().isOK)
        try last.close()
    }
}

private func amount(_ bytes: [UInt8]?) -> UInt64 {
    guard let bytes, bytes.count == 8 else { return 0 }
    return bytes.reduce(0) { $0 << 8 | UInt64($1) }
}
