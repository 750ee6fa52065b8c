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

    @Test("a read-only opening sees the commits made before it opened, holds back every checkpoint until it closes, and the owner goes on committing")
    func holdsBackCheckpoints() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("owner.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try insert(0..<300, into: owner)
        _ = try owner.checkpoint(.truncate)
        try insert(300..<400, into: owner)  // in the log only

        let reader = try readOnly(path)
        #expect(try keys(reader) == Array(0..<400))
        try insert(400..<700, into: owner)
        let fileBefore = try Data(contentsOf: URL(fileURLWithPath: path))

        for mode in [CheckpointMode.passive, .full, .truncate] {
            let result = try owner.checkpoint(mode, timeout: .milliseconds(20))
            #expect(result.blockedByReaders, "\(mode)")
            #expect(!result.walRestarted, "\(mode)")
        }
        #expect(owner.statistics().checkpointsHeldByReadOnlyOpenings == 3)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == fileBefore, "no checkpoint wrote the file under the reader")
        #expect(try keys(reader) == Array(0..<400))
        #expect(try reader.check().isOK)
        #expect(reader.statistics().readOnly)
        #expect(try keys(owner) == Array(0..<700))

        try reader.close()
        let result = try owner.checkpoint(.truncate)
        #expect(!result.blockedByReaders && result.walRestarted)
        let later = try readOnly(path)
        #expect(try keys(later) == Array(0..<700))
        try later.close()
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

    @Test("vacuum and restore refuse while a read-only opening reads the database, naming its process")
    func replacingRefusesReaders() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("replace.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try insert(0..<100, into: owner)
        let backup = directory.file("replace.gsbackup")
        _ = try owner.writeBackup(to: backup, parent: nil, progress: nil)
        try insert(100..<120, into: owner)

        let reader = try readOnly(path)
        let us = "pid \(getpid())"
        do {
            _ = try owner.vacuum()
            Issue.record("vacuum ran under a read-only opening")
        } catch GuildStoreError.busy(let message) {
            #expect(message.contains("vacuum") && message.contains(us), "\(message)")
        }
        #expect(try keys(owner) == Array(0..<120))
        try owner.close()

        do {
            _ = try Database.restore(from: [backup], to: path, force: true)
            Issue.record("restore replaced a database a read-only opening reads")
        } catch GuildStoreError.busy(let message) {
            #expect(message.contains("restore") && message.contains(us), "\(message)")
        }
        #expect(try keys(reader) == Array(0..<120))
        try reader.close()

        // Once it has closed, both go ahead.
        let reopened = try StorageEngine.open(path: path)
        _ = try reopened.vacuum()
        try reopened.close()
        _ = try Database.restore(from: [backup], to: path, force: true)
        let restored = try readOnly(path)
        #expect(try keys(restored) == Array(0..<100))
        try restored.close()
    }

    /// Openings come and go while the owner commits and checkpoints: each must find the log
    /// whole up to a commit (the owner's append in progress is a torn tail to it, never a
    /// damaged log), and the checkpoints in between must wait for it or finish before it reads.
    @Test("read-only openings while the owner commits and checkpoints: every one sees the same total")
    func bankInvariantAcrossOpenings() throws {
        let directory = try TemporaryDirectory("gs-readonly")
        defer { directory.remove() }
        let path = directory.file("bank.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 64))
        let accounts: UInt64 = 100, initial: UInt64 = 1_000
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
        let readerWork: @Sendable () -> Void = {
            repeat {
                do {
                    let reader = try readOnly(path)
                    let total = try reader.read { tx -> UInt64? in
                        guard let tree = try tx.tree("accounts") else { return nil }
                        var sum: UInt64 = 0
                        try tx.scan(tree) { _, value in
                            sum += amount(Array(value))
                            return true
                        }
                        return sum
                    }
                    try reader.close()
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
