import Foundation
@testable @_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// Damaged, crafted and foreign backups are refused with `.backupDamaged` / `.backupMismatch`,
/// never a crash or a wrong database, and the destination is left as it was (BK-2, BK-4); a
/// crash at any point of a backup or a restore leaves no file that passes for a complete one
/// (BK-1, BK-4).
@Suite("Damaged backups")
struct BackupDamageTests {
    /// A database with a free list and a few hundred pages, its full backup, and its content.
    static func makeBackup(in directory: TemporaryDirectory, name: String = "db", seed: UInt64 = 11)
        throws -> (backup: BackupInfo, model: DatabaseModel, database: String) {
        let path = directory.file("\(name).gsdb")
        let engine = try BackupTests.open(path)
        var model = DatabaseModel()
        try BackupTests.populate(engine, &model, seed: seed)
        let info = try engine.writeBackup(to: directory.file("\(name).gsbackup"), parent: nil)
        try engine.close()
        return (info, model, path)
    }

    /// Restoring `sources` must throw a backup error; `destination` must be as it was.
    static func expectRefused(_ sources: [String], destination: String, force: Bool = false,
                              _ comment: Comment) throws {
        let before = FileManager.default.fileExists(atPath: destination) ? try readFile(destination) : nil
        do {
            try BackupRestore.restore(from: sources, to: destination, at: .latest, force: force,
                                      fileSystem: PosixFileSystem(), progress: nil)
            Issue.record("restore succeeded: \(comment)")
        } catch let error as GuildStoreError {
            switch error {
            case .backupDamaged, .backupMismatch, .backupChainBroken: break
            default: Issue.record("unexpected \(String(describing: error).prefix(300)): \(comment)")
            }
        }
        let after = FileManager.default.fileExists(atPath: destination) ? try readFile(destination) : nil
        #expect(after?.count == before?.count && after == before, "the destination changed: \(comment)")
        #expect(!FileManager.default.fileExists(atPath: destination + ".restore"), "temporary left: \(comment)")
    }

    @Test("a backup cut short anywhere, or with bytes after it, is .backupDamaged; restore leaves the destination alone")
    func truncated() throws {
        let directory = try TemporaryDirectory("gs-backup-cut")
        defer { directory.remove() }
        let (info, _, database) = try Self.makeBackup(in: directory)
        let bytes = try readFile(info.path)
        let damaged = directory.file("damaged.gsbackup")
        var cuts = [0, 1, 4, 7, 11, 15, 30, 200, bytes.count / 3, bytes.count / 2, bytes.count - 12, bytes.count - 5, bytes.count - 4, bytes.count - 1]
        var rng = SplitMix64(seed: 5)
        for _ in 0..<10 { cuts.append(Int(rng.next() % UInt64(bytes.count))) }
        for cut in cuts {
            try writeFile(damaged, Array(bytes.prefix(cut)))
            #expect(throws: GuildStoreError.self) { try Database.verifyBackup(at: damaged) }
            try Self.expectRefused([damaged], destination: directory.file("new.gsdb"), "cut at \(cut)")
            try Self.expectRefused([damaged], destination: database, force: true, "cut at \(cut), over the database")
        }
        try writeFile(damaged, bytes + [0x04, 0x22, 0x4D, 0x18])
        try Self.expectRefused([damaged], destination: directory.file("new.gsdb"), "bytes appended")
    }

    @Test("a flipped bit anywhere in a backup is .backupDamaged, never a restored database")
    func bitFlips() throws {
        let directory = try TemporaryDirectory("gs-backup-flip")
        defer { directory.remove() }
        let (info, _, _) = try Self.makeBackup(in: directory)
        let bytes = try readFile(info.path)
        let damaged = directory.file("damaged.gsbackup")
        var offsets = Array(0..<min(24, bytes.count)) + Array((bytes.count - 16)..<bytes.count)
        var rng = SplitMix64(seed: 6)
        for _ in 0..<40 { offsets.append(Int(rng.next() % UInt64(bytes.count))) }
        for offset in offsets {
            var copy = bytes
            copy[offset] ^= UInt8(1 << (offset % 8))
            try writeFile(damaged, copy)
            do {
                _ = try Database.verifyBackup(at: damaged)
                Issue.record("verify accepted a flip at \(offset)")
            } catch GuildStoreError.backupDamaged {
            } catch {
                Issue.record("flip at \(offset): \(error)")
            }
            try Self.expectRefused([damaged], destination: directory.file("new.gsdb"), "flip at \(offset)")
        }
    }

    /// The decompressed content with `edit` applied, compressed again: a crafted file whose
    /// LZ4 frame is sound.
    static func recompressed(_ path: String, _ edit: (inout [UInt8]) -> Void) throws -> [UInt8] {
        var content = try LZ4Frame.decompress(try readFile(path))
        edit(&content)
        return try LZ4Frame.compress(content)
    }

