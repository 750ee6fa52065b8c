#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CGuildStoreSupport

/// The real File layer: POSIX calls, each retried on EINTR.
package struct PosixFileSystem: FileSystem {
    package init() {}

    package func open(_ path: String, create: Bool) throws -> any FileHandleIO {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = retryingEINTR { Glibc.open(path, flags, 0o644) }
        guard fd >= 0 else { throw fileError("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    package func openForReading(_ path: String) throws -> any FileHandleIO {
        let fd = retryingEINTR { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw fileError("open", path: path, errno: errno) }
        return PosixFile(fd: fd, path: path)
    }

    package func createForStreaming(_ path: String) throws -> any FileHandleIO {
        try createForStreaming(path, with: nil)
    }

    package func open(_ path: String, createWith permissions: FilePermissions?) throws -> any FileHandleIO {
        guard let permissions else { return try open(path, create: true) }
        let fd = retryingEINTR { Glibc.open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, mode_t(permissions.mode)) }
        if fd < 0 && errno == EEXIST { return try open(path, create: false) }
        guard fd >= 0 else { throw fileError("open", path: path, errno: errno) }
        Self.give(permissions, to: fd)
        return PosixFile(fd: fd, path: path)
    }

    package func createForStreaming(_ path: String, with permissions: FilePermissions?) throws -> any FileHandleIO {
        let fd = gs_open_uncached(path, Int32(permissions?.mode ?? 0o644))
        guard fd >= 0 else { throw fileError("open", path: path, errno: errno) }
        if let permissions { Self.give(permissions, to: fd) }
        return PosixFile(fd: fd, path: path)
    }

    /// FILE-2, after a creation with `permissions.mode` (which the umask may only have
    /// narrowed): the database file's group (and owner, as root) where the system allows, the
    /// group bits dropped where it does not, then exactly those bits. Best effort: a failure
    /// leaves the file as created, never wider than the database file's bits.
    private static func give(_ permissions: FilePermissions, to fd: Int32) {
        _ = fchown(fd, geteuid() == 0 ? uid_t(permissions.owner) : uid_t.max, gid_t(permissions.group))
        var info = stat()
        guard fstat(fd, &info) == 0 else { return }
        let mode = UInt32(info.st_gid) == permissions.group ? permissions.mode : permissions.mode & ~0o070
        _ = fchmod(fd, mode_t(mode))
    }

    package func identity(of path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    package func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    package func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw fileError("unlink", path: path, errno: errno) }
    }

    package func rename(_ source: String, to destination: String) throws {
        if Glibc.rename(source, destination) != 0 { throw fileError("rename", path: source, errno: errno) }
    }

    package func syncDirectory(containing path: String) throws {
        let directory = directoryName(of: path)
        let fd = retryingEINTR { Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw fileError("open directory", path: directory, errno: errno) }
        defer { Glibc.close(fd) }
        if retryingEINTR({ fsync(fd) }) != 0 { throw fileError("fsync directory", path: directory, errno: errno) }
    }
}

func directoryName(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let directory = String(path[..<slash])
    return directory.isEmpty ? "/" : directory
}

