import CGuildStoreSupport
import Foundation
@_spi(Benchmarks) @testable import GuildStoreEngine
import Testing
import TestSupport

/// BK-8: a backup runs at the lowest CPU priority, on threads of its own, so a writer beside it
/// gets the CPU first; the caller's threads keep theirs.
@Suite("Backup priority")
struct BackupPriorityTests {
    /// Linux's SCHED_IDLE policy number.
    static let schedIdle: Int32 = 5

    /// The calling thread's scheduling policy and nice value, from `/proc/thread-self/stat`
    /// (fields 41 and 19).
    static func priority() -> (policy: Int32, nice: Int32) {
        guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return (-1, -1) }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (the state).
        guard fields.count > 38, let nice = Int32(fields[16]), let policy = Int32(fields[38]) else { return (-1, -1) }
        return (policy, nice)
    }

    static func isLowest(_ p: (policy: Int32, nice: Int32)) -> Bool { p.policy == schedIdle || p.nice == 19 }

    /// Runs `body` on a new thread and waits for it.
    static func onNewThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            result.withLock { $0 = body() }
            done.signal()
        }
        thread.start()
        done.wait()
        return result.withLock { $0! }
    }

    @Test("a thread that lowers its priority has the lowest, and the threads it starts inherit it")
    func inherited() {
        let seen = Self.onNewThread { () -> [Int32] in
            let before = Self.priority()
            guard gs_lower_thread_priority() == 0 else { return [-1] }
            let own = Self.priority()
            let child = Self.onNewThread { Self.priority() }
            return [before.policy, before.nice, Self.isLowest(own) ? 1 : 0, Self.isLowest(child) ? 1 : 0]
        }
        #expect(seen.count == 4, "gs_lower_thread_priority failed")
        guard seen.count == 4 else { return }
        #expect(seen[0] == 0 && seen[1] != 19, "a new thread starts at normal priority (SCHED_OTHER)")
        #expect(seen[2] == 1, "the thread's own priority is the lowest")
        #expect(seen[3] == 1, "a thread it starts inherits the lowest priority")
        #expect(!Self.isLowest(Self.priority()), "the test's thread keeps its priority")
    }

    @Test("a low-priority job's work and the threads it starts run at the lowest priority; its progress and its caller at normal priority")
    func lowPriorityJob() async throws {
        let delivered = Locked<[(report: Int, lowest: Bool)]>([])
        let seen = try await LowPriorityJob.run(named: "test.low", progress: { (report: Int) in
            let lowest = Self.isLowest(Self.priority())
            delivered.withLock { $0.append((report, lowest)) }
        }) { report -> [Bool] in
            let own = Self.isLowest(Self.priority())
            let child = Self.isLowest(Self.onNewThread { Self.priority() })
            for i in 1...3 { report(i) }
            return [own, child]
        }
        #expect(seen == [true, true], "the work's thread, a thread it starts")
        let reports = delivered.withLock { $0 }
        #expect(reports.map(\.report) == [1, 2, 3], "every report, in order, before the result")
        #expect(reports.allSatisfy { !$0.lowest }, "progress runs at the caller's priority")
        #expect(!Self.isLowest(Self.priority()), "the caller goes on at its priority")
        await #expect(throws: GuildStoreError.self) {
            try await LowPriorityJob.run(named: "test.throws", progress: nil as (@Sendable (Int) -> Void)?) { _ -> Int in
                throw GuildStoreError.closed
            }
        }
    }

    @Test("a job long enough for the thread pool to retire its idle threads resumes its caller at normal priority")
    func longJobResumesAtNormalPriority() async throws {
        // libdispatch retires a pool thread idle for 5 s; the resumption may then start a new
        // one, which inherits the priority of the thread that resumes.
        _ = try await LowPriorityJob.run(named: "test.long", progress: nil as (@Sendable (Int) -> Void)?) { _ in
            Thread.sleep(forTimeInterval: 6)
        }
        #expect(!Self.isLowest(Self.priority()))
    }

    @Test("Database.backup delivers its progress at the caller's priority and leaves the caller's threads as they were")
    func backupProgress() async throws {
        let directory = try TemporaryDirectory("gs-backup-priority")
        defer { directory.remove() }
        let db = try Database.open(DatabaseConfiguration(.file(directory.file("db.gsdb"))))
        try await db.write { tx in
            let tree = try tx.createTree("t")
            for i in 0..<2_000 { try tx.put(bigEndianKey(UInt64(i)), [UInt8](repeating: UInt8(i & 0xFF), count: 100), in: tree) }
        }
        let seen = Locked<[Bool]>([])
        let info = try await db.backup(to: directory.file("b.gsbackup")) { _ in
            let lowest = Self.isLowest(Self.priority())
            seen.withLock { $0.append(lowest) }
        }
        #expect((info.pagesStored ?? 0) > 0)
        let reports = seen.withLock { $0 }
        #expect(!reports.isEmpty && !reports.contains(true), "\(reports)")
        #expect(!Self.isLowest(Self.priority()))
        try await db.close()
    }
}