    static func resealHeader(_ content: inout [UInt8]) {
        content.withUnsafeMutableBytes { raw in
            raw.baseAddress!.setU32(124, crc32c(UnsafeRawBufferPointer(start: raw.baseAddress!, count: 124)))
        }
    }

    @Test("crafted backups with sound LZ4 frames: another version, not a backup, a page under another number, a huge page count, an edited manifest")
    func crafted() throws {
        let directory = try TemporaryDirectory("gs-backup-crafted")
        defer { directory.remove() }
        let (info, _, _) = try Self.makeBackup(in: directory)
        let crafted = directory.file("crafted.gsbackup")
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("version 2", { c in c.withUnsafeMutableBytes { $0.baseAddress!.setU32(8, 2) }; Self.resealHeader(&c) }, "format version 2"),
            ("not a backup", { c in c[0] = UInt8(ascii: "X") }, "not a GuildStore backup"),
            ("header checksum", { c in c[20] ^= 1 }, "header checksum"),
            ("huge page count", { c in c.withUnsafeMutableBytes { $0.baseAddress!.setU32(20, 0xFFFF_FFF0) }; Self.resealHeader(&c) }, "cannot fit"),
            ("page renumbered", { c in c.withUnsafeMutableBytes { raw in
                let first = UnsafeRawPointer(raw.baseAddress!).u32(BackupHeader.size)
                raw.baseAddress!.setU32(BackupHeader.size, first + 1)
            } }, "checksum"),
            ("manifest edited", { c in c[c.count - 20] ^= 0x10 }, "trailer checksum"),
            ("a full backup with a parent", { c in c[72] = 1; Self.resealHeader(&c) }, "names a parent"),
        ]
        for (name, edit, expected) in cases {
            try writeFile(crafted, try Self.recompressed(info.path, edit))
            do {
                _ = try Database.verifyBackup(at: crafted)
                Issue.record("\(name): accepted")
            } catch GuildStoreError.backupDamaged(_, let reason) {
                #expect(reason.contains(expected), "\(name): \(reason)")
            } catch {
                Issue.record("\(name): \(error)")
            }
            try Self.expectRefused([crafted], destination: directory.file("new.gsdb"), "\(name)")
        }
    }

    @Test("pieces of another database are .backupMismatch: as an incremental's parent, and beside its backups in one restore")
    func wrongDatabase() throws {
        let directory = try TemporaryDirectory("gs-backup-foreign")
        defer { directory.remove() }
        let (mine, _, database) = try Self.makeBackup(in: directory, name: "mine", seed: 1)
        let (theirs, _, _) = try Self.makeBackup(in: directory, name: "theirs", seed: 2)
        let engine = try BackupTests.open(database)
        let parent = try BackupFile.scan(path: theirs.path, fileSystem: PosixFileSystem())
        #expect(throws: GuildStoreError.self) {
            try engine.writeBackup(to: directory.file("inc.gsbackup"), parent: (theirs.path, parent))
        }
        try engine.close()
        #expect(!FileManager.default.fileExists(atPath: directory.file("inc.gsbackup")))
        do {
            try BackupRestore.restore(from: [mine.path, theirs.path], to: directory.file("new.gsdb"), at: .latest, force: false,
                                      fileSystem: PosixFileSystem(), progress: nil)
            Issue.record("a restore mixed two databases")
        } catch GuildStoreError.backupMismatch(let path, _) {
            #expect(path == theirs.path)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("new.gsdb")))
    }

    @Test("restore refuses an existing database without force, and leaves it byte for byte")
    func refusesToOverwrite() throws {
        let directory = try TemporaryDirectory("gs-backup-exists")
        defer { directory.remove() }
        let (info, model, database) = try Self.makeBackup(in: directory)
        let other = directory.file("other.gsdb")
        let engine = try BackupTests.open(other)
        try engine.write { tx in try tx.put(bigEndianKey(1), [1], in: try tx.openTree("t")) }
        try engine.close()
        let before = try readFile(other)
        #expect(throws: GuildStoreError.destinationExists(path: other)) {
            try BackupRestore.restore(from: [info.path], to: other, at: .latest, force: false, fileSystem: PosixFileSystem(), progress: nil)
        }
        #expect(try readFile(other) == before)
        // Forced, it replaces the database and its log.
        try BackupRestore.restore(from: [info.path], to: other, at: .latest, force: true, fileSystem: PosixFileSystem(), progress: nil)
        let restored = try BackupTests.open(other)
        #expect(try readDatabase(restored) == model)
        try restored.close()
        // While another engine holds it open, even a forced restore is refused.
        let holder = try BackupTests.open(database)
        #expect(throws: GuildStoreError.locked(path: database, holders: [thisProcessAsLockHolder()])) {
            try BackupRestore.restore(from: [info.path], to: database, at: .latest, force: true, fileSystem: PosixFileSystem(), progress: nil)
        }
        try holder.close()
    }

    /// Backs `database` up to `target` with a crash and a power loss after 0, 1, 2, ... file
    /// operations until one backup completes; after each crash, a file at `target` must be a
    /// whole backup. Returns how many attempts it took.
    static func crashAtEveryOperation(backingUp database: String, to target: String) throws -> Int {
        var completed = false
        var k = 0
        while !completed {
            try? FileManager.default.removeItem(atPath: target)
            let plan = FaultPlan()
            let engine = try StorageEngine.open(path: database, configuration: BackupTests.configuration, fileSystem: FaultyFileSystem(plan))
            plan.crash(afterOperations: k, powerLoss: .dropUnsynced)
            do {
                _ = try engine.writeBackup(to: target, parent: nil)
                completed = true
            } catch {}
            plan.simulatePowerLoss()
            try? engine.close()
            if FileManager.default.fileExists(atPath: target) {
                let contents = try BackupFile.scan(path: target, fileSystem: PosixFileSystem())
                #expect(contents.header.kind == .full, "crash after \(k) operations")
            }
            k += 1
        }
        return k
    }

    @Test("a crash at every file operation of a backup leaves either no backup or a complete one")
    func crashDuringBackup() throws {
        let directory = try TemporaryDirectory("gs-backup-crash")
        defer { directory.remove() }
        let (_, model, database) = try Self.makeBackup(in: directory)
        let target = directory.file("crash.gsbackup")
        let k = try Self.crashAtEveryOperation(backingUp: database, to: target)
        #expect(k > 5, "the backup took several operations")
        let restored = try BackupTests.restored(from: [target], in: directory, name: "r.gsdb")
        #expect(restored.model == model)
    }

    @Test("a crash at every file operation of a backup several output chunks long leaves no backup or a whole one")
    func crashDuringMultiChunkBackup() throws {
        let directory = try TemporaryDirectory("gs-backup-crash-chunks")
        defer { directory.remove() }
        let database = directory.file("blobs.gsdb")
        var model = DatabaseModel()
        // About 3.5 MB of random values, which LZ4 cannot shrink: the backup reaches its file
        // in four chunks of `SequentialFileWriter`, so crash points fall between and inside them.
        var rng = SplitMix64(seed: 23)
        let blobs = (0..<880).map { _ in (0..<4_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        let engine = try BackupTests.open(database)
        try commit(engine, &model) { tx, m in
            for (key, blob) in blobs.enumerated() { try tx.put(UInt64(key), blob, tree: "blobs", model: &m) }
        }
        try engine.close()
        let target = directory.file("crash.gsbackup")
        let k = try Self.crashAtEveryOperation(backingUp: database, to: target)
        let size = try #require(FileManager.default.attributesOfItem(atPath: target)[.size] as? Int)
        #expect(size > 3 * SequentialFileWriter.chunkSize)
        #expect(k > size / SequentialFileWriter.chunkSize + 4, "every chunk a write of its own")
        let restored = try BackupTests.restored(from: [target], in: directory, name: "r.gsdb")
        #expect(restored.model == model)
    }

    @Test("a crash at every file operation of a restore leaves the destination absent or the old database, else the restored one")
    func crashDuringRestore() throws {
        let directory = try TemporaryDirectory("gs-restore-crash")
        defer { directory.remove() }
        let (info, model, _) = try Self.makeBackup(in: directory)
        // The destination holds another database, replaced with force.
        let destination = directory.file("dest.gsdb")
        var oldModel = DatabaseModel()
        let old = try BackupTests.open(destination)
        try commit(old, &oldModel) { tx, m in try tx.put(7, [7, 7], tree: "old", model: &m) }
        try old.close()
        let oldFiles = (try readFile(destination), try readFile(destination + "-wal"))
        var completed = false
        var k = 0
        while !completed {
            try writeFile(destination, oldFiles.0)
            try writeFile(destination + "-wal", oldFiles.1)
            let plan = FaultPlan()
            plan.crash(afterOperations: k, powerLoss: .dropUnsynced)
            do {
                try BackupRestore.restore(from: [info.path], to: destination, at: .latest, force: true,
                                          fileSystem: FaultyFileSystem(plan), progress: nil)
                completed = true
            } catch {}
            plan.simulatePowerLoss()
            let engine = try BackupTests.open(destination)
            let found = try readDatabase(engine)
            let isOld = found == oldModel, isNew = found == model
            #expect(isOld || isNew, "crash after \(k) operations: \(difference(found, model))")
            #expect(try engine.check().isOK)
            try engine.close()
            k += 1
        }
        #expect(k > 5)
    }
}
