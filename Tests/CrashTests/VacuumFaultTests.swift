import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// A vacuum whose last step fails: once its copy is renamed over the database's path, the file
/// there ignores the engine's log (WAL-7), so the engine must take no commit that would only
/// live in that log.
@Suite("Vacuum faults")
struct VacuumFaultTests {
    @Test("a vacuum whose directory sync fails after its rename poisons the engine: no later commit goes to a log the new file ignores, and a reopen finds every acknowledged row")
    func directorySyncAfterTheRename() throws {
        let directory = try TemporaryDirectory("gs-vacuum-fault")
        defer { directory.remove() }
        let path = directory.file("vac.gsdb")
        let plan = FaultPlan()
        let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0),
                                            fileSystem: FaultyFileSystem(plan))
        var expected: [UInt64: UInt64] = [:]
        try engine.write { tx in
            let tree = try tx.createTree("t")
            for key in UInt64(0)..<2_000 {
                try tx.put(bigEndianKey(key), bigEndianKey(key * 3), in: tree)
                expected[key] = key * 3
            }
        }
        try engine.write { tx in
            let tree = try #require(try tx.tree("t"))
            for key in stride(from: UInt64(0), to: 2_000, by: 2) {
                _ = try tx.delete(bigEndianKey(key), in: tree)
                expected[key] = nil
            }
        }
        plan.failDirectorySync(pathSuffix: "/vac.gsdb")
        #expect(throws: GuildStoreError.self) { _ = try engine.vacuum() }
        do {
            try engine.write { tx in try tx.put(bigEndianKey(5_000), bigEndianKey(1), in: #require(try tx.tree("t"))) }
            // Acknowledged: the reopen below must find it.
            expected[5_000] = 1
            Issue.record("a commit was taken after the failed vacuum, into a log the file at the path ignores")
        } catch {
            #expect(error is GuildStoreError, "\(error)")
        }
        try? engine.close()

        let reopened = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false))
        let found = try reopened.read { tx in
            var rows: [UInt64: UInt64] = [:]
            for entry in try tx.entries(#require(try tx.tree("t"))) {
                rows[entry.key.reduce(0) { $0 << 8 | UInt64($1) }] = entry.value.reduce(0) { $0 << 8 | UInt64($1) }
            }
            return rows
        }
        #expect(found == expected)
        #expect(try reopened.check().isOK)
        try reopened.close()
    }
}
