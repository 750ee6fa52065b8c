// Rows, clocks and threads for the Concurrency benchmarks (temporary directories and the failure
// helpers are BenchmarkSupport's, SplitMix64 is GuildStoreEngine's).

import BenchmarkSupport
@_spi(Benchmarks) import GuildStoreEngine
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Rows

/// The rows every engine stores: an 8-byte big-endian key and a 100-byte value derived from
/// the key, so any row can be checked without a copy of the data set.
enum Rows {
    static let valueSize = 100
    /// Commits per measured iteration of a commit benchmark (the `.kilo` scaling factor).
    static let commitsPerIteration = 1_000
    /// Rows in the read-latency fixture.
    static let fixtureRows = 100_000
    /// Rows per transaction of the concurrent bulk writer.
    static let bulkRowsPerTransaction = 1_000
    /// Seed for the lookup samples.
    static let seed: UInt64 = 0x6775_696C_6473_746F  // "guildsto"

    @inline(__always)
    static func key(_ k: UInt64) -> [UInt8] {
        withUnsafeBytes(of: k.bigEndian) { Array($0) }
    }

    /// Writes the 100 value bytes of key `k` to `destination`.
    @inline(__always)
    static func fillValue(_ k: UInt64, _ destination: UnsafeMutableRawPointer) {
        var rng = SplitMix64(seed: k ^ 0x5EED_5EED_5EED_5EED)
        var offset = 0
        while offset + 8 <= valueSize {
            destination.storeBytes(of: rng.next(), toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        var last = rng.next()
        while offset < valueSize {
            destination.storeBytes(of: UInt8(truncatingIfNeeded: last), toByteOffset: offset, as: UInt8.self)
            last >>= 8
            offset += 1
        }
    }

    static func value(_ k: UInt64) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: valueSize) { buffer, count in
            fillValue(k, buffer.baseAddress!)
            count = valueSize
        }
    }

    /// Whether `bytes` are the value of key `k`.
    static func isValue(_ bytes: UnsafeRawBufferPointer, of k: UInt64) -> Bool {
        guard bytes.count == valueSize else { return false }
        return withUnsafeTemporaryAllocation(byteCount: valueSize, alignment: 8) { expected in
            fillValue(k, expected.baseAddress!)
            return memcmp(expected.baseAddress!, bytes.baseAddress!, valueSize) == 0
        }
    }

    /// The key of big-endian key bytes, or nil when they are not 8 bytes.
    @inline(__always)
    static func decodeKey(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        bytes.count == 8 ? UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)) : nil
    }

    /// `n` indices drawn uniformly from 0..<below.
    static func sample(_ n: Int, below: Int, seed: UInt64) -> [UInt64] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in rng.next() % UInt64(below) }
    }
}

// MARK: - Work sharing, clocks, threads

/// Hands out row indices start, start + 1, ... below `end` to concurrent writers, so the rows
/// of an iteration are exactly start..<end whatever the interleaving.
final class RowCounter: Sendable {
    private let next: Atomic<Int>
    let end: Int

    init(start: Int, end: Int) {
        next = Atomic(start)
        self.end = end
    }

    /// The next row to write, or nil when all are taken.
    @inline(__always)
    func claim() -> Int? {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return i < end ? i : nil
    }
}

// StopFlag, monotonicNanos, OSThread, Percentiles and format are BenchmarkSupport's (the
// Backup suite uses them too).

// MARK: - A task executor standing in for the cooperative pool

/// A task executor with two threads, one for the read benchmarks' reader, one for the bulk writer.
///
/// package-benchmark runs an async benchmark closure in a `Task` and blocks the thread that
/// called it on a semaphore. That thread belongs to the cooperative pool, which has one thread
/// per core, so on this 2-core machine the benchmark's tasks get one cooperative thread
/// (measured: two 200 ms spinning child tasks take 400 ms). A reader and a bulk writer sharing
/// it take turns instead of running side by side: the writer, whose back-to-back `db.write`
/// calls never suspend under `.normal`, kept it for seconds and the reader never ran.
///
/// So the read benchmarks run the reader and the bulk writer with this executor as their
/// preference (SE-0417; `WriterActor`, a default actor, then runs there too), each on a thread
/// of its own as in an application on two cores, and the engine's own tasks (the log restart
/// after a background checkpoint) keep the free cooperative thread. The commit benchmarks do
/// not use it: hops between executors cost a thread wake-up here, while the cooperative pool
/// switches inline, and the one writer actor gains nothing from a second thread.
final class TaskPool: TaskExecutor, @unchecked Sendable {
    // Safe to share: `queue` is guarded by its mutex; `ready` counts its jobs.
    static let shared = TaskPool(threads: 2)

    private let queue = Mutex<[UnownedJob]>([])
    private let ready = DispatchSemaphore(value: 0)
    private var threads: [OSThread] = []
    let width: Int

    private init(threads count: Int) {
        width = count
        for _ in 0..<count {
            threads.append(OSThread { [unowned self] in self.work() })
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.append(job) }
        ready.signal()
    }

    private func work() {
        while true {
            ready.wait()
            let job = queue.withLock { $0.removeFirst() }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
