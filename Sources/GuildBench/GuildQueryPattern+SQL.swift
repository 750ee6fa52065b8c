@_spi(Benchmarks) import GuildStoreSQLite

/// Each pattern as the SQL that specifies it (the README's table), over the SQLite file
/// `SQLiteExport` writes with integer ids, and the parameters a `PatternInputs` binds to it.
///
/// This is the one definition of the patterns' SQL: the benchmark prepares these statements
/// once per workload and binds each run's inputs. Ranges are half-open (`created_at >= since
/// AND created_at < until`); a nil `until` binds `Int64.max`. Ids bind as `Int64` bit
/// patterns (every snowflake is below 2^63, see `IDAffinity.integer`).
extension GuildQueryPattern {
    /// The statement's text, with `?` parameters in `sqliteParameters`' order.
    @_spi(Benchmarks) public var sql: String {
        switch self {
        case .activeGuilds:
            """
            SELECT id, name, member_count, created_at FROM guilds WHERE is_active = 1
            ORDER BY created_at DESC, id DESC LIMIT ?
            """
        case .guildMemberCount:
            """
            SELECT g.id, g.name, COUNT(m.user_id) AS member_count FROM guilds g LEFT JOIN members m ON m.guild_id = g.id
            WHERE g.id = ? GROUP BY g.id
            """
        case .guildStats:
            """
            SELECT g.id, g.name, COUNT(m.user_id) AS member_count, MAX(m.joined_at) AS last_join,
                   AVG(? - m.joined_at) AS avg_member_age_seconds
            FROM guilds g LEFT JOIN members m ON m.guild_id = g.id WHERE g.is_active = 1
            GROUP BY g.id ORDER BY member_count DESC, g.id ASC
            """
        case .userStats:
            """
            SELECT COUNT(*) AS message_count, COALESCE(SUM(character_count), 0) AS total_characters,
                   COUNT(CASE WHEN has_attachment = 1 THEN 1 END) AS attachments
            FROM message_events WHERE guild_id = ? AND user_id = ? AND created_at >= ? AND created_at < ?
            """
        case .leaderboard:
            """
            SELECT user_id, COUNT(*) AS message_count, RANK() OVER (ORDER BY COUNT(*) DESC) AS rank
            FROM message_events WHERE guild_id = ? AND created_at >= ? AND created_at < ?
            GROUP BY user_id ORDER BY message_count DESC, user_id ASC LIMIT ?
            """
        case .voiceActivity:
            """
            SELECT user_id, SUM(duration) AS total_voice_time, COUNT(*) AS session_count
            FROM voice_events WHERE guild_id = ? AND created_at >= ? AND created_at < ? AND event_type = 'leave'
            GROUP BY user_id ORDER BY total_voice_time DESC, user_id ASC LIMIT ?
            """
        case .hourlyActivity:
            """
            SELECT created_at / 3600 * 3600 AS hour, COUNT(*) AS messages, COUNT(DISTINCT user_id) AS unique_users
            FROM message_events WHERE guild_id = ? AND created_at >= ? AND created_at < ?
            GROUP BY hour ORDER BY hour
            """
        case .memberGrowth:
            """
            SELECT created_at / ? * ? AS bucket, SUM(event_type = 'join') AS joins, SUM(event_type = 'leave') AS leaves
            FROM member_events WHERE guild_id = ? AND created_at >= ? AND created_at < ?
            GROUP BY bucket ORDER BY bucket
            """
        case .presenceDistribution:
            """
            SELECT status, COUNT(*) AS events FROM presence_events WHERE guild_id = ? AND created_at >= ? AND created_at < ?
            GROUP BY status ORDER BY events DESC, status ASC
            """
        case .activeUsers:
            """
            SELECT m.user_id, p.status FROM members m
            JOIN presence_events p ON p.id = (SELECT id FROM presence_events
                WHERE guild_id = m.guild_id AND user_id = m.user_id ORDER BY created_at DESC, id DESC LIMIT 1)
            WHERE m.guild_id = ? AND p.status <> 'offline' ORDER BY m.user_id
            """
        case .dueReminders:
            """
            SELECT id, guild_id, channel_id, message_id, title, last_reminder + interval_minutes * 60 AS due_at
            FROM reminder_events
            WHERE is_paused = 0 AND (last_reminder IS NULL OR last_reminder + interval_minutes * 60 <= ?)
            ORDER BY due_at, id
            """
        case .reminderTargets:
            """
            SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id
            WHERE m.guild_id = (SELECT guild_id FROM reminder_events WHERE id = ?) AND u.bot = 0
              AND NOT EXISTS (SELECT 1 FROM reactions r WHERE r.event_id = ? AND r.user_id = m.user_id)
            ORDER BY m.user_id
            """
        }
    }

    /// The values `sql`'s parameters take for `inputs`, in order.
    package func sqliteParameters(_ inputs: PatternInputs) throws -> [SQLiteValue] {
        func id(_ value: UInt64) -> SQLiteValue { .integer(Int64(bitPattern: value)) }
        func guild() throws -> SQLiteValue { id(try inputs.required(inputs.guild, "guild", for: self)) }
        let since = SQLiteValue.integer(inputs.since)
        let until = SQLiteValue.integer(inputs.until ?? .max)
        let limit = SQLiteValue.integer(Int64(inputs.limit))
        switch self {
        case .activeGuilds: return [limit]
        case .guildMemberCount, .activeUsers: return [try guild()]
        case .guildStats, .dueReminders: return [.integer(inputs.now)]
        case .userStats: return [try guild(), id(try inputs.required(inputs.user, "user", for: self)), since, until]
        case .leaderboard, .voiceActivity: return [try guild(), since, until, limit]
        case .hourlyActivity, .presenceDistribution: return [try guild(), since, until]
        case .memberGrowth: return [.integer(inputs.bucketSeconds), .integer(inputs.bucketSeconds), try guild(), since, until]
        case .reminderTargets:
            let event = id(try inputs.required(inputs.event, "event", for: self))
            return [event, event]
        }
    }

    /// The same parameters as plain integers (every one of them is: ids as `Int64` bit
    /// patterns, times, limits, bucket widths), for a client that binds its own way (GRDB,
    /// libpq).
    @_spi(Benchmarks) public func integerParameters(_ inputs: PatternInputs) throws -> [Int64] {
        try sqliteParameters(inputs).map { value in
            guard case .integer(let v) = value else { throw BenchError.unexpectedSQLiteValue(kind: "parameter", value: value.description) }
            return v
        }
    }
}
