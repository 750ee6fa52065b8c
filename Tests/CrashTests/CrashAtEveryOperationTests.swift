import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// The fault suite's crash half: `MixedWorkload` through `Database`, cut by a power loss at
/// every one of its file operations in turn (a seeded sample past `FaultRounds.limit`), under
/// `synchronous: .full` and `.normal`, with the disk dropping every unsynced write or keeping
/// a seeded part of them, torn at sectors. After each cut the database is reopened on the
/// real files:
///
/// - under `.full` it holds every commit acknowledged before the crash, plus all or nothing
///   of the one in flight; under `.normal` it equals some committed prefix (or the in-flight
///   commit whole);
/// - no tree is half-written (the comparison is of whole states), `check()` passes, recovery
///   reports no lost commit, and the database takes a write that survives another reopen.
@Suite("Crash at every operation")
struct CrashAtEveryOperationTests {
    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case fullDropUnsynced, fullKeepSomeUnsynced, normalDropUnsynced, normalKeepSomeUnsynced
        var testDescription: String { rawValue }
        var synchronous: SynchronousMode {
            switch self {
            case .fullDropUnsynced, .fullKeepSomeUnsynced: .full
            case .normalDropUnsynced, .normalKeepSomeUnsynced: .normal
            }
        }

        /// The power losses tried at each crash point: one, or several seeds of the disk
        /// keeping part of its cache.
        func powerLosses(_ k: Int) -> [FaultPlan.PowerLossMode] {
            switch self {
            case .fullDropUnsynced, .normalDropUnsynced: [.dropUnsynced]
            case .fullKeepSomeUnsynced, .normalKeepSomeUnsynced:
                (0..<UInt64(CrashAtEveryOperationTests.seedsPerPoint)).map {
                    .keepSomeUnsynced(seed: FaultRounds.seed &+ UInt64(k) &* 1_000 &+ $0)
                }
            }
        }
    }

    /// Seeds of `.keepSomeUnsynced` per crash point (`GUILDSTORE_FAULT_SEEDS_PER_POINT`).
    static let seedsPerPoint = FaultRounds.environment["GUILDSTORE_FAULT_SEEDS_PER_POINT"].flatMap { Int($0) }.map { max(1, $0) } ?? 6

    /// Where the crash cut the workload.
    enum CutPoint { case open, commit, checkpoint, none }

    @Test("a crash at every file operation of a mixed workload: nothing acknowledged lost, nothing half-visible, check passes, writes go on",
          arguments: Case.allCases)
    func crashAtEveryOperation(_ testCase: Case) async throws {
        let directory = try TemporaryDirectory("gs-crash-every")
        defer { directory.remove() }
        let workload = MixedWorkload(synchronous: testCase.synchronous)

        // The dry run counts the operations; the workload repeats them exactly.
        let dryPlan = FaultPlan()
        let dry = try await workload.run(path: directory.file("dry.gsdb"), fileSystem: FaultyFileSystem(dryPlan),
                                         continueAfter: { _ in false })
        #expect(dry.openError == nil && dry.failures.isEmpty, "the dry run failed: \(String(describing: dry.openError)) \(dry.failures.map(\.error))")
        let total = dryPlan.counters.operations
        try await dry.database?.close()
        #expect(total > 20, "the workload makes \(total) file operations")

        var cuts: [CutPoint: Int] = [:]
        var inFlightRecovered = 0
        let points = FaultRounds.points(0...total, salt: UInt64(testCase.synchronous == .full ? 1 : 2))
        var rounds = 0
        for k in points {
            for (index, powerLoss) in testCase.powerLosses(k).enumerated() {
                let outcome = try await Self.round(workload, crashAfter: k, powerLoss: powerLoss, directory: directory,
                                                   name: "crash-\(k)-\(index)",
                                                   context: "\(testCase), crash after \(k) of \(total) operations, \(powerLoss)")
                cuts[outcome.cut, default: 0] += 1
                if outcome.inFlightRecovered { inFlightRecovered += 1 }
                rounds += 1
            }
        }
        print("crash at every operation, \(testCase): \(rounds) rounds at \(points.count) of \(total + 1) crash points; cut in open \(cuts[.open] ?? 0), in a commit \(cuts[.commit] ?? 0), in the checkpoint \(cuts[.checkpoint] ?? 0), after the end \(cuts[.none] ?? 0); in-flight commit recovered \(inFlightRecovered)")
        // The workload reaches every kind of place (a guard against a workload that changed).
        #expect((cuts[.commit] ?? 0) > 0 && (cuts[.checkpoint] ?? 0) > 0 && (cuts[.open] ?? 0) > 0)
    }

    struct RoundOutcome {
        var cut: CutPoint
        var inFlightRecovered: Bool
    }

    static func round(_ workload: MixedWorkload, crashAfter k: Int, powerLoss: FaultPlan.PowerLossMode,
                      directory: TemporaryDirectory, name: String, context: String) async throws -> RoundOutcome {
        let path = directory.file("\(name).gsdb")
        let plan = FaultPlan()
        plan.crash(afterOperations: k, powerLoss: powerLoss)
        let run = try await workload.run(path: path, fileSystem: FaultyFileSystem(plan), continueAfter: { _ in false })
        var cut = CutPoint.none
        var inFlight: DatabaseModel?
        if let error = run.openError {
            #expect(plan.hasCrashed, "\(context): open failed without a crash: \(error)")
            cut = .open
        }
        if let failure = run.failures.first {
            #expect(plan.hasCrashed, "\(context): step \(failure.step) failed without a crash: \(failure.error)")
            #expect(failure.error is GuildStoreError, "\(context): an error that is not a GuildStoreError: \(failure.error)")
            inFlight = failure.attempted
            cut = inFlight == nil ? .checkpoint : .commit
        }
        if let db = run.database {
            if plan.hasCrashed {
                // The crashed process's files are gone; closing may fail, and must not keep the
                // dead database registered (the reopen below would get it back).
                try? await db.close()
            } else {
                try await db.close()
            }
        }
        if !plan.hasCrashed { plan.simulatePowerLoss(powerLoss) }

        // The rebooted process, on the real files.
        let (configuration, _) = workload.configuration(path: path, fileSystem: nil)
        let db: Database
        do {
            db = try Database.open(configuration)
        } catch {
            Issue.record("\(context): reopen failed: \(error)")
            return RoundOutcome(cut: cut, inFlightRecovered: false)
        }
        let actual = try readDatabase(db.engine)
        let acknowledged = run.acknowledged
        switch workload.synchronous {
        case .full:
            #expect(actual == acknowledged || actual == inFlight,
                    "\(context): recovered state is neither the last acknowledged commit (\(difference(actual, acknowledged))) nor that plus the in-flight one")
        case .normal, .off:
            #expect(run.committed.contains(actual) || actual == inFlight,
                    "\(context): recovered state is no committed state (vs last acknowledged: \(difference(actual, acknowledged)))")
        }
        let report = try await db.check()
        #expect(report.isOK, "\(context): check after recovery: \(report.problems.prefix(5))")
        let recovery = db.engine.walRecovery
        #expect(!recovery.lostCommittedData && !recovery.syncedFramesDiscarded, "\(context): a power loss reported as damage: \(recovery)")
        if powerLoss == .dropUnsynced {
            #expect(recovery.discardedCommits == 0, "\(context): commits after a hole without any kept unsynced write: \(recovery)")
        }

        // The database takes writes, and they survive a clean reopen.
        var expected = actual
        expected["after", default: [:]][1] = [1, 2, 3]
        try await db.write { tx in try tx.put(bigEndianKey(1), [1, 2, 3], in: try tx.openTree("after")) }
        try await db.close()
        let again = try Database.open(configuration)
        let final = try readDatabase(again.engine)
        #expect(final == expected, "\(context): a write after recovery did not survive reopen: \(difference(final, expected))")
        try await again.close()
        return RoundOutcome(cut: cut, inFlightRecovered: inFlight != nil && actual == inFlight && actual != acknowledged)
    }
}
