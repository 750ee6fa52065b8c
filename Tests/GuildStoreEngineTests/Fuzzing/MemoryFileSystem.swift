// Compiled twice: into the GuildStoreEngineTests target, and by `scripts/fuzz` into one module
// with the engine's sources and libFuzzer (GUILDSTORE_FUZZ_BUILD), so the libFuzzer targets
// and the tests that replay their corpus run the same code.
#if !GUILDSTORE_FUZZ_BUILD
@testable @_spi(Benchmarks) import GuildStoreEngine
#endif
import Synchronization

/// A file layer held in memory, for the fuzz targets: files are byte arrays, nothing is
/// mapped (the engine reads every page with `read`), syncs and locks always succeed.
final class MemoryFileSystem: FileSystem {
    private let files = Mutex<[String: MemoryFile]>([:])

    init(_ contents: [String: [UInt8]] = [:]) {
        files.withLock { files in
            for (path, bytes) in contents { files[path] = MemoryFile(path: path, bytes: bytes) }
        }
    }

    /// The bytes of the file at `path`, nil when there is none.
    func contents(of path: String) -> [UInt8]? {
        files.withLock { $0[path] }?.snapshot()
    }

    func open(_ path: String, create: Bool) throws -> any FileHandleIO {
        try files.withLock { files in
            if let file = files[path] { return MemoryHandle(file) }
            guard create else { throw GuildStoreError.io(operation: "open", path: path, errno: 2) }
            let file = MemoryFile(path: path, bytes: [])
            files[path] = file
            return MemoryHandle(file)
        }
    }

    func exists(_ path: String) -> Bool { files.withLock { $0[path] != nil } }

    /// Every file's path.
    func paths() -> [String] { files.withLock { Array($0.keys) } }

    func remove(_ path: String) throws { _ = files.withLock { $0.removeValue(forKey: path) } }

    func rename(_ source: String, to destination: String) throws {
        try files.withLock { files in
            guard let file = files.removeValue(forKey: source) else {
                throw GuildStoreError.io(operation: "rename", path: source, errno: 2)
            }
            files[destination] = file
        }
    }

    func syncDirectory(containing path: String) throws {}
}

/// One file's bytes; handles opened on it share them, as descriptors of one file do.
final class MemoryFile: Sendable {
    let path: String
    let identity: UInt64
    private let bytes: Mutex<[UInt8]>
    private static let counter = Atomic<UInt64>(1)

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = Mutex(bytes)
        identity = Self.counter.add(1, ordering: .relaxed).newValue
    }

    func snapshot() -> [UInt8] { bytes.withLock { $0 } }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int {
        bytes.withLock { bytes in
            guard offset >= 0, offset < Int64(bytes.count), let base = buffer.baseAddress else { return 0 }
            let n = min(buffer.count, bytes.count - Int(offset))
            bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress! + Int(offset), byteCount: n) }
            return n
        }
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) {
        guard let source = buffer.baseAddress, buffer.count > 0, offset >= 0 else { return }
        bytes.withLock { bytes in
            let end = Int(offset) + buffer.count
            if end > bytes.count { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
            bytes.withUnsafeMutableBytes { raw in (raw.baseAddress! + Int(offset)).copyMemory(from: source, byteCount: buffer.count) }
        }
    }

    func truncate(to size: Int64) {
        bytes.withLock { bytes in
            let size = max(0, Int(size))
            if size < bytes.count { bytes.removeSubrange(size...) } else { bytes.append(contentsOf: repeatElement(0, count: size - bytes.count)) }
        }
    }

    var size: Int64 { bytes.withLock { Int64($0.count) } }
}

final class MemoryHandle: FileHandleIO {
    let file: MemoryFile
    init(_ file: MemoryFile) { self.file = file }

    var path: String { file.path }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int { file.read(into: buffer, at: offset) }
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws { file.write(buffer, at: offset) }
    func sync() throws {}
    func truncate(to size: Int64) throws { file.truncate(to: size) }
    func size() throws -> Int64 { file.size }
    func mapReadOnly(length: Int) throws -> MappedRegion? { nil }
    func lockExclusive() throws {}
    func identity() throws -> FileIdentity { FileIdentity(device: 0, inode: file.identity) }
    func close() throws {}
}
