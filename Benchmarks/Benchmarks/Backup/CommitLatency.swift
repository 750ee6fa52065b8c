// What a running backup costs a concurrent writer: the latency of a durable single-row commit
// (GuildStore `synchronous: .full`; SQLite WAL with `synchronous = FULL`) while a backup of the
// same database runs, against the same writer with nothing else running, paired within each
// iteration (fdatasync on this shared VM drifts from minute to minute, so the two halves of a
// pair are seconds apart, not minutes).
//
// An iteration, the writer committing one row at a time and each commit timed throughout:
// 1. settle (untimed): a passive checkpoint and sync(2), so each iteration starts alike (not a
//    truncating one: a log that has to grow its file again pays for the file-size journal
//    entry in every fdatasync, which made the idle half the slow one in a first run);
// 2. idle: as many commits as the previous iteration's backup half made (at least 200), with
//    nothing else running;
// 3. backup: a background job runs one backup (GuildStore: `db.backup(to:)`; SQLite: the
//    backup API with nPage = -1 on a connection of its own, then lz4 and fsync, the pipeline
//    `Backup/SQLite.backupAPI+lz4` times) and the writer commits until it has finished;
// 4. after: 200 more commits, while the checkpoint catches up with the log the backup's
//    snapshot held back (both engines keep a backup's pages in place until it ends).
// Writes go to a scratch copy of the fixture (a table / tree of their own). Custom metrics per
// iteration: p99 of the idle and backup halves and their difference; the teardown prints the
// percentiles over all measured iterations pooled (the figure the goal is judged on), the
// "after" commits' too.
//
// The background job is a `BackgroundLoad`. Continuous archiving's cost is measured apart
// (`Archiving.swift`): it is not a job beside the writer but work in the writer's own turn.

import Benchmark
import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

let idleP99Metric = BenchmarkMetric.custom("commit p99, idle (us)", polarity: .prefersSmaller, useScalingFactor: false)
let busyP99Metric = BenchmarkMetric.custom("commit p99, backup running (us)", polarity: .prefersSmaller, useScalingFactor: false)
let addedP99Metric = BenchmarkMetric.custom("p99 added by the backup (us)", polarity: .prefersSmaller, useScalingFactor: false)
let afterP99Metric = BenchmarkMetric.custom("commit p99, after the backup (us)", polarity: .prefersSmaller, useScalingFactor: false)

var latencyConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, idleP99Metric, busyP99Metric, addedP99Metric, afterP99Metric],
    timeUnits: .milliseconds,
    warmupIterations: 1,
    scalingFactor: .one,
    maxDuration: .seconds(60),
    maxIterations: 16
) }

/// What runs beside the writer in the first half of an iteration.
enum BackgroundLoad: String {
    case backup
    // case archiving: continuous archiving of the log, when it exists.
}

/// The first error of a background job, read after it signalled the end.
final class JobOutcome: @unchecked Sendable {
    var error: (any Error)?
}

/// One engine's writer and background job on its scratch copy.
protocol LatencySubject: AnyObject {
    /// One durable single-row commit of row `k`.
    func commit(_ k: Int) async throws
    /// Starts `load` in the background; `done` is stopped when it ends.
    func start(_ load: BackgroundLoad, done: StopFlag, outcome: JobOutcome)
    /// Copies the log into the database file, keeping the log's file (untimed, between iterations).
    func settle() async throws
    /// Rows the writer has committed, as the database counts them.
    func committedRows() async throws -> Int
    func close() async
}

func commitValue(_ k: Int) -> [UInt8] { (0..<100).map { UInt8(truncatingIfNeeded: k &* 31 &+ $0) } }
func commitKey(_ k: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(k).bigEndian) { Array($0) } }

final class GuildStoreSubject: LatencySubject, @unchecked Sendable {
    let db: Database
    let tree: Tree
    let backupPath: String

    init(_ run: BackupRun) async throws {
        let path = run.file("writer.gsdb")
        try DatabaseFiles.copy(run.fixture.databasePath, to: path)
        db = try Database.open(DatabaseConfiguration(.file(path), synchronous: .full))
        tree = try await db.write { tx in try tx.openTree("backup_bench_commits") }
        backupPath = run.file("running.gsbackup")
    }

    func commit(_ k: Int) async throws {
        let key = commitKey(k), value = commitValue(k), tree = tree
        try await db.write { tx in try tx.put(key, value, in: tree) }
    }

    func start(_ load: BackgroundLoad, done: StopFlag, outcome: JobOutcome) {
        let db = db, path = backupPath
        Task.detached {
            do { _ = try await db.backup(to: path) } catch { outcome.error = error }
            done.stop()
        }
    }

    func settle() async throws { _ = try await db.checkpoint(.passive) }

    func committedRows() async throws -> Int {
        let tree = tree
        return try await db.read { tx in
            var n = 0
            try tx.scan(tree) { _, _ in n += 1; return true }
            return n
        }
    }

    func close() async { try? await db.close() }
}

final class SQLiteSubject: LatencySubject, @unchecked Sendable {
    // The writer's connection is used by the benchmark's thread only; the job opens its own.
    let path: String
    let connection: SQLiteConnection
    let begin: SQLiteStatement
    let insert: SQLiteStatement
    let end: SQLiteStatement
    let copyPath: String
    var thread: OSThread?

