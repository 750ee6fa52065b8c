@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStoreSQLite
@_spi(Benchmarks) import GuildStoreEngine
@testable @_spi(Benchmarks) import GuildStore

// The twelve query patterns (member growth twice, once per bucket width) as two answers to
// the same question: GuildStore's typed method and the issue's SQL run by SQLite on an export
// with integer ids, both as GuildBench runs them (`GuildQueryPattern`). Both answers come back
// as rows of `SQLiteValue`, so they compare row for row and in order. Shared by GuildQueryTests
// and PatternDifferentialTests.

/// The inputs of one run of the patterns; each pattern reads the ones it takes.
struct PatternInputs: Sendable, Hashable, CustomStringConvertible {
    var guild: UInt64 = 0
    var user: UInt64 = 0
    var since: Int64 = 0
    /// nil: no upper bound (the SQL binds `Int64.max`).
    var until: Int64? = nil
    var limit: Int = 10
    /// The present of guild-stats and due-reminders.
    var now: Int64 = 0
    /// The reminder event of reminder-targets.
    var event: UInt64 = 0

    var description: String {
        "guild: \(guild), user: \(user), since: \(since) (\(PatternSQL.time(since))), until: "
            + (until.map { "\($0) (\(PatternSQL.time($0)))" } ?? "nil") + ", limit: \(limit), now: \(now) (\(PatternSQL.time(now))), event: \(event)"
    }
}

/// One query pattern as the tests run it: GuildBench's `GuildQueryPattern` (its SQL, its
/// parameters and GuildStore's answer are the ones the benchmark runs), member growth once per
/// bucket width, with both answers as SQL rows.
struct QueryPattern: Hashable, Sendable {
    var pattern: GuildQueryPattern
    var bucket: TimeBucket = .hour

    /// Every pattern, member growth by the hour and by the day.
    static let allCases: [QueryPattern] = GuildQueryPattern.allCases.flatMap { pattern in
        pattern == .memberGrowth ? TimeBucket.allCases.map { QueryPattern(pattern: pattern, bucket: $0) } : [QueryPattern(pattern: pattern)]
    }

    /// `member-growth (hour)`, `leaderboard`, ...
    var rawValue: String {
        pattern == .memberGrowth ? "\(pattern.rawValue) (\(bucket == .hour ? "hour" : "day"))" : pattern.rawValue
    }

    /// The issue's SQL, for seed 004's schema as `SQLiteExport` writes it with integer ids.
    var sql: String { pattern.sql }

    /// `inputs` as GuildBench asks them, with this case's bucket width.
    func benchInputs(_ inputs: PatternInputs) -> GuildBench.PatternInputs {
        GuildBench.PatternInputs(guild: inputs.guild, user: inputs.user, since: inputs.since, until: inputs.until, limit: inputs.limit,
                                 bucket: bucket, now: inputs.now, event: inputs.event)
    }

    /// The SQL's parameters for `inputs`.
    func parameters(_ inputs: PatternInputs) throws -> [SQLiteValue] {
        try pattern.sqliteParameters(benchInputs(inputs))
    }

    /// SQLite's answer.
    func expected(_ sqlite: SQLiteConnection, _ inputs: PatternInputs) throws -> [[SQLiteValue]] {
        try sqlite.query(sql, parameters(inputs))
    }

    /// GuildStore's answer (its typed method), as the rows the SQL would give.
    func rows(_ tx: Transaction, _ inputs: PatternInputs) throws -> [[SQLiteValue]] {
        try pattern.answer(on: tx, benchInputs(inputs)).rows().map { row in row.values.map(PatternSQL.sqlite) }
    }
}

/// Conversions between GuildStore's values and SQLite's, and the comparison of answers.
enum PatternSQL {
    static func id(_ value: UInt64) -> SQLiteValue { .integer(Int64(bitPattern: value)) }

    /// A value of ours as the export writes it with integer ids (`SQLiteValueMapping`, restated
    /// here so the tests do not lean on the code they check).
    static func sqlite(_ value: Value) -> SQLiteValue {
        switch value {
        case .null: .null
        case .uint(let v): .integer(Int64(bitPattern: v))
        case .int(let v), .timestamp(let v): .integer(v)
        case .bool(let v): .integer(v ? 1 : 0)
        case .double(let v): .real(v)
        case .text(let s), .json(let s): .text(s)
        case .bytes(let b): .blob(b)
        }
    }

    /// A canonical answer's value as SQLite gives it (ids as their `Int64` bit pattern).
    static func sqlite(_ value: CanonicalValue) -> SQLiteValue {
        switch value {
        case .null: .null
        case .id(let v): id(v)
        case .integer(let v): .integer(v)
        case .real(let v): .real(v)
        case .text(let s): .text(s)
        }
    }

    /// The ids in the first column of `rows` (integers).
    static func ids(_ rows: [[SQLiteValue]]) -> [UInt64] {
        rows.compactMap { row in if case .integer(let v)? = row.first { UInt64(bitPattern: v) } else { nil } }
    }

    /// Whether two values are equal, reals within a relative 1e-9 (an average summed in another
    /// order differs in its last bits).
    static func same(_ a: SQLiteValue, _ b: SQLiteValue) -> Bool {
        switch (a, b) {
        case (.real(let x), .real(let y)):
            x == y || abs(x - y) <= 1e-9 * max(abs(x), abs(y))
        default:
            a == b
        }
    }

    /// nil when `ours` equals `expected` row for row; otherwise where and how they first differ.
    static func firstDifference(_ ours: [[SQLiteValue]], _ expected: [[SQLiteValue]]) -> String? {
        for (i, (a, b)) in zip(ours, expected).enumerated() {
            guard a.count == b.count, zip(a, b).allSatisfy({ same($0, $1) }) else {
                return "row \(i) differs: ours \(showRow(a)), SQLite \(showRow(b))"
            }
        }
        if ours.count < expected.count { return "ours ends after \(ours.count) rows; SQLite's row \(ours.count) is \(showRow(expected[ours.count]))" }
        if ours.count > expected.count { return "SQLite ends after \(expected.count) rows; our row \(expected.count) is \(showRow(ours[expected.count]))" }
        return nil
    }

    static func showRow(_ row: [SQLiteValue]) -> String { "(" + row.map(\.description).joined(separator: ", ") + ")" }

    /// At most `limit` rows, for a failure message.
    static func show(_ rows: [[SQLiteValue]], limit: Int = 12) -> String {
        let shown = rows.prefix(limit).map(showRow).joined(separator: " ")
        return "\(rows.count) rows: [" + shown + (rows.count > limit ? " …" : "") + "]"
    }

    /// `seconds` as a UTC date and time, for messages (`2025-05-31 13:04:05`).
    static func time(_ seconds: Int64) -> String {
        let day = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let second = seconds - day * 86_400
        // Civil date from days since 1970 (Howard Hinnant's algorithm).
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(second / 3_600)):\(two(second / 60 % 60)):\(two(second % 60))"
    }
}
