import Foundation

/// Everything one `guildstore bench` run measured, what `--json` prints, and what the text,
/// Markdown and SVG renderers draw from.
package struct BenchReport: Sendable, Codable {
    /// The exact command line.
    package var command: String
    /// The unit of every time in the report (`TimingStatistics`).
    package var timeUnit = "milliseconds"
    package var machine: MachineDescription
    package var dataset: DatasetDescription
    /// Timed runs per workload (after the checked run); retention runs once.
    package var runsPerWorkload: Int
    package var contenders: [ContenderDescription]
    /// The contender the ratios are about.
    package var measured: String
    package var workloads: [WorkloadResult]
    package var footprint: [StorageFootprint]
    package var geometricMeans: [GeometricMean]
    /// Where the time went: seeding, export, the read and the write workloads.
    package var phases: [BenchPhase]
    /// Wall time of the whole command, seeding and export included.
    package var totalSeconds: Double

    /// The report as JSON: snake_case keys, sorted, pretty-printed.
    package func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The contenders other than the measured one (the ratio columns).
    package var others: [ContenderDescription] { contenders.filter { $0.key != measured } }

    /// The name of the contender with `key`.
    package func name(of key: String) -> String {
        contenders.first { $0.key == key }?.name ?? key
    }

    /// Geometric means of the ratios over the query-pattern workloads and over all of them.
    package static func geometricMeans(_ workloads: [WorkloadResult], against keys: [String]) -> [GeometricMean] {
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
package struct DatasetDescription: Sendable, Hashable, Codable {
    package var databasePath: String
    /// The profile seeded, when this run seeded it; nil for a database reused as it was.
    package var seededProfile: String?
    package var eventsPerTable: [String: Int]
    package var totalEvents: Int
    /// The time the ranges end at: one second after the latest event.
    package var now: Int64
    /// The guilds the patterns ran on, by label, with their message counts.
    package var guilds: [GuildDescription]
}

/// One subject guild.
package struct GuildDescription: Sendable, Hashable, Codable {
    package var label: String
    package var id: String
    package var user: String
    package var messages: Int
}

/// The geometric mean of the measured contender's ratios against one other, over a scope.
package struct GeometricMean: Sendable, Hashable, Codable {
    package var scope: String
    package var against: String
    package var workloads: Int
    package var ratio: Double
}

/// One step of a run and its wall time.
package struct BenchPhase: Sendable, Hashable, Codable {
    package var name: String
    package var seconds: Double

    package init(name: String, seconds: Double) {
        self.name = name
        self.seconds = seconds
    }
}
