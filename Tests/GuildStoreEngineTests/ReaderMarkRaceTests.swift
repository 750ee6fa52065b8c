import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// RM-1's race, made to happen every time: a read-only opening is about to take its reader
/// mark when the owner commits and checkpoints, copying that commit into the file (no mark
/// was there to stop it). The opening takes its mark before it reads the log, so the read
/// sees that commit and its snapshot reads the copied pages from the log. An opening that
/// read the log first and then took its mark there would give a snapshot of the older
/// commit that reads the newer pages from the file (the mutation this test was checked with).
@Suite("Reader marks: the race between a mark and a checkpoint")
struct ReaderMarkRaceTests {
    @Test("an owner that commits and checkpoints just before a read-only opening takes its mark: the opening's read sees that commit, its snapshot is whole")
    func checkpointBetweenCatchUpAndMark() throws {
        let directory = try TemporaryDirectory("gs-reader-mark")
        defer { directory.remove() }
        let path = directory.file("race.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        func put(_ range: Range<UInt64>, times factor: UInt64) throws {
            try owner.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * factor), in: tree) }
            }
        }
        try put(0..<6_000, times: 3)
        _ = try owner.checkpoint(.truncate)
        try put(6_000..<6_100, times: 3)  // a log for the opening to read

        let layer = MarkHookFileSystem()
        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true),
                                            fileSystem: layer)
        func values() throws -> [UInt64: UInt64] {
            try reader.read { tx in try ReadOnlyOpeningTests.values(tx) }
        }
        #expect(try values().count == 6_100)

        // Next time the opening is about to take its mark: the owner rewrites the first 2,000
        // keys (leaves the opening reads from the file) and copies that commit into the file. The opening holds the readers' byte, so the log cannot
        // restart; no mark is held, so nothing keeps the copy back.
        let copied = Locked<CheckpointResult?>(nil)
        let marksBefore = layer.marksTaken
        layer.beforeNextMark {
            try put(0..<2_000, times: 5)
            copied.withLock { $0 = try? owner.checkpoint(.passive) }
        }
        let seen = try values()
        let result = try #require(copied.withLock { $0 })
        #expect(result.framesCheckpointed == result.framesInWAL && !result.walRestarted, "the commit was copied before the mark: \(result)")
        let expected = Dictionary(uniqueKeysWithValues: (0..<UInt64(6_100)).map { ($0, $0 < 2_000 ? $0 * 5 : $0 * 3) })
        #expect(seen == expected, "the snapshot shows the commit whose pages it reads")
        #expect(reader.statistics().commitNumber == owner.statistics().commitNumber)
        #expect(layer.marksTaken == marksBefore + 2, "a provisional mark, then the one after the catch-up")
        #expect(try reader.check().isOK)
        try reader.close()
        try owner.close()
    }

    /// The other side of the race: the owner's checkpoint has asked for marks and found none;
    /// before it copies, a read-only snapshot begins and the owner commits again. The copy must
    /// stop at the commit published before it asked (its cap): copying the newer commit would
    /// rewrite, under that snapshot, leaves it reads from the file.
    @Test("a read-only snapshot that begins, and a commit made, between a checkpoint's question for marks and its copy: the copy stops at the commit published before the question")
    func snapshotBetweenMarkQueryAndCopy() throws {
        let directory = try TemporaryDirectory("gs-reader-mark")
        defer { directory.remove() }
        let path = directory.file("race.gsdb")
        let layer = MarkHookFileSystem()
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0), fileSystem: layer)
        @Sendable func put(_ range: Range<UInt64>, times factor: UInt64) throws {
            try owner.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * factor), in: tree) }
            }
        }
        try put(0..<6_000, times: 3)
        _ = try owner.checkpoint(.truncate)
        try put(6_000..<6_100, times: 3)  // in the log, for the checkpoint to copy

        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
        let pinned = Locked<ReadTransaction?>(nil)
        layer.afterNextMarkQuery {
            pinned.withLock { $0 = try? reader.beginRead() }
            try put(0..<2_000, times: 5)  // rewrites leaves the snapshot reads from the file
        }
        let result = try owner.checkpoint(.passive, timeout: .zero)
        let snapshot = try #require(pinned.withLock { $0 })
        #expect(result.framesCheckpointed > 0 && !result.walRestarted, "\(result)")
        let seen = try ReadOnlyOpeningTests.values(snapshot)
        let before = Dictionary(uniqueKeysWithValues: (0..<UInt64(6_100)).map { ($0, $0 * 3) })
        #expect(seen == before, "the snapshot shows the commit it began on, whatever the checkpoint copied")
        snapshot.end()
        #expect(try reader.check().isOK)
        try reader.close()
        try owner.close()
    }

    @Test("a read-only snapshot with nothing committed since the last takes one reader mark; one after a commit takes two (provisional, then moved up)")
    func oneMarkWhenNothingChanged() throws {
        let directory = try TemporaryDirectory("gs-reader-mark")
        defer { directory.remove() }
        let path = directory.file("marks.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        func put(_ range: Range<UInt64>) throws {
            try owner.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * 7), in: tree) }
            }
        }
        try put(0..<500)
        let layer = MarkHookFileSystem()
        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true),
                                            fileSystem: layer)
        #expect(try reader.read { try ReadOnlyOpeningTests.values($0) }.count == 500)
        for round in 0..<3 {
            let before = layer.marksTaken
            #expect(try reader.read { try ReadOnlyOpeningTests.values($0) }.count == 500)
            #expect(layer.marksTaken == before + 1, "round \(round): the provisional mark is already where the log ends")
        }
        try put(500..<600)
        let before = layer.marksTaken
        #expect(try reader.read { try ReadOnlyOpeningTests.values($0) }.count == 600)
        #expect(layer.marksTaken == before + 2, "where it last read the log, then the new end")
        try reader.close()
        try owner.close()
    }

    /// RO-1 keeps read-only snapshots out while the owner rewrites the log's header; the
    /// header's sync is the owner's own business (WAL-4), so a snapshot may begin meanwhile and
    /// sees the restarted log: nothing in it, every commit in the file.
    @Test("a read-only snapshot begins while the owner syncs a restarted log's new header, and sees every commit")
    func snapshotDuringTheRestartsSync() throws {
        let directory = try TemporaryDirectory("gs-reader-mark")
        defer { directory.remove() }
        let path = directory.file("restart.gsdb")
        let layer = MarkHookFileSystem()
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0), fileSystem: layer)
        func put(_ range: Range<UInt64>, times factor: UInt64) throws {
            try owner.write { tx in
                let tree = try tx.tree("t") ?? tx.createTree("t")
                for key in range { try tx.put(bigEndianKey(key), bigEndianKey(key * factor), in: tree) }
            }
        }
        try put(0..<3_000, times: 3)
        _ = try owner.checkpoint(.truncate)
        try put(0..<1_000, times: 5)
        let reader = try StorageEngine.open(path: path, configuration: EngineConfiguration(createIfMissing: false, readOnly: true))
        let expected = Dictionary(uniqueKeysWithValues: (0..<UInt64(3_000)).map { ($0, $0 < 1_000 ? $0 * 5 : $0 * 3) })
        #expect(try reader.read { try ReadOnlyOpeningTests.values($0) } == expected)

        // The log's header as it is now: the restart's sync is the first one after it changed.
        func logHeader() throws -> [UInt8] {
            let handle = try PosixFileSystem().openForReading(path + "-wal")
            defer { try? handle.close() }
            var bytes = [UInt8](repeating: 0, count: WriteAheadLog.headerSize)
            _ = try bytes.withUnsafeMutableBytes { try handle.read(into: $0, at: 0) }
            return bytes
        }
        let oldHeader = try logHeader()
        let seen = Locked<Result<[UInt64: UInt64], any Error>?>(nil)
        layer.beforeLogSyncs { _ in
            guard try logHeader() != oldHeader else { return false }
            seen.withLock { $0 = Result { try reader.read { try ReadOnlyOpeningTests.values($0) } } }
            return true
        }
        let result = try owner.checkpoint(.full)
        #expect(result.walRestarted, "\(result)")
        let during = try #require(seen.withLock { $0 }, "the restart synced its header")
        #expect(try during.get() == expected, "the snapshot begun during the header's sync")
        #expect(reader.statistics().commitNumber == owner.statistics().commitNumber)
        try put(3_000..<3_010, times: 3)
        #expect(try reader.read { try ReadOnlyOpeningTests.values($0) }.count == 3_010)
        try reader.close()
        try owner.close()
    }
}

