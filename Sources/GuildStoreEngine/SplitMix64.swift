/// The one seeded random generator of the package: SplitMix64 (Steele, Lea and Flood, 2014),
/// the seeding generator of Java's `SplittableRandom` and of xoshiro. The fixture generator,
/// the benchmark's lookup samples, the tests' seeded workloads and the Benchmarks package's
/// suites all draw from it (hence `@_spi(Benchmarks)`: the Benchmarks package imports it; a bot
/// does not see it).
///
/// Invariant (FX-3): the sequence is a pure function of the seed, on every platform and Swift
/// version: only 64-bit integer arithmetic, and doubles made from 53 random bits by an exact
/// scaling. The generator never reads `SystemRandomNumberGenerator`, the clock or the
/// environment, so a seed and a profile fix every byte of a fixture. Callers keep to
/// IEEE-exact operations on the doubles (+, -, *, /, comparisons): no `pow`, `log` or `exp`,
/// whose last bits differ between C libraries.
///
/// Every member is `@inlinable`: the generator runs in other modules' hot loops (fixture
/// streams, benchmark workloads), where a call per draw would cost more than the draw.
@_spi(Benchmarks)
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    @inlinable
    public init(seed: UInt64) {
        state = seed
    }

    /// An independent stream for (`seed`, `stream`, `index`): one per table or per entity,
    /// so generating one part never shifts the numbers of another.
    @inlinable
    public static func derived(_ seed: UInt64, stream: UInt64, index: UInt64 = 0) -> SplitMix64 {
        SplitMix64(seed: mix(mix(seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)) &+ index))
    }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A hash of `value`: the first number a generator seeded with it draws, for data derived
    /// from an index (the Benchmarks package's rows and values).
    @inlinable
    public static func hash(_ value: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: value)
        return generator.next()
    }

    /// SplitMix64's output function: a bijective 64-bit hash.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0), by the high half of a 128-bit product: no division,
    /// a bias below 2^-32 for the bounds used here.
    @inlinable
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        return Int(UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// Uniform in `range` (non-empty).
    @inlinable
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1), exactly 53 random bits.
    @inlinable
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `percent` / 100.
    @inlinable
    public mutating func percent(_ percent: Int) -> Bool {
        int(below: 100) < percent
    }

    /// One element of a non-empty array.
    @inlinable
    public mutating func pick<T>(_ elements: [T]) -> T {
        elements[int(below: elements.count)]
    }

    /// An index in 0..<count skewed towards 0 (density ∝ x^(-2/3)): about a quarter of the
    /// draws land on the first 1.6% of the range. Used for "power users" and busy channels.
    @inlinable
    public mutating func skewed(below count: Int) -> Int {
        let u = unit()
        return min(count - 1, Int(Double(count) * (u * u * u)))
    }
}
