// Durable single-row commits by 1, 8 and 64 concurrent writers, and the bare append+fdatasync
// they are held against.
//
// Each measured iteration is 1,000 commits (the `.kilo` scaling factor, so wall clock is per
// commit) of rows start..<start+1000, handed out to the writers by a shared counter; rows
// accumulate over the iterations. After each iteration (outside the measured region) the
// database must hold exactly rows 0..<written, in order, each with its value. The one-writer
// durable benchmarks then also time a bare append+fdatasync in the same directory (PairedAppend).
//
// Each benchmark prints a summary line when it ends (totals over the measured iterations, exact
// commit-latency percentiles, syncs and checkpoints): package-benchmark shows a custom metric in
// K once its mean passes 10,000, which rounds the smaller percentiles of a latency to 0.

import BenchmarkSupport
import Benchmark
@_spi(Benchmarks) import GuildStoreEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Custom metrics: package-benchmark's own throughput is an integer in K per second, too coarse
/// for commit rates.
let commitRateMetric = BenchmarkMetric.custom("commits per second", polarity: .prefersLarger, useScalingFactor: false)
let commitLatencyMetric = BenchmarkMetric.custom("commit latency (us)", polarity: .prefersSmaller, useScalingFactor: false)
let commitsPerSyncMetric = BenchmarkMetric.custom("commits per sync", polarity: .prefersLarger, useScalingFactor: false)
let pairedAppendMetric = BenchmarkMetric.custom("paired append+fdatasync (us)", polarity: .prefersSmaller, useScalingFactor: false)
let pairedRatioMetric = BenchmarkMetric.custom("per commit / paired append (%)", polarity: .prefersSmaller, useScalingFactor: false)

/// The one-writer durable benchmarks also time a bare append+fdatasync right after each
/// iteration, in the same directory, so the goal's ratio compares the two under the same disk
/// conditions: fdatasync on this shared VM ranges from 0.1 to several ms from minute to minute.
final class PairedAppend {
    static let writes = 200

    let file: SyncFile
    var ratios: [Double] = []
    var appendNanos: [Int] = []

    init(in directory: TemporaryDirectory) throws {
        file = try SyncFile(append: true, in: directory)
    }

    /// Times the paired appends after an iteration that took `nanos` for `commits` commits.
    func measure(_ benchmark: Benchmark, commits: Int, nanos: Int) {
        let append = file.meanNanos(Self.writes)
        let ratio = Double(nanos) / Double(commits) / Double(max(append, 1))
        benchmark.measurement(pairedAppendMetric, (append + 500) / 1000)
        benchmark.measurement(pairedRatioMetric, Int((ratio * 100).rounded()))
        if isMeasured(benchmark) {
            ratios.append(ratio)
            appendNanos.append(append)
        }
    }

    var summary: String {
        guard !ratios.isEmpty else { return "" }
        let sortedRatios = ratios.sorted()
        let median = sortedRatios[sortedRatios.count / 2]
        let p = Percentiles(appendNanos)
        return "; paired append+fdatasync p50 \(p.micros(50)) us over the iterations, per commit / paired append: median \(format(median, decimals: 2))x [\(format(sortedRatios.first!, decimals: 2))-\(format(sortedRatios.last!, decimals: 2))]"
    }

    func close() { file.close() }
}

func commitConfiguration(_ extra: [BenchmarkMetric] = []) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, commitRateMetric, commitLatencyMetric] + extra,
        timeUnits: .nanoseconds,  // per commit (scaled by the 1,000 commits of an iteration)
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 25
    )
}

/// Totals over the measured iterations of one benchmark, for the summary line its teardown
/// prints (package-benchmark's percentiles are per iteration).
struct CommitTotals {
    var commits = 0
    var nanos = 0
    var latencies: [Int] = []
    var extra = ""

    /// Adds a measured iteration (warmup iterations are left out, as package-benchmark does).
    mutating func add(_ benchmark: Benchmark, commits: Int, nanos: Int, latencies: [Int]) {
        guard isMeasured(benchmark) else { return }
        self.commits += commits
        self.nanos += nanos
        self.latencies += latencies
    }

