// The data every Patterns benchmark runs on, made once per process: the small profile seeded
// into a GuildStore database in a temporary directory, its SQLite twin (seed 004's indexes,
// and the covering copy), the subjects, the workloads, and the in-process contenders.
// Every read workload's answer on GuildStore, SQLite (covering) and GRDB is checked equal to
// SQLite (seed indexes)'s before any benchmark is registered.

import BenchmarkSupport
import Dispatch
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// What a task handed back to a thread waiting for it: written by the task before it
/// signals, read after the wait.
final class TaskOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs `body` to its end on the cooperative pool and waits for it on this thread (the
/// registration closure is synchronous and runs on the main thread, which is not one of the
/// pool's).
func waitFor<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = TaskOutcome<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            outcome.result = .success(try await body())
        } catch {
            outcome.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    guard let result = outcome.result else { throw BenchmarkSupport.BenchError.setup("a task ended without a result") }
    return try result.get()
}

/// One read workload readied on one in-process contender, with its checked answer.
struct ReadyWorkload {
    let prepared: PreparedWorkload
    let rows: [CanonicalRow]
}

/// The process's fixture. Used from one thread at a time: the registration closure makes it,
/// then package-benchmark runs one benchmark's setup, iterations and teardown.
final class PatternsFixture: @unchecked Sendable {
    /// How many message ids a point-lookup batch asks for.
    static let lookups = 1_000

    let directory: TemporaryDirectory
    let databasePath: String
    let store: GuildDatabase
    let twin: SQLiteTwin
    let subjects: BenchSubjects
    let reads: [Workload]
    let writes: [Workload]
    /// GuildStore, SQLite (seed indexes), SQLite (covering indexes), GRDB, in that order.
    let contenders: [any BenchContender]
    /// Each read workload on each contender, by workload name and contender key, checked.
    let ready: [String: [String: ReadyWorkload]]

    nonisolated(unsafe) private static var made: PatternsFixture?

    /// The fixture, made on the first call; a failure ends the process (status 1).
    static func shared() -> PatternsFixture {
        if let made { return made }
        let fixture = orExit("Patterns fixture") { try waitFor { try await PatternsFixture() } }
        made = fixture
        atexit { PatternsFixture.made?.close() }
        return fixture
    }

    private init() async throws {
        let started = ContinuousClock.now
        directory = try TemporaryDirectory("patterns")
        databasePath = directory.file("small.gsdb")
        store = try await GuildDatabase.open(DatabaseConfiguration(.file(databasePath)))
        try await FixtureGenerator(profile: .small).load(into: store.database)
        twin = SQLiteTwin(besideDatabase: databasePath)
        _ = try await twin.make(from: store.database)
        _ = try await store.database.checkpoint(.truncate)
        subjects = try BenchSubjects.discover(sqlitePath: twin.seedPath, lookups: Self.lookups)
        var catalog = WorkloadCatalog()
        // The small profile's sizes, as `guildstore bench --profile small` has them.
        catalog.ingestProfile = IngestSource.profile(events: FixtureProfile.small.gatewayEvents, world: .small)
        catalog.concurrentWriters = [(8, 10), (64, 2)]
        reads = catalog.reads(subjects)
        writes = catalog.writes(subjects, scratchFolder: databasePath + ".scratch")  // = scratchFolder
        contenders = try BenchContenders.make(database: store.database, twin: twin) + [try GRDBContender(path: twin.seedPath)]

        // Every read workload once on every contender, each answer checked against the seed
        // SQLite's (the specification) before anything is registered.
        let comparison = AnswerComparison()
        var ready: [String: [String: ReadyWorkload]] = [:]
        for workload in reads {
            var byContender: [String: ReadyWorkload] = [:]
            for contender in contenders {
                let prepared = try await contender.prepare(workload)
                let rows = try await prepared.run(answer: true).rows ?? []
                byContender[contender.key] = ReadyWorkload(prepared: prepared, rows: rows)
            }
            guard let reference = byContender[BenchContenders.seedKey] else { throw BenchmarkSupport.BenchError.setup("no reference answer") }
            for contender in contenders where contender.key != BenchContenders.seedKey {
                try comparison.check(workload: workload.name, reference: (BenchContenders.seedName, reference.rows),
                                     candidate: (contender.name, byContender[contender.key]?.rows ?? []))
            }
            ready[workload.name] = byContender
        }
        self.ready = ready
        let elapsed = ContinuousClock.now - started
        printToStandardError("Patterns fixture: small profile seeded, exported and \(reads.count) read workloads checked equal on "
                             + "\(contenders.count) contenders in \(elapsed)")
    }

    /// The seed SQLite's checked answer to a read workload.
    func referenceRows(_ workload: Workload) -> [CanonicalRow]? {
        ready[workload.name]?[BenchContenders.seedKey]?.rows
    }

    /// Where the write benchmarks make their scratch copies (a folder, which `directory`'s
    /// own removal would leave).
    var scratchFolder: String { databasePath + ".scratch" }

    func close() {
        _ = try? waitFor { [store] in try await store.close() }
        try? FileManager.default.removeItem(atPath: scratchFolder)
        directory.remove()
    }
}
