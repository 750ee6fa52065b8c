@_spi(Benchmarks) import GuildStoreEngine

/// Discord snowflake ids: `(milliseconds since 2015-01-01T00:00:00Z) << 22 | low bits`, where
/// Discord's low 22 bits are worker (5), process (5) and increment (12).
///
/// Invariants:
/// - (FX-1) Every id the generator makes is below 2^63 (timestamps before 2084) and its high
///   bits are its row's creation time, so event ids grow with `created_at`.
/// - (FX-2) `EventIDs` hands out strictly increasing ids, so each event table's primary key is
///   unique and appends at the right edge of the tree (`BTree` append path).
enum Snowflake {
    /// 2015-01-01T00:00:00Z in milliseconds since 1970.
    static let discordEpochMilliseconds: Int64 = 1_420_070_400_000

    /// The id created at `milliseconds` (since 1970) with `low` in the low 22 bits.
    static func make(milliseconds: Int64, low: UInt64) -> UInt64 {
        UInt64(milliseconds - discordEpochMilliseconds) << 22 | (low & 0x3F_FFFF)
    }

    /// The id for the entity with per-table `index` (unique while index < 2^22) created at
    /// `seconds`.
    static func entity(seconds: Int64, index: Int) -> UInt64 {
        make(milliseconds: seconds * 1000 + Int64(index % 1000), low: UInt64(index))
    }

    /// The creation time an id carries, in seconds since 1970.
    static func seconds(of id: UInt64) -> Int64 {
        (Int64(id >> 22) + discordEpochMilliseconds) / 1000
    }
}

/// Strictly increasing snowflakes for one event table (FX-2): an event at second `t` gets a
/// random millisecond of that second and this table's worker number, unless that would not
/// exceed the previous id, in which case it gets the previous id plus one.
struct EventIDs: Sendable {
    private var last: UInt64 = 0
    private let worker: UInt64

    init(worker: UInt64) {
        self.worker = worker & 0x1F
    }

    mutating func next(at seconds: Int64, _ rng: inout SplitMix64) -> UInt64 {
        let candidate = Snowflake.make(milliseconds: seconds * 1000 + Int64(rng.int(below: 1000)), low: worker << 17)
        last = max(candidate, last + 1)
        return last
    }
}
