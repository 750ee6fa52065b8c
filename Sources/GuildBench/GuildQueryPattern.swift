/// The seeds' twelve query patterns, by their command-line names (`guildstore query NAME`),
/// each with the SQL's result columns and what kind of value each column holds.
///
/// The SQL text and its parameters are in `GuildQueryPattern+SQL.swift`, how GuildStore
/// answers each one in `GuildQueryPattern+GuildStore.swift`; both give rows in the columns'
/// order so their answers can be compared canonically (`CanonicalRow`).
@_spi(Benchmarks) public enum GuildQueryPattern: String, CaseIterable, Sendable, Codable {
    case activeGuilds = "active-guilds"
    case guildMemberCount = "guild-member-count"
    case guildStats = "guild-stats"
    case userStats = "user-stats"
    case leaderboard
    case voiceActivity = "voice-activity"
    case hourlyActivity = "hourly-activity"
    case memberGrowth = "member-growth"
    case presenceDistribution = "presence-distribution"
    case activeUsers = "active-users"
    case dueReminders = "due-reminders"
    case reminderTargets = "reminder-targets"

    /// The SQL's result columns, by name and kind, in order.
    package var columns: [(name: String, kind: ColumnKind)] {
        switch self {
        case .activeGuilds: [("id", .id), ("name", .text), ("member_count", .integer), ("created_at", .integer)]
        case .guildMemberCount: [("id", .id), ("name", .text), ("member_count", .integer)]
        case .guildStats:
            [("id", .id), ("name", .text), ("member_count", .integer), ("last_join", .integer), ("avg_member_age_seconds", .real)]
        case .userStats: [("message_count", .integer), ("total_characters", .integer), ("attachments", .integer)]
        case .leaderboard: [("user_id", .id), ("message_count", .integer), ("rank", .integer)]
        case .voiceActivity: [("user_id", .id), ("total_voice_time", .integer), ("session_count", .integer)]
        case .hourlyActivity: [("hour", .integer), ("messages", .integer), ("unique_users", .integer)]
        case .memberGrowth: [("bucket", .integer), ("joins", .integer), ("leaves", .integer)]
        case .presenceDistribution: [("status", .text), ("events", .integer)]
        case .activeUsers: [("user_id", .id), ("status", .text)]
        case .dueReminders: [("id", .id), ("guild_id", .id), ("channel_id", .id), ("message_id", .id), ("title", .text), ("due_at", .integer)]
        case .reminderTargets: [("user_id", .id)]
        }
    }

    /// The column kinds alone, for turning SQLite rows into canonical ones.
    package var columnKinds: [ColumnKind] { columns.map(\.kind) }

    /// Whether the pattern asks about one guild (and so runs on the busiest, a median and an
    /// empty guild).
    package var takesGuild: Bool {
        switch self {
        case .guildMemberCount, .userStats, .leaderboard, .voiceActivity, .hourlyActivity, .memberGrowth,
             .presenceDistribution, .activeUsers: true
        case .activeGuilds, .guildStats, .dueReminders, .reminderTargets: false
        }
    }

    /// Whether the pattern takes a `since` / `until` range (and so runs on 1 day, 30 days and
    /// all time).
    package var takesTimeRange: Bool {
        switch self {
        case .userStats, .leaderboard, .voiceActivity, .hourlyActivity, .memberGrowth, .presenceDistribution: true
        default: false
        }
    }
}