    func summary(_ name: String) -> String {
        let seconds = Double(nanos) / 1e9
        let rate = seconds > 0 ? Double(commits) / seconds : 0
        let perCommit = commits > 0 ? Double(nanos) / Double(commits) / 1000 : 0
        let p = Percentiles(latencies)
        return "\(name): \(commits) commits measured in \(format(seconds, decimals: 2)) s: \(format(rate, decimals: 0)) commits/s, \(format(perCommit)) us per commit; commit latency p50 \(p.micros(50)) us, p99 \(p.micros(99)) us, max \(p.micros(100)) us\(extra)"
    }
}

/// Whether this iteration is measured (package-benchmark runs the warmup iterations first).
func isMeasured(_ benchmark: Benchmark) -> Bool {
    benchmark.currentIteration >= benchmark.configuration.warmupIterations
}

/// Records one iteration's figures in package-benchmark's custom metrics.
func recordIteration(_ benchmark: Benchmark, commits: Int, nanos: Int, latencies: [Int]) {
    benchmark.measurement(commitRateMetric, Int((Double(commits) * 1e9 / Double(max(nanos, 1))).rounded()))
    for latency in latencies { benchmark.measurement(commitLatencyMetric, (latency + 500) / 1000) }
}

// MARK: - Bare append + fdatasync

/// The floor every durable commit stands on: write 4 KiB to a file and fdatasync it. `append`
/// writes at the end, so every sync also journals the new file size (the issue's baseline);
/// otherwise the 4 KiB overwrite a block of a file written and synced in setup, cycling
/// through 1,000 blocks, so the sync has no metadata to write (what a log that reuses its file
/// after a restart, GuildStore's WAL or SQLite's, pays once it stops growing).
final class SyncFile: @unchecked Sendable {
    // Used by the benchmark runner's thread only.
    static let blockSize = 4096
    static let overwriteBlocks = 1_000
    nonisolated(unsafe) static var current: SyncFile?

    let directory: TemporaryDirectory
    let ownsDirectory: Bool
    let append: Bool
    let fd: Int32
    let block: UnsafeMutableRawPointer
    var offset: Int64 = 0
    var totals = CommitTotals()

    /// A new file `sync.log`, in `directory` or in a temporary directory of its own.
    init(append: Bool, in directory: TemporaryDirectory? = nil) throws {
        self.append = append
        ownsDirectory = directory == nil
        self.directory = try directory ?? TemporaryDirectory(append ? "append" : "overwrite")
        fd = open(self.directory.file("sync.log"), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw BenchError.setup("open sync.log: errno \(errno)") }
        block = .allocate(byteCount: Self.blockSize, alignment: Self.blockSize)
        var rng = SplitMix64(seed: Rows.seed)
        for i in stride(from: 0, to: Self.blockSize, by: 8) { block.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self) }
        if !append {
            for i in 0..<Self.overwriteBlocks {
                guard pwrite(fd, block, Self.blockSize, off_t(i * Self.blockSize)) == Self.blockSize else {
                    throw BenchError.setup("pwrite: errno \(errno)")
                }
            }
            guard fsync(fd) == 0 else { throw BenchError.setup("fsync: errno \(errno)") }
        }
    }

    /// One 4 KiB write and its fdatasync.
    @inline(__always)
    func writeAndSync() {
        let at = append ? offset : offset % Int64(Self.overwriteBlocks * Self.blockSize)
        let written = pwrite(fd, block, Self.blockSize, off_t(at))
        guard written == Self.blockSize else { verificationFailed("pwrite returned \(written), errno \(errno)") }
        guard fdatasync(fd) == 0 else { verificationFailed("fdatasync failed: errno \(errno)") }
        offset += Int64(Self.blockSize)
    }

    func checkSize() {
        var info = stat()
        let expected = append ? offset : Int64(Self.overwriteBlocks * Self.blockSize)
        guard fstat(fd, &info) == 0, Int64(info.st_size) == expected else {
            verificationFailed("sync.log is \(info.st_size) bytes, expected \(expected)")
        }
    }

    /// Mean nanoseconds of `count` writes and syncs (the paired baseline of a commit benchmark).
    func meanNanos(_ count: Int) -> Int {
        let start = monotonicNanos()
        for _ in 0..<count { writeAndSync() }
        return (monotonicNanos() - start) / count
    }

    func close() {
        _ = Glibc.close(fd)
        block.deallocate()
        if ownsDirectory { directory.remove() }
    }
}

