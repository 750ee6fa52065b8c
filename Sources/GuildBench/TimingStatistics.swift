import Foundation

/// Order statistics of one contender's run times on one workload, in milliseconds.
package struct TimingStatistics: Sendable, Hashable, Codable {
    /// Every run's time, in the order they ran.
    package var samples: [Double]
    package var median: Double
    /// The 90th percentile (nearest rank).
    package var p90: Double
    package var minimum: Double

    package init(samples: [Double]) {
        self.samples = samples
        let sorted = samples.sorted()
        median = Self.median(sorted)
        p90 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((0.9 * Double(sorted.count)).rounded(.up)) - 1)]
        minimum = sorted.first ?? 0
    }

    /// The middle value of `sorted` (the mean of the middle two for an even count).
    static func median(_ sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The geometric mean of positive `values` (nil when there are none).
    package static func geometricMean(_ values: [Double]) -> Double? {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        guard !positive.isEmpty else { return nil }
        var logSum = 0.0
        for value in positive { logSum += log(value) }
        return exp(logSum / Double(positive.count))
    }
}
