import ArgumentParser
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// What a query pattern may take from the command line.
struct QueryInputs: Sendable {
    var guild: UInt64?
    var user: UInt64?
    var since: Int64 = 0
    var until: Int64?
    var limit: Int = 10
    var bucket: TimeBucket = .hour
    var now: Int64
    var event: UInt64?

    func required<T>(_ value: T?, _ flag: String, for pattern: QueryPattern) throws -> T {
        guard let value else { throw ValidationError("\(pattern.rawValue) needs \(flag)") }
        return value
    }
}

/// The seeds' query patterns by their command-line names: `GuildBench`'s one list of them
/// (names, result columns, SQL), with what the command line adds: the options each needs and
/// the typed method that answers it.
typealias QueryPattern = GuildQueryPattern

extension GuildQueryPattern: ExpressibleByArgument {
    /// The SQL's column names (the keys of `--json` rows).
    var columnNames: [String] { columns.map(\.name) }

    /// The options the pattern cannot run without.
    var requiredOptions: [String] {
        switch self {
        case .activeGuilds, .guildStats, .dueReminders: []
        case .userStats: ["--guild", "--user"]
        case .reminderTargets: ["--event"]
        default: ["--guild"]
        }
    }

    /// Runs the pattern on a snapshot; one array of values per result row, in `columnNames` order.
    func run(_ tx: Transaction, _ inputs: QueryInputs) throws -> [[JSONValue]] {
        switch self {
        case .activeGuilds:
            return try tx.activeGuilds(limit: inputs.limit).map {
                [.id($0.id), .optional($0.name), .optional($0.memberCount), .int($0.createdAt)]
            }
        case .guildMemberCount:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.guildMemberCount(guild: guild).map { [[.id($0.id), .optional($0.name), .int($0.memberCount)]] } ?? []
        case .guildStats:
            return try tx.guildStats(now: inputs.now).map {
                [.id($0.id), .optional($0.name), .int($0.memberCount), .optional($0.lastJoin), .optional($0.averageMemberAgeSeconds)]
            }
        case .userStats:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            let user = try inputs.required(inputs.user, "--user", for: self)
            let stats = try tx.userStats(guild: guild, user: user, since: inputs.since, until: inputs.until)
            return [[.int(stats.messageCount), .int(stats.totalCharacters), .int(stats.attachments)]]
        case .leaderboard:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.leaderboard(guild: guild, since: inputs.since, until: inputs.until, limit: inputs.limit).map {
                [.id($0.userID), .int($0.messageCount), .int($0.rank)]
            }
        case .voiceActivity:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.voiceActivity(guild: guild, since: inputs.since, until: inputs.until, limit: inputs.limit).map {
                [.id($0.userID), .int($0.totalVoiceTime), .int($0.sessionCount)]
            }
        case .hourlyActivity:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.hourlyActivity(guild: guild, since: inputs.since, until: inputs.until).map {
                [.int($0.hour), .int($0.messages), .int($0.uniqueUsers)]
            }
        case .memberGrowth:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.memberGrowth(guild: guild, since: inputs.since, until: inputs.until, bucket: inputs.bucket).map {
                [.int($0.bucket), .int($0.joins), .int($0.leaves)]
            }
        case .presenceDistribution:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.presenceDistribution(guild: guild, since: inputs.since, until: inputs.until).map {
                [.optional($0.status), .int($0.events)]
            }
        case .activeUsers:
            let guild = try inputs.required(inputs.guild, "--guild", for: self)
            return try tx.activeUsers(guild: guild).map { [.id($0.userID), .string($0.status)] }
        case .dueReminders:
            return try tx.dueReminders(now: inputs.now).map {
                [.id($0.id), .id($0.guildID), .id($0.channelID), .id($0.messageID), .string($0.title), .optional($0.dueAt)]
            }
        case .reminderTargets:
            let event = try inputs.required(inputs.event, "--event", for: self)
            return try tx.reminderTargets(event: event).map { [.id($0)] }
        }
    }

    /// `{"pattern": ..., "rows": [{column: value, ...}, ...]}`.
    func json(_ rows: [[JSONValue]]) -> JSONValue {
        .object([("pattern", .string(rawValue)),
                 ("rows", .array(rows.map { row in .object(Array(zip(columnNames, row))) }))])
    }

    /// A text table: a header line, then one line per row, columns padded to their widest cell.
    func table(_ rows: [[JSONValue]]) -> String {
        textTable([columnNames] + rows.map { $0.map(\.cell) })
    }
}

/// `--bucket hour|day`.
enum BucketOption: String, CaseIterable, ExpressibleByArgument, Sendable {
    case hour, day

    var bucket: TimeBucket { self == .hour ? .hour : .day }
}
