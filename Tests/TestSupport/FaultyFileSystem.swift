#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@_spi(Benchmarks) import GuildStoreEngine

// MARK: - FaultPlan

/// The shared, thread-safe controller behind `FaultyFileSystem`: it counts operations, holds the
/// armed faults, keeps the undo log that a simulated power loss replays, and decides when the
/// simulated process "crashes".
///
/// One plan usually serves one test. Everything is guarded by one `Locked` (a pthread mutex, which ThreadSanitizer understands); every mutating file
/// operation (write, truncate, and the bookkeeping part of sync) runs while holding it, so a
/// power loss can never interleave with a half-recorded write. Reads are not serialized.
///
/// ## Operations
///
/// The *mutating operations* are `write`, `truncate` and `sync` on a handle, and `remove`,
/// `rename` and `syncDirectory` on the file system. Each one that is admitted (the process is
/// alive) increments `Counters.operations` and counts toward `crash(afterOperations:)`.
/// Reads, `size`, `mapReadOnly`, `lockExclusive`, `open`, `exists` and `close` are not
/// operations in that sense and never trigger a crash (they do fail once the process is dead).
/// `operationLog` lists the admitted operations in order, so a test can dry-run a workload and
/// then pick the crash point among, say, the WAL's operations only.
///
/// ## Counting
///
/// `counters` (totals) and `counters(pathSuffix:)` (per file) count writes, bytes written,
/// syncs and truncates, injected failures included, e.g. to assert how many syncs a batch of
/// concurrent commits took.
///
/// ## Durability model
///
/// - File contents: a `write` or `truncate` is *volatile* until a `sync` of the same path
///   completes. Until then the plan keeps an undo record (the overwritten bytes and the old
///   size). `simulatePowerLoss()` replays every volatile record of every file in reverse
///   order, so each file goes back to exactly its content at its last completed sync: "every
///   write not yet synced is dropped" (`PowerLossMode.dropUnsynced`, the default). A real
///   disk may also have written back some of its cache, in any order and in part:
///   `PowerLossMode.keepSomeUnsynced(seed:)` then re-applies a seeded random choice of the
///   volatile changes, some whole, some torn at 512-byte sectors; and
///   `simulatePowerLoss(keepingWhole:)` keeps exactly the changes a test picks, to reproduce
///   one particular reordering.
/// - A sync that fails (injected) leaves the writes volatile: a later power loss still drops
///   them, but without a power loss they stay readable, as on Linux after a failed fsync.
/// - Directory entries (`open(create: true)`, `rename`, `remove`) are treated as durable
///   *immediately*, as if every directory operation were followed by `syncDirectory`. The
///   engine under test is therefore not checked for missing directory syncs; it is checked for
///   everything about file contents. A file created and never synced survives a
///   `dropUnsynced` power loss with size zero.
/// - Files are identified by path. `rename` moves the volatile records of the source path to
///   the destination (replacing the destination's); `remove` forgets the path's records. A
///   handle that keeps writing a file after it was renamed or removed records under its old
///   path (the engine never does that).
/// - By default `sync` does not call the real `fdatasync` (the simulation does not need it and
///   it would make the crash suites slow); pass `performsRealSync: true` to call it.
///
/// ## Crashes and handles
///
/// `simulatePowerLoss()` (or a crash from `crash(afterOperations:)`) ends the simulated
/// process: every `FaultyFileSystem` value and every handle created before it fails all
/// further calls with `GuildStoreError.io(operation: "... (process crashed)", errno: EIO)`,
/// and the handles drop their real descriptors (which releases their `flock`), so the
/// database can be reopened in the same test process. Create a new `FaultyFileSystem(plan)`
/// (or use `PosixFileSystem()`) for the "rebooted" process. A mapping handed out before the
/// crash stays mapped, but the file under it may have shrunk: do not read through an engine
/// that crashed (SIGBUS), just drop it.
///
/// A power loss also disarms every fault, the disk budget and the crash countdown (the
/// machine reboots); counters are kept until `resetCounters()`.
package final class FaultPlan: Sendable {
    /// How an injected write failure behaves.
    package enum WriteFailure: Sendable, Equatable {
        /// Throw `GuildStoreError.io(errno: EIO)` without writing anything.
        case error
        /// Write only the first `keeping` bytes of the buffer (clamped to `0..<count`, so the
        /// write is always torn), then throw `GuildStoreError.io(errno: EIO)`.
        case torn(keeping: Int)
    }

    /// What survives of the volatile (unsynced) changes at a power loss.
    package enum PowerLossMode: Sendable, Equatable {
        /// Nothing: every file is exactly as at its last completed sync.
        case dropUnsynced
        /// First everything is dropped as in `dropUnsynced`; then each volatile change, in the
        /// order it was made, is chosen by a `SplitMix64(seed:)` to be re-applied whole,
        /// lost, or (writes only) torn, each with the same chance. A torn write keeps a random
        /// subset of its 512-byte sectors (aligned to file offsets), or only a prefix of them,
        /// or only a suffix. So the disk has written some of its cache, in any order, possibly
        /// tearing a write anywhere; synced data is never touched.
        case keepSomeUnsynced(seed: UInt64)
    }

    /// What happened to one path (or to all paths, for `counters`).
    package struct FileCounters: Sendable, Equatable {
        /// Admitted `write` calls, including ones that failed by injection.
        package var writes = 0
        /// Bytes that actually reached the file (a torn write counts its prefix).
        package var bytesWritten = 0
        /// Admitted `sync` calls, including ones that failed by injection.
        package var syncs = 0
        /// Admitted `truncate` calls.
        package var truncates = 0

        package init() {}
    }

    /// Totals over every path.
    package struct Counters: Sendable, Equatable {
        package var writes = 0
        package var bytesWritten = 0
        package var syncs = 0
        package var truncates = 0
        package var directorySyncs = 0
        /// Every admitted mutating operation (see the type's documentation); what
        /// `crash(afterOperations:)` counts.
        package var operations = 0
        /// Power losses so far (explicit or from a crash countdown).
        package var powerLosses = 0

        package init() {}
    }

    /// One admitted mutating operation, as `operationLog` lists it.
    package struct Operation: Sendable, Equatable {
        package enum Kind: String, Sendable { case write, truncate, sync, remove, rename, syncDirectory }
        package var kind: Kind
        package var path: String
    }

    private struct ArmedFault {
        /// Matching operations still to let through before this one fires (0: the next one).
        var remaining: Int
        let pathSuffix: String?
        let write: WriteFailure

        func matches(_ path: String) -> Bool { pathSuffix.map { path.hasSuffix($0) } ?? true }
    }

    /// One volatile change: undoing it sets the file's size back to `oldSize` and writes
    /// `savedBytes` (the overwritten bytes that existed before) back at `savedOffset`. Redoing
    /// it (for `keepSomeUnsynced`) writes `newBytes` at `newOffset`, or truncates to `newSize`.
    private struct UndoRecord {
        let sequence: UInt64
        let oldSize: Int64
        let savedOffset: Int64
        let savedBytes: [UInt8]
        let newOffset: Int64
        let newBytes: [UInt8]
        let newSize: Int64?
    }

    private final class WeakHandle {
        weak var handle: FaultyFileHandle?
        init(_ handle: FaultyFileHandle) { self.handle = handle }
    }

    private struct State {
        var generation = 0
        var totals = Counters()
        var perPath: [String: FileCounters] = [:]
        var writeFaults: [ArmedFault] = []
        var syncFaults: [ArmedFault] = []
        var directorySyncFaults: [ArmedFault] = []
        var budget: (remaining: Int, pathSuffix: String?)?
        var crashCountdown: Int?
        var crashMode = PowerLossMode.dropUnsynced
        var undo: [String: [UndoRecord]] = [:]
        var nextUndoSequence: UInt64 = 0
        var handles: [WeakHandle] = []
        var syncDelay: Duration = .zero
        var log: [Operation] = []
    }

    private let state = Locked(State())
    /// Whether `sync` also calls the real `fdatasync`.
    package let performsRealSync: Bool

    package init(performsRealSync: Bool = false) {
        self.performsRealSync = performsRealSync
    }

    // MARK: Arming faults

    /// Makes the `n`-th `write` from now (1-based) whose path ends with `pathSuffix` (any path
    /// when nil) fail as `failure` says. Fires once; several armed faults are independent.
    package func failWrite(_ n: Int = 1, pathSuffix: String? = nil, as failure: WriteFailure = .error) {
        precondition(n >= 1)
        state.withLock { $0.writeFaults.append(ArmedFault(remaining: n - 1, pathSuffix: pathSuffix, write: failure)) }
    }

    /// Makes the `n`-th `sync` from now (1-based) whose path ends with `pathSuffix` (any path
    /// when nil) throw `GuildStoreError.io(errno: EIO)`. The writes it should have made durable
    /// stay volatile. Fires once.
    package func failSync(_ n: Int = 1, pathSuffix: String? = nil) {
        precondition(n >= 1)
        state.withLock { $0.syncFaults.append(ArmedFault(remaining: n - 1, pathSuffix: pathSuffix, write: .error)) }
    }

    /// Makes the `n`-th `syncDirectory` from now (1-based) whose path ends with `pathSuffix`
    /// (any path when nil) throw `GuildStoreError.io(errno: EIO)`. Fires once.
    package func failDirectorySync(_ n: Int = 1, pathSuffix: String? = nil) {
        precondition(n >= 1)
        state.withLock { $0.directorySyncFaults.append(ArmedFault(remaining: n - 1, pathSuffix: pathSuffix, write: .error)) }
    }

    /// Simulates a disk with `bytes` bytes left: every write to a path ending with
    /// `pathSuffix` (any path when nil) spends its size from the budget (overwrites included,
    /// for predictability). A write larger than what is left writes the prefix that fits and
    /// throws `GuildStoreError.diskFull`; so does every later write while the budget is at zero.
    /// `nil` removes the limit.
    package func setDiskBudget(_ bytes: Int?, pathSuffix: String? = nil) {
        state.withLock { s in s.budget = bytes.map { (max(0, $0), pathSuffix) } }
    }

    /// Lets the next `k` mutating operations happen; the one after them does not: it throws
    /// `GuildStoreError.io(errno: EIO)` and a power loss of `mode` is applied right then (see
    /// `simulatePowerLoss(_:)`), so the workload is cut at that point. `k == 0` crashes on the
    /// very next operation.
    package func crash(afterOperations k: Int, powerLoss mode: PowerLossMode = .dropUnsynced) {
        precondition(k >= 0)
        state.withLock { s in
            s.crashCountdown = k
            s.crashMode = mode
        }
    }

    /// Every `sync` sleeps this long before it completes (outside the plan's lock, so other
    /// threads keep writing meanwhile), to imitate a slow disk.
    package func setSyncDelay(_ delay: Duration) {
        state.withLock { $0.syncDelay = delay }
    }

    /// Disarms every fault, the disk budget and the crash countdown.
    package func disarmAll() {
        state.withLock { s in
            s.writeFaults.removeAll()
            s.syncFaults.removeAll()
            s.directorySyncFaults.removeAll()
            s.budget = nil
            s.crashCountdown = nil
        }
    }

    // MARK: Power loss

    /// Reverts every write and truncate not followed by a completed sync of its path (newest
    /// first, restoring old bytes and old sizes) and, for `.keepSomeUnsynced`, re-applies a
    /// random part of them; ends the simulated process (every handle and `FaultyFileSystem`
    /// value created so far fails from now on and releases its descriptor); and disarms every
    /// fault.
    package func simulatePowerLoss(_ mode: PowerLossMode = .dropUnsynced) {
        state.withLock { s in Self.applyPowerLoss(&s, mode: mode) }
    }

    /// One volatile change, as `simulatePowerLoss(keepingWhole:)` shows it.
    package struct VolatileChange: Sendable {
        package var path: String
        /// Where the write started (0 for a truncate).
        package var offset: Int64
        /// Bytes written (0 for a truncate).
        package var length: Int
        /// The new size, for a truncate; nil for a write.
        package var truncatedTo: Int64?
        /// Position among all volatile changes of all paths, in the order they were made.
        package var order: Int
    }

    /// A power loss after which exactly the volatile changes `keep` picks survive, whole, and
    /// the others are lost: for reproducing one particular reordering of the disk's cache.
    /// Otherwise as `simulatePowerLoss(_:)`.
    package func simulatePowerLoss(keepingWhole keep: (VolatileChange) -> Bool) {
        state.withLock { s in
            var all: [(path: String, record: UndoRecord)] = []
            for (path, records) in s.undo { all += records.map { (path, $0) } }
            all.sort { $0.record.sequence < $1.record.sequence }
            var kept: Set<UInt64> = []
            for (order, entry) in all.enumerated() {
                let change = VolatileChange(path: entry.path, offset: entry.record.newOffset, length: entry.record.newBytes.count,
                                            truncatedTo: entry.record.newSize, order: order)
                if keep(change) { kept.insert(entry.record.sequence) }
            }
            Self.applyPowerLoss(&s, mode: .dropUnsynced, keeping: kept)
        }
    }

    /// True once a crash countdown fired or `simulatePowerLoss()` ran.
    package var hasCrashed: Bool { state.withLock { $0.totals.powerLosses > 0 } }

    /// Totals over every path.
    package var counters: Counters { state.withLock { $0.totals } }

    /// Counters of the paths ending with `suffix`, summed.
    package func counters(pathSuffix suffix: String) -> FileCounters {
        state.withLock { s in
            var sum = FileCounters()
            for (path, c) in s.perPath where path.hasSuffix(suffix) {
                sum.writes += c.writes
                sum.bytesWritten += c.bytesWritten
                sum.syncs += c.syncs
                sum.truncates += c.truncates
            }
            return sum
        }
    }

    /// Every admitted mutating operation so far, in order: entry `i` is the operation that
    /// `crash(afterOperations: i)` would stop (for a workload that repeats exactly).
    package var operationLog: [Operation] { state.withLock { $0.log } }

    /// Zeroes every counter (power losses included) and empties `operationLog`.
    package func resetCounters() {
        state.withLock { s in
            s.totals = Counters()
            s.perPath = [:]
            s.log = []
        }
    }

    /// Number of volatile (unsynced) changes per path, for diagnostics.
    package var volatileRecordCounts: [String: Int] {
        state.withLock { s in s.undo.mapValues(\.count).filter { $0.value > 0 } }
    }

    // MARK: Internals used by the file system and its handles

    var generation: Int { state.withLock { $0.generation } }

    func register(_ handle: FaultyFileHandle) {
        state.withLock { s in
            s.handles.removeAll { $0.handle == nil }
            s.handles.append(WeakHandle(handle))
        }
    }

    func checkAlive(_ generation: Int, _ operation: String, _ path: String) throws {
        let current = state.withLock { $0.generation }
        if current != generation { throw Self.crashedError(operation, path) }
    }

    static func crashedError(_ operation: String, _ path: String) -> GuildStoreError {
        .io(operation: "\(operation) (process crashed)", path: path, errno: EIO)
    }

    static func injectedError(_ operation: String, _ path: String) -> GuildStoreError {
        .io(operation: "\(operation) (injected)", path: path, errno: EIO)
    }

    /// Admits one mutating operation of the process `generation`: throws when that process is
    /// dead, or crashes it now when the countdown says so.
    private static func admit(_ s: inout State, generation: Int, _ kind: Operation.Kind, _ operation: String, _ path: String) throws {
        guard s.generation == generation else { throw crashedError(operation, path) }
        if let countdown = s.crashCountdown {
            if countdown == 0 {
                applyPowerLoss(&s, mode: s.crashMode)
                throw crashedError(operation, path)
            }
            s.crashCountdown = countdown - 1
        }
        s.totals.operations += 1
        s.log.append(Operation(kind: kind, path: path))
    }

    /// Decrements the matching faults; returns the first one that fires.
    private static func fire(_ faults: inout [ArmedFault], path: String) -> ArmedFault? {
        var fired: ArmedFault?
        var i = 0
        while i < faults.count {
            if faults[i].matches(path) {
                if faults[i].remaining == 0 {
                    if fired == nil { fired = faults[i] }
                    faults.remove(at: i)
                    continue
                }
                faults[i].remaining -= 1
            }
            i += 1
        }
        return fired
    }

    private static func applyPowerLoss(_ s: inout State, mode: PowerLossMode, keeping kept: Set<UInt64> = []) {
        var generator: SplitMix64?
        if case .keepSomeUnsynced(let seed) = mode { generator = SplitMix64(seed: seed) }
        // Paths in a fixed order, so a seed always makes the same choices.
        for path in s.undo.keys.sorted() {
            let records = s.undo[path]!
            guard !records.isEmpty else { continue }
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }  // removed since: nothing to restore
            func pwriteAll(_ bytes: ArraySlice<UInt8>, at offset: Int64) {
                guard !bytes.isEmpty else { return }
                let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
                precondition(n == bytes.count, "power loss: pwrite \(path) failed")
            }
            for record in records.reversed() {
                precondition(ftruncate(fd, off_t(record.oldSize)) == 0, "power loss: ftruncate \(path) failed")
                pwriteAll(record.savedBytes[...], at: record.savedOffset)
            }
            for record in records where kept.contains(record.sequence) {
                if let newSize = record.newSize {
                    precondition(ftruncate(fd, off_t(newSize)) == 0)
                } else {
                    pwriteAll(record.newBytes[...], at: record.newOffset)
                }
            }
            if var rng = generator {
                for record in records {
                    let choice = Int.random(in: 0..<3, using: &rng)
                    if let newSize = record.newSize {
                        if choice == 0 { precondition(ftruncate(fd, off_t(newSize)) == 0) }
                        continue
                    }
                    switch choice {
                    case 0:
                        pwriteAll(record.newBytes[...], at: record.newOffset)
                    case 1:
                        // Sector boundaries inside the write, then which sectors survive.
                        var bounds = [0]
                        while bounds.last! < record.newBytes.count {
                            let absolute = record.newOffset + Int64(bounds.last!)
                            bounds.append(min(record.newBytes.count, bounds.last! + Int(512 - absolute % 512)))
                        }
                        let sectors = bounds.count - 1
                        let cut = Int.random(in: 0...sectors, using: &rng)
                        let shape = Int.random(in: 0..<3, using: &rng)
                        for i in 0..<sectors {
                            let survives = switch shape {
                            case 0: i < cut                      // a prefix: torn in order
                            case 1: i >= cut                     // a suffix: the head is lost
                            default: Bool.random(using: &rng)    // any subset
                            }
                            if survives {
                                pwriteAll(record.newBytes[bounds[i]..<bounds[i + 1]], at: record.newOffset + Int64(bounds[i]))
                            }
                        }
                    default:
                        break
                    }
                }
                generator = rng
            }
            close(fd)
        }
        s.undo = [:]
        s.generation += 1
        s.totals.powerLosses += 1
        s.writeFaults.removeAll()
        s.syncFaults.removeAll()
        s.directorySyncFaults.removeAll()
        s.budget = nil
        s.crashCountdown = nil
        s.crashMode = .dropUnsynced
        for box in s.handles { box.handle?.kill() }
        s.handles.removeAll()
    }

    /// Records the bytes of `[offset, offset + length)` that exist in `file` now, and its size.
    private static func recordUndo(_ s: inout State, path: String, file: any FileHandleIO,
                                   offset: Int64, newBytes: [UInt8], truncatingTo newSize: Int64?) throws {
        let length = newBytes.count
        let oldSize = try file.size()
        var savedOffset = offset
        var savedCount = 0
        if let newSize {
            if newSize < oldSize {
                savedOffset = newSize
                savedCount = Int(oldSize - newSize)
            }
        } else if offset < oldSize {
            savedCount = Int(min(Int64(length), oldSize - offset))
        }
        var saved = [UInt8](repeating: 0, count: savedCount)
        if savedCount > 0 {
            let n = try saved.withUnsafeMutableBytes { try file.read(into: $0, at: savedOffset) }
            precondition(n == savedCount, "short read while recording undo for \(path)")
        }
        s.nextUndoSequence += 1
        s.undo[path, default: []].append(UndoRecord(
            sequence: s.nextUndoSequence, oldSize: oldSize, savedOffset: savedOffset, savedBytes: saved,
            newOffset: offset, newBytes: newBytes, newSize: newSize))
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64, file: any FileHandleIO, path: String, generation: Int) throws {
        try state.withLock { s in
            try Self.admit(&s, generation: generation, .write, "pwrite", path)
            s.totals.writes += 1
            s.perPath[path, default: FileCounters()].writes += 1
            var keep = buffer.count
            var failure: GuildStoreError?
            if let fault = Self.fire(&s.writeFaults, path: path) {
                failure = Self.injectedError("pwrite", path)
                switch fault.write {
                case .error: keep = 0
                case .torn(let keeping): keep = max(0, min(keeping, buffer.count - 1))
                }
            }
            if failure == nil, let budget = s.budget, budget.pathSuffix.map({ path.hasSuffix($0) }) ?? true {
                if buffer.count > budget.remaining {
                    keep = budget.remaining
                    failure = .diskFull(path: path)
                }
                s.budget!.remaining = max(0, budget.remaining - keep)
            }
            if keep > 0 {
                let prefix = UnsafeRawBufferPointer(rebasing: buffer[0..<keep])
                try Self.recordUndo(&s, path: path, file: file, offset: offset, newBytes: Array(prefix), truncatingTo: nil)
                try file.write(prefix, at: offset)
                s.totals.bytesWritten += keep
                s.perPath[path, default: FileCounters()].bytesWritten += keep
            }
            if let failure { throw failure }
        }
    }

    func truncate(to size: Int64, file: any FileHandleIO, path: String, generation: Int) throws {
        try state.withLock { s in
            try Self.admit(&s, generation: generation, .truncate, "ftruncate", path)
            s.totals.truncates += 1
            s.perPath[path, default: FileCounters()].truncates += 1
            try Self.recordUndo(&s, path: path, file: file, offset: 0, newBytes: [], truncatingTo: size)
            try file.truncate(to: size)
        }
    }

    /// A sync in three steps: admit and count (under the lock), wait and optionally fsync
    /// (outside it), then mark durable every record made before the sync started, unless the
    /// process died meanwhile (then the sync throws and the records were replayed already).
    func sync(file: any FileHandleIO, path: String, generation: Int) throws {
        let (watermark, delay) = try state.withLock { s -> (UInt64, Duration) in
            try Self.admit(&s, generation: generation, .sync, "fdatasync", path)
            s.totals.syncs += 1
            s.perPath[path, default: FileCounters()].syncs += 1
            if Self.fire(&s.syncFaults, path: path) != nil { throw Self.injectedError("fdatasync", path) }
            return (s.nextUndoSequence, s.syncDelay)
        }
        if delay > .zero {
            let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
            var remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        }
        if performsRealSync { try file.sync() }
        try state.withLock { s in
            guard s.generation == generation else { throw Self.crashedError("fdatasync", path) }
            s.undo[path]?.removeAll { $0.sequence <= watermark }
        }
    }

    func directoryOperation(_ kind: Operation.Kind, _ operation: String, path: String, generation: Int, _ body: () throws -> Void) throws {
        try state.withLock { s in
            try Self.admit(&s, generation: generation, kind, operation, path)
            if kind == .syncDirectory {
                s.totals.directorySyncs += 1
                if Self.fire(&s.directorySyncFaults, path: path) != nil { throw Self.injectedError("fsync directory", path) }
            }
            try body()
        }
    }

    func moveVolatileRecords(from source: String, to destination: String) {
        state.withLock { s in
            s.undo[destination] = s.undo.removeValue(forKey: source)
        }
    }

    func forgetVolatileRecords(of path: String) {
        state.withLock { s in _ = s.undo.removeValue(forKey: path) }
    }
}

