// What every benchmark suite here shares: temporary directories on a real disk, and failure
// helpers that make `swift package benchmark` exit non-zero on a wrong answer (package-benchmark
// alone reports a throwing benchmark but still exits 0). Seeded randomness is GuildStoreEngine's
// `SplitMix64` (`@_spi(Benchmarks) import GuildStoreEngine`).

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A directory under $TMPDIR (or /tmp) that is removed with everything in it: by `remove()`,
/// on deinit, or at process exit (also after `exit(1)` from a failed check). On a real disk
/// file system, so fdatasync really waits for the device.
public final class TemporaryDirectory: Sendable {
    public let path: String

    /// Directories not yet removed, for the exit handler.
    private static let live = Mutex<Set<String>>([])
    private static let exitHandler: Void = {
        atexit {
            for path in TemporaryDirectory.live.withLock({ $0 }) { TemporaryDirectory.removeTree(path) }
        }
    }()

    public init(_ label: String) throws {
        _ = Self.exitHandler
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/guildstore-bench-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw BenchError.setup("mkdtemp in \(base) failed: errno \(errno)") }
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        Self.live.withLock { _ = $0.insert(path) }
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Bytes in the directory's files.
    public var bytes: Int {
        Self.names(in: path).reduce(0) { total, name in
            var info = stat()
            return stat(path + "/" + name, &info) == 0 ? total + Int(info.st_size) : total
        }
    }

    /// Removes the directory and its files (no subdirectories are made in it).
    public func remove() {
        Self.live.withLock { _ = $0.remove(path) }
        Self.removeTree(path)
    }

    deinit { remove() }

    /// Writes out everything dirty (sync(2)), the removal of a benchmark's files included, so
    /// the writeback of one benchmark's data does not fall into the next one's measurement.
    public static func settleFileSystem() {
        sync()
    }

    private static func removeTree(_ path: String) {
        for name in names(in: path) { unlink(path + "/" + name) }
        rmdir(path)
    }

    private static func names(in path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

public enum BenchError: Error, CustomStringConvertible {
    case setup(String)
    case sqlite(String)
    case lmdb(String)

    public var description: String {
        switch self {
        case .setup(let m): "setup: \(m)"
        case .sqlite(let m): "SQLite: \(m)"
        case .lmdb(let m): "LMDB: \(m)"
        }
    }
}

/// The suite's name: its executable's (EngineCore, Concurrency), for failure messages.
private let suiteName: String = {
    let path = CommandLine.arguments.first ?? "benchmark"
    return path.split(separator: "/").last.map(String.init) ?? path
}()

/// Reports a wrong answer and ends the process with a non-zero status.
public func verificationFailed(_ message: String) -> Never {
    printToStandardError("\(suiteName) verification failed: \(message)")
    exit(1)
}

/// Writes a line to standard error (unbuffered, so it shows next to the runner's output).
public func printToStandardError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

/// Runs `body`; on an error prints it and ends the process with status 1, so a failed setup or
/// benchmark fails the `swift package benchmark` run instead of leaving a gap in its table.
@inline(__always)
public func orExit<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        printToStandardError("\(suiteName): \(what()) failed: \(error)")
        exit(1)
    }
}

public func orExit<T>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async -> T {
    do {
        return try await body()
    } catch {
        printToStandardError("\(suiteName): \(what()) failed: \(error)")
        exit(1)
    }
}

// MARK: - Flags, clocks, threads, percentiles (Concurrency and Backup)

/// A flag one task sets and another polls.
public final class StopFlag: Sendable {
    private let flag = Atomic(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .releasing) }
    public var stopped: Bool { flag.load(ordering: .acquiring) }
}

/// CLOCK_MONOTONIC in nanoseconds (vDSO; on this VM's TSC clock source about 20 ns).
@inlinable
public func monotonicNanos() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// An OS thread running a closure; SQLite's writers block in its busy handler and in fsync, so
/// they get threads of their own rather than tasks on the cooperative pool.
public final class OSThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    #if canImport(Glibc)
    private var thread = pthread_t()
    #else
    private var thread: pthread_t?
    #endif

    public init(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        if rc != 0 { verificationFailed("pthread_create failed: \(rc)") }
    }

    public func join() {
        #if canImport(Glibc)
        pthread_join(thread, nil)
        #else
        pthread_join(thread!, nil)
        #endif
    }
}

/// Exact percentiles of a set of nanosecond samples (sorted once).
public struct Percentiles {
    public let sorted: [Int]

    public init(_ samples: [Int]) { sorted = samples.sorted() }

    /// The sample at percentile `p` (0...100), nearest rank; 0 when there are none.
    public func nanos(_ p: Double) -> Int {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    public func micros(_ p: Double) -> String { format(Double(nanos(p)) / 1000, decimals: 0) }
}

/// "12.3" style formatting without Foundation.
public func format(_ value: Double, decimals: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if decimals == 0, text.hasSuffix(".0") { text.removeLast(2) }
    return text
}
