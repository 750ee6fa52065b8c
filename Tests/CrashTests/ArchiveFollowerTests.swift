import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// Continuous archiving from another opening than the owner's (AR-3): the owner's log never
/// restarts over a commit the archiver has not archived, and the archive restores every commit.
/// The archiver here is a read-only opening in the test's process, which the kernel's
/// open-file-description locks treat exactly as one in another process.
@Suite("Continuous archiving from a process of its own")
struct ArchiveFollowerTests {
    /// The owner: no archive of its own, small checkpoints, and a patience for archivers long
    /// enough that no machine's load makes it give up.
    static func ownerConfiguration(_ path: String, patience: Duration = .seconds(120), threshold: Int = 24) -> DatabaseConfiguration {
        var configuration = DatabaseConfiguration(.file(path), checkpointThreshold: threshold, mapReservation: 1 << 26)
        configuration.archiverPatience = patience
        return configuration
    }

    static func readOnly(_ path: String) throws -> Database {
        var configuration = DatabaseConfiguration(.file(path), mapReservation: 1 << 26)
        configuration.readOnly = true
        return try Database.open(configuration)
    }

    static func policy(_ directory: String) -> ArchiveConfiguration {
        ArchiveConfiguration(directory: directory, newBaseEvery: nil, newBaseAfterBytes: nil)
    }

