import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Every misuse and every foreign file ends in the documented `GuildStoreError`, never a trap,
/// and leaves what still works working.
@Suite("Errors")
struct ErrorTests {
    /// Runs `body` and returns the `GuildStoreError` it threw (failing the test otherwise).
    func error(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> GuildStoreError? {
        do {
            try body()
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch let error as GuildStoreError {
            return error
        } catch {
            Issue.record("expected a GuildStoreError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test("a file that is not a database: .notADatabase, and the file is left alone")
    func notADatabase() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        for (name, contents) in [
            ("text.gsdb", Data(String(repeating: "hello, this is not a database\n", count: 400).utf8)),
            ("short.gsdb", Data("abc".utf8)),
            ("sqlite.gsdb", Data("SQLite format 3\0".utf8) + Data(repeating: 0, count: 4080)),
        ] {
            let path = directory.file(name)
            try contents.write(to: URL(fileURLWithPath: path))
            let thrown = error { _ = try StorageEngine.open(path: path) }
            #expect(thrown == .notADatabase(path: path), "\(name): \(String(describing: thrown))")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == contents, "\(name) is untouched")
        }
    }

    @Test("a different explicit page size: .pageSizeMismatch; nil opens with the file's")
    func pageSizeMismatch() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("p.gsdb")
        let engine = try StorageEngine.open(path: path, configuration: EngineConfiguration(pageSize: 8192))
        try engine.write { tx in _ = try tx.createTree("t") }
        try engine.close()
        let thrown = error { _ = try StorageEngine.open(path: path, configuration: EngineConfiguration(pageSize: 4096)) }
        #expect(thrown == .pageSizeMismatch(path: path, file: 8192, requested: 4096))
        let reopened = try StorageEngine.open(path: path)
        #expect(reopened.pageSize == 8192)
        #expect(try reopened.read { try $0.tree("t") } != nil)
        try reopened.close()
        let explicit = try StorageEngine.open(path: path, configuration: EngineConfiguration(pageSize: 8192))
        try explicit.close()
    }

    @Test("invalid configurations: .invalidConfiguration, and no file is created",
          arguments: [
            EngineConfiguration(pageSize: 1024), EngineConfiguration(pageSize: 5000), EngineConfiguration(pageSize: 131_072),
            EngineConfiguration(pageSize: 0), EngineConfiguration(pageSize: -4096), EngineConfiguration(checkpointThreshold: -1),
            EngineConfiguration(mapReservation: -1), EngineConfiguration(maxKeySize: 0), EngineConfiguration(maxKeySize: 100_000),
          ])
    func invalidConfiguration(configuration: EngineConfiguration) throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("c.gsdb")
        let thrown = error { _ = try StorageEngine.open(path: path, configuration: configuration) }
        guard case .invalidConfiguration = thrown else {
            Issue.record("expected .invalidConfiguration, got \(String(describing: thrown))")
            return
        }
        if configuration.maxKeySize == nil {
            #expect(!FileManager.default.fileExists(atPath: path), "validated before anything is created")
        }
        // A valid configuration opens the same path afterwards.
        let engine = try StorageEngine.open(path: path)
        try engine.close()
    }

    @Test("a key over maxKeySize: .keyTooLarge, and the transaction stays usable")
    func keyTooLarge() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("k.gsdb"))
        let limit = engine.maxKeySize
        #expect(limit == StorageEngine.maximumKeySize(pageSize: 4096))
        try engine.write { tx throws in
            let tree = try tx.createTree("t")
            try tx.put([1], [1], in: tree)
            let big = [UInt8](repeating: 7, count: limit + 1)
            #expect(error { try tx.put(big, [2], in: tree) } == .keyTooLarge(size: limit + 1, limit: limit))
            #expect(error { try tx.put([UInt8](repeating: 7, count: 100_000), [], in: tree) } == .keyTooLarge(size: 100_000, limit: limit))
            // Reads and deletes of an impossible key simply find nothing.
            #expect(try tx.get(big, in: tree) == nil)
            #expect(try !tx.delete(big, in: tree))
            // The transaction goes on.
            try tx.put([UInt8](repeating: 7, count: limit), [3], in: tree)
            try tx.put([2], [2], in: tree)
            #expect(try tx.entries(tree).count == 3)
        }
        try engine.read { tx throws in
            let tree = try #require(try tx.tree("t"))
            #expect(try tx.entries(tree).map { $0.value } == [[1], [2], [3]])
        }
        // A configured smaller limit.
        try engine.close()
        let small = try StorageEngine.open(path: directory.file("k.gsdb"), configuration: EngineConfiguration(maxKeySize: 16))
        try small.write { tx throws in
            let tree = try tx.openTree("t")
            #expect(error { try tx.put([UInt8](repeating: 1, count: 17), [], in: tree) } == .keyTooLarge(size: 17, limit: 16))
            try tx.put([UInt8](repeating: 1, count: 16), [], in: tree)
        }
        try small.close()
    }

