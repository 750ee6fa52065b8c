import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// FILE-2: every file the engine makes from a database's pages (its log, a vacuumed or
/// restored copy, a backup, an archived segment) takes the database file's permission bits,
/// whatever the process's umask: a private database never leaves a world-readable copy. The
/// modes used here (0o660, 0o606) are ones no umask can make out of the 0o644 files are
/// created with, so each check fails if the bits were not set.
@Suite("File permissions follow the database file's")
struct FilePermissionTests {
    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777
    }

    static func setMode(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test("the log, a backup, an archived segment and a vacuumed file take the database file's bits; a restore keeps the replaced file's")
    func filesFollowTheDatabase() throws {
        let directory = try TemporaryDirectory("gs-permissions")
        defer { directory.remove() }
        let path = directory.file("private.gsdb")
        let archive = directory.file("archive")
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: false)
        func put(_ engine: StorageEngine, _ range: Range<UInt64>) throws {
            try engine.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * 3), in: tree) }
            }
        }
        let first = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        try put(first, 0..<500)
        #expect(try first.checkpoint(.truncate).walRestarted, "everything in the file: its log can go")
        try first.close()
        try? FileManager.default.removeItem(atPath: path + "-wal")
        try Self.setMode(path, 0o660)

        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0, archiveDirectory: archive))
        #expect(try Self.mode(path + "-wal") == 0o660, "the log made at open")
        try put(owner, 500..<1_000)
        _ = try owner.syncWAL()  // published: the backup's snapshot holds it
        let backup = directory.file("private.gsbackup")
        _ = try owner.writeBackup(to: backup, parent: nil, progress: nil)
        #expect(try Self.mode(backup) == 0o660, "a backup")
        #expect(try owner.checkpoint(.full).walRestarted)
        let segments = try FileManager.default.contentsOfDirectory(atPath: archive).filter { $0.hasSuffix(WALSegment.fileExtension) }
        #expect(!segments.isEmpty)
        for segment in segments { #expect(try Self.mode(archive + "/" + segment) == 0o660, "segment \(segment)") }
        try put(owner, 1_000..<1_100)
        _ = try owner.vacuum()
        #expect(try Self.mode(path) == 0o660, "the vacuumed file")
        try owner.close()

        try Self.setMode(path, 0o606)
        _ = try Database.restore(from: [backup], to: path, force: true)
        #expect(try Self.mode(path) == 0o606, "the restored file, over one of these bits")
        let restored = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false))
        let rows = try restored.read { tx in try tx.tree("t").map { try tx.entries($0).count } }
        #expect(rows == 1_000)
        #expect(try Self.mode(path + "-wal") == 0o606, "the restored database's new log")
        try restored.close()
    }
}