/// The real file layer, with a hook run just before a handle takes a reader mark.
private final class MarkHookFileSystem: FileSystem, @unchecked Sendable {
    // Safe to share: `hook` and `taken` are behind their locks.
    private let posix = PosixFileSystem()
    fileprivate let hook = Locked<(() throws -> Void)?>(nil)
    private let queryHook = Locked<(() throws -> Void)?>(nil)
    private let taken = Locked(0)
    private let logSyncHook = Locked<((String) throws -> Void)?>(nil)

    /// Runs `body` once, the next time a handle of this layer is about to take a mark.
    func beforeNextMark(_ body: @escaping () throws -> Void) {
        hook.withLock { $0 = body }
    }

    /// Runs `body` once, the next time a handle of this layer has asked for the lowest mark,
    /// before the answer is returned.
    func afterNextMarkQuery(_ body: @escaping () throws -> Void) {
        queryHook.withLock { $0 = body }
    }

    fileprivate func answeredMarkQuery() throws {
        let body = queryHook.withLock { hook -> (() throws -> Void)? in
            defer { hook = nil }
            return hook
        }
        try body?()
    }

    var marksTaken: Int { taken.withLock { $0 } }

    /// Runs `body` (with the log's path) before every sync of a log handle of this layer
    /// until it returns true.
    func beforeLogSyncs(_ body: @escaping (String) throws -> Bool) {
        let done = Locked(false)
        logSyncHook.withLock { $0 = { path in
            guard !done.withLock({ $0 }) else { return }
            if try body(path) { done.withLock { $0 = true } }
        } }
    }

