// What continuous archiving costs a durable writer (issue 12's goal: at most 10 % on a durable
// single-row commit). Two scratch copies of the fixture's database, opened through the public
// `Database` API with `synchronous: .full` and the default checkpoint threshold (1,000 frames),
// one of them with `DatabaseConfiguration(archive: ArchiveConfiguration(directory:))`; the log
// restarts as it would in production, and each restart of the archived one first writes the
// generation into the archive as an LZ4 segment, synced (AR-1), in the writer's turn.
//
// An iteration: `commitsPerHalf` single-row commits (one 100-byte value, a tree of their own)
// on each database in turn, every commit timed, the order swapped every other iteration so
// drift in fdatasync on this shared VM falls on both alike. Custom metrics per iteration:
// commits/s of each half and the archived half's mean commit latency over the plain one's, in
// per mille (1,100 is the goal's limit); the teardown prints the measured iterations pooled:
// commits/s, mean, p50, p99 and max of each, the ratio, and the segments written. Verified:
// every commit counted in both databases, and the archive's segments reach the last restart
// with no archive error.

import Benchmark
import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStoreEngine

let plainRateMetric = BenchmarkMetric.custom("commits/s, no archive", polarity: .prefersLarger, useScalingFactor: false)
let archivedRateMetric = BenchmarkMetric.custom("commits/s, archiving", polarity: .prefersLarger, useScalingFactor: false)
let archiveCostMetric = BenchmarkMetric.custom("archived / plain mean latency (permille)", polarity: .prefersSmaller, useScalingFactor: false)

/// Commits on each database per iteration: two or more log generations at 1,000 frames.
let commitsPerHalf = 2_000

final class ArchivingTotals: @unchecked Sendable {
    // Used from one thread at a time: package-benchmark runs setup, iterations, teardown in turn.
    nonisolated(unsafe) static var current: ArchivingTotals?
    let plain: GuildStoreWriter
    let archived: GuildStoreWriter
    let archiveDirectory: String
    var plainLatencies: [Int] = []
    var archivedLatencies: [Int] = []
    var plainNanos = 0
    var archivedNanos = 0
    var segmentsAtStart = 0

    init(plain: GuildStoreWriter, archived: GuildStoreWriter, archiveDirectory: String) {
        self.plain = plain
        self.archived = archived
        self.archiveDirectory = archiveDirectory
    }

    func segments() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: archiveDirectory)) ?? []).filter { $0.hasSuffix(".gswal") }.count
    }

    func summary(_ name: String) -> String {
        func line(_ label: String, _ samples: [Int], _ nanos: Int) -> String {
            let p = Percentiles(samples)
            let mean = Double(nanos) / Double(max(samples.count, 1)) / 1000
            let rate = Double(samples.count) / (Double(max(nanos, 1)) / 1e9)
            return "\(label): \(samples.count) commits, \(format(rate, decimals: 0)) commits/s, mean \(format(mean, decimals: 0)) us, "
                + "p50 \(p.micros(50)) us, p99 \(p.micros(99)) us, max \(p.micros(100)) us"
        }
        let plainMean = Double(plainNanos) / Double(max(plainLatencies.count, 1))
        let archivedMean = Double(archivedNanos) / Double(max(archivedLatencies.count, 1))
        return "\(name) (measured iterations pooled): " + line("no archive", plainLatencies, plainNanos) + "; "
            + line("archiving", archivedLatencies, archivedNanos) + "; archived / plain mean latency "
            + format(archivedMean / max(plainMean, 1), decimals: 3) + ", p50 "
            + format(Double(Percentiles(archivedLatencies).nanos(50)) / Double(max(Percentiles(plainLatencies).nanos(50), 1)), decimals: 3)
            + ", p99 " + format(Double(Percentiles(archivedLatencies).nanos(99)) / Double(max(Percentiles(plainLatencies).nanos(99), 1)), decimals: 3)
            + "; \(segments() - segmentsAtStart) segments archived while measured"
    }
}

/// A durable writer on a scratch copy of the fixture, through the public `Database` API.
final class GuildStoreWriter: @unchecked Sendable {
    let db: Database
    let tree: Tree
    var next = 0

    init(path: String, archive: ArchiveConfiguration?) async throws {
        db = try Database.open(DatabaseConfiguration(.file(path), synchronous: .full, archive: archive))
        tree = try await db.write { tx in try tx.openTree("archive_bench_commits") }
    }

