import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// Snapshot backups, incrementals and restore (BK-1..BK-4): exact, online, refused when damaged.
@Suite("Backups and restore")
struct BackupTests {
    static let configuration = EngineConfiguration(synchronous: .normal, checkpointThreshold: 64, mapReservation: 1 << 26)

    /// Several trees, overflow values and a free list (a dropped tree and deletes).
    static func populate(_ engine: StorageEngine, _ model: inout DatabaseModel, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for batch in 0..<4 {
            try commit(engine, &model) { tx, m in
                for i in 0..<400 {
                    let key = rng.next() % 5_000
                    let length = i % 97 == 0 ? 9_000 : Int(rng.next() % 200) + 1
                    try tx.put(key, makeValue(tag: rng.next(), length: length), tree: ["users", "events", "members"][(batch + i) % 3], model: &m)
                }
            }
        }
        try commit(engine, &model) { tx, m in
            for i in 0..<300 { try tx.put(UInt64(i), makeValue(tag: UInt64(i), length: 300), tree: "scratch", model: &m) }
        }
        try commit(engine, &model) { tx, m in
            try tx.dropTree("scratch")
            m["scratch"] = nil
            for key in (m["users"] ?? [:]).keys.sorted().prefix(150) { try tx.delete(key, tree: "users", model: &m) }
        }
    }

    /// Random puts and deletes in one commit.
    static func churn(_ engine: StorageEngine, _ model: inout DatabaseModel, rng: inout SplitMix64) throws {
        try commit(engine, &model) { tx, m in
            for _ in 0..<Int(rng.next() % 40) + 1 {
                let tree = ["users", "events", "members"][Int(rng.next() % 3)]
                let key = rng.next() % 6_000
                if rng.next() % 4 == 0 {
                    try tx.delete(key, tree: tree, model: &m)
                } else {
                    try tx.put(key, makeValue(tag: rng.next(), length: Int(rng.next() % 400) + 1), tree: tree, model: &m)
                }
            }
        }
    }

    static func open(_ path: String) throws -> StorageEngine {
        try StorageEngine.open(path: path, configuration: configuration)
    }

    /// Restores and reads back the database, and checks it.
    static func restored(from sources: [String], at point: RestorePoint = .latest, in directory: TemporaryDirectory,
                         name: String) throws -> (model: DatabaseModel, result: RestoreResult) {
        let destination = directory.file(name)
        let result = try BackupRestore.restore(from: sources, to: destination, at: point, force: false,
                                               fileSystem: PosixFileSystem(), progress: nil)
        let engine = try open(destination)
        defer { try? engine.close() }
        #expect(try engine.check().isOK)
        #expect(engine.publishedStamp.number == result.commitNumber)
        return (try readDatabase(engine), result)
    }

    @Test("a backup taken while a writer commits restores to exactly the commit it names; so does an incremental after it")
    func backupWhileWriting() throws {
        let directory = try TemporaryDirectory("gs-backup-online")
        defer { directory.remove() }
        let engine = try Self.open(directory.file("db.gsdb"))
        var model = DatabaseModel()
        try Self.populate(engine, &model, seed: 1)
        let states = Locked<[UInt64: DatabaseModel]>([engine.publishedStamp.number: model])
        let stop = Locked(false)
        let writerModel = model
        let writer = Thread {
            var model = writerModel
            var rng = SplitMix64(seed: 2)
            while !stop.withLock({ $0 }) {
                do {
                    try Self.churn(engine, &model, rng: &rng)
                    let number = engine.publishedStamp.number
                    states.withLock { $0[number] = model }
                } catch {
                    Issue.record("writer: \(error)")
                    return
                }
            }
        }
        writer.start()
        func waitForCommits(_ n: Int) {
            let target = states.withLock { $0.count } + n
            while states.withLock({ $0.count }) < target { usleep(1_000) }
        }
        waitForCommits(3)
        let full = try engine.writeBackup(to: directory.file("full.gsbackup"), parent: nil)
        waitForCommits(3)
        let parent = try BackupFile.scan(path: full.path, fileSystem: PosixFileSystem())
        let incremental = try engine.writeBackup(to: directory.file("inc.gsbackup"), parent: (full.path, parent))
        waitForCommits(1)
        stop.withLock { $0 = true }
        while !writer.isFinished { usleep(1_000) }
        try engine.close()

        #expect(full.kind == .full && incremental.kind == .incremental && incremental.parentID == full.backupID)
        #expect(incremental.commitNumber > full.commitNumber)
        #expect((incremental.pagesStored ?? 0) < (full.pagesStored ?? 0), "an incremental stores only changed pages")
        let states_ = states.withLock { $0 }
        let fromFull = try Self.restored(from: [full.path], in: directory, name: "a.gsdb")
        #expect(fromFull.model == states_[full.commitNumber], "\(difference(fromFull.model, states_[full.commitNumber] ?? [:]))")
        let fromChain = try Self.restored(from: [directory.path], in: directory, name: "b.gsdb")
        #expect(fromChain.result.commitNumber == incremental.commitNumber)
        #expect(fromChain.result.backupsApplied == [full.path, incremental.path])
        #expect(fromChain.model == states_[incremental.commitNumber], "\(difference(fromChain.model, states_[incremental.commitNumber] ?? [:]))")
        let pinned = try Self.restored(from: [directory.path], at: .commit(full.commitNumber), in: directory, name: "c.gsdb")
        #expect(pinned.model == states_[full.commitNumber])
    }

