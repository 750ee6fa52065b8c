import GuildStoreEngine

// The activity query patterns over the event tables (seeds 001 and 004). Time ranges are
// half-open, `since <= created_at < until`; a nil `until` has no upper bound. Each pattern
// walks one index over exactly its guild (and user) and time range, and reads the index
// entries alone: the covering columns are declared in `GuildTables`.

/// One user's messages in one guild and time range (`userStats(guild:user:since:until:)`).
///
/// ```swift
/// let stats = try await db.read { tx in try tx.userStats(guild: guild, user: user, since: now - 7 * 86_400) }
/// print(stats.messageCount, stats.totalCharacters, stats.attachments)
/// ```
public struct UserStats: Sendable, Hashable, Codable {
    public var messageCount: Int64
    public var totalCharacters: Int64
    public var attachments: Int64
}

/// One row of a guild's message leaderboard (`leaderboard(guild:since:until:limit:)`).
///
/// ```swift
/// let board = try await db.read { tx in try tx.leaderboard(guild: guild, since: now - 86_400, limit: 10) }
/// for entry in board { print(entry.rank, entry.userID, entry.messageCount) }
/// ```
public struct LeaderboardEntry: Sendable, Hashable, Codable {
    public var userID: UInt64
    public var messageCount: Int64
    /// SQL's `RANK()`: 1 + the number of users with more messages (ties share a rank).
    public var rank: Int64
}

/// One user's voice time in a guild (`voiceActivity(guild:since:until:limit:)`).
///
/// ```swift
/// let voice = try await db.read { tx in try tx.voiceActivity(guild: guild, since: now - 86_400, limit: 10) }
/// for user in voice { print(user.userID, user.totalVoiceTime / 1_000, user.sessionCount) }
/// ```
public struct VoiceActivity: Sendable, Hashable, Codable {
    public var userID: UInt64
    /// Milliseconds.
    public var totalVoiceTime: Int64
    public var sessionCount: Int64
}

/// One hour of a guild's messages (`hourlyActivity(guild:since:until:)`).
///
/// ```swift
/// let hours = try await db.read { tx in try tx.hourlyActivity(guild: guild, since: now - 86_400) }
/// for hour in hours { print(hour.hour, hour.messages, hour.uniqueUsers) }
/// ```
public struct HourlyActivity: Sendable, Hashable, Codable {
    /// The hour's first second.
    public var hour: Int64
    public var messages: Int64
    public var uniqueUsers: Int64
}

/// Joins and leaves of a guild in one hour or day (`memberGrowth(guild:since:until:bucket:)`).
///
/// ```swift
/// let growth = try await db.read { tx in try tx.memberGrowth(guild: guild, since: now - 30 * 86_400, bucket: .day) }
/// for day in growth { print(day.bucket, day.joins - day.leaves) }
/// ```
public struct MemberGrowth: Sendable, Hashable, Codable {
    /// The bucket's first second.
    public var bucket: Int64
    public var joins: Int64
    public var leaves: Int64
}

/// How many presence events of a guild had one status (`presenceDistribution(guild:since:until:)`).
///
/// ```swift
/// let statuses = try await db.read { tx in try tx.presenceDistribution(guild: guild, since: now - 86_400) }
/// for count in statuses { print(count.status ?? "unknown", count.events) }
/// ```
public struct PresenceCount: Sendable, Hashable, Codable {
    /// Nil for events without a status.
    public var status: String?
    public var events: Int64
}

/// A member whose latest presence is not `offline` (`activeUsers(guild:)`).
///
/// ```swift
/// let online = try await db.read { tx in try tx.activeUsers(guild: guild) }
/// for user in online { print(user.userID, user.status) }
/// ```
public struct ActiveUser: Sendable, Hashable, Codable {
    public var userID: UInt64
    public var status: String
}

/// The bucket widths of `memberGrowth`.
///
/// ```swift
/// let hourly = try await db.read { tx in try tx.memberGrowth(guild: guild, since: now - 86_400, bucket: .hour) }
/// let daily = try await db.read { tx in try tx.memberGrowth(guild: guild, since: now - 30 * 86_400, bucket: .day) }
/// ```
public enum TimeBucket: Int64, Sendable, Hashable, CaseIterable {
    case hour = 3_600
    case day = 86_400
}

