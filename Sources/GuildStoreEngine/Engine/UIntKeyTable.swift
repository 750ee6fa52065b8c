/// Unsigned integers numbered 0, 1, 2, … in the order they were first added: the groups of an
/// aggregate grouped by one id column (a user, a channel), one lookup per row walked.
///
/// `Dictionary<UInt64, Int>` hashes each id with SipHash, about a quarter of a 30-day
/// leaderboard's walk (measured); this hashes with SplitMix64's finalizer over the id and a
/// seed drawn once per process (ids come from rows: a fixed function would let crafted ids
/// pile into one probe run). Open addressing with linear probing over a power-of-two table at
/// most half full, so every probe ends at an empty bucket.
struct UIntKeyTable {
    /// Every key, in number order.
    private(set) var keys: [UInt64] = []
    /// Key number + 1 in each bucket; 0 for an empty one.
    private var buckets: [Int] = []

    private static let seed = UInt64.random(in: .min ... .max)

    var count: Int { keys.count }

    /// The number of `key`, added as the next number when it is new.
    @inline(__always)
    mutating func number(of key: UInt64) -> (number: Int, added: Bool) {
        if (count + 1) * 2 > buckets.count { grow() }
        let mask = buckets.count - 1
        var bucket = Self.home(key, mask: mask)
        while true {
            let entry = buckets[bucket]
            if entry == 0 { break }
            if keys[entry - 1] == key { return (entry - 1, false) }
            bucket = (bucket + 1) & mask
        }
        keys.append(key)
        buckets[bucket] = keys.count
        return (keys.count - 1, true)
    }

    /// Whether `key` was added.
    @inline(__always)
    func contains(_ key: UInt64) -> Bool {
        guard !buckets.isEmpty else { return false }
        let mask = buckets.count - 1
        var bucket = Self.home(key, mask: mask)
        while true {
            let entry = buckets[bucket]
            if entry == 0 { return false }
            if keys[entry - 1] == key { return true }
            bucket = (bucket + 1) & mask
        }
    }

    @inline(__always)
    private static func home(_ key: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: SplitMix64.mix(key ^ seed)) & mask
    }

    /// Doubles the buckets (16 at first) and files every key again.
    private mutating func grow() {
        let size = max(16, buckets.count * 2)
        buckets = [Int](repeating: 0, count: size)
        let mask = size - 1
        for (number, key) in keys.enumerated() {
            var bucket = Self.home(key, mask: mask)
            while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
            buckets[bucket] = number + 1
        }
    }
}
