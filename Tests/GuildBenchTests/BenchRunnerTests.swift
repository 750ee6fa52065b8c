import Foundation
import GuildStore
@_spi(Benchmarks) import GuildStoreSQLite
import GuildStoreEngine
import Testing
import TestSupport
@_spi(Benchmarks) @testable import GuildBench

/// The runner on the small fixture: GuildStore and both SQLite files agree on every read
/// workload; a contender whose answer to one workload is altered stops the run with a
/// mismatch naming that workload and contender, and no results come back.
@Suite("Bench runner")
struct BenchRunnerTests {
    /// A contender that answers like `inner` except on `workload`, where it adds one to the
    /// first integer of the first row (or drops the first row when there is none).
    final class TamperedContender: BenchContender {
        let inner: any BenchContender
        let workload: String
        let key = "tampered"
        let name = "GuildStore (tampered)"

        init(_ inner: any BenchContender, workload: String) {
            self.inner = inner
            self.workload = workload
        }

        func prepare(_ workload: Workload) async throws -> PreparedWorkload {
            let prepared = try await inner.prepare(workload)
            guard workload.name == self.workload else { return prepared }
            return PreparedWorkload(setUp: prepared.setUp, tearDown: prepared.tearDown, note: prepared.note) {
                let answer = try await prepared.execute()
                return DeferredAnswer {
                    var rows = try answer.rows()
                    guard !rows.isEmpty else { return rows }
                    if let column = rows[0].values.firstIndex(where: { if case .integer = $0 { true } else { false } }),
                       case .integer(let value) = rows[0].values[column] {
                        rows[0].values[column] = .integer(value + 1)
                    } else {
                        rows.removeFirst()
                    }
                    return rows
                }
            }
        }
    }

    /// The small fixture in GuildStore, its SQLite twin, the subjects and the contenders.
    struct Fixture {
        let directory: TemporaryDirectory
        let store: GuildDatabase
        let subjects: BenchSubjects
        let contenders: [any BenchContender]

        static func make(_ name: String) async throws -> Fixture {
            let directory = try TemporaryDirectory(name)
            let path = directory.file("bench.gsdb")
            let store = try await GuildDatabase.open(DatabaseConfiguration(.file(path)))
            try await FixtureGenerator(profile: .small).load(into: store.database, batchSize: 2_000)
            let twin = SQLiteTwin(besideDatabase: path)
            let outcome = try await twin.make(from: store.database)
            #expect(outcome.exported && outcome.coveringBuilt)
            let contenders = try BenchContenders.make(database: store.database, twin: twin)
            let seed = try #require(contenders[BenchContenders.reference] as? SQLiteContender)
            let subjects = try BenchSubjects.discover(in: seed.connection, lookups: 50)
            return Fixture(directory: directory, store: store, subjects: subjects, contenders: contenders)
        }

        func close() async throws {
            try await store.close()
            directory.remove()
        }
    }

    @Test("every read workload: GuildStore and both SQLite files give the same answer")
    func contendersAgree() async throws {
        let fixture = try await Fixture.make("bench-agree")
        let workloads = WorkloadCatalog().reads(fixture.subjects)
        #expect(Set(workloads.map(\.group)) == Set(GuildQueryPattern.allCases.map(\.rawValue) + ["point-lookup"]))
        #expect(fixture.subjects.guilds.map(\.label) == ["busiest", "median", "empty"])
        let results = try await BenchRunner(runs: 1).run(workloads, on: fixture.contenders, reference: BenchContenders.reference,
                                                         measured: BenchContenders.measured)
        #expect(results.count == workloads.count)
        #expect(results.allSatisfy { $0.answersAgree && $0.timings.count == 3 && $0.ratios.count == 2 })
        #expect(results.contains { $0.group == "leaderboard" && $0.rows > 1 }, "the busiest guild has a leaderboard")
        try await fixture.close()
    }

    @Test("an altered answer on one workload stops the run with a mismatch naming it", arguments: [
        "leaderboard · busiest · all time", "guild-stats", "point-lookup · 50 message ids",
    ])
    func alteredAnswerIsCaught(workload target: String) async throws {
        let fixture = try await Fixture.make("bench-tampered")
        var contenders = fixture.contenders
        contenders[BenchContenders.measured] = TamperedContender(contenders[BenchContenders.measured], workload: target)
        let workloads = WorkloadCatalog().reads(fixture.subjects)
        #expect(workloads.contains { $0.name == target })
        // The run throws (so no timing of any workload comes back), naming the altered one.
        let error = await #expect(throws: BenchError.self) {
            _ = try await BenchRunner(runs: 1).run(workloads, on: contenders, reference: BenchContenders.reference,
                                                   measured: BenchContenders.measured)
        }
        guard case .answerMismatch(let mismatch)? = error else {
            Issue.record("expected a mismatch, got \(String(describing: error))")
            try await fixture.close()
            return
        }
        #expect(mismatch.workload == target)
        #expect(mismatch.contender == "GuildStore (tampered)")
        #expect(mismatch.reference == BenchContenders.seedName)
        #expect(mismatch.difference.index == 0)
        try await fixture.close()
    }
}
