/// Compares two contenders' answers to one workload, row for row and in order: ids, integers
/// and text exactly, reals within a relative tolerance (SQLite and Swift may sum a mean's
/// terms in a different order).
@_spi(Benchmarks) public struct AnswerComparison: Sendable {
    /// The largest accepted `|a - b| / max(|a|, |b|)` between two reals.
    package var relativeTolerance: Double

    @_spi(Benchmarks) public init(relativeTolerance: Double = 1e-9) {
        self.relativeTolerance = relativeTolerance
    }

    /// Nil when `candidate` equals `reference`; otherwise the first row where they differ
    /// (a row one has and the other has not counts as differing).
    package func firstDifference(reference: [CanonicalRow], candidate: [CanonicalRow]) -> RowDifference? {
        for index in 0..<max(reference.count, candidate.count) {
            let expected = index < reference.count ? reference[index] : nil
            let actual = index < candidate.count ? candidate[index] : nil
            if let expected, let actual, rowsMatch(expected, actual) { continue }
            return RowDifference(index: index, expected: expected, actual: actual,
                                 referenceRows: reference.count, candidateRows: candidate.count)
        }
        return nil
    }

    /// Throws `BenchError.answerMismatch` naming the workload, the contender and the first
    /// differing row when `candidate` differs from `reference`.
    @_spi(Benchmarks) public func check(workload: String, reference: (contender: String, rows: [CanonicalRow]),
                      candidate: (contender: String, rows: [CanonicalRow])) throws {
        guard let difference = firstDifference(reference: reference.rows, candidate: candidate.rows) else { return }
        throw BenchError.answerMismatch(AnswerMismatch(workload: workload, contender: candidate.contender,
                                                       reference: reference.contender, difference: difference))
    }

    func rowsMatch(_ a: CanonicalRow, _ b: CanonicalRow) -> Bool {
        a.values.count == b.values.count && zip(a.values, b.values).allSatisfy(valuesMatch)
    }

    func valuesMatch(_ a: CanonicalValue, _ b: CanonicalValue) -> Bool {
        switch (a, b) {
        case (.real(let x), .real(let y)):
            if x == y || (x.isNaN && y.isNaN) { return true }
            return abs(x - y) <= relativeTolerance * max(abs(x), abs(y))
        default:
            return a == b
        }
    }
}

/// Where two answers first differ.
package struct RowDifference: Sendable, Hashable, CustomStringConvertible {
    /// The row's position (0-based).
    package var index: Int
    /// The reference's row there; nil when the reference has fewer rows.
    package var expected: CanonicalRow?
    /// The candidate's row there; nil when the candidate has fewer rows.
    package var actual: CanonicalRow?
    package var referenceRows: Int
    package var candidateRows: Int

    package var description: String {
        "row \(index + 1): expected \(expected?.description ?? "no row"), got \(actual?.description ?? "no row")"
            + " (\(referenceRows) rows expected, \(candidateRows) given)"
    }
}

/// A contender's answer that differs from the reference's: the benchmark stops, reports this
/// and prints no ratio.
@_spi(Benchmarks) public struct AnswerMismatch: Sendable, Hashable, CustomStringConvertible {
    package var workload: String
    package var contender: String
    package var reference: String
    package var difference: RowDifference

    @_spi(Benchmarks) public var description: String {
        "\(workload): \(contender) answers differently from \(reference): \(difference)"
    }
}