    @Test("a value over the limit: .valueTooLarge, checked before the bytes are read")
    func valueTooLarge() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("v.gsdb"))
        try engine.write { tx throws in
            let tree = try tx.createTree("t")
            let limit = OverflowLayout.maximumValueSize
            // A buffer that claims to be larger than the limit; the engine must reject it on
            // its length alone, so the bytes behind the first one are never touched.
            var byte: UInt8 = 0
            withUnsafeMutableBytes(of: &byte) { one in
                let huge = UnsafeRawBufferPointer(start: one.baseAddress!, count: limit + 1)
                [UInt8]([1]).withUnsafeBytes { key in
                    #expect(error { try tx.put(key, huge, in: tree) } == .valueTooLarge(size: limit + 1, limit: limit))
                }
            }
            try tx.put([1], [1], in: tree)
        }
        try engine.close()
    }

    @Test("use after close: .closed")
    func useAfterClose() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("c.gsdb")
        let engine = try StorageEngine.open(path: path)
        let tree = try engine.write { tx in try tx.createTree("t") }
        // close refuses while transactions are open.
        let reader = try engine.beginRead()
        #expect(error { try engine.close() } == .busy("1 read transactions are open"))
        reader.end()
        let writer = try engine.beginWrite()
        guard case .busy = error({ try engine.close() }) else { Issue.record("close with a writer open"); return }
        writer.rollback()
        try engine.close()
        try engine.close()  // a second close is harmless
        #expect(error { _ = try engine.beginRead() } == .closed)
        #expect(error { _ = try engine.beginWrite() } == .closed)
        #expect(error { try engine.read { _ in } } == .closed)
        #expect(error { try engine.write { tx in try tx.put([1], [1], in: tree) } } == .closed)
        #expect(error { _ = try engine.checkpoint(.passive) } == .closed)
        _ = engine.statistics()  // does not trap
        // The file opens again.
        let again = try StorageEngine.open(path: path)
        #expect(try again.read { try $0.tree("t") } != nil)
        try again.close()
    }

    @Test("a finished transaction: .transactionFinished")
    func transactionFinished() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("f.gsdb"))
        let tx = try engine.beginWrite()
        let tree = try tx.createTree("t")
        try tx.put([1], [1], in: tree)
        try tx.commit()
        #expect(error { try tx.put([2], [2], in: tree) } == .transactionFinished)
        #expect(error { try tx.delete([1], in: tree) } == .transactionFinished)
        #expect(error { _ = try tx.get([1], in: tree) } == .transactionFinished)
        #expect(error { _ = try tx.createTree("u") } == .transactionFinished)
        #expect(error { try tx.dropTree("t") } == .transactionFinished)
        #expect(error { try tx.commit() } == .transactionFinished)
        tx.rollback()  // harmless after commit
        #expect(error { var c = try tx.cursor(tree); _ = try c.first() } == .transactionFinished)

        let rolledBack = try engine.beginWrite()
        try rolledBack.put([9], [9], in: tree)
        rolledBack.rollback()
        #expect(error { try rolledBack.put([2], [2], in: tree) } == .transactionFinished)
        #expect(error { try rolledBack.commit() } == .transactionFinished)

        let reader = try engine.beginRead()
        #expect(try reader.get([1], in: tree) == [1])
        reader.end()
        reader.end()  // idempotent
        #expect(error { _ = try reader.get([1], in: tree) } == .transactionFinished)
        #expect(error { _ = try reader.entries(tree) } == .transactionFinished)

        // The writer token came back each time; the rolled-back put is gone.
        try engine.write { tx throws in #expect(try tx.get([9], in: tree) == nil) }
        try engine.close()
    }

    @Test("a second writer: .writerBusy, until the first finishes")
    func writerBusy() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("w.gsdb"))
        let first = try engine.beginWrite()
        let tree = try first.createTree("t")
        #expect(error { _ = try engine.beginWrite() } == .writerBusy)
        #expect(error { try engine.write { _ in } } == .writerBusy)
        // A checkpoint copies alongside the writer; only the log restart waits for it.
        let passive = try engine.checkpoint(.passive)
        #expect(passive.walRestarted == false)
        // Readers are not blocked, and do not see the uncommitted tree.
        #expect(try engine.read { try $0.tree("t") } == nil)
        try first.put([1], [1], in: tree)
        try first.commit()
        let second = try engine.beginWrite()
        #expect(try second.get([1], in: tree) == [1])
        second.rollback()
        // A writer dropped without commit releases the token too (deinit rolls back).
        do {
            let abandoned = try engine.beginWrite()
            try abandoned.put([2], [2], in: tree)
        }
        try engine.write { tx throws in #expect(try tx.get([2], in: tree) == nil) }
        // A throwing write body rolls back and releases the token.
        struct Oops: Error {}
        #expect(throws: Oops.self) { try engine.write { tx in try tx.put([3], [3], in: tree); throw Oops() } }
        try engine.write { tx throws in #expect(try tx.get([3], in: tree) == nil) }
        try engine.close()
    }

    @Test("an old Tree handle after dropTree: .treeNotFound")
    func droppedTree() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("d.gsdb")
        let engine = try StorageEngine.open(path: path)
        let (dropped, kept) = try engine.write { tx throws in
            let a = try tx.createTree("a")
            let b = try tx.createTree("b")
            for i in 0..<3000 { try tx.put(bigEndianKey(UInt64(i)), [UInt8](repeating: 1, count: 40), in: a) }
            try tx.put([1], [1], in: b)
            return (a, b)
        }
        let pagesBefore = engine.statistics()
        try engine.write { tx in try tx.dropTree("a") }
        #expect(engine.statistics().freePages > pagesBefore.freePages + 30, "the dropped tree's pages are free")
        try engine.write { tx throws in
            #expect(error { _ = try tx.get([1], in: dropped) } == .treeNotFound("a"))
            #expect(error { try tx.put([1], [1], in: dropped) } == .treeNotFound("a"))
            #expect(error { try tx.delete([1], in: dropped) } == .treeNotFound("a"))
            #expect(error { _ = try tx.cursor(dropped) } == .treeNotFound("a"))
            #expect(error { try tx.dropTree("a") } == .treeNotFound("a"))
            #expect(try tx.tree("a") == nil)
            // Other handles still work (the catalog finds them again by name).
            #expect(try tx.get([1], in: kept) == [1])
            #expect(error { _ = try tx.createTree("b") } == .treeAlreadyExists("b"))
        }
        try engine.read { tx throws in
            #expect(error { _ = try tx.entries(dropped) } == .treeNotFound("a"))
            #expect(try tx.trees().map(\.name) == ["b"])
            _ = try checkStructure(tx)
        }
        // Dropped inside the same transaction that uses the handle.
        try engine.write { tx throws in
            let c = try tx.createTree("c")
            try tx.put([5], [5], in: c)
            try tx.dropTree("c")
            #expect(error { _ = try tx.get([5], in: c) } == .treeNotFound("c"))
        }
        // A re-created tree of the same name is a new, empty tree for the old handle too.
        try engine.write { tx in _ = try tx.createTree("a") }
        try engine.read { tx throws in #expect(try tx.entries(dropped).isEmpty) }
        try engine.close()
    }

    /// TX-6: `createTree` takes a schema counter never used before, so a handle from a
    /// rolled-back create cannot match the next tree whose root lands on the same page.
    @Test("a handle from a rolled-back createTree does not reach another tree")
    func handleFromRolledBackCreate() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("g.gsdb"))
        let tx = try engine.beginWrite()
        let ghost = try tx.createTree("ghost")
        tx.rollback()
        let real = try engine.write { tx in
            let real = try tx.createTree("real")
            try tx.put([1], [1], in: real)
            return real
        }
        #expect(ghost.root == real.root, "the precondition of the scenario: the root page is reused")
        #expect(error { try engine.write { tx in try tx.put([2], [2], in: ghost) } } == .treeNotFound("ghost"))
        try engine.read { tx throws in #expect(try tx.entries(real).map { $0.key } == [[1]]) }
        try engine.close()
    }

    @Test("a second open of the same file in one process: .locked")
    func locked() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("l.gsdb")
        let first = try StorageEngine.open(path: path)
        try first.write { tx in _ = try tx.createTree("t") }
        #expect(error { _ = try StorageEngine.open(path: path) } == .locked(path: path, holders: [thisProcessAsLockHolder()]))
        // The failed open disturbed nothing.
        try first.write { tx in try tx.put([1], [1], in: try tx.openTree("t")) }
        try first.close()
        // After close the lock is gone.
        let second = try StorageEngine.open(path: path)
        #expect(try second.read { try $0.get([1], in: try #require(try $0.tree("t"))) } == [1])
        #expect(error { _ = try StorageEngine.open(path: path) } == .locked(path: path, holders: [thisProcessAsLockHolder()]))
        try second.close()
    }

    @Test("a writer's open waits up to its busy timeout for the holder to close, then opens; past it, .locked names the holder")
    func busyTimeout() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("busy.gsdb")
        let holder = try StorageEngine.open(path: path)
        try holder.write { tx in try tx.put([1], [1], in: try tx.createTree("t")) }
        // The holder closes on a thread of its own; the open is given minutes, so a loaded
        // machine that runs that thread late cannot fail it.
        let released = Locked(false)
        Thread.detachNewThread {
            usleep(40_000)
            released.withLock { $0 = true }  // before the close: the lock cannot be taken earlier
            try? holder.close()
        }
        let waited = try StorageEngine.open(path: path, configuration: EngineConfiguration(busyTimeout: .seconds(300)))
        #expect(released.withLock { $0 })
        #expect(try waited.read { try $0.get([1], in: try #require(try $0.tree("t"))) } == [1])
        let start = ContinuousClock.now
        #expect(error { _ = try StorageEngine.open(path: path, configuration: EngineConfiguration(busyTimeout: .milliseconds(400))) }
                == .locked(path: path, holders: [thisProcessAsLockHolder()]))
        #expect(ContinuousClock.now - start >= .milliseconds(400), "it waited its whole timeout")
        try waited.close()
    }

    /// The names in `directory`, sorted.
    private func listing(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    @Test("createIfMissing false: no file or a missing folder is .databaseNotFound, an empty file .emptyDatabaseFile, and nothing is written")
    func databaseNotFound() throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let noCreate = EngineConfiguration(createIfMissing: false)
        let missing = directory.file("typo.gsdb")
        #expect(error { _ = try StorageEngine.open(path: missing, configuration: noCreate) } == .databaseNotFound(path: missing))
        #expect(GuildStoreError.databaseNotFound(path: missing).description == "no database at \(missing)")
        let inMissingFolder = directory.file("nowhere/typo.gsdb")
        #expect(error { _ = try StorageEngine.open(path: inMissingFolder, configuration: noCreate) }
                == .databaseNotFound(path: inMissingFolder))
        #expect(throws: GuildStoreError.databaseNotFound(path: missing)) {
            _ = try Database.open(DatabaseConfiguration(.file(missing), createIfMissing: false))
        }
        #expect(try listing(directory.path) == [], "no database file, WAL, lock or -create file, no folder")

        // An empty file is not a database, and it is there: refused, never replaced (WALR-1).
        let empty = directory.file("empty.gsdb")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(error { _ = try StorageEngine.open(path: empty, configuration: noCreate) } == .emptyDatabaseFile(path: empty))
        #expect(try listing(directory.path) == ["empty.gsdb"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
    }

    @Test("createIfMissing false opens an existing database as usual; a temporary one is still created")
    func createIfMissingOpensExisting() async throws {
        let directory = try TemporaryDirectory("gs-errors")
        defer { directory.remove() }
        let path = directory.file("e.gsdb")
        let created = try StorageEngine.open(path: path)
        try created.write { tx in try tx.put([1], [7], in: try tx.createTree("t")) }
        try created.close()
        let reopened = try Database.open(DatabaseConfiguration(.file(path), createIfMissing: false))
        #expect(try await reopened.read { try $0.get([1], in: try #require(try $0.tree("t"))) } == [7])
        try await reopened.close()
        let temporary = try Database.open(DatabaseConfiguration(.temporary, createIfMissing: false))
        try await temporary.write { tx in _ = try tx.createTree("t") }
        try await temporary.close()
    }
}
