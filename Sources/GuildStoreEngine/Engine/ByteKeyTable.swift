/// Byte strings numbered 0, 1, 2, … in the order they were first added, kept back to back in
/// one array: what a write transaction's rollup deltas are filed under (`PendingRollup`), one
/// lookup per rollup for every row written.
///
/// A lookup hashes the bytes it is given and compares them in place, so it allocates nothing,
/// where a `Dictionary` keyed by `[UInt8]` needs an array per key and SipHash per lookup. Open
/// addressing with linear probing over a power-of-two table at most half full; each key's hash
/// is kept, so growing never hashes a key again.
///
/// The hash mixes 8 bytes at a time (SplitMix64's finalizer) with a seed drawn once per
/// process: keys come from rows, and a fixed function would let crafted ids pile into one
/// probe run.
struct ByteKeyTable {
    /// Every key's bytes, in number order.
    private(set) var bytes: [UInt8] = []
    /// Where each key ends in `bytes` (key i starts where key i - 1 ends).
    private var ends: [Int] = []
    private var hashes: [UInt64] = []
    /// Key number + 1 in each bucket; 0 for an empty one.
    private var buckets: [Int] = []

    private static let seed = UInt64.random(in: .min ... .max)

    var count: Int { ends.count }

    /// The bytes of key `number`, within `all` (`bytes`, borrowed).
    @inline(__always)
    func key(_ number: Int, in all: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let start = number == 0 ? 0 : ends[number - 1]
        return UnsafeRawBufferPointer(rebasing: all[start..<ends[number]])
    }

    /// Key `number`, copied.
    func key(_ number: Int) -> [UInt8] {
        bytes.withUnsafeBytes { Array(key(number, in: $0)) }
    }

    /// The number of `key`, added as the next number when it is new.
    mutating func number(of key: UnsafeRawBufferPointer) -> (number: Int, added: Bool) {
        if (count + 1) * 2 > buckets.count { grow() }
        let hash = Self.hash(key)
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = buckets[bucket]
            if entry == 0 { break }
            let number = entry - 1
            if hashes[number] == hash, bytes.withUnsafeBytes({ compareKeys(self.key(number, in: $0), key) == 0 }) {
                return (number, false)
            }
            bucket = (bucket + 1) & mask
        }
        let number = count
        bytes.append(contentsOf: key)
        ends.append(bytes.count)
        hashes.append(hash)
        buckets[bucket] = number + 1
        return (number, true)
    }

    /// Doubles the buckets (16 at first) and files every key again by its kept hash.
    private mutating func grow() {
        let size = max(16, buckets.count * 2)
        buckets = [Int](repeating: 0, count: size)
        let mask = size - 1
        for (number, hash) in hashes.enumerated() {
            var bucket = Int(truncatingIfNeeded: hash) & mask
            while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
            buckets[bucket] = number + 1
        }
    }

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h = seed ^ (UInt64(key.count) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        while i + 8 <= key.count {
            h = SplitMix64.mix(h ^ key.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        if i < key.count {
            var tail: UInt64 = 0
            for j in i..<key.count { tail |= UInt64(key[j]) << (8 * (j - i)) }
            h = SplitMix64.mix(h ^ tail)
        }
        return SplitMix64.mix(h)
    }
}
