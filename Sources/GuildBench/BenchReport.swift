import Foundation

/// Everything one `guildstore bench` run measured, what `--json` prints, and what the text,
/// Markdown and SVG renderers draw from.
public struct BenchReport: Sendable, Codable {
    /// The exact command line.
    public var command: String
    /// The unit of every time in the report (`TimingStatistics`).
    public var timeUnit = "milliseconds"
    public var machine: MachineDescription
    public var dataset: DatasetDescription
    /// Timed runs per workload (after the checked run); retention runs once.
    public var runsPerWorkload: Int
    public var contenders: [ContenderDescription]
    /// The contender the ratios are about.
    public var measured: String
    public var workloads: [WorkloadResult]
    public var footprint: [StorageFootprint]
    public var geometricMeans: [GeometricMean]
    /// Where the time went: seeding, export, the read and the write workloads.
    public var phases: [BenchPhase]
    /// Wall time of the whole command, seeding and export included.
    public var totalSeconds: Double

    /// The report as JSON: snake_case keys, sorted, pretty-printed.
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The contenders other than the measured one (the ratio columns).
    public var others: [ContenderDescription] { contenders.filter { $0.key != measured } }

    /// The name of the contender with `key`.
    public func name(of key: String) -> String {
        contenders.first { $0.key == key }?.name ?? key
    }

    /// Geometric means of the ratios over the query-pattern workloads and over all of them.
    public static func geometricMeans(_ workloads: [WorkloadResult], against keys: [String]) -> [GeometricMean] {
        let patterns = Set(GuildQueryPattern.allCases.map(\.rawValue))
        var means: [GeometricMean] = []
        for (scope, selected) in [("query patterns", workloads.filter { patterns.contains($0.group) }), ("all workloads", workloads)] {
            for key in keys {
                if let ratio = TimingStatistics.geometricMean(selected.compactMap { $0.ratio(against: key) }) {
                    means.append(GeometricMean(scope: scope, against: key, workloads: selected.count, ratio: ratio))
                }
            }
        }
        return means
    }
}

/// The data the workloads ran on.
public struct DatasetDescription: Sendable, Hashable, Codable {
    public var databasePath: String
    /// The profile seeded, when this run seeded it; nil for a database reused as it was.
    public var seededProfile: String?
    public var eventsPerTable: [String: Int]
    public var totalEvents: Int
    /// The time the ranges end at: one second after the latest event.
    public var now: Int64
    /// The guilds the patterns ran on, by label, with their message counts.
    public var guilds: [GuildDescription]
}

/// One subject guild.
public struct GuildDescription: Sendable, Hashable, Codable {
    public var label: String
    public var id: String
    public var user: String
    public var messages: Int
}

/// The geometric mean of the measured contender's ratios against one other, over a scope.
public struct GeometricMean: Sendable, Hashable, Codable {
    public var scope: String
    public var against: String
    public var workloads: Int
    public var ratio: Double
}

/// One step of a run and its wall time.
public struct BenchPhase: Sendable, Hashable, Codable {
    public var name: String
    public var seconds: Double

    public init(name: String, seconds: Double) {
        self.name = name
        self.seconds = seconds
    }
}
