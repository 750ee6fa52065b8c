@_spi(Benchmarks) import GuildStoreEngine

/// Picks one of a fixed set of items with probability proportional to an integer weight.
///
/// Invariant (FX-30): `cumulative` is strictly increasing (zero weights are left out), so a draw in
/// 0..<total lands in exactly one item's interval; integer weights keep draws identical on
/// every platform (FX-3).
struct WeightedSampler: Sendable {
    private let items: [Int]
    private let cumulative: [UInt64]

    /// `weights`: (item, weight) pairs; items of weight 0 are never picked.
    init(_ weights: [(item: Int, weight: UInt64)]) {
        var items: [Int] = []
        var cumulative: [UInt64] = []
        var total: UInt64 = 0
        for (item, weight) in weights where weight > 0 {
            total += weight
            items.append(item)
            cumulative.append(total)
        }
        self.items = items
        self.cumulative = cumulative
    }

    var isEmpty: Bool { items.isEmpty }

    /// An item; nil only when every weight was 0.
    func pick(_ rng: inout SplitMix64) -> Int? {
        guard let total = cumulative.last else { return nil }
        let draw = UInt64(total).multipliedFullWidth(by: rng.next()).high
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] > draw { high = mid } else { low = mid + 1 }
        }
        return items[low]
    }
}
