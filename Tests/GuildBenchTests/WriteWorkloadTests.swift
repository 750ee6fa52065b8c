import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreSQLite
@_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildBench

/// The write workloads on scratch copies of the small fixture, made small: a bulk ingest of
/// 1,500 events, durable commits by 1, 4 and 16 writers, retention, and the open of a copy
/// whose WAL holds 40 commits. Each loads or commits what it should on every contender, the
/// contenders agree, the report gets rates and WAL notes, and an altered answer is caught.
@Suite("Bench write workloads")
struct WriteWorkloadTests {
    static func catalog() -> WorkloadCatalog {
        var catalog = WorkloadCatalog()
        catalog.ingestProfile = IngestSource.profile(events: 1_500, world: .small)
        catalog.ingestBatch = 400
        catalog.concurrentWriters = [(4, 5), (16, 2)]
        catalog.walCommits = 40
        return catalog
    }

    /// Scratch copies of the fixture and the contenders on them; `body` runs with them and
    /// the copies are removed afterwards, whatever happened.
    static func withScratch<T>(_ fixture: BenchRunnerTests.Fixture,
                               _ body: ([any BenchContender], String) async throws -> T) async throws -> T {
        let path = fixture.directory.file("bench.gsdb")
        let folder = path + ".bench-scratch"
        let scratch = try await ScratchCopies(database: fixture.store.database, databasePath: path,
                                              twin: SQLiteTwin(besideDatabase: path), folder: folder)
        let result: T
        do {
            result = try await body(try await scratch.contenders(), folder)
        } catch {
            try? await scratch.remove()
            throw error
        }
        try await scratch.remove()
        #expect(!FileManager.default.fileExists(atPath: folder), "scratch folder removed")
        return result
    }