    @Test("a full backup and incrementals restore equal to a full backup at the last point; the restored database goes on numbering")
    func chainEqualsFull() throws {
        let directory = try TemporaryDirectory("gs-backup-chain")
        defer { directory.remove() }
        let chainDirectory = directory.file("chain")
        try FileManager.default.createDirectory(atPath: chainDirectory, withIntermediateDirectories: true)
        let engine = try Self.open(directory.file("db.gsdb"))
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 9)
        try Self.populate(engine, &model, seed: 3)
        var previous = try engine.writeBackup(to: chainDirectory + "/0-full.gsbackup", parent: nil)
        var atEach: [UInt64: DatabaseModel] = [previous.commitNumber: model]
        for step in 1...3 {
            for _ in 0..<5 { try Self.churn(engine, &model, rng: &rng) }
            if step == 2 {  // a tree dropped: its pages join the free list
                try commit(engine, &model) { tx, m in
                    try tx.dropTree("members")
                    m["members"] = nil
                }
            }
            let parent = try BackupFile.scan(path: previous.path, fileSystem: PosixFileSystem())
            previous = try engine.writeBackup(to: chainDirectory + "/\(step)-inc.gsbackup", parent: (previous.path, parent))
            atEach[previous.commitNumber] = model
        }
        let full = try engine.writeBackup(to: directory.file("last-full.gsbackup"), parent: nil)
        #expect(full.commitNumber == previous.commitNumber)
        try engine.close()

