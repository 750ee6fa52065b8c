/// Sorting many keys in `compareKeys` order, as a commit does with its deferred index entries
/// (DP-1) and its rollup groups (RU-3).
///
/// Each key's first 16 bytes are read once, as two big-endian words, and compared as integers;
/// only keys whose 16-byte heads are equal are compared in full. A head is the key's bytes
/// padded with zeros, so heads order keys as `compareKeys` does wherever they differ: bytes
/// compare as the words do, and a shorter key that is a prefix of a longer one has a head no
/// greater than the longer's (equal heads fall through to the full comparison, which puts the
/// shorter first).
enum KeyOrder {
    /// The positions `0 ..< count` in the order of their keys; equal keys in increasing
    /// position (stable).
    static func positions(count: Int, key: (Int) -> UnsafeRawBufferPointer) -> [Int] {
        // A single-row commit sorts a handful of keys: insertion sort, with no scratch buffer
        // and no head array (the standard library's stable sort allocates both).
        if count <= smallCount { return insertionSorted(count: count, key: key) }
        var heads: [(high: UInt64, low: UInt64, position: Int)] = []
        heads.reserveCapacity(count)
        for i in 0..<count {
            let k = key(i)
            heads.append((word(k, at: 0), word(k, at: 8), i))
        }
        func precedes(_ a: (high: UInt64, low: UInt64, position: Int), _ b: (high: UInt64, low: UInt64, position: Int)) -> Bool {
            if a.high != b.high { return a.high < b.high }
            if a.low != b.low { return a.low < b.low }
            let c = compareKeys(key(a.position), key(b.position))
            return c != 0 ? c < 0 : a.position < b.position
        }
        // Keys that come in order already (a rollup's flush puts its groups in key order, a
        // load in key order puts its index entries so) cost one pass instead of a sort.
        if (1..<count).allSatisfy({ precedes(heads[$0 - 1], heads[$0]) }) { return Array(0..<count) }
        heads.sort(by: precedes)
        return heads.map(\.position)
    }

    /// At most this many keys are sorted by insertion.
    static let smallCount = 12

    /// `positions` by insertion: each key moves left past the keys greater than it, never past
    /// an equal one (stable).
    private static func insertionSorted(count: Int, key: (Int) -> UnsafeRawBufferPointer) -> [Int] {
        var order = Array(0..<count)
        var i = 1
        while i < count {
            let moving = order[i]
            let movingKey = key(moving)
            var j = i
            while j > 0, compareKeys(key(order[j - 1]), movingKey) > 0 {
                order[j] = order[j - 1]
                j -= 1
            }
            order[j] = moving
            i += 1
        }
        return order
    }

    /// Bytes `offset ..< offset + 8` of `key` as a big-endian word, zeros past its end.
    @inline(__always)
    private static func word(_ key: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        if key.count >= offset + 8 {
            return UInt64(bigEndian: key.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        var word: UInt64 = 0
        var i = offset
        while i < key.count {
            word |= UInt64(key[i]) << (8 * (7 - (i - offset)))
            i += 1
        }
        return word
    }
}
