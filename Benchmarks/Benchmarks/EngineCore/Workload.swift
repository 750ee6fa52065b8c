// The keys, values and random orders every engine sees: N 8-byte big-endian keys and 8-byte
// values, derived from an index so any engine's answer can be checked without a copy of the
// data set.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Workload {
    /// Keys in each database (and in each sorted bulk load).
    static let count = 1_000_000
    /// Keys in each random-order bulk load.
    static let randomInsertCount = 1_000_000
    /// Entries read by one range scan.
    static let scanLength = 10_000
    /// Seed for every random order and sample.
    static let seed: UInt64 = 0x6775_696C_6473_746F  // "guildsto"

    /// The i-th smallest key. Spaced by 16 so keys between them are absent; increasing in i,
    /// and its big-endian bytes sort the same way under memcmp.
    @inline(__always)
    static func key(_ i: Int) -> UInt64 { UInt64(i) &* 16 &+ 7 }

    /// Index of `key`, or nil when it is not one of the workload's keys.
    @inline(__always)
    static func index(ofKey key: UInt64) -> Int? {
        guard key & 15 == 7 else { return nil }
        let i = Int(key >> 4)
        return i < count ? i : nil
    }

    /// The value stored under key(i): a hash, so a wrong row is noticed.
    @inline(__always)
    static func value(_ i: Int) -> UInt64 { SplitMix64.mix(UInt64(i) &+ 0x5EED) }

    /// 0..<n in a seeded random order (Fisher-Yates).
    static func shuffled(_ n: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<n)
        var rng = SplitMix64(seed: seed)
        var i = n - 1
        while i > 0 {
            let j = Int(rng.next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// `n` indices drawn uniformly from 0..<below.
    static func sample(_ n: Int, below: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Int(rng.next() % UInt64(below)) }
    }
}

/// A small seeded generator (Steele, Lea, Flood: SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A directory under $TMPDIR (or /tmp) that is removed with everything in it: by `remove()`,
/// on deinit, or at process exit (also after `exit(1)` from a failed check).
final class TemporaryDirectory {
    let path: String

    /// Directories not yet removed, for the exit handler.
    private static let live = Mutex<Set<String>>([])
    private static let exitHandler: Void = {
        atexit {
            for path in TemporaryDirectory.live.withLock({ $0 }) { TemporaryDirectory.removeTree(path) }
        }
    }()

    init(_ label: String) throws {
        _ = Self.exitHandler
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/guildstore-bench-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw BenchError.setup("mkdtemp in \(base) failed: errno \(errno)") }
        path = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
        Self.live.withLock { _ = $0.insert(path) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Bytes in the directory's files.
    var bytes: Int {
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var total = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            var info = stat()
            if stat(path + "/" + name, &info) == 0 { total += Int(info.st_size) }
        }
        return total
    }

    /// Removes the directory and its files (no subdirectories are made in it).
    func remove() {
        Self.live.withLock { _ = $0.remove(path) }
        Self.removeTree(path)
    }

    private static func removeTree(_ path: String) {
        guard let dir = opendir(path) else { return }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            unlink(path + "/" + name)
        }
        closedir(dir)
        rmdir(path)
    }

    deinit { remove() }
}

enum BenchError: Error, CustomStringConvertible {
    case setup(String)
    case sqlite(String)
    case lmdb(String)

    var description: String {
        switch self {
        case .setup(let m): "setup: \(m)"
        case .sqlite(let m): "SQLite: \(m)"
        case .lmdb(let m): "LMDB: \(m)"
        }
    }
}