extension Transaction {
    /// The latest `created_at` of the gateway event tables (`GuildTables.eventTables`); nil
    /// when they hold no event. The data's own "now": events imported or ingested from another
    /// time are measured against themselves, not against the clock.
    ///
    ///     SELECT MAX(created_at) FROM (SELECT created_at FROM message_events UNION ALL
    ///       SELECT created_at FROM voice_events UNION ALL ... member_events ... presence_events)
    ///
    /// Every event names its guild (a foreign key), so this is one reverse seek per guild and
    /// table into its `(guild_id, created_at)` index, which ends at the guild's latest event:
    /// no event is read but those. Without such an index (a schema changed by hand) the
    /// guild's events are walked; the answer never depends on the plan.
    public final func latestEventTime() throws -> Int64? {
        let guilds = try select("guilds", columns: ["id"]).map { try $0.uint("id") }
        var latest: Int64?
        for events in GuildTables.eventTables {
            guard let newest = PreparedPatterns.newestEvents[events.name] else { continue }
            for guild in guilds {
                let scan = try walkPlan(newest, equals: [.uint(guild)])
                let (createdAt, ordered) = (scan.columns[0], scan.ordered)
                try walk(scan.plan, reading: scan.columns) { values in
                    if case .timestamp(let time) = values[createdAt] { latest = max(latest ?? time, time) }
                    return !ordered
                }
            }
        }
        return latest
    }

    /// One user's messages in one guild.
    ///
    ///     SELECT COUNT(*) AS message_count, COALESCE(SUM(character_count), 0) AS total_characters,
    ///            COUNT(CASE WHEN has_attachment = 1 THEN 1 END) AS attachments
    ///     FROM message_events WHERE guild_id = G AND user_id = U AND created_at >= S AND created_at < E
    ///
    /// One walk of `idx_message_events_guild_user (guild_id, user_id, created_at)`.
    public final func userStats(guild: UInt64, user: UInt64, since: Int64, until: Int64? = nil) throws -> UserStats {
        let row = try aggregate(PreparedPatterns.userStats, equals: [.uint(guild), .uint(user)],
                                from: .timestamp(since), below: until.map { .timestamp($0) }).first
        return UserStats(messageCount: row?.int(0) ?? 0, totalCharacters: row?.int(1) ?? 0, attachments: row?.int(2) ?? 0)
    }

    /// The guild's most active users by messages.
    ///
    ///     SELECT user_id, COUNT(*) AS message_count, RANK() OVER (ORDER BY COUNT(*) DESC) AS rank
    ///     FROM message_events WHERE guild_id = G AND created_at >= S AND created_at < E
    ///     GROUP BY user_id ORDER BY message_count DESC, user_id ASC LIMIT N
    ///
    /// One walk of `idx_message_events_guild_time`, which carries `user_id`. A rank counts the
    /// users with more messages, who all come earlier in this order, so ranks within the first
    /// N equal the ranks over every user.
    public final func leaderboard(guild: UInt64, since: Int64, until: Int64? = nil, limit: Int) throws -> [LeaderboardEntry] {
        let rows = try aggregate(PreparedPatterns.leaderboard, equals: [.uint(guild)], from: .timestamp(since),
                                 below: until.map { .timestamp($0) }, limit: limit)
        var result: [LeaderboardEntry] = []
        result.reserveCapacity(rows.count)
        for (position, row) in rows.enumerated() {
            guard case .uint(let user) = row.group[0], let count = row.int(0) else { continue }
            let rank = result.last.map { $0.messageCount == count ? $0.rank : Int64(position + 1) } ?? 1
            result.append(LeaderboardEntry(userID: user, messageCount: count, rank: rank))
        }
        return result
    }

    /// Voice time per user, from the `leave` events that close sessions.
    ///
    ///     SELECT user_id, SUM(duration) AS total_voice_time, COUNT(*) AS session_count
    ///     FROM voice_events WHERE guild_id = G AND created_at >= S AND created_at < E AND event_type = 'leave'
    ///     GROUP BY user_id ORDER BY total_voice_time DESC, user_id ASC LIMIT N
    public final func voiceActivity(guild: UInt64, since: Int64, until: Int64? = nil, limit: Int) throws -> [VoiceActivity] {
        try aggregate(PreparedPatterns.voiceActivity, equals: [.uint(guild), "leave"], from: .timestamp(since),
                      below: until.map { .timestamp($0) }, limit: limit).compactMap { row in
            guard case .uint(let user) = row.group[0] else { return nil }
            return VoiceActivity(userID: user, totalVoiceTime: row.int(0) ?? 0, sessionCount: row.int(1) ?? 0)
        }
    }

    /// Messages and distinct authors per hour (seed 001's analytics).
    ///
    ///     SELECT created_at / 3600 * 3600 AS hour, COUNT(*) AS messages, COUNT(DISTINCT user_id) AS unique_users
    ///     FROM message_events WHERE guild_id = G AND created_at >= S AND created_at < E
    ///     GROUP BY hour ORDER BY hour
    public final func hourlyActivity(guild: UInt64, since: Int64, until: Int64? = nil) throws -> [HourlyActivity] {
        try aggregate(PreparedPatterns.hourlyActivity, equals: [.uint(guild)], from: .timestamp(since),
                      below: until.map { .timestamp($0) }).compactMap { row in
            guard let hour = row.timestamp(group: 0) else { return nil }
            return HourlyActivity(hour: hour, messages: row.int(0) ?? 0, uniqueUsers: row.int(1) ?? 0)
        }
    }

