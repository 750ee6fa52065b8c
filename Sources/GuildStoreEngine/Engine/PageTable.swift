/// A map from page number to `Element`: an open-addressing hash table with linear probing and
/// a multiplicative hash. It holds a write transaction's changed pages and the WAL's frames by
/// page (`EngineState.walIndex`), which every page access of a descent consults; Swift's
/// `Dictionary` hashes each `UInt32` with SipHash, which a profile of the 1M-row `Tables` load
/// showed at about 5 % of the time.
///
/// Invariants:
/// (PT-1) `slots` has a power-of-two count and is at most half full, so every probe ends at an
///      empty slot.
/// (PT-2) An entry lies on the probe path from its home slot with no empty slot in between:
///      removal shifts later entries of the run back (no tombstones).
struct PageTable<Element> {
    private static var empty: UInt32 { UInt32.max }  // never a page number: the file would be 16 TiB+
    private var numbers: [UInt32]
    private var elements: [Element?]
    private(set) var count = 0

    init() {
        numbers = [UInt32](repeating: Self.empty, count: 64)
        elements = [Element?](repeating: nil, count: 64)
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

    subscript(number: UInt32) -> Element? {
        get {
            let i = slot(number)
            return numbers[i] == number ? elements[i] : nil
        }
        set {
            guard let newValue else {
                removeValue(forKey: number)
                return
            }
            var i = slot(number)
            if numbers[i] != number {
                if (count + 1) * 2 > numbers.count {  // PT-1
                    grow()
                    i = slot(number)
                }
                numbers[i] = number
                count += 1
            }
            elements[i] = newValue
            assert(count * 2 <= numbers.count, "PT-1: the page table is more than half full")
        }
    }

    @discardableResult
    mutating func removeValue(forKey number: UInt32) -> Element? {
        var i = slot(number)
        guard numbers[i] == number else { return nil }
        let removed = elements[i]
        let mask = numbers.count - 1
        numbers[i] = Self.empty
        elements[i] = nil
        count -= 1
        // PT-2: move back every later entry of the run whose home is not between the hole and it.
        var j = i
        while true {
            j = (j + 1) & mask
            let n = numbers[j]
            if n == Self.empty { return removed }
            let h = home(n)
            let staysPut = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !staysPut {
                numbers[i] = n
                elements[i] = elements[j]
                numbers[j] = Self.empty
                elements[j] = nil
                i = j
            }
        }
    }

    private mutating func grow() {
        let oldNumbers = numbers, oldElements = elements
        numbers = [UInt32](repeating: Self.empty, count: oldNumbers.count * 2)
        elements = [Element?](repeating: nil, count: oldNumbers.count * 2)
        for (k, n) in oldNumbers.enumerated() where n != Self.empty {
            let i = slot(n)
            numbers[i] = n
            elements[i] = oldElements[k]
        }
    }

    mutating func removeAll() {
        self = PageTable()
    }

    /// Every page and its element, in no particular order.
    var entries: [(page: UInt32, element: Element)] {
        var result: [(page: UInt32, element: Element)] = []
        result.reserveCapacity(count)
        for (i, n) in numbers.enumerated() where n != Self.empty {
            if let element = elements[i] { result.append((n, element)) }
        }
        return result
    }
}