    fileprivate func aboutToSync(_ path: String) throws {
        guard path.hasSuffix("-wal"), let body = logSyncHook.withLock({ $0 }) else { return }
        try body(path)
    }

    fileprivate func aboutToMark() throws {
        taken.withLock { $0 += 1 }
        let body = hook.withLock { hook -> (() throws -> Void)? in
            defer { hook = nil }
            return hook
        }
        try body?()
    }

    func open(_ path: String, create: Bool) throws -> any FileHandleIO {
        MarkHookHandle(try posix.open(path, create: create), layer: self)
    }
    func openForReading(_ path: String) throws -> any FileHandleIO {
        MarkHookHandle(try posix.openForReading(path), layer: self)
    }
    func createForStreaming(_ path: String) throws -> any FileHandleIO { try posix.createForStreaming(path) }
    func identity(of path: String) -> FileIdentity? { posix.identity(of: path) }
    func exists(_ path: String) -> Bool { posix.exists(path) }
    func remove(_ path: String) throws { try posix.remove(path) }
    func rename(_ source: String, to destination: String) throws { try posix.rename(source, to: destination) }
    func syncDirectory(containing path: String) throws { try posix.syncDirectory(containing: path) }
}

private final class MarkHookHandle: FileHandleIO, @unchecked Sendable {
    // Safe to share: both are immutable; the wrapped handle is itself safe to share.
    private let base: any FileHandleIO
    private let layer: MarkHookFileSystem

    init(_ base: any FileHandleIO, layer: MarkHookFileSystem) {
        self.base = base
        self.layer = layer
    }

    var path: String { base.path }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int { try base.read(into: buffer, at: offset) }
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws { try base.write(buffer, at: offset) }
    func write(_ pieces: [UnsafeRawBufferPointer], at offset: Int64) throws { try base.write(pieces, at: offset) }
    func sync() throws {
        try layer.aboutToSync(base.path)
        try base.sync()
    }
    func startWriteback() { base.startWriteback() }
    func truncate(to size: Int64) throws { try base.truncate(to: size) }
    func size() throws -> Int64 { try base.size() }
    func mapReadOnly(length: Int) throws -> MappedRegion? { try base.mapReadOnly(length: length) }
    func lockExclusive() throws { try base.lockExclusive() }
    func lockExclusive(patience: Duration) throws { try base.lockExclusive(patience: patience) }
    func lockReaders(_ mode: ReaderLockMode) throws -> Bool { try base.lockReaders(mode) }
    func lockCheckpointIntent(_ mode: ReaderLockMode) throws -> Bool { try base.lockCheckpointIntent(mode) }
    func readerLockHolders() -> [LockHolder] { base.readerLockHolders() }
    func lockReadersUnlessIntent() throws -> Bool { try base.lockReadersUnlessIntent() }
    func holdReaderMark(_ frames: Int, replacing previous: Int?) throws {
        try layer.aboutToMark()
        try base.holdReaderMark(frames, replacing: previous)
    }
    func releaseReaderLocks() { base.releaseReaderLocks() }
    func lowestReaderMark() throws -> Int? {
        let lowest = try base.lowestReaderMark()
        try layer.answeredMarkQuery()
        return lowest
    }
    func identity() throws -> FileIdentity { try base.identity() }
    func close() throws { try base.close() }
}
