import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// BK-5: rotating a backup directory keeps the newest restorable backups and every backup their
/// chains need; `Database.pruneBackups` on real files leaves damaged files alone and removes
/// only stale `.partial` files.
@Suite("Backup rotation")
struct BackupRotationTests {
    static let identity = DatabaseIdentity(high: 7, low: 11)

    /// A backup of commit `commit`, an incremental on `parent` when there is one.
    static func backup(_ name: String, commit: UInt64, parent: BackupInfo? = nil, identity: DatabaseIdentity = identity) -> BackupInfo {
        let header = BackupHeader(kind: parent == nil ? .full : .incremental, pageSize: 4096, pageCount: 10,
                                  commit: CommitStamp(number: commit, time: 1_000_000 * commit), identity: identity,
                                  backupID: UUID(), parentID: parent?.backupID, parentCommit: parent?.commitNumber ?? 0,
                                  startedAt: 1_000_000 * commit, fileNonce: 1)
        return BackupInfo(path: name, header: header, pagesStored: nil, fileBytes: 100)
    }

    @Test("two chains: keep N keeps the N newest restorable backups and their ancestors, removes the rest, oldest first")
    func twoChains() {
        let f1 = Self.backup("f1", commit: 10)
        let i1 = Self.backup("i1", commit: 20, parent: f1)
        let i2 = Self.backup("i2", commit: 30, parent: i1)
        let f2 = Self.backup("f2", commit: 40)
        let i3 = Self.backup("i3", commit: 50, parent: f2)
        let i4 = Self.backup("i4", commit: 60, parent: i3)
        let catalog = BackupListing(backups: [i4, f1, i3, i2, f2, i1])
        #expect(catalog.entries.map(\.info.path) == ["f1", "i1", "i2", "f2", "i3", "i4"])
        #expect(catalog.entries.allSatisfy { $0.isRestorable })
        #expect(catalog.entries.last?.chain?.map(\.path) == ["f2", "i3", "i4"])
        for keep in [1, 2, 3] { #expect(BackupRotation.plan(catalog, keep: keep) == ["f1", "i1", "i2"], "keep \(keep)") }
        // Keeping i2 keeps the whole first chain.
        for keep in [4, 5, 6, 10] { #expect(BackupRotation.plan(catalog, keep: keep) == [], "keep \(keep)") }
        #expect(BackupRotation.plan(catalog, keep: 0) == ["f1", "i1", "i2"], "below 1 keeps one")
    }

    @Test("a broken chain holds no place, a newer broken backup is left, damaged files never count; nothing restorable: nothing removed")
    func brokenChains() {
        let f1 = Self.backup("f1", commit: 10)
        let f2 = Self.backup("f2", commit: 20)
        let lost = Self.backup("lost", commit: 25)   // not in the catalog
        let orphanOld = Self.backup("orphan-old", commit: 15, parent: Self.backup("gone", commit: 12))
        let orphanNew = Self.backup("orphan-new", commit: 30, parent: lost)
        let catalog = BackupListing(backups: [f1, f2, orphanOld, orphanNew])
        #expect(catalog.entries.map(\.isRestorable) == [true, false, true, false])
        #expect(catalog.entries[3].missing?.contains("the parent of orphan-new") == true)
        #expect(catalog.newestRestorable?.path == "f2")
        #expect(catalog.restorableRuns.map { $0.map(\.path) } == [["f1"], ["f2"]])
        // keep 1: f2 is the newest restorable; the newer orphan stays, the older ones go.
        #expect(BackupRotation.plan(catalog, keep: 1) == ["f1", "orphan-old"])
        #expect(BackupRotation.plan(catalog, keep: 2) == [])
        let onlyBroken = BackupListing(backups: [orphanOld, orphanNew])
        #expect(BackupRotation.plan(onlyBroken, keep: 1) == [])
    }

    @Test("random histories: after any rotation every kept backup that restored still restores, and the newest N are kept")
    func randomHistories() {
        var rng = SplitMix64(seed: 0xB4C)
        for round in 0..<300 {
            var backups: [BackupInfo] = []
            for commit in 1...UInt64(rng.next() % 20 + 1) {
                // Fulls, incrementals on the newest or on any earlier backup, and a few orphans.
                let choice = rng.next() % 10
                let parent: BackupInfo? = switch choice {
                case 0...2: nil
                case 3...6: backups.last
                case 7...8: backups.isEmpty ? nil : backups[Int(rng.next() % UInt64(backups.count))]
                default: Self.backup("missing", commit: commit)
                }
                backups.append(Self.backup("b\(commit)", commit: commit * 10, parent: parent))
            }
            let keep = Int(rng.next() % 5) + 1
            let before = BackupListing(backups: backups)
            let removed = Set(BackupRotation.plan(before, keep: keep))
            let after = BackupListing(backups: backups.filter { !removed.contains($0.path) })
            let restorableAfter = Set(after.entries.filter(\.isRestorable).map(\.info.path))
            let keptRestorable = before.entries.filter { $0.isRestorable && !removed.contains($0.info.path) }
            for entry in keptRestorable {
                #expect(restorableAfter.contains(entry.info.path), "round \(round): \(entry.info.path) lost its chain")
            }
            let newest = before.entries.filter(\.isRestorable).suffix(keep).map(\.info.path)
            #expect(newest.allSatisfy { !removed.contains($0) }, "round \(round)")
            // Whatever goes is older than the oldest backup kept.
            let position = Dictionary(uniqueKeysWithValues: before.entries.enumerated().map { ($1.info.path, $0) })
            if let oldestKept = newest.first.flatMap({ position[$0] }) {
                #expect(removed.allSatisfy { (position[$0] ?? .max) < oldestKept }, "round \(round)")
            } else {
                #expect(removed.isEmpty, "round \(round): nothing restorable, nothing removed")
            }
        }
    }

    @Test("pruneBackups on a directory: rotates real backups, leaves a damaged file and a fresh .partial, removes a stale one")
    func pruneDirectory() async throws {
        let directory = try TemporaryDirectory("gs-prune")
        defer { directory.remove() }
        let backups = directory.file("backups")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        let db = try Database.open(DatabaseConfiguration(.file(directory.file("db.gsdb"))))
        try await db.migrate([Migration("001_notes") { tx in
            try tx.createTable(TableSchema("notes", columns: [ColumnDefinition("id", .uint), ColumnDefinition("text", .text)],
                                           primaryKey: ["id"]))
        }])
        var written: [BackupInfo] = []
        for i in 0..<5 {
            try await db.write { tx in try tx.insert(["id": .uint(UInt64(i)), "text": .text("note \(i)")], into: "notes") }
            let path = backups + "/b\(i).gsbackup"
            written.append(i % 3 == 0 ? try await db.backup(to: path) : try await db.backup(to: path, since: written[i - 1].path))
        }
        try await db.close()
        // b0 full, b1 and b2 on it; b3 full, b4 on b3.
        try Data("not a backup".utf8).write(to: URL(fileURLWithPath: backups + "/damaged.gsbackup"))
        let stale = backups + "/b9.gsbackup.partial", fresh = backups + "/b10.gsbackup.partial"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: stale))
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: fresh))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3_600)], ofItemAtPath: stale)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3_600)], ofItemAtPath: fresh)

        #expect(throws: GuildStoreError.self) { try Database.pruneBackups(in: backups, keep: 0) }
        let removed = try Database.pruneBackups(in: backups, keep: 2)
        #expect(removed == [backups + "/b0.gsbackup", backups + "/b1.gsbackup", backups + "/b2.gsbackup", stale])
        let left = try FileManager.default.contentsOfDirectory(atPath: backups).sorted()
        #expect(left == ["b10.gsbackup.partial", "b3.gsbackup", "b4.gsbackup", "damaged.gsbackup"])
        let restored = try Database.restore(from: [backups + "/b3.gsbackup", backups + "/b4.gsbackup"], to: directory.file("r.gsdb"))
        #expect(restored.commitNumber == written[4].commitNumber)
        #expect(try Database.pruneBackups(in: backups, keep: 2) == [])
        #expect(throws: GuildStoreError.self) { try Database.pruneBackups(in: directory.file("nowhere"), keep: 2) }
    }
}