    /// Joins and leaves per hour or day.
    ///
    ///     SELECT created_at / B * B AS bucket, SUM(event_type = 'join') AS joins, SUM(event_type = 'leave') AS leaves
    ///     FROM member_events WHERE guild_id = G AND created_at >= S AND created_at < E
    ///     GROUP BY bucket ORDER BY bucket
    public final func memberGrowth(guild: UInt64, since: Int64, until: Int64? = nil, bucket: TimeBucket) throws -> [MemberGrowth] {
        guard let prepared = PreparedPatterns.memberGrowth[bucket] else { return [] }
        return try aggregate(prepared, equals: [.uint(guild)], from: .timestamp(since), below: until.map { .timestamp($0) }).compactMap { row in
            guard let start = row.timestamp(group: 0) else { return nil }
            return MemberGrowth(bucket: start, joins: row.int(0) ?? 0, leaves: row.int(1) ?? 0)
        }
    }

    /// Presence events per status, most frequent first.
    ///
    ///     SELECT status, COUNT(*) AS events FROM presence_events
    ///     WHERE guild_id = G AND created_at >= S AND created_at < E
    ///     GROUP BY status ORDER BY events DESC, status ASC
    public final func presenceDistribution(guild: UInt64, since: Int64, until: Int64? = nil) throws -> [PresenceCount] {
        try aggregate(PreparedPatterns.presenceDistribution, equals: [.uint(guild)], from: .timestamp(since),
                      below: until.map { .timestamp($0) }).map { row in
            var status: String?
            if case .text(let s) = row.group[0] { status = s }
            return PresenceCount(status: status, events: row.int(0) ?? 0)
        }
    }

    /// Members of the guild whose latest presence event there (greatest `created_at`, then
    /// greatest id) has a status other than `offline` (seed 001's active users), by user id.
    ///
    ///     SELECT m.user_id, p.status FROM members m
    ///     JOIN presence_events p ON p.id = (SELECT id FROM presence_events
    ///         WHERE guild_id = m.guild_id AND user_id = m.user_id ORDER BY created_at DESC, id DESC LIMIT 1)
    ///     WHERE m.guild_id = G AND p.status <> 'offline' ORDER BY m.user_id
    ///
    /// An ordered merge of two walks, no per-member lookup: the guild's entries of
    /// `idx_presence_events_guild_user (guild_id, user_id, created_at)` (which carries
    /// `status`) come by user, each user's latest last; the guild's members come by user from
    /// the members' primary key.
    public final func activeUsers(guild: UInt64) throws -> [ActiveUser] {
        let presence = try walkPlan(PreparedPatterns.presenceByUser, equals: [.uint(guild)])
        let (presenceUser, presenceStatus) = (presence.columns[0], presence.columns[1])
        // Each user's latest status, by user id. Without that index (a schema changed by
        // hand) the entries are sorted here: the answer never depends on the plan.
        var latest: [(user: UInt64, status: Value)] = []
        func keep(_ user: UInt64, _ status: Value) {
            if latest.last?.user == user {
                latest[latest.count - 1].status = status
            } else {
                latest.append((user, status))
            }
        }
        if presence.ordered {
            try walk(presence.plan, reading: [presenceUser, presenceStatus]) { values in
                if case .uint(let user) = values[presenceUser] { keep(user, values[presenceStatus]) }
                return true
            }
        } else {
            let (presenceTime, presenceID) = (presence.columns[2], presence.columns[3])
            var entries: [(user: UInt64, time: Value, id: Value, status: Value)] = []
            try walk(presence.plan, reading: presence.columns) { values in
                if case .uint(let user) = values[presenceUser] {
                    entries.append((user, values[presenceTime], values[presenceID], values[presenceStatus]))
                }
                return true
            }
            entries.sort { a, b in a.user != b.user ? a.user < b.user : a.time != b.time ? a.time < b.time : a.id < b.id }
            for entry in entries { keep(entry.user, entry.status) }
        }
        // No presence in the guild: no member is active, and its members need no walk.
        guard !latest.isEmpty else { return [] }
        let members = try walkPlan(PreparedPatterns.membersByUser, equals: [.uint(guild)])
        let memberUser = members.columns[0]
        var users: [UInt64] = []
        try walk(members.plan, reading: members.columns) { values in
            if case .uint(let user) = values[memberUser] { users.append(user) }
            return true
        }
        if !members.ordered { users.sort() }
        var result: [ActiveUser] = []
        var next = 0
        for user in users {
            while next < latest.count, latest[next].user < user { next += 1 }
            if next < latest.count, latest[next].user == user, case .text(let status) = latest[next].status, status != "offline" {
                result.append(ActiveUser(userID: user, status: status))
            }
        }
        return result
    }
}
