import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// The fault suite's I/O-error half: `MixedWorkload` through `Database` with the k-th write
/// failing with EIO (writing nothing, or a torn prefix), the disk running full (ENOSPC) after
/// about k writes' worth of bytes, or the k-th sync failing with EIO, for every k (a seeded
/// sample past `FaultRounds.limit`), under `.full` and `.normal`. The workload goes on after
/// each error. Checked (TX-4):
///
/// - every error reaches the caller as a `GuildStoreError` of the fault's kind (`.io`,
///   `.diskFull`), or `.poisoned` after a failed sync; a failed sync always surfaces;
/// - after a failed sync every later write and checkpoint is refused with `.poisoned`;
///   after a failed write or a full disk the engine goes on (it may poison only when the
///   write that failed was the log restart's header, WAL-4);
/// - after every error, reads go on and show exactly the acknowledged commits;
/// - once the fault is gone (space freed) a write succeeds unless the engine is poisoned;
/// - reopened on the real files, after a power loss that drops every unsynced write or
///   without one, the database holds every acknowledged commit (under `.full` exactly them:
///   nothing acknowledged was not durable, nothing rolled back came back; a commit whose sync
///   failed may be recovered whole without a power loss), `check()` passes, writes go on.
@Suite("I/O error countdown")
struct IOErrorCountdownTests {
    /// `tornWriteEIO`: the write keeps a seeded prefix of its bytes, then fails with EIO.
    enum Fault: String, CaseIterable { case writeEIO, tornWriteEIO, diskFull, syncEIO }

    struct Case: CustomTestStringConvertible, Sendable {
        var fault: Fault
        var synchronous: SynchronousMode
        var testDescription: String { "\(fault.rawValue), \(synchronous)" }
    }

    static let cases: [Case] = Fault.allCases.flatMap { fault in
        [SynchronousMode.full, .normal].map { Case(fault: fault, synchronous: $0) }
    }

    @Test("the k-th write, a full disk, the k-th sync: typed errors, poisoned after a failed sync, reads go on, nothing acknowledged lost",
          arguments: cases)
    func countdown(_ testCase: Case) async throws {
        let directory = try TemporaryDirectory("gs-io-countdown")
        defer { directory.remove() }
        let workload = MixedWorkload(synchronous: testCase.synchronous)
        let dryPlan = FaultPlan()
        let dry = try await workload.run(path: directory.file("dry.gsdb"), fileSystem: FaultyFileSystem(dryPlan),
                                         continueAfter: { _ in false })
        #expect(dry.openError == nil && dry.failures.isEmpty, "the dry run failed: \(dry.failures.map(\.error))")
        try await dry.database?.close()
        let counters = dryPlan.counters

        let salt = UInt64(Fault.allCases.firstIndex(of: testCase.fault) ?? 0) * 2 + (testCase.synchronous == .full ? 0 : 1)
        let points: [Int]
        switch testCase.fault {
        case .writeEIO, .tornWriteEIO: points = FaultRounds.points(1...counters.writes, salt: salt)
        case .syncEIO: points = FaultRounds.points(1...counters.syncs, salt: salt)
        // Budgets spread over the bytes the workload writes, off page boundaries, so the disk
        // fills inside each kind of write (a byte budget lands on a write in proportion to
        // its size).
        case .diskFull: points = FaultRounds.points(0...counters.writes, salt: salt).map {
            min(counters.bytesWritten, counters.bytesWritten * $0 / max(1, counters.writes) + ($0 * 977) % 4096)
        }
        }
        var tally = Tally()
        for k in points {
            try await Self.round(workload, fault: testCase.fault, k: k, powerLoss: k % 2 == 0,
                                 directory: directory, context: "\(testCase.testDescription), k = \(k)", tally: &tally)
        }
        print("I/O error countdown, \(testCase.testDescription): \(points.count) rounds (of \(counters.writes) writes, \(counters.syncs) syncs, \(counters.bytesWritten) bytes); failed open \(tally.failedOpens), failed commits \(tally.failedCommits), failed checkpoints \(tally.failedCheckpoints), poisoned \(tally.poisoned), recovered with a commit whose sync failed \(tally.recoveredUnacknowledged)")
        #expect(tally.failedCommits > 0 && tally.failedCheckpoints > 0)
    }

    struct Tally {
        var failedOpens = 0
        var failedCommits = 0
        var failedCheckpoints = 0
        var poisoned = 0
        var recoveredUnacknowledged = 0
    }

    static func isPoisoned(_ error: any Error) -> String? {
        if case GuildStoreError.poisoned(let reason) = error { return reason }
        return nil
    }

    static func matchesFault(_ error: any Error, _ fault: Fault) -> Bool {
        switch (fault, error as? GuildStoreError) {
        case (.writeEIO, .io(_, _, let code)?), (.tornWriteEIO, .io(_, _, let code)?), (.syncEIO, .io(_, _, let code)?): code == EIO
        case (.diskFull, .diskFull?): true
        default: false
        }
    }

