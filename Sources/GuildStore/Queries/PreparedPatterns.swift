import GuildStoreEngine

/// The query patterns' walks and aggregates, prepared once for the process (`PreparedScan`,
/// `PreparedAggregate`): each run binds its guild, user and time range; no plan is chosen and
/// nothing is looked up by name per call.
enum PreparedPatterns {
    static let userStats = PreparedAggregate(
        "message_events", equals: ["guild_id", "user_id"], range: "created_at",
        [.count, .sum("character_count"), .countWhere("has_attachment", equals: true)])

    static let leaderboard = PreparedAggregate(
        "message_events", equals: ["guild_id"], range: "created_at", groupBy: [.column("user_id")], [.count],
        orderBy: [.aggregate(0)])

    static let voiceActivity = PreparedAggregate(
        "voice_events", equals: ["guild_id", "event_type"], range: "created_at", groupBy: [.column("user_id")],
        [.sum("duration"), .count], orderBy: [.aggregate(0)])

    static let hourlyActivity = PreparedAggregate(
        "message_events", equals: ["guild_id"], range: "created_at", groupBy: [.hour("created_at")],
        [.count, .countDistinct("user_id")])

    /// Member growth per bucket width.
    static let memberGrowth: [TimeBucket: PreparedAggregate] = Dictionary(uniqueKeysWithValues: TimeBucket.allCases.map { width in
        (width, PreparedAggregate("member_events", equals: ["guild_id"], range: "created_at",
                                  groupBy: [.timeBucket("created_at", seconds: width.rawValue)],
                                  [.countWhere("event_type", equals: "join"), .countWhere("event_type", equals: "leave")]))
    })

    static let presenceDistribution = PreparedAggregate(
        "presence_events", equals: ["guild_id"], range: "created_at", groupBy: [.column("status")], [.count],
        orderBy: [.aggregate(0)])

    /// Members, joined members and the sum of join times, per guild (guild stats).
    static let membersPerGuild = PreparedAggregate(
        "members", groupBy: [.column("guild_id")], [.count, .countNonNull("joined_at"), .sum("joined_at")])

    /// Members per guild (guild member count), from the members' rollup `by_guild`.
    static let memberCount = PreparedAggregate("members", equals: ["guild_id"], [.count])

    /// Each user's presence events in a guild, by user, each user's latest last (active users):
    /// `reading` is user, status, then what orders a user's events when the walk does not.
    static let presenceByUser = PreparedScan(
        "presence_events", equals: ["guild_id"], orderBy: [.ascending("user_id"), .ascending("created_at"), .ascending("id")],
        reading: ["user_id", "status", "created_at", "id"])

    /// A guild's members by user id (active users, reminder targets).
    static let membersByUser = PreparedScan("members", equals: ["guild_id"], orderBy: [.ascending("user_id")], reading: ["user_id"])

    /// A guild's members, latest join first (guild stats).
    static let membersByJoin = PreparedScan("members", equals: ["guild_id"], orderBy: [.descending("joined_at")], reading: ["joined_at"])

    /// Active guilds, newest first (active guilds).
    static let activeGuilds = PreparedScan(
        "guilds", equals: ["is_active"], orderBy: [.descending("created_at"), .descending("id")],
        reading: ["id", "name", "member_count", "created_at"])

    /// Active guilds' ids and names (guild stats).
    static let activeGuildNames = PreparedScan("guilds", equals: ["is_active"], reading: ["id", "name"])

    /// What a due reminder reads of its event.
    static let dueReminderColumns = ["id", "guild_id", "channel_id", "message_id", "title", "last_reminder", "interval_minutes"]

    /// Reminder events not paused (due reminders).
    static let remindersNotPaused = PreparedScan("reminder_events", equals: ["is_paused"], reading: dueReminderColumns)

    /// The users who reacted to an event (reminder targets).
    static let reactors = PreparedScan("reactions", equals: ["event_id"], reading: ["user_id"])

    /// The bots' user ids (reminder targets).
    static let bots = PreparedScan("users", equals: ["bot"], reading: ["id"])

    /// A guild's events of one table, newest first (the latest event time), per event table.
    static let newestEvents: [String: PreparedScan] = Dictionary(uniqueKeysWithValues: GuildTables.eventTables.map { events in
        (events.name, PreparedScan(events.name, equals: ["guild_id"], orderBy: [.descending("created_at")], reading: ["created_at"]))
    })
}
