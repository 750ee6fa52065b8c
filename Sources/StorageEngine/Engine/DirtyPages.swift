/// The write transaction's changed pages by page number: an open-addressing hash table with
/// linear probing and a multiplicative hash. A bulk load looks pages up here at every level of
/// every descent; Swift's `Dictionary` hashes each `UInt32` with SipHash, which a profile of
/// the 1M-row `Tables` load showed at about 5 % of the time.
///
/// Invariants:
/// (D1) `slots` has a power-of-two count and is at most half full, so every probe ends at an
///      empty slot.
/// (D2) An entry lies on the probe path from its home slot with no empty slot in between:
///      removal shifts later entries of the run back (no tombstones).
struct DirtyPages {
    private static let empty = UInt32.max  // never a page number: the file would be 16 TiB+
    private var numbers: [UInt32]
    private var buffers: [PageBuffer?]
    private(set) var count = 0

    init() {
        numbers = [UInt32](repeating: Self.empty, count: 64)
        buffers = [PageBuffer?](repeating: nil, count: 64)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func home(_ number: UInt32) -> Int {
        Int((UInt64(number) &* 0x9E37_79B9_7F4A_7C15) >> 40) & (numbers.count - 1)
    }

    /// The slot holding `number`, or the empty slot where it would go.
    @inline(__always)
    private func slot(_ number: UInt32) -> Int {
        var i = home(number)
        let mask = numbers.count - 1
        while true {
            let n = numbers[i]
            if n == number || n == Self.empty { return i }
            i = (i + 1) & mask
        }
    }

    subscript(number: UInt32) -> PageBuffer? {
        get {
            let i = slot(number)
            return numbers[i] == number ? buffers[i] : nil
        }
        set {
            guard let newValue else {
                removeValue(forKey: number)
                return
            }
            var i = slot(number)
            if numbers[i] != number {
                if (count + 1) * 2 > numbers.count {  // D1
                    grow()
                    i = slot(number)
                }
                numbers[i] = number
                count += 1
            }
            buffers[i] = newValue
        }
    }

    mutating func removeValue(forKey number: UInt32) {
        var i = slot(number)
        guard numbers[i] == number else { return }
        let mask = numbers.count - 1
        numbers[i] = Self.empty
        buffers[i] = nil
        count -= 1
        // D2: move back every later entry of the run whose home is not between the hole and it.
        var j = i
        while true {
            j = (j + 1) & mask
            let n = numbers[j]
            if n == Self.empty { return }
            let h = home(n)
            let staysPut = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !staysPut {
                numbers[i] = n
                buffers[i] = buffers[j]
                numbers[j] = Self.empty
                buffers[j] = nil
                i = j
            }
        }
    }

    private mutating func grow() {
        let oldNumbers = numbers, oldBuffers = buffers
        numbers = [UInt32](repeating: Self.empty, count: oldNumbers.count * 2)
        buffers = [PageBuffer?](repeating: nil, count: oldNumbers.count * 2)
        for (k, n) in oldNumbers.enumerated() where n != Self.empty {
            let i = slot(n)
            numbers[i] = n
            buffers[i] = oldBuffers[k]
        }
    }

    mutating func removeAll() {
        self = DirtyPages()
    }

    /// Every page and its buffer, in no particular order.
    var entries: [(page: UInt32, image: PageBuffer)] {
        var result: [(page: UInt32, image: PageBuffer)] = []
        result.reserveCapacity(count)
        for (i, n) in numbers.enumerated() where n != Self.empty {
            if let buffer = buffers[i] { result.append((n, buffer)) }
        }
        return result
    }
}