func bareFdatasync(append: Bool) {
    let name = append ? "Commits/AppendFdatasync" : "Commits/OverwriteFdatasync"
    Benchmark(name, configuration: commitConfiguration()) { (benchmark: Benchmark, file: SyncFile) in
        var latencies = [Int](repeating: 0, count: Rows.commitsPerIteration)
        benchmark.startMeasurement()
        let start = monotonicNanos()
        for i in 0..<Rows.commitsPerIteration {
            let t0 = monotonicNanos()
            file.writeAndSync()
            latencies[i] = monotonicNanos() - t0
        }
        let nanos = monotonicNanos() - start
        benchmark.stopMeasurement()
        file.checkSize()
        recordIteration(benchmark, commits: Rows.commitsPerIteration, nanos: nanos, latencies: latencies)
        file.totals.add(benchmark, commits: Rows.commitsPerIteration, nanos: nanos, latencies: latencies)
    } setup: {
        let file = orExit("\(name) setup") { try SyncFile(append: append) }
        SyncFile.current = file
        return file
    } teardown: {
        guard let file = SyncFile.current else { return }
        SyncFile.current = nil
        printToStandardError(file.totals.summary(name))
        file.close()
        TemporaryDirectory.settleFileSystem()
    }
}

// MARK: - GuildStore

/// A GuildStore `Database` on a real file, with its tree `t`, and the rows written so far.
final class GuildCommitFixture: @unchecked Sendable {
    // Used by one iteration at a time; the writer tasks share only `db`, `tree` and a counter.
    nonisolated(unsafe) static var current: GuildCommitFixture?

    let directory: TemporaryDirectory
    let db: Database
    let tree: Tree
    var rows = 0
    var totals = CommitTotals()
    var syncs = 0
    var checkpoints = 0
    let paired: PairedAppend?

    init(synchronous: SynchronousMode, writers: Int) async throws {
        directory = try TemporaryDirectory("guildstore")
        paired = synchronous == .full && writers == 1 ? try PairedAppend(in: directory) : nil
        db = try Database.open(DatabaseConfiguration(.file(directory.file("bench.gsdb")), synchronous: synchronous))
        tree = try await db.write { tx in try tx.openTree("t") }
    }

    /// Rows 0..<rows, in key order, each with its value; and nothing else.
    func checkContents() async throws {
        try await GuildRows.check(db, tree, rows: rows, label: "GuildStore")
    }

    func close() async {
        try? await db.close()
        paired?.close()
        directory.remove()
    }
}

enum GuildRows {
    /// The tree must hold exactly keys 0..<rows, in order, each with its value.
    static func check(_ db: Database, _ tree: Tree, rows: Int, label: String) async throws {
        try await db.read { snapshot in
            var next: UInt64 = 0
            var problem: String?
            try snapshot.scan(tree) { k, v in
                if Rows.decodeKey(k) != next || !Rows.isValue(v, of: next) {
                    problem = "row \(next) is key \(Rows.decodeKey(k).map(String.init) ?? "?") with a \(v.count)-byte value that is not the expected one"
                    return false
                }
                next += 1
                return true
            }
            if let problem { verificationFailed("\(label): \(problem)") }
            guard next == UInt64(rows) else { verificationFailed("\(label) holds \(next) rows, expected \(rows)") }
        }
    }
}

/// One writer task: claims rows and commits each in a `db.write` of its own; returns each
/// commit's latency (call to return) in nanoseconds.
func guildWriter(_ db: Database, _ tree: Tree, _ counter: RowCounter) async throws -> [Int] {
    var latencies: [Int] = []
    latencies.reserveCapacity(counter.end)
    while let i = counter.claim() {
        let key = Rows.key(UInt64(i))
        let value = Rows.value(UInt64(i))
        let t0 = monotonicNanos()
        try await db.write { tx in try tx.put(key, value, in: tree) }
        latencies.append(monotonicNanos() - t0)
    }
    return latencies
}

