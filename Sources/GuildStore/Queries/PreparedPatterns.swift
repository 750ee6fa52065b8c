import GuildStoreEngine

/// The query patterns' aggregates, prepared once for the process (`PreparedAggregate`): each
/// run binds its guild, user and time range; nothing is looked up by name per call.
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
}
