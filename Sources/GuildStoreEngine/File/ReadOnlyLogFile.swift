/// The write-ahead log as a read-only opening reads it (RO-1, RO-2): whatever file is at the
/// log's path when the opening last looked, or none. A read-only opening creates no log, and
/// its owner may start one after it opened (a database that had none) or set a damaged one
/// aside and begin another (`recover`): `follow()` opens the file now at the path when it is
/// another. Reads of no file find no bytes; writes are refused.
final class ReadOnlyLogFile: FileHandleIO, @unchecked Sendable {
    // Safe to share: `current` is behind its lock; a handle taken out of it stays open until
    // `follow` or `close` replaces it, which a read-only opening does only with no snapshot
    // live (RO-2), so no read is in flight on it.
    let path: String
    private let fileSystem: any FileSystem
    private let current: Locked<(file: (any FileHandleIO)?, identity: FileIdentity?)>

    init(path: String, fileSystem: any FileSystem) throws {
        self.path = path
        self.fileSystem = fileSystem
        current = Locked((nil, nil))
        try follow()
    }

    private var file: (any FileHandleIO)? { current.withLock { $0.file } }

    /// Opens the file at the path when it is not the one held (or drops it when there is none).
    func follow() throws {
        let identity = fileSystem.identity(of: path)
        guard identity != current.withLock({ $0.identity }) else { return }
        let opened = identity == nil ? nil : try fileSystem.openForReading(path)
        // The file just opened is what the path holds now, whatever `identity` saw.
        let openedIdentity = try opened?.identity()
        let old = current.withLock { held in
            defer { held = (opened, openedIdentity) }
            return held.file
        }
        try? old?.close()
    }

    /// The identity of the file held (nil when none is).
    var heldIdentity: FileIdentity? { current.withLock { $0.identity } }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try file?.read(into: buffer, at: offset) ?? 0
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws { throw GuildStoreError.readOnlyDatabase(path: path) }
    func write(_ pieces: [UnsafeRawBufferPointer], at offset: Int64) throws { throw GuildStoreError.readOnlyDatabase(path: path) }
    func sync() throws {}
    func truncate(to size: Int64) throws { throw GuildStoreError.readOnlyDatabase(path: path) }
    func size() throws -> Int64 { try file?.size() ?? 0 }
    func mapReadOnly(length: Int) throws -> MappedRegion? { nil }
    func lockExclusive() throws { throw GuildStoreError.readOnlyDatabase(path: path) }
    func identity() throws -> FileIdentity { current.withLock { $0.identity } ?? FileIdentity(device: 0, inode: 0) }

    func close() throws {
        let old = current.withLock { held in
            defer { held = (nil, nil) }
            return held.file
        }
        try old?.close()
    }
}
