import Testing
@testable @_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStoreSQLite

/// The comparison the benchmark trusts before it times anything: equal answers pass; any
/// altered value, a missing or an extra row, a real beyond the tolerance is a difference at
/// the right row.
@Suite("Answer comparison")
struct AnswerComparisonTests {
    let comparison = AnswerComparison()
    let reference = [
        CanonicalRow([.id(81_384_788_765_712_384), .integer(120), .integer(1)]),
        CanonicalRow([.id(80_351_110_224_678_912), .integer(97), .integer(2)]),
        CanonicalRow([.text("online"), .real(1_234.5), .null]),
    ]

    @Test("equal answers, and reals within the relative tolerance, pass")
    func equalAnswersPass() throws {
        #expect(comparison.firstDifference(reference: reference, candidate: reference) == nil)
        var close = reference
        close[2].values[1] = .real(1_234.5 * (1 + 1e-12))
        #expect(comparison.firstDifference(reference: reference, candidate: close) == nil)
        #expect(comparison.firstDifference(reference: [], candidate: []) == nil)
    }

    @Test("an altered id, count, text, NULL or real is found at its row", arguments: [
        (1, 0, CanonicalValue.id(80_351_110_224_678_913)),
        (0, 1, CanonicalValue.integer(121)),
        (2, 0, CanonicalValue.text("offline")),
        (2, 2, CanonicalValue.integer(0)),
        (2, 1, CanonicalValue.real(1_234.5 * (1 + 1e-6))),
        (0, 0, CanonicalValue.integer(81_384_788_765_712_384)),  // the right number as the wrong kind
    ])
    func alteredValueIsFound(row: Int, column: Int, value: CanonicalValue) throws {
        var altered = reference
        altered[row].values[column] = value
        let difference = try #require(comparison.firstDifference(reference: reference, candidate: altered))
        #expect(difference.index == row)
        #expect(difference.expected == reference[row])
        #expect(difference.actual == altered[row])
    }

    @Test("a missing row, an extra row and a different order are differences")
    func rowCountAndOrder() throws {
        let missing = try #require(comparison.firstDifference(reference: reference, candidate: Array(reference.prefix(2))))
        #expect(missing.index == 2 && missing.actual == nil && missing.candidateRows == 2)
        let extra = try #require(comparison.firstDifference(reference: Array(reference.prefix(1)), candidate: reference))
        #expect(extra.index == 1 && extra.expected == nil)
        let swapped = try #require(comparison.firstDifference(reference: reference, candidate: [reference[1], reference[0], reference[2]]))
        #expect(swapped.index == 0)
    }

    @Test("check throws a mismatch naming the workload, the contender and the row")
    func checkThrows() throws {
        var altered = reference
        altered[1].values[1] = .integer(98)
        let error = #expect(throws: BenchError.self) {
            try comparison.check(workload: "leaderboard · busiest · 30 days", reference: ("SQLite (seed indexes)", reference),
                                 candidate: ("GuildStore", altered))
        }
        guard case .answerMismatch(let mismatch)? = error else {
            Issue.record("expected a mismatch, got \(String(describing: error))")
            return
        }
        #expect(mismatch.workload == "leaderboard · busiest · 30 days")
        #expect(mismatch.contender == "GuildStore")
        #expect(mismatch.reference == "SQLite (seed indexes)")
        #expect(mismatch.difference.index == 1)
        #expect("\(mismatch)".contains("row 2"))
    }

    @Test("SQLite values become canonical by column kind; a wrong storage class is an error")
    func sqliteConversion() throws {
        let row = try CanonicalRow(sqlite: [.integer(-1), .integer(5), .real(2.5), .text("x"), .null], kinds: [.id, .integer, .real, .text, .integer])
        #expect(row == CanonicalRow([.id(UInt64.max), .integer(5), .real(2.5), .text("x"), .null]))
        #expect(throws: BenchError.self) { try CanonicalRow(sqlite: [.real(1.5)], kinds: [.id]) }
        #expect(throws: BenchError.self) { try CanonicalRow(sqlite: [.integer(1)], kinds: [.id, .integer]) }
    }
}
