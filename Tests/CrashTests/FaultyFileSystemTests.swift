import Foundation
import GuildStoreEngine
import Testing
import TestSupport

/// The test double itself: counting, injected failures, and the power-loss model.
@Suite("FaultyFileSystem")
struct FaultyFileSystemTests {
    func bytes(_ file: any FileHandleIO) throws -> [UInt8] {
        let size = Int(try file.size())
        var buffer = [UInt8](repeating: 0, count: size)
        _ = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        return buffer
    }

    func write(_ file: any FileHandleIO, _ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try file.write($0, at: offset) }
    }

    @Test("power loss drops exactly the unsynced writes and truncates, newest first")
    func powerLossRevertsUnsynced() throws {
        let directory = try TemporaryDirectory("gs-faulty")
        defer { directory.remove() }
        let plan = FaultPlan()
        let fs = FaultyFileSystem(plan)
        let path = directory.file("f")
        let file = try fs.open(path, create: true)
        try write(file, [1, 2, 3, 4, 5, 6], at: 0)
        try file.sync()
        try write(file, [9, 9], at: 2)          // overwrite, unsynced
        try write(file, [7, 7, 7], at: 5)       // overwrite and extend, unsynced
        try file.truncate(to: 3)                // shrink, unsynced
        try write(file, [8], at: 10)            // extend with a hole, unsynced
        #expect(try bytes(file) == [1, 2, 9, 0, 0, 0, 0, 0, 0, 0, 8])
        #expect(plan.counters(pathSuffix: "/f") == {
            var c = FaultPlan.FileCounters()
            c.writes = 4; c.bytesWritten = 12; c.syncs = 1; c.truncates = 1
            return c
        }())
        plan.simulatePowerLoss()
        #expect(try readFile(path) == [1, 2, 3, 4, 5, 6])
        // The crashed process's handles and file system are dead; a new one works.
        #expect(throws: GuildStoreError.self) { _ = try file.size() }
        #expect(throws: GuildStoreError.self) { try fs.remove(path) }
        #expect(throws: GuildStoreError.self) { _ = try fs.open(path, create: false) }
        let reopened = try FaultyFileSystem(plan).open(path, create: false)
        #expect(try bytes(reopened) == [1, 2, 3, 4, 5, 6])
        try reopened.close()
    }

    @Test("a crash countdown lets k operations through, then fails everything and loses power")
    func crashCountdown() throws {
        let directory = try TemporaryDirectory("gs-faulty")
        defer { directory.remove() }
        let plan = FaultPlan()
        let fs = FaultyFileSystem(plan)
        let file = try fs.open(directory.file("f"), create: true)
        try file.lockExclusive()
        plan.crash(afterOperations: 3)
        try write(file, [1], at: 0)   // 1
        try file.sync()               // 2
        try write(file, [2], at: 1)   // 3
        #expect(!plan.hasCrashed)
        #expect(throws: GuildStoreError.self) { try file.sync() }  // 4: crash
        #expect(plan.hasCrashed)
        #expect(throws: GuildStoreError.self) { try write(file, [3], at: 2) }
        #expect(throws: GuildStoreError.self) { try file.close() }
        #expect(try readFile(directory.file("f")) == [1])
        // The dead handle released its lock.
        let again = try PosixFileSystem().open(directory.file("f"), create: false)
        try again.lockExclusive()
        try again.close()
        #expect(plan.counters.operations == 3)
    }

    @Test("injected write failures, torn writes, disk full and sync failures")
    func injectedFailures() throws {
        let directory = try TemporaryDirectory("gs-faulty")
        defer { directory.remove() }
        let plan = FaultPlan()
        let fs = FaultyFileSystem(plan)
        let wal = try fs.open(directory.file("x-wal"), create: true)
        let db = try fs.open(directory.file("x"), create: true)

        plan.failWrite(2, pathSuffix: "-wal")
        try write(db, [1], at: 0)                      // does not match the suffix
        try write(wal, [1], at: 0)                     // first matching write
        #expect(throws: GuildStoreError.io(operation: "pwrite (injected)", path: directory.file("x-wal"), errno: EIO)) {
            try write(wal, [2], at: 1)
        }
        #expect(try bytes(wal) == [1])
        try write(wal, [2], at: 1)                     // fires once

        plan.failWrite(as: .torn(keeping: 2))
        #expect(throws: GuildStoreError.self) { try write(db, [5, 6, 7, 8], at: 0) }
        #expect(try bytes(db) == [5, 6])

        plan.setDiskBudget(3)
        try write(db, [1], at: 0)
        #expect(throws: GuildStoreError.diskFull(path: directory.file("x"))) { try write(db, [1, 2, 3], at: 4) }
        #expect(try bytes(db) == [1, 6, 0, 0, 1, 2])
        #expect(throws: GuildStoreError.diskFull(path: directory.file("x"))) { try write(db, [1], at: 0) }
        plan.setDiskBudget(nil)

        plan.failSync(pathSuffix: "-wal")
        try db.sync()
        #expect(throws: GuildStoreError.self) { try wal.sync() }
        // The failed sync left the WAL's writes volatile: a power loss drops them.
        plan.simulatePowerLoss()
        #expect(try readFile(directory.file("x-wal")) == [])
        #expect(try readFile(directory.file("x")) == [1, 6, 0, 0, 1, 2])
        let counters = plan.counters
        #expect(counters.writes == 8 && counters.syncs == 2 && counters.powerLosses == 1)
    }

    @Test("keepSomeUnsynced keeps whole sectors of unsynced writes and never touches synced data",
          arguments: UInt64(0)..<20)
    func keepSomeUnsynced(seed: UInt64) throws {
        let directory = try TemporaryDirectory("gs-faulty")
        defer { directory.remove() }
        let plan = FaultPlan()
        let file = try FaultyFileSystem(plan).open(directory.file("f"), create: true)
        let synced = makeValue(tag: 1, length: 8192)
        try write(file, synced, at: 0)
        try file.sync()
        let unsynced = makeValue(tag: 2, length: 4096 + 700)
        try write(file, unsynced, at: 100)
        plan.simulatePowerLoss(.keepSomeUnsynced(seed: seed))
        let after = try readFile(directory.file("f"))
        #expect(after.count == 8192)
        // Bytes outside the unsynced write are the synced ones; inside it, each 512-byte
        // sector is wholly old or wholly new.
        #expect(after[0..<100] == synced[0..<100], "seed \(seed)")
        #expect(after[4896...] == synced[4896...], "seed \(seed)")
        var sector = 0
        while sector < 8192 {
            let lower = max(sector, 100), upper = min(sector + 512, 4896)
            if lower < upper {
                let range = lower..<upper
                let old = after[range] == synced[range]
                let new = Array(after[range]) == Array(unsynced[(range.lowerBound - 100)..<(range.upperBound - 100)])
                #expect(old || new, "seed \(seed): sector at \(sector) is neither old nor new")
            }
            sector += 512
        }
    }

    @Test("simulatePowerLoss(keepingWhole:) keeps exactly the chosen changes")
    func keepingWhole() throws {
        let directory = try TemporaryDirectory("gs-faulty")
        defer { directory.remove() }
        let plan = FaultPlan()
        let file = try FaultyFileSystem(plan).open(directory.file("f"), create: true)
        try write(file, [1, 1, 1, 1], at: 0)
        try file.sync()
        try write(file, [2], at: 0)
        try write(file, [3], at: 2)
        try write(file, [4, 4], at: 4)
        plan.simulatePowerLoss { $0.offset >= 2 }
        #expect(try readFile(directory.file("f")) == [1, 1, 3, 1, 4, 4])
    }

    @Test("rename carries unsynced writes to the new name; remove forgets them")
    func renameAndRemove() throws {
        let directory = try TemporaryDirectory("gs-faulty")
        defer { directory.remove() }
        let plan = FaultPlan()
        let fs = FaultyFileSystem(plan)
        let a = try fs.open(directory.file("a"), create: true)
        try write(a, [1, 2], at: 0)
        try a.close()
        try fs.rename(directory.file("a"), to: directory.file("b"))
        let c = try fs.open(directory.file("c"), create: true)
        try write(c, [3], at: 0)
        try c.close()
        try fs.remove(directory.file("c"))
        plan.simulatePowerLoss()
        #expect(!fs.exists(directory.file("a")))
        #expect(try readFile(directory.file("b")) == [])   // created (durable), never synced
        #expect(!fs.exists(directory.file("c")))
    }
}