@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// An open file descriptor. One made by `createForStreaming` may have `O_DIRECT` set: a read
/// or write the file system refuses for its alignment (EINVAL) clears the flag and is tried
/// again through the page cache, so callers never see the difference but in speed.
final class PosixFile: FileHandleIO, @unchecked Sendable {
    // Safe to share: `fd` is written once at init and at close; pread/pwrite on one descriptor
    // are thread-safe; the engine closes a file only when no transaction uses it.
    private var fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                let code = errno
                if code == EINTR || (code == EINVAL && gs_clear_uncached(fd) == 1) { continue }
                throw fileError("pread", path: path, errno: code)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                let code = errno
                if code == EINTR || (code == EINVAL && gs_clear_uncached(fd) == 1) { continue }
                throw fileError("pwrite", path: path, errno: code)
            }
            done += n
        }
    }

    /// pwritev, at most 1,024 pieces (IOV_MAX) per call, resumed after short writes.
    func write(_ pieces: [UnsafeRawBufferPointer], at offset: Int64) throws {
        var vectors = pieces.filter { $0.count > 0 }.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        var position = off_t(offset)
        var first = 0
        while first < vectors.count {
            let batch = min(vectors.count - first, 1024)  // IOV_MAX on Linux and macOS
            let n = vectors.withUnsafeBufferPointer { pwritev(fd, $0.baseAddress! + first, Int32(batch), position) }
            if n < 0 {
                let code = errno
                if code == EINTR || (code == EINVAL && gs_clear_uncached(fd) == 1) { continue }
                throw fileError("pwritev", path: path, errno: code)
            }
            position += off_t(n)
            var left = n
            while left > 0, first < vectors.count {
                if left >= vectors[first].iov_len {
                    left -= vectors[first].iov_len
                    first += 1
                } else {
                    vectors[first].iov_base += left
                    vectors[first].iov_len -= left
                    left = 0
                }
            }
        }
    }

    func sync() throws {
        if retryingEINTR({ fdatasync(fd) }) != 0 { throw fileError("fdatasync", path: path, errno: errno) }
    }

    /// A failure is ignored: the hint is lost, and `sync()` reports any error of the writes.
    func startWriteback() {
        _ = gs_start_writeback(fd)
    }

    func truncate(to size: Int64) throws {
        if retryingEINTR({ ftruncate(fd, off_t(size)) }) != 0 { throw fileError("ftruncate", path: path, errno: errno) }
    }

    func size() throws -> Int64 {
        var info = stat()
        if fstat(fd, &info) != 0 { throw fileError("fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    func identity() throws -> FileIdentity {
        var info = stat()
        if fstat(fd, &info) != 0 { throw fileError("fstat", path: path, errno: errno) }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    func permissions() throws -> FilePermissions? {
        var info = stat()
        if fstat(fd, &info) != 0 { throw fileError("fstat", path: path, errno: errno) }
        return FilePermissions(mode: UInt32(info.st_mode) & 0o777, owner: UInt32(info.st_uid), group: UInt32(info.st_gid))
    }

    func mapReadOnly(length: Int) throws -> MappedRegion? {
        let pointer = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let pointer, pointer != MAP_FAILED else { throw fileError("mmap", path: path, errno: errno) }
        return MappedRegion(base: UnsafeRawPointer(pointer), length: length)
    }

    /// A flock belongs to the open file description, and a child process this one spawns holds
    /// a copy of every descriptor from its fork until its exec closes the close-on-exec ones.
    /// A database closed and opened again while another thread spawns a process can find its
    /// own old lock still held by that child for that moment: so a refused lock is tried again
    /// for up to `lockPatience` before it is reported as another process's.
    static let lockPatience: Duration = .milliseconds(200)

    func lockExclusive() throws {
        try lockExclusive(patience: Self.lockPatience)
    }

    /// Takes the lock, trying again for up to `patience` while it is held elsewhere: every
    /// 2 ms at first, backing off to every 50 ms, so a long wait (a busy timeout of minutes)
    /// costs next to no CPU.
    func lockExclusive(patience: Duration) throws {
        let deadline = ContinuousClock.now + patience
        var pause: UInt32 = 2_000
        while retryingEINTR({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            guard errno == EWOULDBLOCK else { throw fileError("flock", path: path, errno: errno) }
            guard ContinuousClock.now < deadline else {
                throw GuildStoreError.locked(path: path, holders: LockHolder.flockHolders(of: fd))
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    func lockReaders(_ mode: ReaderLockMode) throws -> Bool {
        try lockByte(at: ReaderLock.offset, mode)
    }

    func lockCheckpointIntent(_ mode: ReaderLockMode) throws -> Bool {
        try lockByte(at: ReaderLock.intentOffset, mode)
    }

    private func lockByte(at offset: Int64, _ mode: ReaderLockMode) throws -> Bool {
        let kind: Int32 = switch mode {
        case .none: 0
        case .shared: 1
        case .exclusive: 2
        }
        switch gs_ofd_lock_byte(fd, kind, offset) {
        case 0: return true
        case 1: return false
        default: throw fileError("fcntl(F_OFD_SETLK)", path: path, errno: errno)
        }
    }

    func readerLockHolders() -> [LockHolder] {
        LockHolder.sharedLockHolders(of: fd, at: ReaderLock.offset)
    }

    func lockOpeners(_ mode: ReaderLockMode) throws -> Bool {
        try lockByte(at: ReaderLock.openersOffset, mode)
    }

    func openerLockHolders() -> [LockHolder] {
        LockHolder.sharedLockHolders(of: fd, at: ReaderLock.openersOffset)
    }

    /// One shared lock over both bytes is refused while either is held exclusively; the
    /// intent byte is then given back at once.
    func lockReadersUnlessIntent() throws -> Bool {
        switch gs_ofd_lock_range(fd, 1, ReaderLock.offset, 2) {
        case 0:
            do {
                _ = try lockCheckpointIntent(.none)
            } catch {
                releaseReaderLocks()
                throw error
            }
            return true
        case 1: return false
        default: throw fileError("fcntl(F_OFD_SETLK)", path: path, errno: errno)
        }
    }

    func holdReaderMark(_ frames: Int, replacing previous: Int?) throws {
        try moveMark(to: ReaderLock.marksOffset + ReaderLock.markOffset(frames),
                     from: previous.map { ReaderLock.marksOffset + ReaderLock.markOffset($0) })
    }

    /// A mark (RM-1, AR-3) moved: the new byte is locked shared before the old one is given
    /// back, so an owner looking for marks in between finds one or the other, never neither.
    /// Nothing takes the marks' ranges exclusively, so the shared lock is never refused.
    private func moveMark(to offset: Int64, from previous: Int64?) throws {
        guard gs_ofd_lock_range(fd, 1, offset, 1) == 0 else { throw fileError("fcntl(F_OFD_SETLK)", path: path, errno: errno) }
        if let previous, previous != offset, gs_ofd_lock_range(fd, 0, previous, 1) != 0 {
            throw fileError("fcntl(F_OFD_SETLK)", path: path, errno: errno)
        }
    }

    /// One release over everything from the readers' byte to the end of the marks' range.
    func releaseReaderLocks() {
        _ = gs_ofd_lock_range(fd, 0, ReaderLock.offset, ReaderLock.marksOffset + ReaderLock.marksLength - ReaderLock.offset)
    }

    func lowestReaderMark() throws -> Int? {
        try lowestMark(in: ReaderLock.marksOffset, length: ReaderLock.marksLength).map { Int($0) }
    }

    func lowestArchiveMark() throws -> UInt64? {
        try lowestMark(in: ArchiveLock.marksOffset, length: ArchiveLock.marksLength).map { UInt64($0) }
    }

    /// The lowest byte of a marks' range another open file description holds a lock on, from
    /// the range's start. The kernel names one conflicting lock per question, so the range
    /// asked about shrinks below each mark found until none is left: one call per distinct
    /// mark at most.
    private func lowestMark(in offset: Int64, length total: Int64) throws -> Int64? {
        var lowest: Int64?
        var length = total
        var start: Int64 = 0
        while length > 0 {
            switch gs_ofd_find_lock(fd, offset, length, &start) {
            case 0: return lowest
            case 1:
                let mark = max(0, start - offset)
                lowest = mark
                length = mark
            default: throw fileError("fcntl(F_OFD_GETLK)", path: path, errno: errno)
            }
        }
        return lowest
    }

    func lockArchiveWanted(_ mode: ReaderLockMode) throws -> Bool {
        try lockByte(at: ArchiveLock.wantedOffset, mode)
    }

    func archiveWanted() throws -> Bool {
        var start: Int64 = 0
        switch gs_ofd_find_lock(fd, ArchiveLock.wantedOffset, 1, &start) {
        case 0: return false
        case 1: return true
        default: throw fileError("fcntl(F_OFD_GETLK)", path: path, errno: errno)
        }
    }

    func holdArchiveMark(_ commit: UInt64, replacing previous: UInt64?) throws {
        try moveMark(to: ArchiveLock.marksOffset + ArchiveLock.markOffset(commit),
                     from: previous.map { ArchiveLock.marksOffset + ArchiveLock.markOffset($0) })
    }

    func releaseArchiveMark() {
        _ = gs_ofd_lock_range(fd, 0, ArchiveLock.marksOffset, ArchiveLock.marksLength)
    }

    func archiveMarkBelow(_ commit: UInt64) throws -> Bool {
        let length = ArchiveLock.markOffset(commit)
        guard length > 0 else { return false }
        var start: Int64 = 0
        switch gs_ofd_find_lock(fd, ArchiveLock.marksOffset, length, &start) {
        case 0: return false
        case 1: return true
        default: throw fileError("fcntl(F_OFD_GETLK)", path: path, errno: errno)
        }
    }

    func close() throws {
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        if result != 0 { throw fileError("close", path: path, errno: errno) }
    }
}