    init(_ run: BackupRun) throws {
        path = run.file("writer.sqlite")
        try DatabaseFiles.copy(run.fixture.sqlitePath, to: path)
        connection = try SQLiteConnection(path: path, mode: .readWrite)
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA busy_timeout = 10000",
                       "CREATE TABLE IF NOT EXISTS backup_bench_commits(k INTEGER PRIMARY KEY, v BLOB NOT NULL)"] {
            try connection.execute(pragma)
        }
        begin = try connection.prepare("BEGIN IMMEDIATE", persistent: true)
        insert = try connection.prepare("INSERT INTO backup_bench_commits(k, v) VALUES (?1, ?2)", persistent: true)
        end = try connection.prepare("COMMIT", persistent: true)
        copyPath = run.file("running.sqlite")
    }

    func commit(_ k: Int) async throws {
        try begin.run()
        try insert.run([.integer(Int64(k)), .blob(commitValue(k))])
        try end.run()
    }

    func start(_ load: BackgroundLoad, done: StopFlag, outcome: JobOutcome) {
        thread?.join()
        let path = path, copyPath = copyPath
        thread = OSThread {
            do {
                let source = try SQLiteConnection(path: path, mode: .readWrite)
                try source.execute("PRAGMA busy_timeout = 10000")
                _ = try SQLiteBackupMethod.backupAPI.run(source, copyPath: copyPath, lz4Path: copyPath + ".lz4")
                Files.remove(copyPath)
            } catch {
                outcome.error = error
            }
            done.stop()
        }
    }

    func settle() async throws {
        thread?.join()
        thread = nil
        try connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    }

    func committedRows() async throws -> Int {
        guard case .integer(let n)? = try connection.query("SELECT COUNT(*) FROM backup_bench_commits").first?.first else { return -1 }
        return Int(n)
    }

    func close() async {
        thread?.join()
        thread = nil
    }
}

/// One commit-latency benchmark's writer and what carries over from one iteration to the next
/// (package-benchmark calls the closure once per iteration): the next row, the idle half's
/// length, and the pooled latencies of the measured iterations, printed by its teardown.
final class LatencyTotals: @unchecked Sendable {
    // Used from one thread at a time: package-benchmark runs setup, iterations, teardown in turn.
    nonisolated(unsafe) static var current: LatencyTotals?
    let subject: any LatencySubject
    var next = 0
    var idleCommits = 200
    var idle: [Int] = []
    var busy: [Int] = []
    var after: [Int] = []

    init(_ subject: any LatencySubject) { self.subject = subject }

    func summary(_ name: String) -> String {
        let i = Percentiles(idle), b = Percentiles(busy), a = Percentiles(after)
        return "\(name): \(busy.count) commits with a backup running, \(idle.count) idle, \(after.count) after (measured iterations pooled): "
            + "p50 \(b.micros(50)) / \(i.micros(50)) / \(a.micros(50)) us, p99 \(b.micros(99)) / \(i.micros(99)) / \(a.micros(99)) us, "
            + "max \(b.micros(100)) / \(i.micros(100)) / \(a.micros(100)) us (running / idle / after); "
            + "p99 added by the backup: \(format(Double(b.nanos(99) - i.nanos(99)) / 1000, decimals: 0)) us"
    }
}

func commitLatency(_ engine: String, load: BackgroundLoad, make: @escaping @Sendable (BackupRun) async throws -> any LatencySubject) {
    let name = "CommitLatency/\(engine)/\(load.rawValue)"
    Benchmark(name, configuration: latencyConfiguration) { (benchmark: Benchmark, run: BackupRun) in
        await orExit(name) {
            guard let totals = LatencyTotals.current else { throw BenchmarkSupport.BenchError.setup("no writer") }
            let subject = totals.subject
            func timedCommit(_ into: inout [Int]) async throws {
                let t0 = monotonicNanos()
                try await subject.commit(totals.next)
                into.append(monotonicNanos() - t0)
                totals.next += 1
            }
            for iteration in benchmark.scaledIterations {
                _ = iteration
                try await subject.settle()
                TemporaryDirectory.settleFileSystem()
                var busy: [Int] = [], idle: [Int] = [], after: [Int] = []
                for _ in 0..<totals.idleCommits { try await timedCommit(&idle) }
                let done = StopFlag(), outcome = JobOutcome()
                subject.start(load, done: done, outcome: outcome)
                while !done.stopped { try await timedCommit(&busy) }
                if let error = outcome.error { throw error }
                for _ in 0..<200 { try await timedCommit(&after) }
                totals.idleCommits = max(busy.count, 200)
                let committed = try await subject.committedRows()
                guard committed == totals.next else { verificationFailed("\(name): \(committed) rows committed, \(totals.next) expected") }
                let b = Percentiles(busy).nanos(99), i = Percentiles(idle).nanos(99)
                benchmark.measurement(busyP99Metric, b / 1000)
                benchmark.measurement(idleP99Metric, i / 1000)
                benchmark.measurement(addedP99Metric, max(b - i, 0) / 1000)
                benchmark.measurement(afterP99Metric, Percentiles(after).nanos(99) / 1000)
                if benchmark.currentIteration >= benchmark.configuration.warmupIterations {
                    totals.busy += busy
                    totals.idle += idle
                    totals.after += after
                }
            }
        }
    } setup: {
        await orExit("\(name) setup") {
            let run = try await BackupRun(name)
            LatencyTotals.current = LatencyTotals(try await make(run))
            return run
        }
    } teardown: {
        if let totals = LatencyTotals.current {
            printToStandardError(totals.summary(name))
            await totals.subject.close()
        }
        LatencyTotals.current = nil
        await BackupRun.current?.finish()
    }
}

func commitLatencyBenchmarks() {
    commitLatency("GuildStore", load: .backup) { try await GuildStoreSubject($0) }
    commitLatency("SQLite", load: .backup) { try SQLiteSubject($0) }
}