        let fromChain = try Self.restored(from: [chainDirectory], in: directory, name: "chain.gsdb")
        let fromFull = try Self.restored(from: [full.path], in: directory, name: "full.gsdb")
        #expect(fromChain.model == model && fromFull.model == model)
        #expect(fromChain.result.backupsApplied.count == 4)
        for (number, expected) in atEach {
            let point = try Self.restored(from: [chainDirectory], at: .commit(number), in: directory, name: "at-\(number).gsdb")
            #expect(point.model == expected, "commit \(number)")
        }
        // WAL-6: the restored database numbers its next commit after the backup's.
        let reopened = try Self.open(directory.file("chain.gsdb"))
        var restoredModel = fromChain.model
        try Self.churn(reopened, &restoredModel, rng: &rng)
        #expect(reopened.publishedStamp.number == full.commitNumber + 1)
        try reopened.close()
    }

    /// The nodes' gaps (slot array end to content start) of every node page of the file at `path`:
    /// how many nodes there are and how many have a byte other than zero in their gap.
    static func nodeGaps(_ path: String) throws -> (nodes: Int, dirty: Int) {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let pageSize = 4096
        var nodes = 0, dirty = 0
        for number in 1..<(bytes.count / pageSize) {
            let page = bytes[(number * pageSize)..<((number + 1) * pageSize)]
            let base = page.startIndex
            guard page[base + 4] == PageType.leaf.rawValue || page[base + 4] == PageType.interior.rawValue else { continue }
            let count = Int(page[base + 6]) | Int(page[base + 7]) << 8
            let contentStart = Int(page[base + 8]) | Int(page[base + 9]) << 8 | Int(page[base + 10]) << 16 | Int(page[base + 11]) << 24
            let gapStart = NodeLayout.headerSize + NodeLayout.slotSize * count
            nodes += 1
            if gapStart < contentStart, page[(base + gapStart)..<(base + contentStart)].contains(where: { $0 != 0 }) { dirty += 1 }
        }
        return (nodes, dirty)
    }

    @Test("BK-7: a backup stores nodes with the gap between slots and cells zeroed; restores are exact and their pages pass their checksums; incrementals stay small")
    func nodeGapsZeroed() throws {
        let directory = try TemporaryDirectory("gs-backup-gaps")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try Self.open(path)
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 21)
        try Self.populate(engine, &model, seed: 8)
        for _ in 0..<10 { try Self.churn(engine, &model, rng: &rng) }
        _ = try engine.checkpoint(.truncate)
        let source = try Self.nodeGaps(path)
        #expect(source.dirty > 0, "the scenario leaves stale bytes in some gaps (\(source))")
        let full = try engine.writeBackup(to: directory.file("full.gsbackup"), parent: nil)
        // Nothing changed: an incremental on it stores no page (its hashes are the zeroed pages').
        let parent = try BackupFile.scan(path: full.path, fileSystem: PosixFileSystem())
        let same = try engine.writeBackup(to: directory.file("same.gsbackup"), parent: (full.path, parent))
        #expect(same.pagesStored == 0)
        try engine.close()

        let restored = try Self.restored(from: [full.path], in: directory, name: "restored.gsdb")
        #expect(restored.model == model)
        let gaps = try Self.nodeGaps(directory.file("restored.gsdb"))
        // (The source's count includes freed pages that still look like nodes; a backup leaves them out.)
        #expect(gaps.nodes > 0 && gaps.dirty == 0, "\(gaps) against \(source)")
        #expect(try BackupFile.scan(path: full.path, fileSystem: PosixFileSystem()).pagesStored == full.pagesStored)
    }

    @Test("a chain with a missing piece is refused naming it and the last restorable commit; the destination never appears")
    func brokenChain() throws {
        let directory = try TemporaryDirectory("gs-backup-broken")
        defer { directory.remove() }
        let chainDirectory = directory.file("chain")
        try FileManager.default.createDirectory(atPath: chainDirectory, withIntermediateDirectories: true)
        let engine = try Self.open(directory.file("db.gsdb"))
        var model = DatabaseModel()
        var rng = SplitMix64(seed: 4)
        try Self.populate(engine, &model, seed: 4)
        let full = try engine.writeBackup(to: chainDirectory + "/a.gsbackup", parent: nil)
        try Self.churn(engine, &model, rng: &rng)
        let first = try engine.writeBackup(to: chainDirectory + "/b.gsbackup",
                                           parent: (full.path, try BackupFile.scan(path: full.path, fileSystem: PosixFileSystem())))
        try Self.churn(engine, &model, rng: &rng)
        let second = try engine.writeBackup(to: chainDirectory + "/c.gsbackup",
                                            parent: (first.path, try BackupFile.scan(path: first.path, fileSystem: PosixFileSystem())))
        try engine.close()
        try FileManager.default.removeItem(atPath: first.path)

        let destination = directory.file("restored.gsdb")
        for point in [RestorePoint.latest, .commit(second.commitNumber)] {
            #expect(throws: GuildStoreError.backupChainBroken(
                missing: "backup \(first.backupID) (commit \(first.commitNumber)), the parent of \(second.path)",
                restorableThrough: full.commitNumber)) {
                try BackupRestore.restore(from: [chainDirectory], to: destination, at: point, force: false,
                                          fileSystem: PosixFileSystem(), progress: nil)
            }
            #expect(!FileManager.default.fileExists(atPath: destination))
            #expect(!FileManager.default.fileExists(atPath: destination + "-wal"))
        }
        #expect(throws: GuildStoreError.restorePointUnavailable(
            requested: "commit \(first.commitNumber)", available: "commit \(full.commitNumber)")) {
            try BackupRestore.restore(from: [chainDirectory], to: destination, at: .commit(first.commitNumber), force: false,
                                      fileSystem: PosixFileSystem(), progress: nil)
        }
        // What remains of the chain still restores.
        let atFull = try Self.restored(from: [chainDirectory], at: .commit(full.commitNumber), in: directory, name: "ok.gsdb")
        #expect(atFull.result.backupsApplied == [full.path])
    }
}
