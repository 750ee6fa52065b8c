import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// WAL-6: commits are numbered from 1 over the database's life, and carry times that never go
/// backwards, across checkpoints, restarts of the log, truncation, clean closes and crashes.
@Suite("Commit numbers and times")
struct CommitNumberTests {
    static let configuration = EngineConfiguration(synchronous: .full, checkpointThreshold: 0, mapReservation: 1 << 24)

    static func commit(_ engine: StorageEngine, _ key: UInt64) throws {
        try engine.write { tx in try tx.put(bigEndianKey(key), [UInt8(truncatingIfNeeded: key)], in: try tx.openTree("t")) }
    }

    @Test("numbers count every commit, through restarts, truncation, close and reopen; times never decrease")
    func numbersAcrossRestarts() throws {
        let directory = try TemporaryDirectory("gs-commit-numbers")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        #expect(engine.publishedStamp == .none)
        var stamps: [CommitStamp] = []
        var key: UInt64 = 0
        func commitAndRecord() throws {
            key += 1
            try Self.commit(engine, key)
            stamps.append(engine.publishedStamp)
        }
        for _ in 0..<3 { try commitAndRecord() }
        #expect(try engine.checkpoint(.full).walRestarted)
        for _ in 0..<2 { try commitAndRecord() }
        #expect(try engine.checkpoint(.truncate).walRestarted)
        try commitAndRecord()
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        #expect(engine.publishedStamp == stamps.last, "a reopen goes on from the log")
        try commitAndRecord()
        _ = try engine.checkpoint(.truncate)
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        #expect(engine.publishedStamp == stamps.last, "a truncated log keeps the number in its header")
        try commitAndRecord()
        try engine.close()

        #expect(stamps.map(\.number) == Array(1...UInt64(stamps.count)))
        #expect(zip(stamps, stamps.dropFirst()).allSatisfy { $0.time <= $1.time })
        let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        #expect(stamps.allSatisfy { $0.time > now - 600_000_000 && $0.time <= now })
    }

    @Test("a snapshot carries the number and time of the commit it shows, while later commits go on")
    func snapshotStamp() throws {
        let directory = try TemporaryDirectory("gs-commit-snapshot")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("db.gsdb"), configuration: Self.configuration)
        defer { try? engine.close() }
        try Self.commit(engine, 1)
        try Self.commit(engine, 2)
        let reader = try engine.beginRead()
        let pinned = engine.publishedStamp
        try Self.commit(engine, 3)
        #expect(reader.snapshot.stamp == pinned && pinned.number == 2)
        #expect(engine.publishedStamp.number == 3)
        reader.end()
    }

    @Test("crash recovery counts the commits the log holds: the number after a crash is the last recovered commit's")
    func numbersAfterCrash() throws {
        let directory = try TemporaryDirectory("gs-commit-crash")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        for key in 1...4 { try Self.commit(engine, UInt64(key)) }
        _ = try engine.checkpoint(.full)
        for key in 5...7 { try Self.commit(engine, UInt64(key)) }
        let expected = engine.publishedStamp
        // A crash: the files as they are, copied while the engine still holds them.
        let copy = directory.file("copy.gsdb")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
        try engine.close()
        let recovered = try StorageEngine.open(path: copy, configuration: Self.configuration)
        defer { try? recovered.close() }
        #expect(recovered.publishedStamp == expected && expected.number == 7)
    }

    @Test("WAL-7: a log left beside a file that replaced its own is never replayed over it")
    func staleLogIgnored() throws {
        let directory = try TemporaryDirectory("gs-stale-log")
        defer { directory.remove() }
        let path = directory.file("db.gsdb"), other = directory.file("other.gsdb")
        let first = try StorageEngine.open(path: path, configuration: Self.configuration)
        for key in 1...5 { try Self.commit(first, UInt64(key)) }
        try first.close()  // the commits stay in db.gsdb-wal
        let second = try StorageEngine.open(path: other, configuration: Self.configuration)
        try Self.commit(second, 100)
        _ = try second.checkpoint(.truncate)
        try second.close()
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: other, toPath: path)

        let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? reopened.close() }
        #expect(reopened.walRecovery.staleLogIgnored)
        #expect(reopened.walRecoveryNotice?.contains("not replayed") == true)
        let keys = try reopened.read { tx in
            var keys: [[UInt8]] = []
            try tx.scan(try #require(try tx.tree("t"))) { key, _ in keys.append(Array(key)); return true }
            return keys
        }
        #expect(keys == [bigEndianKey(100)])
        #expect(try reopened.check().isOK)
    }

    @Test("vacuum keeps the identity and the numbering: the next commit after it is the next number")
    func vacuumKeepsNumbering() throws {
        let directory = try TemporaryDirectory("gs-vacuum-numbers")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        var engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        for key in 1...6 { try Self.commit(engine, UInt64(key)) }
        let identity = try engine.read { $0.snapshot.header.identity }
        let nonce = try engine.read { $0.snapshot.header.fileNonce }
        _ = try engine.vacuum()
        #expect(try engine.read { $0.snapshot.header.identity } == identity)
        #expect(try engine.read { $0.snapshot.header.fileNonce } != nonce, "a vacuumed file is a new file")
        try Self.commit(engine, 7)
        #expect(engine.publishedStamp.number == 7)
        try engine.close()
        engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        #expect(engine.publishedStamp.number == 7 && !engine.walRecovery.staleLogIgnored)
        try engine.close()
    }

    @Test("DISK-10: a log header whose commit number is beyond any database's life is damaged, never a trap on the next commit",
          arguments: [UInt64.max, UInt64.max - 1, CommitStamp.maximumNumber])
    func hugeCommitNumber(commitsBefore: UInt64) throws {
        let directory = try TemporaryDirectory("gs-commit-huge")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try Self.commit(engine, 1)
        _ = try engine.checkpoint(.truncate)  // the log is its header alone
        try engine.close()
        var wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
        wal.withUnsafeMutableBytes { raw in
            raw.baseAddress!.setU64(32, commitsBefore)
            raw.baseAddress!.setU32(56, crc32c(UnsafeRawBufferPointer(start: raw.baseAddress!, count: 56)))
        }
        try Data(wal).write(to: URL(fileURLWithPath: path + "-wal"))
        let reopened = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? reopened.close() }
        #expect(reopened.publishedStamp.number < CommitStamp.maximumNumber)
        try Self.commit(reopened, 2)
        #expect(try reopened.check().isOK)
    }
}