func guildCommits(_ synchronous: SynchronousMode, writers: Int) {
    let name = "Commits/GuildStore.\(synchronous)/\(writers)w"
    let metrics = synchronous == .full && writers == 1 ? [commitsPerSyncMetric, pairedAppendMetric, pairedRatioMetric] : [commitsPerSyncMetric]
    Benchmark(name, configuration: commitConfiguration(metrics)) { (benchmark: Benchmark, fixture: GuildCommitFixture) async in
        await orExit(name) {
            let db = fixture.db, tree = fixture.tree
            let counter = RowCounter(start: fixture.rows, end: fixture.rows + Rows.commitsPerIteration)
            let before = db.statistics()
            benchmark.startMeasurement()
            let start = monotonicNanos()
            // The writers run on the cooperative pool, as an application's would; package-
            // benchmark leaves them one of its two threads (see TaskPool).
            let latencies = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<writers {
                    group.addTask { try await guildWriter(db, tree, counter) }
                }
                var all: [Int] = []
                all.reserveCapacity(Rows.commitsPerIteration)
                for try await some in group { all += some }
                return all
            }
            let nanos = monotonicNanos() - start
            benchmark.stopMeasurement()
            let after = db.statistics()
            fixture.rows = counter.end
            guard latencies.count == Rows.commitsPerIteration, after.commits - before.commits == Rows.commitsPerIteration else {
                verificationFailed("\(name): \(latencies.count) writes returned, \(after.commits - before.commits) commits counted, expected \(Rows.commitsPerIteration)")
            }
            try await fixture.checkContents()
            let syncs = after.syncs - before.syncs
            recordIteration(benchmark, commits: Rows.commitsPerIteration, nanos: nanos, latencies: latencies)
            benchmark.measurement(commitsPerSyncMetric, syncs > 0 ? (Rows.commitsPerIteration + syncs / 2) / syncs : 0)
            fixture.paired?.measure(benchmark, commits: Rows.commitsPerIteration, nanos: nanos)
            fixture.totals.add(benchmark, commits: Rows.commitsPerIteration, nanos: nanos, latencies: latencies)
            if isMeasured(benchmark) {
                fixture.syncs += syncs
                fixture.checkpoints += after.checkpoints - before.checkpoints
            }
        }
    } setup: {
        let fixture = await orExit("\(name) setup") { try await GuildCommitFixture(synchronous: synchronous, writers: writers) }
        GuildCommitFixture.current = fixture
        return fixture
    } teardown: {
        guard let fixture = GuildCommitFixture.current else { return }
        GuildCommitFixture.current = nil
        let perSync = fixture.syncs > 0 ? Double(fixture.totals.commits) / Double(fixture.syncs) : 0
        fixture.totals.extra = ", \(fixture.syncs) syncs (WAL and checkpoint: \(format(perSync)) commits per sync), \(fixture.checkpoints) checkpoints; \(fixture.rows) rows checked\(fixture.paired?.summary ?? "")"
        printToStandardError(fixture.totals.summary(name))
        await fixture.close()
        TemporaryDirectory.settleFileSystem()
    }
}

// MARK: - SQLite

/// One SQLite database in WAL mode and a connection per writer thread (plus one for checks).
final class SQLiteCommitFixture: @unchecked Sendable {
    // The benchmark runner's thread uses `check`; during an iteration writer thread w alone
    // uses `writers[w]`.
    nonisolated(unsafe) static var current: SQLiteCommitFixture?

    let directory: TemporaryDirectory
    let writers: [SQLiteKVConnection]
    let check: SQLiteKVConnection
    var rows = 0
    var busy = 0
    var totals = CommitTotals()
    let paired: PairedAppend?

    init(synchronous: SQLiteSynchronous, writers count: Int) throws {
        directory = try TemporaryDirectory("sqlite")
        paired = synchronous == .FULL && count == 1 ? try PairedAppend(in: directory) : nil
        let path = directory.file("bench.sqlite")
        check = try SQLiteKVConnection(path: path, synchronous: synchronous)
        writers = try (0..<count).map { _ in try SQLiteKVConnection(path: path, synchronous: synchronous) }
    }

