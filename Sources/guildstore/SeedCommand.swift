import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `--profile small|default|large`.
enum ProfileOption: String, CaseIterable, ExpressibleByArgument {
    case small, `default`, large

    var profile: FixtureProfile {
        switch self {
        case .small: .small
        case .default: .default
        case .large: .large
        }
    }
}

/// `guildstore seed --profile small|default|large [--seed N]`: writes a generated dataset
/// (seed 001's `db:seed:small / db:seed / db:seed:large`).
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Write a generated dataset.", discussion: creatingDiscussion)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "small (a few thousand events), default (about 1M) or large (about 10M).") var profile: ProfileOption = .default
    @Option(help: "The generator's seed: the same seed writes the same data.") var seed: UInt64 = FixtureGenerator.defaultSeed

    func run() async throws {
        let generator = try FixtureGenerator(profile: profile.profile, seed: seed)
        let result = try await withStore(database, .create) { store in try await seedDatabase(store, generator) }
        print(result.counts.description)
        print(String(format: "seeded %d records in %.2f s (%.0f records/s)", result.counts.total, result.seconds,
                     Double(result.counts.total) / max(result.seconds, 1e-9)))
    }
}

/// Loads `generator`'s records into `store` with a progress bar; the counts written and the
/// seconds it took.
func seedDatabase(_ store: GuildDatabase, _ generator: FixtureGenerator) async throws -> (counts: FixtureCounts, seconds: Double) {
    let bar = ProgressBar("seed \(generator.profile.name)")
    let total = generator.plannedCounts().total
    let start = ContinuousClock.now
    let counts = try await generator.load(into: store.database) { written in bar.update(written.total, of: total) }
    bar.finish()
    return (counts, seconds(since: start))
}