// MARK: - FaultyFileSystem

/// A `FileSystem` over real files (through `PosixFileSystem`, so `mapReadOnly` really maps)
/// whose every mutating call is counted and may fail, tear, run out of space or crash as its
/// `FaultPlan` says. See `FaultPlan` for the exact durability and crash model.
///
/// A value belongs to the simulated process that was alive when it was created: after a power
/// loss it (and every handle it opened) fails every call; create a new one to "reboot".
package struct FaultyFileSystem: FileSystem {
    package let plan: FaultPlan
    private let generation: Int
    private let base = PosixFileSystem()

    package init(_ plan: FaultPlan) {
        self.plan = plan
        self.generation = plan.generation
    }

    /// Opens through `PosixFileSystem`. Creating a file is durable at once (see `FaultPlan`).
    package func open(_ path: String, create: Bool) throws -> any FileHandleIO {
        try plan.checkAlive(generation, "open", path)
        let handle = FaultyFileHandle(inner: try base.open(path, create: create), plan: plan, generation: generation)
        plan.register(handle)
        return handle
    }

    package func exists(_ path: String) -> Bool {
        base.exists(path)
    }

    /// A mutating operation; durable at once; forgets the path's volatile records.
    package func remove(_ path: String) throws {
        try plan.directoryOperation(.remove, "unlink", path: path, generation: generation) {
            try base.remove(path)
        }
        plan.forgetVolatileRecords(of: path)
    }

    /// A mutating operation; durable at once; the source's volatile records move with it.
    package func rename(_ source: String, to destination: String) throws {
        try plan.directoryOperation(.rename, "rename", path: source, generation: generation) {
            try base.rename(source, to: destination)
        }
        plan.moveVolatileRecords(from: source, to: destination)
    }

    /// A mutating operation and a counted directory sync. Directory entries are durable
    /// already in this model, so it only counts (it does not call the real fsync unless the
    /// plan `performsRealSync`).
    package func syncDirectory(containing path: String) throws {
        try plan.directoryOperation(.syncDirectory, "fsync directory", path: path, generation: generation) {
            if plan.performsRealSync { try base.syncDirectory(containing: path) }
        }
    }
}

