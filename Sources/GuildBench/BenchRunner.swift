/// Runs workloads on contenders: first once on each, comparing every answer with the
/// reference contender's (SQLite running the pattern's SQL is the specification), then, only
/// if all agree, `runs` more times on each, interleaved (run 1 on every contender, then run
/// 2, ...) so a slow moment of the machine falls on all of them alike.
///
/// Invariant (BN-1): a workload's timings exist only after its answers were found equal; a
/// mismatch throws `BenchError.answerMismatch` before any of its runs is timed, and the
/// caller gets no results at all.
///
/// Each run goes through `PreparedWorkload.run`: its `setUp` and `tearDown` (fresh copies of
/// files, closing what the run opened) happen off the clock.
package struct BenchRunner: Sendable {
    /// Timed runs per workload and contender (after the checked run).
    package var runs: Int
    package var comparison: AnswerComparison

    package init(runs: Int = 7, comparison: AnswerComparison = AnswerComparison()) {
        self.runs = max(1, runs)
        self.comparison = comparison
    }

    /// Runs every workload on every contender. `reference` is the index of the contender
    /// whose answers are the specification; `measured` the one whose speed the ratios are
    /// about (ratio = other's median / measured's median). `progress` hears (workloads done,
    /// total, the current one's name) before each workload and once at the end.
    package func run(_ workloads: [Workload], on contenders: [any BenchContender], reference: Int, measured: Int,
                    progress: (Int, Int, String) -> Void = { _, _, _ in }) async throws -> [WorkloadResult] {
        precondition(contenders.indices.contains(reference) && contenders.indices.contains(measured), "contender index out of range")
        var results: [WorkloadResult] = []
        for (number, workload) in workloads.enumerated() {
            progress(number, workloads.count, workload.name)
            var prepared: [PreparedWorkload] = []
            for contender in contenders { prepared.append(try await contender.prepare(workload)) }
            // The checked run (BN-1).
            var samples = [[Double]](repeating: [], count: contenders.count)
            var answers: [[CanonicalRow]] = []
            for (index, run) in prepared.enumerated() {
                let (elapsed, rows) = try await run.run(answer: true)
                samples[index].append(elapsed)
                answers.append(rows ?? [])
            }
            for index in contenders.indices where index != reference {
                try comparison.check(workload: workload.name, reference: (contenders[reference].name, answers[reference]),
                                     candidate: (contenders[index].name, answers[index]))
            }
            if !workload.runsOnce {
                // The checked run warmed the caches; the timed runs are the ones after it.
                samples = samples.map { _ in [] }
                for _ in 0..<min(runs, workload.maximumRuns ?? runs) {
                    for (index, run) in prepared.enumerated() {
                        samples[index].append(try await run.run(answer: false).milliseconds)
                    }
                }
            }
            let operations = workload.operations
            let timings = contenders.indices.map { index in
                let statistics = TimingStatistics(samples: samples[index])
                return ContenderTiming(contender: contenders[index].key, statistics: statistics,
                                       perSecond: operations.flatMap { statistics.median > 0 ? Double($0.count) / statistics.median * 1_000 : nil })
            }
            let base = timings[measured].statistics.median
            let ratios = contenders.indices.filter { $0 != measured }.map { index in
                ContenderRatio(against: contenders[index].key, ratio: base > 0 ? timings[index].statistics.median / base : 0)
            }
            let notes = contenders.indices.compactMap { index in
                prepared[index].note.map { ContenderNote(contender: contenders[index].key, text: $0) }
            }
            results.append(WorkloadResult(name: workload.name, group: workload.group, subject: workload.subject, range: workload.range,
                                          rows: answers[reference].count, answersAgree: true, runs: samples[measured].count,
                                          timings: timings, ratios: ratios, operations: operations?.count, unit: operations?.unit,
                                          notes: notes))
        }
        progress(workloads.count, workloads.count, "")
        return results
    }

}

/// One workload's outcome: its answers agreed, and how long each contender took.
package struct WorkloadResult: Sendable, Hashable, Codable {
    package var name: String
    package var group: String
    package var subject: String
    package var range: String?
    /// Rows in the (agreed) answer.
    package var rows: Int
    /// Always true in a result: a disagreement stops the run (BN-1). Stated so a reader of the
    /// JSON need not know that.
    package var answersAgree: Bool
    /// Timed runs per contender.
    package var runs: Int
    package var timings: [ContenderTiming]
    /// The measured contender's speed against each other contender: their median ÷ its
    /// median (above 1: the measured one is faster).
    package var ratios: [ContenderRatio]
    /// What one run does, for a throughput workload (`rows` loaded, `commits` made); each
    /// timing's `perSecond` is this count over its median.
    package var operations: Int?
    package var unit: String?
    /// What contenders reported while preparing (WAL frames, ...).
    package var notes: [ContenderNote] = []

    /// The timing of the contender with `key`.
    package func timing(_ key: String) -> TimingStatistics? {
        timings.first { $0.contender == key }?.statistics
    }

    /// The ratio against the contender with `key`.
    package func ratio(against key: String) -> Double? {
        ratios.first { $0.against == key }?.ratio
    }
}

/// One contender's times on one workload.
package struct ContenderTiming: Sendable, Hashable, Codable {
    package var contender: String
    package var statistics: TimingStatistics
    /// Operations per second at the median, for a throughput workload.
    package var perSecond: Double?
}

/// Something a contender reported about a workload.
package struct ContenderNote: Sendable, Hashable, Codable {
    package var contender: String
    package var text: String
}

/// The measured contender's speed relative to another.
package struct ContenderRatio: Sendable, Hashable, Codable {
    package var against: String
    package var ratio: Double
}
