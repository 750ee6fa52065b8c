import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Issue 13, "Nothing is destroyed silently": a damaged or foreign file is refused with an
/// error naming the problem; opening never replaces or re-creates what is there.
@Suite("Nothing is destroyed silently")
struct NothingDestroyedTests {
    /// The names in `directory`, sorted.
    static func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("an existing empty database file is refused, never re-created, whatever createIfMissing says",
          arguments: [true, false])
    func emptyDatabaseFile(createIfMissing: Bool) throws {
        let directory = try TemporaryDirectory("gs-empty")
        defer { directory.remove() }
        let path = directory.file("empty.gsdb")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        do {
            let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: createIfMissing))
            try? engine.close()
            Issue.record("an empty database file opened (createIfMissing \(createIfMissing))")
        } catch let error as GuildStoreError {
            #expect(error == .emptyDatabaseFile(path: path))
            #expect(error.description == "database file \(path) is empty (0 bytes): not a GuildStore database, and not replaced")
        }
        #expect(try Self.listing(directory.path) == ["empty.gsdb"], "nothing created beside it")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty, "the file is left as it was")
    }

    // MARK: Page checksums cover the page number (WALR-4)

    static let pageSize = 4096
    static let configuration = EngineConfiguration(pageSize: pageSize, synchronous: .full, checkpointThreshold: 0,
                                                   mapReservation: 1 << 24)

    /// Tree "t" with keys 0..<600 (60-byte values, over several leaves), checkpointed into the
    /// file with an empty WAL. Returns the leaf pages of "t", in file order.
    static func buildLeaves(at path: String) throws -> [UInt32] {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.write { tx in
            let tree = try tx.createTree("t")
            for key in UInt64(0)..<600 { try tx.put(bigEndianKey(key), value(key), in: tree) }
        }
        _ = try engine.checkpoint(.truncate)
        try engine.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // Page 1 is the catalog; every other leaf belongs to "t".
        return (2..<(bytes.count / pageSize)).filter { bytes[$0 * pageSize + 4] == PageType.leaf.rawValue }.map(UInt32.init)
    }

    static func value(_ key: UInt64) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: key), count: 60) }

    /// Copies `count` bytes of `path` from `from` to `to` (in place).
    static func copyBytes(in path: String, from: Int, to: Int, count: Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.replaceSubrange(to..<(to + count), with: bytes.subdata(in: from..<(from + count)))
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    /// Looks every key of "t" up: each gives its value or a checksum mismatch on one of
    /// `damaged`, never a wrong answer. Returns the mismatches.
    static func lookUpEveryKey(_ path: String, damaged: Set<UInt32>) throws -> Int {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        defer { try? engine.close() }
        var mismatches = 0
        try engine.read { tx in
            let tree = try #require(try tx.tree("t"))
            for key in UInt64(0)..<600 {
                do {
                    #expect(try tx.get(bigEndianKey(key), in: tree) == value(key), "key \(key) read a wrong answer")
                } catch GuildStoreError.checksumMismatch(let errorPath, let page) {
                    #expect(errorPath == path && damaged.contains(page), "mismatch on page \(page)")
                    mismatches += 1
                }
            }
        }
        return mismatches
    }

    @Test("two swapped pages, or a page written over another, are checksum mismatches, never wrong answers")
    func misplacedPages() throws {
        let directory = try TemporaryDirectory("gs-misplaced")
        defer { directory.remove() }
        let original = directory.file("original.gsdb")
        let leaves = try Self.buildLeaves(at: original)
        #expect(leaves.count >= 4)
        let (a, b) = (Int(leaves[1]), Int(leaves[leaves.count - 2]))

        let swapped = directory.file("swapped.gsdb")
        try FileManager.default.copyItem(atPath: original, toPath: swapped)
        let pageA = try Data(contentsOf: URL(fileURLWithPath: swapped)).subdata(in: a * Self.pageSize..<(a + 1) * Self.pageSize)
        try Self.copyBytes(in: swapped, from: b * Self.pageSize, to: a * Self.pageSize, count: Self.pageSize)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: swapped))
        bytes.replaceSubrange(b * Self.pageSize..<(b + 1) * Self.pageSize, with: pageA)
        try bytes.write(to: URL(fileURLWithPath: swapped))
        #expect(try Self.lookUpEveryKey(swapped, damaged: [UInt32(a), UInt32(b)]) > 0)

        let misplaced = directory.file("misplaced.gsdb")
        try FileManager.default.copyItem(atPath: original, toPath: misplaced)
        try Self.copyBytes(in: misplaced, from: a * Self.pageSize, to: b * Self.pageSize, count: Self.pageSize)
        #expect(try Self.lookUpEveryKey(misplaced, damaged: [UInt32(b)]) > 0)
    }

    @Test("a file of format version 4 (page checksums without the page number) is .unsupportedFormatVersion, left as it was")
    func formatVersion4() throws {
        let directory = try TemporaryDirectory("gs-version")
        defer { directory.remove() }
        let path = directory.file("v4.gsdb")
        _ = try Self.buildLeaves(at: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[16] = 4
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: GuildStoreError.unsupportedFormatVersion(path: path, version: 4)) {
            _ = try StorageEngine.open(path: path, configuration: Self.configuration)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
    }

    @Test("a WAL frame whose page image belongs to another page number ends the log before it")
    func frameForAnotherPage() throws {
        let directory = try TemporaryDirectory("gs-misplaced-frame")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let leaves = try Self.buildLeaves(at: path)
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        // One leaf rewritten: one frame, the commit marker, for page `leaves[0]`.
        try engine.write { tx in try tx.put(bigEndianKey(0), [UInt8](repeating: 7, count: 60), in: try #require(try tx.tree("t"))) }
        try engine.close()
        let walPath = path + "-wal"
        var wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: walPath)))
        let frameSize = WriteAheadLog.frameHeaderSize + Self.pageSize
        #expect(wal.count == WriteAheadLog.headerSize + frameSize)
        // The frame says it is page leaves[1], and its header check (WALR-8) and running
        // checksum agree: only the page image's own checksum can tell.
        wal.withUnsafeMutableBytes { raw in
            let frame = raw.baseAddress! + WriteAheadLog.headerSize
            #expect(frame.load(as: UInt32.self) == leaves[0])
            frame.setU32(0, leaves[1])
            let pageChecksum = (frame + WriteAheadLog.frameHeaderSize).load(as: UInt32.self)
            frame.setU32(12, WriteAheadLog.frameHeaderCheck(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum))
            let chain = WriteAheadLog.chainChecksum(frameHeader: UnsafeRawPointer(frame), pageChecksum: pageChecksum,
                                                    previous: UnsafeRawPointer(raw.baseAddress!).u32(28))
            frame.setU32(16, chain)
        }
        try Data(wal).write(to: URL(fileURLWithPath: walPath))
        #expect(try Self.lookUpEveryKey(path, damaged: []) == 0, "the frame is not applied: every key reads as before it")
    }

    // MARK: The catalog root (WALR-5)

    @Test("a header whose catalog root points at another tree's page is .corruptHeader, and nothing is written",
          arguments: ["t root", "t leaf", "empty root", "overflow"])
    func catalogRootElsewhere(target: String) throws {
        let directory = try TemporaryDirectory("gs-catalog-root")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.write { tx in
            let tree = try tx.createTree("t")
            for key in UInt64(0)..<600 { try tx.put(bigEndianKey(key), Self.value(key), in: tree) }
            try tx.put(bigEndianKey(1_000), [UInt8](repeating: 9, count: 9000), in: tree)
            _ = try tx.createTree("empty")
        }
        let roots = try engine.read { tx in (try #require(try tx.tree("t")).root, try #require(try tx.tree("empty")).root) }
        _ = try engine.checkpoint(.truncate)
        try engine.close()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let types = (0..<(bytes.count / Self.pageSize)).map { bytes[$0 * Self.pageSize + 4] }
        let page: UInt32
        switch target {
        case "t root": page = roots.0
        case "t leaf": page = UInt32(try #require(types.indices.last { types[$0] == PageType.leaf.rawValue && UInt32($0) != roots.1 }))
        case "empty root": page = roots.1
        default: page = UInt32(try #require(types.firstIndex(of: PageType.overflow.rawValue)))
        }
        bytes.withUnsafeMutableBytes { raw in
            raw.baseAddress!.setU32(36, page)
            sealHeaderPage(raw.baseAddress!, size: Self.pageSize)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            let opened = try StorageEngine.open(path: path, configuration: Self.configuration)
            try? opened.close()
            Issue.record("catalog root at \(target) (page \(page)) opened")
        } catch GuildStoreError.corruptHeader(let errorPath, let reason) {
            #expect(errorPath == path)
            #expect(reason.contains("catalog root \(page)"), "\(reason)")
        }
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == bytes, "the file is left as it was")
    }

    // MARK: One file identity (WALR-6)

    /// Plain POSIX files, except that before the opens of `path` numbered in `replaceBefore`
    /// (1-based) a copy of `replacement` is renamed over `path`: another process's vacuum
    /// swapping its new file in between the engine's opens.
    struct ReplacingFileSystem: FileSystem {
        let path: String
        let replacement: String
        let replaceBefore: @Sendable (Int) -> Bool
        let opens = Locked(0)
        let base = PosixFileSystem()

        func open(_ name: String, create: Bool) throws -> any FileHandleIO {
            if name == path {
                let n = opens.withLock { count -> Int in
                    count += 1
                    return count
                }
                if replaceBefore(n) {
                    let copy = path + "-replacement"
                    try? FileManager.default.removeItem(atPath: copy)
                    try FileManager.default.copyItem(atPath: replacement, toPath: copy)
                    try base.rename(copy, to: path)
                }
            }
            return try base.open(name, create: create)
        }

        func exists(_ name: String) -> Bool { base.exists(name) }
        func remove(_ name: String) throws { try base.remove(name) }
        func rename(_ source: String, to destination: String) throws { try base.rename(source, to: destination) }
        func syncDirectory(containing name: String) throws { try base.syncDirectory(containing: name) }
    }

    /// A database holding tree `name` alone, closed.
    static func makeDatabase(_ path: String, tree name: String) throws {
        let engine = try StorageEngine.open(path: path, configuration: configuration)
        try engine.write { tx in _ = try tx.createTree(name) }
        _ = try engine.checkpoint(.truncate)
        try engine.close()
    }

    @Test("a file renamed over the path between the lock's open and the data's is noticed: the open starts again on the new file")
    func replacedBetweenOpens() throws {
        let directory = try TemporaryDirectory("gs-identity")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let replacement = directory.file("new.gsdb")
        try Self.makeDatabase(path, tree: "old")
        try Self.makeDatabase(replacement, tree: "new")
        let fileSystem = ReplacingFileSystem(path: path, replacement: replacement, replaceBefore: { $0 == 2 })
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration, fileSystem: fileSystem)
        defer { try? engine.close() }
        #expect(try engine.read { try $0.trees().map(\.name) } == ["new"])
        // The engine holds the lock of the file now at the path: another open is refused.
        #expect(throws: GuildStoreError.locked(path: path, holders: [thisProcessAsLockHolder()])) {
            let other = try StorageEngine.open(path: path, configuration: Self.configuration)
            try? other.close()
        }
    }

    @Test("a path that every open finds replaced again: .databaseReplaced, and nothing is read")
    func replacedAtEveryOpen() throws {
        let directory = try TemporaryDirectory("gs-identity")
        defer { directory.remove() }
        let path = directory.file("db.gsdb")
        let replacement = directory.file("new.gsdb")
        try Self.makeDatabase(path, tree: "old")
        try Self.makeDatabase(replacement, tree: "new")
        // Every data open (the second of each pair) finds a new copy there.
        let fileSystem = ReplacingFileSystem(path: path, replacement: replacement, replaceBefore: { $0 % 2 == 0 })
        #expect(throws: GuildStoreError.databaseReplaced(path: path, attempts: StorageEngine.openAttempts)) {
            let engine = try StorageEngine.open(path: path, configuration: Self.configuration, fileSystem: fileSystem)
            try? engine.close()
        }
        // Nothing holds the lock after the failed open.
        let engine = try StorageEngine.open(path: path, configuration: Self.configuration)
        try engine.close()
    }
}
