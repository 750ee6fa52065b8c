import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// Continuous archiving and point-in-time restore (AR-1, AR-2): every commit that left the log
/// is in the archive, and any of them restores exactly.
@Suite("Continuous archiving and point-in-time restore")
struct ArchiveTests {
    static func configuration(_ path: String, archive: String, transactionCacheBytes: Int = 64 << 20) -> DatabaseConfiguration {
        DatabaseConfiguration(.file(path), checkpointThreshold: 24, mapReservation: 1 << 26, transactionCacheBytes: transactionCacheBytes,
                              archive: ArchiveConfiguration(directory: archive, newBaseEvery: nil, newBaseAfterBytes: nil))
    }

    /// One commit of a mixed workload: puts, overwrites, deletes, sometimes a large value.
    static func mixedCommit(_ db: Database, _ model: inout DatabaseModel, rng: inout SplitMix64) async throws {
        let seed = rng.next()
        let (result, after) = try await db.write { [model] tx -> (UInt64, DatabaseModel) in
            var local = SplitMix64(seed: seed)
            var m = model
            for _ in 0..<Int(local.next() % 30) + 1 {
                let tree = ["guilds", "members", "events"][Int(local.next() % 3)]
                let key = local.next() % 400
                if local.next() % 5 == 0 {
                    try tx.delete(key, tree: tree, model: &m)
                } else {
                    try tx.put(key, makeValue(tag: local.next(), length: local.next() % 40 == 0 ? 5_000 : Int(local.next() % 120) + 1),
                               tree: tree, model: &m)
                }
            }
            return (0, m)
        }
        _ = result
        model = after
    }

    /// Restores each of `targets` from `archive` into `directory` and expects exactly the
    /// content `states` recorded at that commit.
    static func expectRestores(_ archive: String, at targets: Set<UInt64>, in directory: TemporaryDirectory,
                               equal states: [UInt64: DatabaseModel]) throws {
        for target in targets.sorted() {
            let destination = directory.file("at-\(target).gsdb")
            let result = try Database.restore(from: [archive], to: destination, at: .commit(target))
            #expect(result.commitNumber == target)
            let engine = try StorageEngine.open(path: destination, configuration: EngineConfiguration(createIfMissing: false))
            let found = try readDatabase(engine)
            #expect(found == states[target], "commit \(target): \(difference(found, states[target] ?? [:]))")
            try engine.close()
            try FileManager.default.removeItem(atPath: destination)
        }
    }

    /// With the smallest transaction budget (0: 8 pages) many commits spill first, so archived
    /// segments hold commits with a page more than once (WAL-5: the last frame wins).
    @Test("the content at 50 random commits of a mixed workload restores exactly, by sequence and by time",
          arguments: [64 << 20, 0])
    func pointInTime(transactionCacheBytes: Int) async throws {
        let directory = try TemporaryDirectory("gs-archive-pitr")
        defer { directory.remove() }
        let archive = directory.file("archive")
        let db = try Database.open(Self.configuration(directory.file("bot.gsdb"), archive: archive,
                                                      transactionCacheBytes: transactionCacheBytes))
        var model = DatabaseModel()
        var states: [UInt64: (model: DatabaseModel, time: UInt64)] = [:]
        var rng = SplitMix64(seed: 42)
        for i in 0..<240 {
            try await Self.mixedCommit(db, &model, rng: &rng)
            // A full checkpoint restarts the log (unless a background one just did), so its
            // generation is archived.
            if i % 30 == 29 { _ = try await db.checkpoint(.full) }
            let stamp = db.engine.publishedStamp
            states[stamp.number] = (model, stamp.time)
        }
        let last = db.engine.publishedStamp.number
        #expect((db.engine.statistics().spilledPages > 0) == (transactionCacheBytes == 0), "commits spilled only with the small budget")
        try await db.close()
        let segments = try FileManager.default.contentsOfDirectory(atPath: archive).filter { $0.hasSuffix(".gswal") }
        #expect(segments.count >= 5, "the log restarted and was archived several times: \(segments.count)")

        var targets = Set<UInt64>([1, last])
        while targets.count < 50 { targets.insert(rng.next() % last + 1) }
        try Self.expectRestores(archive, at: targets, in: directory, equal: states.mapValues(\.model))
        // By time: the last commit made at or before the time asked for.
        for target in targets.sorted().prefix(8) {
            guard let time = states[target]?.time, states[target + 1]?.time != time else { continue }
            let destination = directory.file("time-\(target).gsdb")
            let result = try Database.restore(from: [archive], to: destination, at: .time(Date(microsecondsSince1970: time)))
            #expect(result.commitNumber == target)
            try FileManager.default.removeItem(atPath: destination)
        }
        // Latest: everything, since the close archived the tail.
        let latest = try Database.restore(from: [archive], to: directory.file("latest.gsdb"))
        #expect(latest.commitNumber == last)
        #expect(throws: GuildStoreError.self) {
            try Database.restore(from: [archive], to: directory.file("beyond.gsdb"), at: .commit(last + 10))
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("beyond.gsdb")))
    }

    @Test("a missing segment is refused naming the commits it held and the last restorable commit; what comes before still restores")
    func missingSegment() async throws {
        let directory = try TemporaryDirectory("gs-archive-gap")
        defer { directory.remove() }
        let archive = directory.file("archive")
        let db = try Database.open(Self.configuration(directory.file("bot.gsdb"), archive: archive))
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 7)
        for i in 0..<150 {
            try await Self.mixedCommit(db, &model, rng: &rng)
            if i % 30 == 29 { _ = try await db.checkpoint(.full) }
        }
        try await db.close()
        let catalog = try BackupCatalog(sources: [archive], fileSystem: PosixFileSystem())
        #expect(catalog.segments.count >= 3)
        let removed = catalog.segments[catalog.segments.count / 2]
        try FileManager.default.removeItem(atPath: removed.path)
        let first = removed.header.first.number, lastHeld = removed.header.last.number
        let destination = directory.file("restored.gsdb")
        #expect(throws: GuildStoreError.backupChainBroken(missing: "WAL segment with commits \(first)...\(lastHeld)", restorableThrough: first - 1)) {
            try Database.restore(from: [archive], to: destination)
        }
        #expect(throws: GuildStoreError.backupChainBroken(missing: "WAL segment with commits \(first)...\(lastHeld)", restorableThrough: first - 1)) {
            try Database.restore(from: [archive], to: destination, at: .commit(lastHeld))
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
        let before = try Database.restore(from: [archive], to: destination, at: .commit(first - 1))
        #expect(before.commitNumber == first - 1)
    }

    @Test("lz4 -t accepts every backup and archived segment")
    func lz4ToolAccepts() async throws {
        let directory = try TemporaryDirectory("gs-archive-lz4")
        defer { directory.remove() }
        let archive = directory.file("archive")
        let db = try Database.open(Self.configuration(directory.file("bot.gsdb"), archive: archive))
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<60 { try await Self.mixedCommit(db, &model, rng: &rng) }
        let full = try await db.backup(to: directory.file("full.gsbackup"))
        for _ in 0..<10 { try await Self.mixedCommit(db, &model, rng: &rng) }
        let incremental = try await db.backup(to: directory.file("inc.gsbackup"), since: full.path)
        try await db.close()
        let files = [full.path, incremental.path] + (try FileManager.default.contentsOfDirectory(atPath: archive).map { archive + "/" + $0 })
        #expect(files.count >= 4)
        for file in files {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/lz4")
            process.arguments = ["-t", "-q", file]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "lz4 -t \(file)")
        }
    }
}