    @Test("the catalog's write workloads, in order; without the slow ones only durable commits and retention")
    func catalogOrder() async throws {
        let subjects = BenchSubjects(now: 1_000_000, earliest: 0, guilds: [.init(label: "busiest", guild: 1, user: 2, messages: 3)],
                                     reminderEvents: [], lookupIDs: [], commitChannel: 4, nextMessageID: 100, eventCounts: [])
        var catalog = Self.catalog()
        let all = catalog.writes(subjects, scratchFolder: "/nonexistent")
        #expect(all.map(\.name) == ["bulk-ingest · 1500 events, 400 per transaction", "durable-commits · 1 writer, 50 commits",
                                    "durable-commits · 4 writers, 20 commits", "durable-commits · 16 writers, 32 commits",
                                    "retention · oldest 60 days", "open-with-wal · 40 commits in the WAL, then one read"])
        // Every workload's ids are its own.
        var ranges: [Range<UInt64>] = []
        for workload in all {
            switch workload.task {
            case .durableCommits(let plan), .openWithWAL(let plan):
                let covered = plan.ids(run: 0).lowerBound..<plan.ids(run: 20).upperBound
                #expect(!ranges.contains { $0.overlaps(covered) }, "\(workload.name)")
                ranges.append(covered)
                // The writers' shares make up the run, without overlap.
                let shares = (0..<plan.writers).map { plan.ids(run: 3, writer: $0) }
                #expect(shares.reduce(0) { $0 + $1.count } == plan.commits)
                #expect(shares.first?.lowerBound == plan.ids(run: 3).lowerBound && shares.last?.upperBound == plan.ids(run: 3).upperBound)
            default:
                break
            }
        }
        catalog.includeSlowWrites = false
        #expect(catalog.writes(subjects, scratchFolder: "/nonexistent").map(\.group) == ["durable-commits", "retention"])
    }

    @Test("bulk ingest loads every event on every contender, the 8/64-writer commits make every commit, open with a WAL reads the last one")
    func eachContenderDoesTheWork() async throws {
        let fixture = try await BenchRunnerTests.Fixture.make("bench-write-work")
        let catalog = Self.catalog()
        let profile = try #require(catalog.ingestProfile)
        try await Self.withScratch(fixture) { contenders, folder in
            let workloads = catalog.writes(fixture.subjects, scratchFolder: folder)
            let expected = [("message_events", profile.messages), ("voice_events", profile.voiceEvents),
                            ("member_events", profile.memberEvents), ("presence_events", profile.presenceEvents)]
                .map { CanonicalRow([.text($0.0), .integer(Int64($0.1))]) }
            #expect(profile.gatewayEvents == 1_500 && profile.messages > 0 && profile.presenceEvents > 0)
            for contender in contenders {
                for workload in workloads where workload.group != "retention" {
                    let prepared = try await contender.prepare(workload)
                    // Twice: each run starts from its own fresh copy (ingest, open) or takes new ids (commits).
                    for _ in 0..<2 {
                        let rows = try #require(try await prepared.run(answer: true).rows)
                        switch workload.task {
                        case .bulkIngest:
                            #expect(rows == expected, "\(contender.name)")
                        case .durableCommits(let plan):
                            #expect(rows == [CanonicalRow([.integer(Int64(plan.commits))])], "\(contender.name) \(workload.name)")
                        case .openWithWAL(let plan):
                            #expect(rows.count == 1 && rows.first?.values.first == .id(plan.ids(run: 0).upperBound - 1), "\(contender.name)")
                            #expect(prepared.note?.contains("\(plan.commits) commits left") == true, "\(String(describing: prepared.note))")
                        default:
                            Issue.record("unexpected \(workload.name)")
                        }
                    }
                }
            }
        }
        try await fixture.close()
    }

    @Test("the runner on every write workload: answers agree, rows and commits per second, WAL notes")
    func runnerAgrees() async throws {
        let fixture = try await BenchRunnerTests.Fixture.make("bench-write-runner")
        let results = try await Self.withScratch(fixture) { contenders, folder in
            try await BenchRunner(runs: 2).run(Self.catalog().writes(fixture.subjects, scratchFolder: folder), on: contenders,
                                               reference: BenchContenders.reference, measured: BenchContenders.measured)
        }
        #expect(results.map(\.group) == ["bulk-ingest", "durable-commits", "durable-commits", "durable-commits", "retention", "open-with-wal"])
        let ingest = try #require(results.first)
        #expect(ingest.operations == 1_500 && ingest.unit == "rows" && ingest.rows == 4 && ingest.runs == 2)
        #expect(results.filter { $0.group == "durable-commits" }.map(\.operations) == [50, 20, 32])
        for result in results where result.operations != nil {
            #expect(result.timings.allSatisfy { ($0.perSecond ?? 0) > 0 }, "\(result.name)")
        }
        let open = try #require(results.last)
        #expect(open.notes.map(\.contender) == BenchContenders.descriptions.map(\.key))
        #expect(results.dropLast().allSatisfy { $0.notes.isEmpty })

        // The report says it.
        let report = BenchReport(command: "test", machine: .current(directory: fixture.directory.path),
                                 dataset: DatasetDescription(databasePath: "x", seededProfile: nil, eventsPerTable: [:], totalEvents: 0,
                                                             now: 0, guilds: []),
                                 runsPerWorkload: 2, contenders: BenchContenders.descriptions, measured: BenchContenders.guildStoreKey,
                                 workloads: results, footprint: [], geometricMeans: [], phases: [], totalSeconds: 1)
        let text = ReportTextTable.render(report)
        #expect(text.contains("bulk-ingest · 1500 events, 400 per transaction: rows per second at the median: GuildStore "))
        #expect(text.contains("durable-commits · 16 writers, 32 commits: commits per second at the median: GuildStore "))
        #expect(text.contains("open-with-wal · 40 commits in the WAL, then one read: GuildStore: 40 commits left "))
        #expect(text.contains("(retention: 1)"))
        try await fixture.close()
    }

    @Test("an altered answer to a write workload stops the run with a mismatch naming it",
          arguments: ["bulk-ingest · 1500 events, 400 per transaction", "durable-commits · 16 writers, 32 commits",
                      "open-with-wal · 40 commits in the WAL, then one read"])
    func alteredWriteAnswerIsCaught(workload target: String) async throws {
        let fixture = try await BenchRunnerTests.Fixture.make("bench-write-tampered")
        let error = try await Self.withScratch(fixture) { contenders, folder in
            var contenders = contenders
            contenders[BenchContenders.measured] = BenchRunnerTests.TamperedContender(contenders[BenchContenders.measured], workload: target)
            let workloads = Self.catalog().writes(fixture.subjects, scratchFolder: folder).filter { $0.name == target }
            #expect(workloads.count == 1)
            return await #expect(throws: BenchError.self) {
                _ = try await BenchRunner(runs: 1).run(workloads, on: contenders, reference: BenchContenders.reference,
                                                       measured: BenchContenders.measured)
            }
        }
        guard case .answerMismatch(let mismatch)? = error else {
            Issue.record("expected a mismatch, got \(String(describing: error))")
            try await fixture.close()
            return
        }
        #expect(mismatch.workload == target && mismatch.contender == "GuildStore (tampered)")
        try await fixture.close()
    }
}
