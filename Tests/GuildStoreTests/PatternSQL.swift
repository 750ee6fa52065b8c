import GuildBench
@_spi(Benchmarks) import GuildStoreSQLite
import GuildStoreEngine
@testable import GuildStore

// The twelve query patterns (member growth twice, once per bucket width) as two answers to
// the same question: GuildStore's typed method and the SQL run by SQLite on an export
// with integer ids. Both answers come back as rows of `SQLiteValue`, so they compare row for
// row and in order. Shared by GuildQueryTests and PatternDifferentialTests.

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

/// One query pattern: its SQL, its parameters, and GuildStore's answer as SQL rows.
enum QueryPattern: String, CaseIterable, Sendable {
    case activeGuilds = "active-guilds"
    case guildMemberCount = "guild-member-count"
    case guildStats = "guild-stats"
    case userStats = "user-stats"
    case leaderboard
    case voiceActivity = "voice-activity"
    case hourlyActivity = "hourly-activity"
    case memberGrowthHour = "member-growth (hour)"
    case memberGrowthDay = "member-growth (day)"
    case presenceDistribution = "presence-distribution"
    case activeUsers = "active-users"
    case dueReminders = "due-reminders"
    case reminderTargets = "reminder-targets"

    /// The SQL, for seed 004's schema as `SQLiteExport` writes it with integer ids: the
    /// one definition the benchmark prepares too (`GuildQueryPattern.sql`).
    var sql: String {
        switch self {
        case .activeGuilds: GuildQueryPattern.activeGuilds.sql
        case .guildMemberCount: GuildQueryPattern.guildMemberCount.sql
        case .guildStats: GuildQueryPattern.guildStats.sql
        case .userStats: GuildQueryPattern.userStats.sql
        case .leaderboard: GuildQueryPattern.leaderboard.sql
        case .voiceActivity: GuildQueryPattern.voiceActivity.sql
        case .hourlyActivity: GuildQueryPattern.hourlyActivity.sql
        case .memberGrowthHour, .memberGrowthDay: GuildQueryPattern.memberGrowth.sql
        case .presenceDistribution: GuildQueryPattern.presenceDistribution.sql
        case .activeUsers: GuildQueryPattern.activeUsers.sql
        case .dueReminders: GuildQueryPattern.dueReminders.sql
        case .reminderTargets: GuildQueryPattern.reminderTargets.sql
        }
    }

    /// The bucket width of member growth.
    var bucket: TimeBucket? {
        switch self {
        case .memberGrowthHour: .hour
        case .memberGrowthDay: .day
        default: nil
        }
    }

    /// The SQL's parameters for `inputs`.
    func parameters(_ inputs: PatternInputs) -> [SQLiteValue] {
        typealias P = PatternSQL
        let range: [SQLiteValue] = [P.id(inputs.guild), .integer(inputs.since), P.until(inputs.until)]
        let limit = SQLiteValue.integer(Int64(inputs.limit))
        switch self {
        case .activeGuilds: return [limit]
        case .guildMemberCount, .activeUsers: return [P.id(inputs.guild)]
        case .guildStats, .dueReminders: return [.integer(inputs.now)]
        case .userStats: return [P.id(inputs.guild), P.id(inputs.user), .integer(inputs.since), P.until(inputs.until)]
        case .leaderboard, .voiceActivity: return range + [limit]
        case .hourlyActivity, .presenceDistribution: return range
        case .memberGrowthHour, .memberGrowthDay:
            let width = SQLiteValue.integer(bucket!.rawValue)
            return [width, width] + range
        case .reminderTargets: return [P.id(inputs.event), P.id(inputs.event)]
        }
    }

    /// SQLite's answer.
    func expected(_ sqlite: SQLiteConnection, _ inputs: PatternInputs) throws -> [[SQLiteValue]] {
        try sqlite.query(sql, parameters(inputs))
    }

    /// GuildStore's answer, as the rows the SQL would give.
    func rows(_ tx: Transaction, _ inputs: PatternInputs) throws -> [[SQLiteValue]] {
        typealias P = PatternSQL
        let (guild, since, until, limit) = (inputs.guild, inputs.since, inputs.until, inputs.limit)
        switch self {
        case .activeGuilds:
            return try tx.activeGuilds(limit: limit).map { [P.id($0.id), P.text($0.name), P.int($0.memberCount), .integer($0.createdAt)] }
        case .guildMemberCount:
            return try tx.guildMemberCount(guild: guild).map { [[P.id($0.id), P.text($0.name), .integer($0.memberCount)]] } ?? []
        case .guildStats:
            return try tx.guildStats(now: inputs.now).map {
                [P.id($0.id), P.text($0.name), .integer($0.memberCount), P.int($0.lastJoin), P.real($0.averageMemberAgeSeconds)]
            }
        case .userStats:
            let stats = try tx.userStats(guild: guild, user: inputs.user, since: since, until: until)
            return [[.integer(stats.messageCount), .integer(stats.totalCharacters), .integer(stats.attachments)]]
        case .leaderboard:
            return try tx.leaderboard(guild: guild, since: since, until: until, limit: limit).map {
                [P.id($0.userID), .integer($0.messageCount), .integer($0.rank)]
            }
        case .voiceActivity:
            return try tx.voiceActivity(guild: guild, since: since, until: until, limit: limit).map {
                [P.id($0.userID), .integer($0.totalVoiceTime), .integer($0.sessionCount)]
            }
        case .hourlyActivity:
            return try tx.hourlyActivity(guild: guild, since: since, until: until).map {
                [.integer($0.hour), .integer($0.messages), .integer($0.uniqueUsers)]
            }
        case .memberGrowthHour, .memberGrowthDay:
            return try tx.memberGrowth(guild: guild, since: since, until: until, bucket: bucket!).map {
                [.integer($0.bucket), .integer($0.joins), .integer($0.leaves)]
            }
        case .presenceDistribution:
            return try tx.presenceDistribution(guild: guild, since: since, until: until).map { [P.text($0.status), .integer($0.events)] }
        case .activeUsers:
            return try tx.activeUsers(guild: guild).map { [P.id($0.userID), .text($0.status)] }
        case .dueReminders:
            return try tx.dueReminders(now: inputs.now).map {
                [P.id($0.id), P.id($0.guildID), P.id($0.channelID), P.id($0.messageID), .text($0.title), P.int($0.dueAt)]
            }
        case .reminderTargets:
            return try tx.reminderTargets(event: inputs.event).map { [P.id($0)] }
        }
    }
}

/// Conversions between GuildStore's values and SQLite's, and the comparison of answers.
enum PatternSQL {
    static func id(_ value: UInt64) -> SQLiteValue { .integer(Int64(bitPattern: value)) }
    static func id(_ value: UInt64?) -> SQLiteValue { value.map { id($0) } ?? .null }
    static func int(_ value: Int64?) -> SQLiteValue { value.map { .integer($0) } ?? .null }
    static func text(_ value: String?) -> SQLiteValue { value.map { .text($0) } ?? .null }
    static func real(_ value: Double?) -> SQLiteValue { value.map { .real($0) } ?? .null }
    /// A nil `until` is no bound: every timestamp is below `Int64.max`.
    static func until(_ value: Int64?) -> SQLiteValue { .integer(value ?? .max) }

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
