// The query patterns, and the rest of `guildstore bench`'s workloads, as package-benchmark
// benchmarks: the same GuildBench workloads (`WorkloadCatalog`) on the small profile, one
// benchmark per (workload, contender), named `WORKLOAD : CONTENDER` (`leaderboard / busiest
// / 30 days : guildstore`).
//
// Contenders: GuildStore, SQLite (seed indexes), SQLite (covering indexes) and GRDB.swift 7 in
// process, and PostgreSQL 15 on a throwaway cluster when its server binaries are installed
// (else a note, and no PostgreSQL benchmarks). Reads on all of them; the write workloads
// (bulk ingest, durable commits by 1, 8 and 64 writers, retention, open with a WAL) on
// GuildStore and the two SQLite files, each on scratch copies of its own.
//
// Answers are checked before anything is timed: package-benchmark runs each benchmark in a
// process of its own, and every process first seeds the small profile into a temporary
// directory and checks every read workload's answer on the in-process contenders equal to
// SQLite (seed indexes)'s before it registers a benchmark (`PatternsFixture`). A PostgreSQL
// benchmark's setup checks its answer against the same reference; a write benchmark's setup
// runs the workload once on its contender and once on a reference (SQLite seed; GuildStore
// for SQLite seed itself), each on its own copies, and compares. A difference ends the
// process with status 1 before any timing.

import Benchmark
import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench

/// A read: one run (one read transaction) per iteration.
var readConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .mallocCountTotal],
    timeUnits: .nanoseconds,  // many reads of the small profile take a few microseconds
    warmupIterations: 3,
    scalingFactor: .one,
    maxDuration: .milliseconds(500),
    maxIterations: 1_000
) }

/// A write: one run per iteration; each run's setup and teardown (fresh copies, closing what
/// it opened) are outside the measurement.
var writeConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock],
    timeUnits: .microseconds,
    warmupIterations: 0,
    scalingFactor: .one,
    maxDuration: .seconds(3),
    maxIterations: 10
) }

/// Retention: deleting the oldest 60 days twice is not the same work twice, so one run.
var onceConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock],
    timeUnits: .microseconds,
    warmupIterations: 0,
    scalingFactor: .one,
    maxDuration: .seconds(10),
    maxIterations: 1
) }

func benchmarkName(_ workload: Workload, _ contender: String) -> String {
    workload.name.replacingOccurrences(of: " · ", with: " / ") + " : " + contender
}

/// A read workload on an in-process contender, readied and checked by the fixture.
func readBenchmark(_ workload: Workload, _ contender: String) {
    let name = benchmarkName(workload, contender)
    Benchmark(name, configuration: readConfiguration) { benchmark in
        await orExit(name) {
            guard let ready = PatternsFixture.shared().ready[workload.name]?[contender] else {
                throw BenchmarkSupport.BenchError.setup("not readied")
            }
            for _ in benchmark.scaledIterations { blackHole(try await ready.prepared.execute()) }
        }
    }
}

/// A read workload on PostgreSQL: the cluster is made, loaded and the workload checked in
/// the setup.
func postgresBenchmark(_ workload: Workload) {
    let name = benchmarkName(workload, "postgresql")
    Benchmark(name, configuration: readConfiguration) { (benchmark: Benchmark, prepared: PreparedWorkload) in
        await orExit(name) {
            for _ in benchmark.scaledIterations { blackHole(try await prepared.execute()) }
        }
    } setup: {
        await orExit("\(name) setup") { try await PostgresFixture.readied(workload) }
    } teardown: {
        PostgresFixture.stop()
    }
}

/// A write workload on GuildStore or one of the SQLite files, on scratch copies.
func writeBenchmark(_ workload: Workload, _ contender: String) {
    let name = benchmarkName(workload, contender)
    Benchmark(name, configuration: workload.runsOnce ? onceConfiguration : writeConfiguration) { (benchmark: Benchmark, run: WriteRun) in
        await orExit(name) {
            guard let prepared = run.prepared else { throw BenchmarkSupport.BenchError.setup("not readied") }
            for _ in benchmark.scaledIterations {
                if let setUp = prepared.setUp { try await setUp() }
                benchmark.startMeasurement()
                blackHole(try await prepared.execute())
                benchmark.stopMeasurement()
                if let tearDown = prepared.tearDown { try await tearDown() }
            }
        }
    } setup: {
        await orExit("\(name) setup") { try await WriteRun.make(workload, contender: contender) }
    } teardown: {
        await WriteRun.finish()
    }
}

let benchmarks: @Sendable () -> Void = {
    let fixture = PatternsFixture.shared()
    let postgresMissing = PostgresCluster.unavailableReason
    if let postgresMissing { printToStandardError("Patterns: no PostgreSQL contender: \(postgresMissing)") }
    for workload in fixture.reads {
        for contender in fixture.contenders { readBenchmark(workload, contender.key) }
        if postgresMissing == nil { postgresBenchmark(workload) }
    }
    for workload in fixture.writes {
        for contender in [BenchContenders.guildStoreKey, BenchContenders.seedKey, BenchContenders.coveringKey] {
            writeBenchmark(workload, contender)
        }
    }
}
