import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// Failed writes and syncs (TX-4 in Engine/StorageEngine.swift): a failed WAL write rolls the
/// transaction back and the engine goes on; a failed sync poisons it for writing, reads go
/// on, and reopening recovers everything acknowledged.
@Suite("Fault injection")
struct FaultInjectionTests {
    static let configuration = EngineConfiguration(synchronous: .full, checkpointThreshold: 0, mapReservation: 1 << 24)

    enum WALWriteFault: String, CaseIterable, CustomTestStringConvertible {
        case error, tornInFirstFrame, tornInLastFrame, diskFull
        var testDescription: String { rawValue }
    }

    /// A transaction of many frames (it splits the tree several times).
    static func bigTransaction(_ tx: WriteTransaction, base: UInt64, model: inout DatabaseModel) throws {
        for i in UInt64(0)..<300 {
            try tx.put(base + i, makeValue(tag: base + i, length: 90), tree: "t", model: &model)
        }
    }

    @Test("a failed WAL write during commit throws, hides the transaction, and the engine goes on",
          arguments: WALWriteFault.allCases)
    func failedWALWrite(fault: WALWriteFault) throws {
        let directory = try TemporaryDirectory("gs-fault-write")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let plan = FaultPlan()
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration, fileSystem: FaultyFileSystem(plan))
        var model = DatabaseModel()
        try commit(engine, &model) { tx, m in
            for i in UInt64(0)..<20 { try tx.put(i, makeValue(tag: i, length: 30), tree: "t", model: &m) }
        }
        let acknowledged = model

        switch fault {
        case .error: plan.failWrite(pathSuffix: "-wal")
        case .tornInFirstFrame: plan.failWrite(pathSuffix: "-wal", as: .torn(keeping: 1000))
        case .tornInLastFrame: plan.failWrite(pathSuffix: "-wal", as: .torn(keeping: 5 * 4120 + 4000))
        case .diskFull: plan.setDiskBudget(3 * 4120 + 17, pathSuffix: "-wal")
        }
        var failed = model
        do {
            try engine.write { tx in try Self.bigTransaction(tx, base: 1000, model: &failed) }
            Issue.record("\(fault): the commit succeeded despite the failed write")
        } catch let error as GuildStoreError {
            switch (fault, error) {
            case (.diskFull, .diskFull): break
            case (.error, .io), (.tornInFirstFrame, .io), (.tornInLastFrame, .io): break
            default: Issue.record("\(fault): unexpected error \(error)")
            }
        }
        plan.setDiskBudget(nil)
        #expect(try readDatabase(engine) == acknowledged, "\(fault): the failed transaction is visible")

        // The engine is not poisoned: a smaller transaction lands on the same WAL offset and
        // leaves the torn bytes of the failed one behind it.
        try commit(engine, &model) { tx, m in
            try tx.put(5, makeValue(tag: 555, length: 40), tree: "t", model: &m)
            try tx.delete(6, tree: "t", model: &m)
        }
        #expect(try readDatabase(engine) == model)
        try engine.close()

