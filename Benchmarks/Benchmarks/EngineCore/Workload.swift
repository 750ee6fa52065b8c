// The keys, values and random orders every engine sees: N 8-byte big-endian keys and 8-byte
// values, derived from an index so any engine's answer can be checked without a copy of the
// data set.

import BenchmarkSupport
@_spi(Benchmarks) import GuildStoreEngine
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
    static func value(_ i: Int) -> UInt64 { SplitMix64.hash(UInt64(i) &+ 0x5EED) }

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