    /// `count` timed commits; returns their latencies and the time they took together.
    func commit(_ count: Int) async throws -> (latencies: [Int], nanos: Int) {
        var latencies: [Int] = []
        latencies.reserveCapacity(count)
        let tree = tree
        let start = monotonicNanos()
        for _ in 0..<count {
            let key = commitKey(next), value = commitValue(next)
            let t0 = monotonicNanos()
            try await db.write { tx in try tx.put(key, value, in: tree) }
            latencies.append(monotonicNanos() - t0)
            next += 1
        }
        return (latencies, monotonicNanos() - start)
    }

    func committedRows() async throws -> Int {
        let tree = tree
        return try await db.read { tx in
            var n = 0
            try tx.scan(tree) { _, _ in n += 1; return true }
            return n
        }
    }
}

func archivingBenchmark() {
    let name = "Archive/GuildStore.durableCommit"
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, plainRateMetric, archivedRateMetric, archiveCostMetric],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(100),
        maxIterations: 6
    )
    Benchmark(name, configuration: configuration) { (benchmark: Benchmark, run: BackupRun) in
        await orExit(name) {
            guard let totals = ArchivingTotals.current else { throw BenchmarkSupport.BenchError.setup("no writers") }
            for _ in benchmark.scaledIterations {
                TemporaryDirectory.settleFileSystem()
                let archivedFirst = benchmark.currentIteration % 2 == 1
                var plain: (latencies: [Int], nanos: Int) = ([], 0), archived: (latencies: [Int], nanos: Int) = ([], 0)
                if archivedFirst { archived = try await totals.archived.commit(commitsPerHalf) }
                plain = try await totals.plain.commit(commitsPerHalf)
                if !archivedFirst { archived = try await totals.archived.commit(commitsPerHalf) }
                for writer in [totals.plain, totals.archived] {
                    let rows = try await writer.committedRows()
                    guard rows == writer.next else { verificationFailed("\(name): \(rows) rows committed, \(writer.next) expected") }
                }
                let stats = totals.archived.db.statistics()
                if let error = stats.archiveError { verificationFailed("\(name): \(error)") }
                let plainMean = Double(plain.nanos) / Double(plain.latencies.count)
                let archivedMean = Double(archived.nanos) / Double(archived.latencies.count)
                benchmark.measurement(plainRateMetric, Int((1e9 / plainMean).rounded()))
                benchmark.measurement(archivedRateMetric, Int((1e9 / archivedMean).rounded()))
                benchmark.measurement(archiveCostMetric, Int((archivedMean / plainMean * 1000).rounded()))
                if benchmark.currentIteration >= benchmark.configuration.warmupIterations {
                    if totals.plainLatencies.isEmpty { totals.segmentsAtStart = totals.segments() }
                    totals.plainLatencies += plain.latencies
                    totals.archivedLatencies += archived.latencies
                    totals.plainNanos += plain.nanos
                    totals.archivedNanos += archived.nanos
                }
            }
        }
    } setup: {
        await orExit("\(name) setup") {
            let run = try await BackupRun(name)
            let plainPath = run.file("plain.gsdb"), archivedPath = run.file("archived.gsdb")
            let archive = run.file("archive")
            try DatabaseFiles.copy(run.fixture.databasePath, to: plainPath)
            try DatabaseFiles.copy(run.fixture.databasePath, to: archivedPath)
            // Opening with an archive writes its first base (untimed).
            let archived = try await GuildStoreWriter(path: archivedPath, archive: ArchiveConfiguration(directory: archive))
            let plain = try await GuildStoreWriter(path: plainPath, archive: nil)
            ArchivingTotals.current = ArchivingTotals(plain: plain, archived: archived, archiveDirectory: archive)
            return run
        }
    } teardown: {
        if let totals = ArchivingTotals.current {
            // The segments must reach every commit the log restarted over (AR-1).
            let stats = totals.archived.db.statistics()
            printToStandardError(totals.summary(name) + "; archived through commit \(stats.archivedThrough.map(String.init) ?? "none")")
            try? await totals.plain.db.close()
            try? await totals.archived.db.close()
        }
        ArchivingTotals.current = nil
        await BackupRun.current?.finish()
    }
}