    /// Waits until `condition` holds, sleeping between looks without holding a thread of the
    /// pool the archiver's task starts on; a generous deadline only ends a hung test.
    static func eventually(_ what: String, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw GuildStoreError.busy("gave up waiting: \(what)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    static func bases(_ archive: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).filter { $0.hasPrefix("base-") && $0.hasSuffix(".gsbackup") }
    }

    @Test("an archiver beside the owner: each restart of the owner's log waits for its segment, and the content at 50 random commits restores exactly")
    func followsEveryGeneration() async throws {
        let directory = try TemporaryDirectory("gs-archive-follow")
        defer { directory.remove() }
        let (path, archive) = (directory.file("bot.gsdb"), directory.file("archive"))
        let db = try Database.open(Self.ownerConfiguration(path))
        // FILE-2: the archiver's files take these bits, which no umask makes of 0o644.
        try FileManager.default.setAttributes([.posixPermissions: 0o660], ofItemAtPath: path)
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 11)
        try await ArchiveTests.mixedCommit(db, &model, rng: &rng)
        var states: [UInt64: DatabaseModel] = [db.engine.publishedStamp.number: model]

        let reader = try Self.readOnly(path)
        let segments = Locked<[(first: UInt64, last: UInt64)]>([])
        let follower = Task { try await reader.followArchive(Self.policy(archive)) { first, last in segments.withLock { $0.append((first, last)) } } }
        // The archiver holds its mark once its base is written.
        try await Self.eventually("the archiver's base") { !Self.bases(archive).isEmpty }
        let base = try #require(try BackupCatalog(sources: [archive], fileSystem: PosixFileSystem()).bases.first).header.commit.number

        var restarts = 0
        for i in 0..<240 {
            try await ArchiveTests.mixedCommit(db, &model, rng: &rng)
            states[db.engine.publishedStamp.number] = model
            if i % 30 == 29 {
                let result = try await db.checkpoint(.full)
                if result.walRestarted { restarts += 1 }
                // AR-3: a restart came only after the archiver had the whole generation.
                let archived = segments.withLock { $0.last?.last }
                #expect(!result.walRestarted || archived == db.engine.publishedStamp.number,
                        "the log restarted at commit \(db.engine.publishedStamp.number) with the archive at \(String(describing: archived))")
            }
        }
        let last = db.engine.publishedStamp.number
        #expect(segments.withLock { $0.count } >= 5, "the log restarted and was archived several times")
        #expect(restarts >= 1)
        #expect(db.statistics().archiveError == nil)
        // The close's last restart waits for the archiver too: the archive then holds every commit.
        try await db.close()
        #expect(segments.withLock { $0.last?.last } == last)
        follower.cancel()
        try await follower.value
        try await reader.close()
        for name in try FileManager.default.contentsOfDirectory(atPath: archive) where !name.hasPrefix(".") {
            let mode = try FileManager.default.attributesOfItem(atPath: archive + "/" + name)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o777 } == 0o660, "\(name): the database file's bits (FILE-2)")
        }

        var targets = Set<UInt64>([base, last])
        while targets.count < 50 { targets.insert(base + rng.next() % (last - base + 1)) }
        try ArchiveTests.expectRestores(archive, at: targets, in: directory, equal: states)
    }

    @Test("an archiver that holds its mark and never answers keeps the log from restarting, and says so; once it is gone the log restarts, and the next archiver closes the gap with a new base")
    func stalledAndStoppedArchivers() async throws {
        let directory = try TemporaryDirectory("gs-archive-stall")
        defer { directory.remove() }
        let (path, archive) = (directory.file("bot.gsdb"), directory.file("archive"))
        // A short patience for the stalled archiver only (that wait is meant to run out); the
        // owner is then opened again with a long one. No background checkpoint restarts the
        // log behind the test's back: only the test's own checkpoints do.
        let quiet = 1 << 30
        let impatient = try Database.open(Self.ownerConfiguration(path, patience: .milliseconds(20), threshold: quiet))
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 5)
        for _ in 0..<20 { try await ArchiveTests.mixedCommit(impatient, &model, rng: &rng) }

        // A stalled archiver: its mark is below the owner's commits and never moves.
        let stalled = try Self.readOnly(path)
        try stalled.engine.holdArchiveMark(1, replacing: nil)
        let held = try await impatient.checkpoint(.full)
        #expect(!held.walRestarted)
        #expect(impatient.statistics().walFrames > 0)
        #expect(impatient.statistics().archiveError?.contains("has not archived commits through") == true)
        // While the stalled mark does not move, restarts no longer wait for it, nor pass it.
        #expect(impatient.engine.state.withLock { ($0.archiverRefusal, $0.archiverWaits) } == (1, 1))
        #expect(try await !impatient.checkpoint(.full).walRestarted)
        #expect(impatient.engine.state.withLock { $0.archiverWaits } == 1, "the writer waited once, not once a checkpoint")
        try await stalled.close()  // the kernel drops its mark
        let freed = try await impatient.checkpoint(.full)
        #expect(freed.walRestarted)
        #expect(impatient.statistics().walFrames == 0)
        #expect(impatient.engine.state.withLock { $0.archiverRefusal } == nil)
        try await impatient.close()
        let db = try Database.open(Self.ownerConfiguration(path, threshold: quiet))

        // An archiver that ran for a while and stopped: the restarts after it leave a gap.
        let reader = try Self.readOnly(path)
        let first = Task { try await reader.followArchive(Self.policy(archive)) }
        try await Self.eventually("the first archiver's base") { Self.bases(archive).count == 1 }
        for _ in 0..<20 { try await ArchiveTests.mixedCommit(db, &model, rng: &rng) }
        first.cancel()
        try await first.value
        for _ in 0..<20 { try await ArchiveTests.mixedCommit(db, &model, rng: &rng) }
        #expect(try await db.checkpoint(.full).walRestarted, "no archiver holds the restart back")
        let gapEnd = db.engine.publishedStamp.number  // the next archiver's base holds this one

        // The next archiver finds the archive short of the live log and writes a new base.
        let second = Task { try await reader.followArchive(Self.policy(archive)) }
        try await Self.eventually("the second archiver's base") { Self.bases(archive).count == 2 }
        for _ in 0..<20 { try await ArchiveTests.mixedCommit(db, &model, rng: &rng) }
        let last = db.engine.publishedStamp.number
        try await db.close()
        second.cancel()
        try await second.value
        try await reader.close()

        let latest = try Database.restore(from: [archive], to: directory.file("latest.gsdb"))
        #expect(latest.commitNumber == last)
        let engine = try StorageEngine.open(path: directory.file("latest.gsdb"), configuration: EngineConfiguration(createIfMissing: false))
        #expect(try readDatabase(engine) == model)
        try engine.close()
        // A commit the gap swallowed is refused, and nothing is written.
        #expect(throws: GuildStoreError.self) {
            try Database.restore(from: [archive], to: directory.file("gap.gsdb"), at: .commit(gapEnd - 1))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("gap.gsdb")))
    }

    @Test("a second archiver on the same directory is refused; the owner's vacuum is refused while the archiver has the file open, naming its process, and runs once it stops")
    func oneArchiverPerDirectoryAndFile() async throws {
        let directory = try TemporaryDirectory("gs-archive-two")
        defer { directory.remove() }
        let (path, archive) = (directory.file("bot.gsdb"), directory.file("archive"))
        let db = try Database.open(Self.ownerConfiguration(path))
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 9)
        for _ in 0..<10 { try await ArchiveTests.mixedCommit(db, &model, rng: &rng) }
        let reader = try Self.readOnly(path)
        let follower = Task { try await reader.followArchive(Self.policy(archive)) }
        try await Self.eventually("the archiver's base") { Self.bases(archive).count == 1 }
        let second = try Self.readOnly(path)
        await #expect(throws: GuildStoreError.self) { try await second.followArchive(Self.policy(archive)) }
        try await second.close()
        // RO-4: the archiver's opening is open, so the file is not replaced under it.
        do {
            _ = try await db.vacuum()
            Issue.record("a vacuum replaced the file under the archiver's opening")
        } catch GuildStoreError.busy(let message) {
            #expect(message.contains("vacuum") && message.contains("pid \(getpid())"), "\(message)")
        }
        try await ArchiveTests.mixedCommit(db, &model, rng: &rng)
        follower.cancel()
        try await follower.value
        try await reader.close()
        _ = try await db.vacuum()
        #expect(try readDatabase(db.engine) == model, "the vacuumed file holds every commit")
        try await db.close()
    }

    @Test("followArchive needs a read-only opening")
    func ownerRefused() async throws {
        let directory = try TemporaryDirectory("gs-archive-owner")
        defer { directory.remove() }
        let db = try Database.open(Self.ownerConfiguration(directory.file("bot.gsdb")))
        await #expect(throws: GuildStoreError.self) { try await db.followArchive(Self.policy(directory.file("archive"))) }
        try await db.close()
    }
}