    static func round(_ workload: MixedWorkload, fault: Fault, k: Int, powerLoss: Bool, directory: TemporaryDirectory,
                      context: String, tally: inout Tally) async throws {
        let path = directory.file("fault-\(k).gsdb")
        let plan = FaultPlan()
        switch fault {
        case .writeEIO: plan.failWrite(k)
        case .tornWriteEIO: plan.failWrite(k, as: .torn(keeping: (k &* 1_237) % 9_000))
        case .diskFull: plan.setDiskBudget(k)
        case .syncEIO: plan.failSync(k)
        }
        var run = try await workload.run(path: path, fileSystem: FaultyFileSystem(plan), continueAfter: { _ in true }) { failure, db, acknowledged in
            // Reads go on after any error, and show exactly the acknowledged commits.
            do {
                let seen = try readDatabase(db.engine)
                #expect(seen == acknowledged, "\(context): after step \(failure.step) failed, reads show \(difference(seen, acknowledged))")
            } catch {
                Issue.record("\(context): a read after step \(failure.step) failed: \(error)")
            }
        }
        let fired = switch fault {
        case .writeEIO, .tornWriteEIO: plan.counters.writes >= k
        case .syncEIO: plan.counters.syncs >= k
        case .diskFull: run.openError.map { matchesFault($0, .diskFull) } ?? false || run.failures.contains { matchesFault($0.error, .diskFull) }
        }

        if let error = run.openError {
            // A failed open: a typed error of the fault's kind, and nothing to go on with.
            tally.failedOpens += 1
            #expect(matchesFault(error, fault), "\(context): open failed with \(error)")
        }
        var unacknowledgedMayBeDurable: [DatabaseModel] = []
        if run.database != nil {
            var poisonedAt: Int?
            for failure in run.failures {
                if failure.attempted == nil { tally.failedCheckpoints += 1 } else { tally.failedCommits += 1 }
                if let reason = isPoisoned(failure.error) {
                    #expect(poisonedAt != nil || fault != .syncEIO,
                            "\(context): step \(failure.step) refused as poisoned before any failure: \(reason)")
                    if fault != .syncEIO {
                        // A failed write poisons only when it was the log restart's (WAL-4).
                        #expect(reason.contains("restarting the WAL"), "\(context): a failed write poisoned the engine: \(reason)")
                    }
                    poisonedAt = poisonedAt ?? failure.step
                    continue
                }
                #expect(matchesFault(failure.error, fault), "\(context): step \(failure.step) failed with \(failure.error)")
                if fault == .syncEIO {
                    // TX-4: the first failure is the sync; from then on only `.poisoned`.
                    #expect(poisonedAt == nil, "\(context): step \(failure.step) failed with \(failure.error) after the engine was poisoned")
                    poisonedAt = failure.step
                    // Its frames may be in the file, unsynced: recovery may find the commit whole.
                    if let attempted = failure.attempted { unacknowledgedMayBeDurable.append(attempted) }
                } else if fault == .writeEIO || fault == .tornWriteEIO {
                    #expect(run.failures.first?.step == failure.step || poisonedAt != nil,
                            "\(context): step \(failure.step) failed after the one failed write: \(failure.error)")
                }
            }
            if fault == .syncEIO && fired {
                // A failed sync always surfaces, and every step after it is refused.
                let first = run.failures.first?.step
                #expect(first != nil, "\(context): the sync failed and every step reported success")
                if let first {
                    tally.poisoned += 1
                    let later = run.failures.filter { $0.step > first }.count
                    #expect(later == MixedWorkload.steps.count - 1 - first,
                            "\(context): after the failed sync at step \(first), only \(later) later steps were refused")
                }
            }
            if !fired { #expect(run.failures.isEmpty, "\(context): steps failed with no fault: \(run.failures.map(\.error))") }
        }

        // The fault goes away (space freed, the disk answers again): one more write.
        plan.disarmAll()
        if let db = run.database {
            let poisoned = run.failures.contains { isPoisoned($0.error) != nil } || (fault == .syncEIO && fired)
            let base = run.acknowledged
            do {
                let after = try await db.write { tx in
                    var model = base
                    try tx.put(bigEndianKey(1), [9, 9], in: try tx.openTree("after"))
                    model["after", default: [:]][1] = [9, 9]
                    return model
                }
                #expect(!poisoned, "\(context): a write succeeded on a poisoned engine")
                run.committed.append(after)
            } catch {
                #expect(poisoned && isPoisoned(error) != nil, "\(context): a write after the fault went away failed: \(error)")
            }
            #expect(try readDatabase(db.engine) == run.acknowledged, "\(context): reads before close")
            try await db.close()
        }
        if powerLoss { plan.simulatePowerLoss() }

        // Reopened on the real files.
        let (configuration, _) = workload.configuration(path: path, fileSystem: nil)
        let db: Database
        do {
            db = try Database.open(configuration)
        } catch {
            Issue.record("\(context), power loss \(powerLoss): reopen failed: \(error)")
            return
        }
        let actual = try readDatabase(db.engine)
        let acknowledged = run.acknowledged
        let exact = actual == acknowledged
        if !exact && unacknowledgedMayBeDurable.contains(actual) { tally.recoveredUnacknowledged += 1 }
        switch (workload.synchronous, powerLoss) {
        case (.full, true):
            // Everything acknowledged was synced; nothing unsynced survives this power loss.
            #expect(exact, "\(context), power loss: \(difference(actual, acknowledged))")
        case (.normal, true), (.off, true):
            #expect(run.committed.contains(actual), "\(context), power loss: no committed state (\(difference(actual, acknowledged)))")
        case (_, false):
            #expect(exact || unacknowledgedMayBeDurable.contains(actual), "\(context): \(difference(actual, acknowledged))")
        }
        let report = try await db.check()
        #expect(report.isOK, "\(context), power loss \(powerLoss): check: \(report.problems.prefix(5))")
        let recovery = db.engine.walRecovery
        #expect(!recovery.lostCommittedData && !recovery.syncedFramesDiscarded, "\(context): an I/O error reported as damage: \(recovery)")
        var expected = actual
        expected["reopened", default: [:]][2] = [2]
        try await db.write { tx in try tx.put(bigEndianKey(2), [2], in: try tx.openTree("reopened")) }
        #expect(try readDatabase(db.engine) == expected)
        try await db.close()
    }
}
