import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// DB-2 (Database/Database.swift): a `Database` whose close failed while releasing its files
/// (the engine closed all the same) is no longer registered, so the next open of the same
/// path in the process recovers the files with a new engine instead of handing back the
/// closed one. Found by the crash-at-every-operation suite: after a simulated crash, every
/// reopen of the path answered "the database is closed".
@Suite("Close after a crash")
struct CloseAfterCrashTests {
    @Test("a close that fails on the files of a crashed process still lets the path be opened again")
    func reopenAfterFailedClose() async throws {
        let directory = try TemporaryDirectory("gs-close-after-crash")
        defer { directory.remove() }
        let path = directory.file("c.gsdb")
        let plan = FaultPlan()
        let db = try Database.open(DatabaseConfiguration(.file(path), synchronous: .full, fileSystem: FaultyFileSystem(plan)))
        try await db.write { tx in try tx.put(bigEndianKey(1), [1], in: try tx.openTree("t")) }
        plan.simulatePowerLoss()
        // The crashed process's handles fail: so does releasing them.
        await #expect(throws: GuildStoreError.self) { try await db.close() }

        let again = try Database.open(DatabaseConfiguration(.file(path), synchronous: .full))
        #expect(again !== db, "the closed database was handed back")
        let value = try await again.read { tx in try tx.tree("t").flatMap { try tx.get(bigEndianKey(1), in: $0) } }
        #expect(value == [1])
        try await again.write { tx in try tx.put(bigEndianKey(2), [2], in: try tx.openTree("t")) }
        try await again.close()
        // Closing the failed opening again is harmless.
        try? await db.close()
    }
}
