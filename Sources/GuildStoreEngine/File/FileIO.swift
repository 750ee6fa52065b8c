#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The File layer: every byte GuildStore reads or writes goes through these two protocols, so
/// tests can swap the whole layer for a fault-injecting one (see Tests/TestSupport).
///
/// Implementations throw `GuildStoreError` only.
package protocol FileSystem: Sendable {
    /// Opens `path` for reading and writing, creating it when `create` is true.
    func open(_ path: String, create: Bool) throws -> any FileHandleIO
    /// Opens an existing `path` for reading only (a reader beside the database's owner, which
    /// may not write the file).
    func openForReading(_ path: String) throws -> any FileHandleIO
    /// Creates `path` (emptying a file already there) for one front-to-back write of a new
    /// file that is read rarely, a backup or an archived segment: writes whose offset, length
    /// and buffer are aligned to `SequentialFileWriter.alignment` skip the page cache where
    /// the system allows (`O_DIRECT`); any other write still succeeds, through the cache.
    func createForStreaming(_ path: String) throws -> any FileHandleIO
    /// Which file is at `path` now (nil when none is).
    func identity(of path: String) -> FileIdentity?
    func exists(_ path: String) -> Bool
    func remove(_ path: String) throws
    /// Atomically replaces `destination` with `source`.
    func rename(_ source: String, to destination: String) throws
    /// Makes a created, removed or renamed entry in the directory of `path` durable.
    func syncDirectory(containing path: String) throws
    /// `open(path, create: true)`, where a file it creates takes `permissions` from its
    /// creation on (FILE-2); an existing file is opened as it is.
    func open(_ path: String, createWith permissions: FilePermissions?) throws -> any FileHandleIO
    /// `createForStreaming(path)`, the file taking `permissions` from its creation on (FILE-2).
    func createForStreaming(_ path: String, with permissions: FilePermissions?) throws -> any FileHandleIO
}

/// A file's permission bits and owners, as a file made from a database's pages takes them
/// from the database file (FILE-2).
///
/// Invariant (FILE-2): a file the engine makes from a database's pages (its log, a backup, an
/// archived segment, a vacuumed or restored copy, including the temporaries they are written
/// to) is created with the database file's permission bits, so the umask can only narrow them,
/// then given exactly those bits and, where the system lets it, the database file's group
/// (and, run as root, its owner). Where the group cannot be given, the group bits are dropped:
/// such a file is never readable by anyone the database file keeps out.
package struct FilePermissions: Equatable, Sendable {
    /// `st_mode & 0o777`.
    package var mode: UInt32
    package var owner: UInt32
    package var group: UInt32
}

/// One open file.
package protocol FileHandleIO: AnyObject, Sendable {
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer only at
    /// the end of the file).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// Writes all of `buffer` at `offset`, or throws.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Writes `pieces` one after another from `offset` (the WAL's frame headers and page
    /// images, without first copying them into one buffer), or throws.
    func write(_ pieces: [UnsafeRawBufferPointer], at offset: Int64) throws
    /// Makes every completed write durable (fdatasync).
    func sync() throws
    /// Starts writing the file's completed writes to the disk without waiting for them, so a
    /// later `sync()` has less left to wait for. A hint: it makes nothing durable.
    func startWriteback()
    func truncate(to size: Int64) throws
    func size() throws -> Int64
    /// Maps `length` bytes read-only and shared, starting at offset 0. The mapping may extend
    /// past the end of the file; pages past the end must not be touched until the file has
    /// grown over them. Returns nil when the layer cannot map.
    func mapReadOnly(length: Int) throws -> MappedRegion?
    /// Takes an exclusive advisory lock without blocking (a refusal may be retried for a
    /// moment); throws `.locked` when another process holds it.
    func lockExclusive() throws
    /// `lockExclusive`, trying again while another process holds the lock, for up to `patience`.
    func lockExclusive(patience: Duration) throws
    /// Takes (`.shared`, `.exclusive`) or releases (`.none`) the lock on the readers' byte of
    /// the file (`ReaderLock`), without waiting: false when another open file description
    /// holds a conflicting lock. Locks of open file descriptions conflict between processes
    /// and between two openings of the file in one process alike, and the kernel releases
    /// them when the holder's descriptor closes or its process dies.
    func lockReaders(_ mode: ReaderLockMode) throws -> Bool
    /// The same for the checkpoint-intent byte next to it (`ReaderLock`): the owner holds it
    /// exclusively while it waits for the readers' byte, and a read-only opening takes the
    /// readers' byte only while it can take this one shared.
    func lockCheckpointIntent(_ mode: ReaderLockMode) throws -> Bool
    /// The processes holding the readers' byte shared, as far as they can be read.
    func readerLockHolders() -> [LockHolder]
    /// Takes or gives back the openers' byte (`ReaderLock.openersOffset`, RO-4), without
    /// waiting: false when another open file description holds a conflicting lock.
    func lockOpeners(_ mode: ReaderLockMode) throws -> Bool
    /// The processes holding the openers' byte shared (their read-only openings are open).
    func openerLockHolders() -> [LockHolder]
    /// Takes the readers' byte shared only while no checkpoint holds or wants it (RO-3: the
    /// intent byte free of exclusive locks), without waiting: false when one does.
    func lockReadersUnlessIntent() throws -> Bool
    /// Holds this handle's reader mark (`ReaderLock`, RM-1) at `frames`, a shared lock on one
    /// byte of the marks' range, in place of the mark at `previous` when it held one.
    func holdReaderMark(_ frames: Int, replacing previous: Int?) throws
    /// Gives back the readers' byte and any reader mark this handle holds.
    func releaseReaderLocks()
    /// The smallest reader mark another open file description holds, nil when none does.
    func lowestReaderMark() throws -> Int?
    /// Takes (`.exclusive`) or gives back (`.none`) the archive-wanted byte (`ArchiveLock`,
    /// AR-3), without waiting: false when another open file description holds it.
    func lockArchiveWanted(_ mode: ReaderLockMode) throws -> Bool
    /// Whether another open file description holds the archive-wanted byte: an owner waits
    /// for archivers to archive its log's generation.
    func archiveWanted() throws -> Bool
    /// Holds this handle's archive mark (AR-3) at `commit`, in place of the one at `previous`.
    func holdArchiveMark(_ commit: UInt64, replacing previous: UInt64?) throws
    /// Whether another open file description holds an archive mark below `commit`.
    func archiveMarkBelow(_ commit: UInt64) throws -> Bool
    /// Gives back this handle's archive mark.
    func releaseArchiveMark()
    /// The lowest archive mark another open file description holds, nil when none does.
    func lowestArchiveMark() throws -> UInt64?
    /// Which file this handle has open: equal identities are the same file, whatever path
    /// opened them and whatever was renamed over that path since.
    func identity() throws -> FileIdentity
    /// The file's permission bits and owners; nil for a layer without any (FILE-2).
    func permissions() throws -> FilePermissions?
    func close() throws
}