/// One open file of a `FaultyFileSystem`: forwards to the real handle after asking the plan.
final class FaultyFileHandle: FileHandleIO {
    let path: String
    private let plan: FaultPlan
    private let generation: Int
    /// The real handle; nil after `close` or after the process crashed (dropping it closes the
    /// descriptor once in-flight calls finish, which releases the flock).
    private let inner: Locked<(any FileHandleIO)?>

    init(inner: any FileHandleIO, plan: FaultPlan, generation: Int) {
        self.path = inner.path
        self.plan = plan
        self.generation = generation
        self.inner = Locked(inner)
    }

    /// Called by the plan at a power loss.
    func kill() {
        let dropped = inner.withLock { slot -> (any FileHandleIO)? in
            let file = slot
            slot = nil
            return file
        }
        _ = dropped  // released here, outside the lock
    }

    private func live(_ operation: String) throws -> any FileHandleIO {
        let file = inner.withLock { $0 }
        guard let file else {
            if plan.generation != generation { throw FaultPlan.crashedError(operation, path) }
            throw GuildStoreError.io(operation: "\(operation) on a closed handle", path: path, errno: EBADF)
        }
        try plan.checkAlive(generation, operation, path)
        return file
    }

    /// Not an operation: never injected, but fails once the process crashed.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try live("pread").read(into: buffer, at: offset)
    }

    /// See `FaultPlan.failWrite`, `setDiskBudget`, `crash(afterOperations:)`. The write is
    /// volatile until a sync of this path completes.
    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        try plan.write(buffer, at: offset, file: try live("pwrite"), path: path, generation: generation)
    }

    /// A vectored write is one operation, as one pwritev is: the pieces go out as one buffer,
    /// which a fault or crash plan treats like any other write.
    func write(_ pieces: [UnsafeRawBufferPointer], at offset: Int64) throws {
        var joined: [UInt8] = []
        joined.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
        for piece in pieces { joined.append(contentsOf: piece) }
        try joined.withUnsafeBytes { try write($0, at: offset) }
    }

    /// See `FaultPlan.failSync`, `setSyncDelay`. Makes every earlier write and truncate of
    /// this path durable.
    func sync() throws {
        try plan.sync(file: try live("fdatasync"), path: path, generation: generation)
    }

    /// Volatile until a sync of this path completes, like a write.
    func truncate(to size: Int64) throws {
        try plan.truncate(to: size, file: try live("ftruncate"), path: path, generation: generation)
    }

    func size() throws -> Int64 {
        try live("fstat").size()
    }

    func mapReadOnly(length: Int) throws -> MappedRegion? {
        try live("mmap").mapReadOnly(length: length)
    }

    func lockExclusive() throws {
        try live("flock").lockExclusive()
    }

    func lockExclusive(patience: Duration) throws {
        try live("flock").lockExclusive(patience: patience)
    }

    func identity() throws -> FileIdentity {
        try live("fstat").identity()
    }

    /// Closes the real handle. After a crash it throws (the descriptor is already gone).
    func close() throws {
        try plan.checkAlive(generation, "close", path)
        let file = inner.withLock { slot -> (any FileHandleIO)? in
            let file = slot
            slot = nil
            return file
        }
        try file?.close()
    }
}
