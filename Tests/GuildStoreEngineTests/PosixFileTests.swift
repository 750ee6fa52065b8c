#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildStoreEngine

@Suite("POSIX file layer")
struct PosixFileTests {
    @Test("a vectored write of more pieces than one pwritev takes lands byte for byte, empty pieces included")
    func vectoredWrite() throws {
        let directory = try TemporaryDirectory("posix-file")
        defer { directory.remove() }
        let file = try PosixFileSystem().open(directory.file("f"), create: true)
        defer { try? file.close() }
        // 3,000 pieces (IOV_MAX is 1,024) of 0-40 bytes, every byte numbered.
        var random = SplitMix64(seed: 0x10F)
        let sizes = (0..<3_000).map { _ in Int(random.next() % 41) }
        let expected = (0..<sizes.reduce(0, +)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try expected.withUnsafeBytes { all in
            var pieces: [UnsafeRawBufferPointer] = []
            var start = 0
            for size in sizes {
                pieces.append(UnsafeRawBufferPointer(rebasing: all[start..<(start + size)]))
                start += size
            }
            try file.write(pieces, at: 100)
        }
        #expect(try file.size() == Int64(100 + expected.count))
        var back = [UInt8](repeating: 0xEE, count: expected.count + 100)
        let read = try back.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        #expect(read == expected.count + 100)
        #expect(Array(back[..<100]) == [UInt8](repeating: 0, count: 100))
        #expect(Array(back[100...]) == expected)
    }

    @Test("a lock freed within a moment is taken (a spawned child's copy of it lives until exec); one held on is refused")
    func lockPatience() throws {
        let directory = try TemporaryDirectory("posix-lock")
        defer { directory.remove() }
        let path = directory.file("f")
        let files = PosixFileSystem()
        let holder = try files.open(path, create: true)
        try holder.lockExclusive()
        let waiting = try files.open(path, create: false)
        defer { try? waiting.close() }
        // A thread of its own: the retry sleeps on this one. The wait is given minutes of
        // patience, so a loaded machine that runs the releasing thread late cannot fail it.
        let released = Locked(false)
        Thread.detachNewThread {
            usleep(40_000)
            released.withLock { $0 = true }  // before the close: the lock cannot be taken earlier
            try? holder.close()
        }
        try #require(waiting as? PosixFile).lockExclusive(patience: .seconds(300))  // retried until the holder lets go
        #expect(released.withLock { $0 })
        let refused = try files.open(path, create: false)
        defer { try? refused.close() }
        let start = ContinuousClock.now
        #expect(throws: GuildStoreError.locked(path: path, holders: [thisProcessAsLockHolder()])) { try refused.lockExclusive() }
        #expect(ContinuousClock.now - start >= PosixFile.lockPatience)
    }

    @Test("a lock's holders are found while other locks come and go (the kernel hands its lock table out a page per read)")
    func lockHoldersWhileLocksChange() throws {
        let directory = try TemporaryDirectory("posix-lock-table")
        defer { directory.remove() }
        let path = directory.file("held")
        let held = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        try #require(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0)
        defer { close(held) }
        // 400 other locks, taken and released over and over by a thread of its own: the table
        // spans several pages, and entries listed before this one keep leaving and returning.
        let others = (0..<400).map { Glibc.open(directory.file("other-\($0)"), O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        try #require(others.allSatisfy { $0 >= 0 })
        defer { for fd in others { close(fd) } }
        let stop = Locked(false)
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            while !stop.withLock({ $0 }) {
                for fd in others { flock(fd, LOCK_EX | LOCK_NB) }
                for fd in others { flock(fd, LOCK_UN) }
            }
            stopped.signal()
        }
        var missed = 0
        for _ in 0..<500 where LockHolder.flockHolders(of: held) != [thisProcessAsLockHolder()] { missed += 1 }
        stop.withLock { $0 = true }
        stopped.wait()
        #expect(missed == 0, "the holder was missing from \(missed) of 500 lookups")
    }
}
