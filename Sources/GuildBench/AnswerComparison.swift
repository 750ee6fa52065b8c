/// Compares two contenders' answers to one workload, row for row and in order: ids, integers
/// and text exactly, reals within a relative tolerance (SQLite and Swift may sum a mean's
/// terms in a different order).
public struct AnswerComparison: Sendable {
    /// The largest accepted `|a - b| / max(|a|, |b|)` between two reals.
    public var relativeTolerance: Double

    public init(relativeTolerance: Double = 1e-9) {
        self.relativeTolerance = relativeTolerance
    }

    /// Nil when `candidate` equals `reference`; otherwise the first row where they differ
    /// (a row one has and the other has not counts as differing).
    public func firstDifference(reference: [CanonicalRow], candidate: [CanonicalRow]) -> RowDifference? {
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
    public func check(workload: String, reference: (contender: String, rows: [CanonicalRow]),
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
public struct RowDifference: Sendable, Hashable, CustomStringConvertible {
    /// The row's position (0-based).
    public var index: Int
    /// The reference's row there; nil when the reference has fewer rows.
    public var expected: CanonicalRow?
    /// The candidate's row there; nil when the candidate has fewer rows.
    public var actual: CanonicalRow?
    public var referenceRows: Int
    public var candidateRows: Int

    public var description: String {
        "row \(index + 1): expected \(expected?.description ?? "no row"), got \(actual?.description ?? "no row")"
            + " (\(referenceRows) rows expected, \(candidateRows) given)"
    }
}

/// A contender's answer that differs from the reference's: the benchmark stops, reports this
/// and prints no ratio.
public struct AnswerMismatch: Sendable, Hashable, CustomStringConvertible {
    public var workload: String
    public var contender: String
    public var reference: String
    public var difference: RowDifference

    public var description: String {
        "\(workload): \(contender) answers differently from \(reference): \(difference)"
    }
}
