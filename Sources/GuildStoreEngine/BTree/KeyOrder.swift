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
        var heads: [Head] = []
        heads.reserveCapacity(count)
        for i in 0..<count {
            let k = key(i)
            heads.append(Head(high: word(k, at: 0), low: word(k, at: 8), position: i))
        }
        // A total order (positions break ties), so any correct sort gives the stable order.
        func precedes(_ a: Head, _ b: Head) -> Bool {
            if a.high != b.high { return a.high < b.high }
            if a.low != b.low { return a.low < b.low }
            let c = compareKeys(key(a.position), key(b.position))
            return c != 0 ? c < 0 : a.position < b.position
        }
        // Keys that come in order already (a rollup's flush puts its groups in key order, a
        // load in key order puts its index entries so) cost one pass instead of a sort.
        if (1..<count).allSatisfy({ precedes(heads[$0 - 1], heads[$0]) }) { return Array(0..<count) }
        heads.withUnsafeMutableBufferPointer { all in
            introsort(all, 0, all.count, depthLimit: 2 * (Int.bitWidth - all.count.leadingZeroBitCount), precedes)
        }
        return heads.map(\.position)
    }

    /// A key's first 16 bytes as two big-endian words, and where the key is.
    struct Head {
        let high: UInt64
        let low: UInt64
        let position: Int
    }

    /// Sorts `all[start ..< end]` in place: quicksort (median of three, Hoare's partition) down
    /// to runs of 16, finished by insertion; a range that takes more than `depthLimit`
    /// partitions (crafted keys) is heap-sorted instead, so the sort stays O(n log n). No
    /// scratch buffer, and `precedes` inlined, unlike the standard library's stable sort,
    /// which took a tenth of a bulk commit (perf, session 17).
    static func introsort(_ all: UnsafeMutableBufferPointer<Head>, _ start: Int, _ end: Int, depthLimit: Int,
                                  _ precedes: (Head, Head) -> Bool) {
        var (start, end, depthLimit) = (start, end, depthLimit)
        while end - start > 16 {
            if depthLimit == 0 {
                heapsort(all, start, end, precedes)
                return
            }
            depthLimit -= 1
            // The median of the first, middle and last, moved to the middle, is the pivot.
            let middle = start + (end - 1 - start) / 2
            if precedes(all[middle], all[start]) { all.swapAt(middle, start) }
            if precedes(all[end - 1], all[middle]) {
                all.swapAt(end - 1, middle)
                if precedes(all[middle], all[start]) { all.swapAt(middle, start) }
            }
            let pivot = all[middle]
            // Hoare: i and j move inwards; afterwards nothing in start...j follows the pivot
            // and nothing in j+1..<end precedes it, and both parts are non-empty.
            var i = start - 1, j = end
            while true {
                repeat { i += 1 } while precedes(all[i], pivot)
                repeat { j -= 1 } while precedes(pivot, all[j])
                if i >= j { break }
                all.swapAt(i, j)
            }
            // The smaller part by recursion, the larger by the loop: depth stays logarithmic.
            if j + 1 - start < end - (j + 1) {
                introsort(all, start, j + 1, depthLimit: depthLimit, precedes)
                start = j + 1
            } else {
                introsort(all, j + 1, end, depthLimit: depthLimit, precedes)
                end = j + 1
            }
        }
        var k = start + 1
        while k < end {
            let moving = all[k]
            var m = k
            while m > start, precedes(moving, all[m - 1]) {
                all[m] = all[m - 1]
                m -= 1
            }
            all[m] = moving
            k += 1
        }
    }

    /// Sorts `all[start ..< end]` in place by a binary max-heap.
    private static func heapsort(_ all: UnsafeMutableBufferPointer<Head>, _ start: Int, _ end: Int,
                                 _ precedes: (Head, Head) -> Bool) {
        let count = end - start
        func siftDown(_ root: Int, _ size: Int) {
            var parent = root
            while true {
                var largest = parent
                let left = 2 * parent + 1, right = left + 1
                if left < size, precedes(all[start + largest], all[start + left]) { largest = left }
                if right < size, precedes(all[start + largest], all[start + right]) { largest = right }
                if largest == parent { return }
                all.swapAt(start + parent, start + largest)
                parent = largest
            }
        }
        var i = count / 2
        while i > 0 {
            i -= 1
            siftDown(i, count)
        }
        var size = count
        while size > 1 {
            size -= 1
            all.swapAt(start, start + size)
            siftDown(0, size)
        }
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
