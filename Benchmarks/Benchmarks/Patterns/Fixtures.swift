// What the PostgreSQL and the write benchmarks make in their setup, before any timing: the
// cluster with the fixture's rows, and scratch copies with the workload checked on them.

import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench

/// The PostgreSQL cluster of this process (one benchmark's), made by its setup and stopped by
/// its teardown (or at exit).
enum PostgresFixture {
    // Used from one thread at a time: package-benchmark runs setup, iterations, teardown in turn.
    nonisolated(unsafe) private static var cluster: PostgresCluster?
    nonisolated(unsafe) private static var contender: PostgresContender?

    /// `workload` prepared on PostgreSQL, its answer checked equal to SQLite (seed
    /// indexes)'s; the cluster is made and loaded from the seed SQLite file first.
    static func readied(_ workload: Workload) async throws -> PreparedWorkload {
        let fixture = PatternsFixture.shared()
        let contender: PostgresContender
        if let existing = Self.contender {
            contender = existing
        } else {
            let cluster = try PostgresCluster()
            Self.cluster = cluster
            let connection = try PostgresConnection(cluster.connectionInfo)
            _ = try PostgresContender.load(from: fixture.twin.seedPath, into: connection)
            contender = PostgresContender(connection: connection)
            Self.contender = contender
        }
        let prepared = try await contender.prepare(workload)
        let rows = try await prepared.run(answer: true).rows ?? []
        guard let reference = fixture.referenceRows(workload) else { throw BenchmarkSupport.BenchError.setup("no reference answer") }
        try AnswerComparison().check(workload: workload.name, reference: (BenchContenders.seedName, reference),
                                     candidate: (contender.name, rows))
        return prepared
    }

    static func stop() {
        contender = nil  // closes the connection
        cluster?.stop()
        cluster = nil
    }
}

/// A write benchmark's copies and its readied workload. The setup makes scratch copies of the
/// fixture's three databases and runs the workload once on the benchmark's contender and once
/// on a reference (SQLite seed, or GuildStore for SQLite seed itself), comparing the answers;
/// the timed runs go on from there (a workload that runs once, retention, gets fresh copies).
final class WriteRun: @unchecked Sendable {
    // Used from one thread at a time: package-benchmark runs setup, iterations, teardown in turn.
    nonisolated(unsafe) private static var current: WriteRun?

    private var copies: [ScratchCopies] = []
    private var contenders: [[any BenchContender]] = []
    private(set) var prepared: PreparedWorkload?

    static func make(_ workload: Workload, contender key: String) async throws -> WriteRun {
        let fixture = PatternsFixture.shared()
        let run = WriteRun()
        current = run
        let referenceKey = key == BenchContenders.seedKey ? BenchContenders.guildStoreKey : BenchContenders.seedKey
        let checked = try await run.copy(fixture, "checked")
        guard let measured = checked.first(where: { $0.key == key }), let reference = checked.first(where: { $0.key == referenceKey }) else {
            throw BenchmarkSupport.BenchError.setup("no contender \(key)")
        }
        let mine = try await measured.prepare(workload)
        let theirs = try await reference.prepare(workload)
        let answer = try await mine.run(answer: true).rows ?? []
        let expected = try await theirs.run(answer: true).rows ?? []
        try AnswerComparison().check(workload: workload.name, reference: (reference.name, expected), candidate: (measured.name, answer))
        if workload.runsOnce {
            guard let fresh = try await run.copy(fixture, "timed").first(where: { $0.key == key }) else {
                throw BenchmarkSupport.BenchError.setup("no contender \(key)")
            }
            run.prepared = try await fresh.prepare(workload)
        } else {
            run.prepared = mine
        }
        return run
    }

    private func copy(_ fixture: PatternsFixture, _ label: String) async throws -> [any BenchContender] {
        let scratch = try await ScratchCopies(database: fixture.store.database, databasePath: fixture.databasePath, twin: fixture.twin,
                                              folder: fixture.scratchFolder + "/" + label)
        copies.append(scratch)
        let made = try await scratch.contenders()
        contenders.append(made)
        return made
    }

    /// Releases the contenders and removes the copies.
    static func finish() async {
        guard let run = current else { return }
        current = nil
        run.prepared = nil
        run.contenders = []
        for scratch in run.copies { try? await scratch.remove() }
        try? FileManager.default.removeItem(atPath: PatternsFixture.shared().scratchFolder)
    }
}