        for rebooted in [false, true] {
            if rebooted { plan.simulatePowerLoss() }
            let again = try StorageEngine.open(path: path, configuration: Self.configuration)
            let actual = try readDatabase(again)
            #expect(actual == model, "\(fault), power loss \(rebooted): \(difference(actual, model))")
            try again.close()
        }
    }

    @Test("a failed WAL sync under .full poisons writes; reads go on; reopen recovers",
          arguments: [false, true])
    func failedWALSync(powerLoss: Bool) throws {
        let directory = try TemporaryDirectory("gs-fault-sync")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let plan = FaultPlan()
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration, fileSystem: FaultyFileSystem(plan))
        var model = DatabaseModel()
        for t in UInt64(0)..<3 {
            try commit(engine, &model) { tx, m in
                for i in UInt64(0)..<10 { try tx.put(t * 100 + i, makeValue(tag: t * 100 + i, length: 50), tree: "t", model: &m) }
            }
        }
        let acknowledged = model

        plan.failSync(pathSuffix: "-wal")
        let syncsBefore = plan.counters(pathSuffix: "-wal").syncs
        var failed = model
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in try Self.bigTransaction(tx, base: 5000, model: &failed) }
        }
        #expect(plan.counters(pathSuffix: "-wal").syncs == syncsBefore + 1)  // tried once, not retried
        // Writes are refused from now on, whatever they are.
        #expect {
            try engine.write { tx in try tx.put(bigEndianKey(1), [1], in: try tx.openTree("t")) }
        } throws: { error in
            if case GuildStoreError.poisoned = error { true } else { false }
        }
        #expect {
            _ = try engine.checkpoint(.full)
        } throws: { error in
            if case GuildStoreError.poisoned = error { true } else { false }
        }
        // Reads go on, and do not show the unacknowledged transaction.
        #expect(try readDatabase(engine) == acknowledged)
        try engine.close()

        if powerLoss { plan.simulatePowerLoss() }
        let again = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? again.close() }
        let actual = try readDatabase(again)
        if powerLoss {
            // The failed transaction's frames were never synced: the power loss dropped them.
            #expect(actual == acknowledged, "\(difference(actual, acknowledged))")
        } else {
            // Its frames are in the file (the sync failed, the write did not): recovery may
            // keep it, but all of it or nothing.
            #expect(actual == acknowledged || actual == failed, "\(difference(actual, acknowledged))")
        }
        var after = actual
        try commit(again, &after) { tx, m in try tx.put(77, [7], tree: "t", model: &m) }
        #expect(try readDatabase(again) == after)
    }

    enum CheckpointFault: String, CaseIterable, CustomTestStringConvertible {
        case databaseWrite, databaseSync
        var testDescription: String { rawValue }
    }

    @Test("a failed checkpoint loses nothing acknowledged, with or without a power loss after it",
          arguments: CheckpointFault.allCases, [false, true])
    func failedCheckpoint(fault: CheckpointFault, powerLoss: Bool) throws {
        let directory = try TemporaryDirectory("gs-fault-checkpoint")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let plan = FaultPlan()
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration, fileSystem: FaultyFileSystem(plan))
        var model = DatabaseModel()
        try commit(engine, &model) { tx, m in try Self.bigTransaction(tx, base: 0, model: &m) }
        try commit(engine, &model) { tx, m in try tx.delete(7, tree: "t", model: &m) }

        switch fault {
        case .databaseWrite: plan.failWrite(3, pathSuffix: ".gsdb")
        case .databaseSync: plan.failSync(pathSuffix: ".gsdb")
        }
        #expect(throws: GuildStoreError.self) { _ = try engine.checkpoint(.full) }
        #expect(try readDatabase(engine) == model)
        if fault == .databaseSync {
            // A failed sync is never retried as if it had worked.
            #expect {
                try engine.write { tx in try tx.put(bigEndianKey(1), [1], in: try tx.openTree("t")) }
            } throws: { error in
                if case GuildStoreError.poisoned = error { true } else { false }
            }
        } else {
            // A failed write is not a failed sync: the engine goes on, and a later checkpoint
            // finishes the job.
            try commit(engine, &model) { tx, m in try tx.put(3, [3, 3, 3], tree: "t", model: &m) }
            _ = try engine.checkpoint(.full)
            try commit(engine, &model) { tx, m in try tx.put(4, [4], tree: "t", model: &m) }
        }
        try engine.close()
        if powerLoss { plan.simulatePowerLoss() }
        let again = try StorageEngine.open(path: path, configuration: Self.configuration)
        defer { try? again.close() }
        let actual = try readDatabase(again)
        #expect(actual == model, "\(fault), power loss \(powerLoss): \(difference(actual, model))")
        let report = try again.check()
        #expect(report.isOK, "\(report.problems.prefix(5))")
    }
}
