import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// Which fault points a fault-suite test visits: every one while there are at most `limit`,
/// otherwise a seeded sample of `limit` of them (the first and the last always included), so
/// the CI run stays bounded. `GUILDSTORE_FAULT_ROUNDS` raises (or lowers) the limit;
/// `GUILDSTORE_FAULT_SEED` changes the sample.
enum FaultRounds {
    static let environment = ProcessInfo.processInfo.environment
    /// Points visited per test when the environment says nothing.
    static let defaultLimit = 200
    static let limit = environment["GUILDSTORE_FAULT_ROUNDS"].flatMap { Int($0) }.map { max(2, $0) } ?? defaultLimit
    static let seed: UInt64 = 0x6661_756C_7473_7569 &+ (environment["GUILDSTORE_FAULT_SEED"].flatMap { UInt64($0) } ?? 0)

    /// The points of `range` to visit, in increasing order; `salt` varies the sample per test.
    static func points(_ range: ClosedRange<Int>, salt: UInt64) -> [Int] {
        guard range.count > limit else { return Array(range) }
        var rng = SplitMix64(seed: seed &+ salt)
        var chosen: Set<Int> = [range.lowerBound, range.upperBound]
        while chosen.count < limit { chosen.insert(Int.random(in: range, using: &rng)) }
        return chosen.sorted()
    }
}