/// A file as the system knows it (device and inode numbers), not by path.
package struct FileIdentity: Equatable, Sendable {
    package var device: UInt64
    package var inode: UInt64

    package init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// What `lockReaders` asks for.
package enum ReaderLockMode: Sendable {
    /// A reader in another process than the owner's: no checkpoint may change the file under it.
    case shared
    /// The owner, before it changes the file or restarts the log: no reader of another opening is there.
    case exclusive
    /// Gives back what this handle holds.
    case none
}

extension FileSystem {
    /// Layers without permission bits create as they always do.
    package func open(_ path: String, createWith permissions: FilePermissions?) throws -> any FileHandleIO {
        try open(path, create: true)
    }

    package func createForStreaming(_ path: String, with permissions: FilePermissions?) throws -> any FileHandleIO {
        try createForStreaming(path)
    }

    /// Layers of one process (the tests' in-memory and fault-injecting ones) open the file as
    /// they open any.
    package func openForReading(_ path: String) throws -> any FileHandleIO {
        try open(path, create: false)
    }

    /// Layers without a page cache to skip create the file as they create any.
    package func createForStreaming(_ path: String) throws -> any FileHandleIO {
        let file = try open(path, create: true)
        do {
            try file.truncate(to: 0)
        } catch {
            try? file.close()
            throw error
        }
        return file
    }

    package func identity(of path: String) -> FileIdentity? {
        guard exists(path), let file = try? open(path, create: false) else { return nil }
        defer { try? file.close() }
        return try? file.identity()
    }
}

extension FileHandleIO {
    /// Layers without a disk behind them have nothing to start.
    package func startWriteback() {}

    /// Layers that no other process can open have no other readers.
    package func lockReaders(_ mode: ReaderLockMode) throws -> Bool { true }
    package func lockCheckpointIntent(_ mode: ReaderLockMode) throws -> Bool { true }
    package func readerLockHolders() -> [LockHolder] { [] }
    /// Layers without a file system behind them have no permission bits.
    package func permissions() throws -> FilePermissions? { nil }
    package func lockOpeners(_ mode: ReaderLockMode) throws -> Bool { true }
    package func openerLockHolders() -> [LockHolder] { [] }
    package func lockReadersUnlessIntent() throws -> Bool { true }
    package func holdReaderMark(_ frames: Int, replacing previous: Int?) throws {}
    package func releaseReaderLocks() {}
    package func lowestReaderMark() throws -> Int? { nil }
    package func lockArchiveWanted(_ mode: ReaderLockMode) throws -> Bool { true }
    package func archiveWanted() throws -> Bool { false }
    package func holdArchiveMark(_ commit: UInt64, replacing previous: UInt64?) throws {}
    package func archiveMarkBelow(_ commit: UInt64) throws -> Bool { false }
    package func releaseArchiveMark() {}
    package func lowestArchiveMark() throws -> UInt64? { nil }
    /// Layers of one process have no other process to wait for.
    package func lockExclusive(patience: Duration) throws { try lockExclusive() }

    /// One `write` per piece: for layers without a vectored write.
    package func write(_ pieces: [UnsafeRawBufferPointer], at offset: Int64) throws {
        var position = offset
        for piece in pieces {
            try write(piece, at: position)
            position += Int64(piece.count)
        }
    }
}

/// A read-only shared mapping, unmapped when released.
///
/// Invariant (FILE-1): the file behind a mapping is never truncated while the mapping lives
/// (a page past the new end would raise SIGBUS); the engine writes the file only with pwrite.
package final class MappedRegion: @unchecked Sendable {
    // Safe to share: the base pointer and length never change, and the memory is read-only.
    package let base: UnsafeRawPointer
    package let length: Int

    package init(base: UnsafeRawPointer, length: Int) {
        self.base = base
        self.length = length
    }

    deinit {
        _ = munmap(UnsafeMutableRawPointer(mutating: base), length)
    }
}

/// Maps an errno from a failed call to the error the engine reports.
func fileError(_ operation: String, path: String, errno code: Int32) -> GuildStoreError {
    if code == ENOSPC || code == EDQUOT { return .diskFull(path: path) }
    return .io(operation: operation, path: path, errno: code)
}