    /// Rows 0..<rows, in key order, each with its value; and nothing else.
    func checkContents(_ label: String) throws {
        guard try check.count() == rows else { verificationFailed("\(label) holds \(try check.count()) rows, expected \(rows)") }
        var next: UInt64 = 0
        try check.scanAll { key, value in
            guard key == next, Rows.isValue(value, of: next) else {
                verificationFailed("\(label): row \(next) is key \(key.map(String.init) ?? "?") with a \(value.count)-byte value that is not the expected one")
            }
            next += 1
        }
        guard next == UInt64(rows) else { verificationFailed("\(label) scanned \(next) rows, expected \(rows)") }
    }

    func close() {
        for connection in writers { connection.close() }
        check.close()
        paired?.close()
        directory.remove()
    }
}

/// A writer thread's connection, its commit latencies and its busy retries.
final class SQLiteWriterSlot: @unchecked Sendable {
    // Written by its thread only; read after the thread is joined.
    let connection: SQLiteKVConnection
    var latencies: [Int] = []
    var busy = 0

    init(_ connection: SQLiteKVConnection) { self.connection = connection }

    func run(_ counter: RowCounter) {
        latencies.removeAll(keepingCapacity: true)
        busy = 0
        let value = UnsafeMutableRawPointer.allocate(byteCount: Rows.valueSize, alignment: 8)
        defer { value.deallocate() }
        while let i = counter.claim() {
            Rows.fillValue(UInt64(i), value)
            let t0 = monotonicNanos()
            busy += orExit("SQLite commit of row \(i)") { try connection.insertCommit(key: UInt64(i), value: value) }
            latencies.append(monotonicNanos() - t0)
        }
    }
}

func sqliteCommits(_ synchronous: SQLiteSynchronous, writers: Int) {
    let name = "Commits/SQLite.\(synchronous.rawValue)/\(writers)w"
    let metrics = synchronous == .FULL && writers == 1 ? [pairedAppendMetric, pairedRatioMetric] : []
    Benchmark(name, configuration: commitConfiguration(metrics)) { (benchmark: Benchmark, fixture: SQLiteCommitFixture) in
        let slots = fixture.writers.map(SQLiteWriterSlot.init)
        let counter = RowCounter(start: fixture.rows, end: fixture.rows + Rows.commitsPerIteration)
        benchmark.startMeasurement()
        let start = monotonicNanos()
        let threads = slots.map { slot in OSThread { slot.run(counter) } }
        for thread in threads { thread.join() }
        let nanos = monotonicNanos() - start
        benchmark.stopMeasurement()
        fixture.rows = counter.end
        let latencies = slots.flatMap(\.latencies)
        guard latencies.count == Rows.commitsPerIteration else {
            verificationFailed("\(name): \(latencies.count) commits returned, expected \(Rows.commitsPerIteration)")
        }
        orExit("\(name) check") { try fixture.checkContents(name) }
        recordIteration(benchmark, commits: Rows.commitsPerIteration, nanos: nanos, latencies: latencies)
        fixture.paired?.measure(benchmark, commits: Rows.commitsPerIteration, nanos: nanos)
        fixture.totals.add(benchmark, commits: Rows.commitsPerIteration, nanos: nanos, latencies: latencies)
        if isMeasured(benchmark) {
            fixture.busy += slots.reduce(0) { $0 + $1.busy }
        }
    } setup: {
        let fixture = orExit("\(name) setup") { try SQLiteCommitFixture(synchronous: synchronous, writers: writers) }
        SQLiteCommitFixture.current = fixture
        return fixture
    } teardown: {
        guard let fixture = SQLiteCommitFixture.current else { return }
        SQLiteCommitFixture.current = nil
        fixture.totals.extra = ", \(fixture.busy) BEGIN IMMEDIATE retries after SQLITE_BUSY; \(fixture.rows) rows checked\(fixture.paired?.summary ?? "")"
        printToStandardError(fixture.totals.summary(name))
        fixture.close()
        TemporaryDirectory.settleFileSystem()
    }
}
