/// The indexes the "SQLite (covering indexes)" contender gets on top of seed 004's: the same
/// composite and covering indexes `GuildTables` declares for GuildStore, written as SQLite
/// indexes (SQLite has no `INCLUDE`, so a covered column becomes a trailing key column), so
/// that neither side wins on index choice alone.
///
/// | GuildStore (`GuildTables`)                                              | here |
/// |---|---|
/// | `idx_guilds_active_created (created_at) WHERE is_active INCLUDING name, member_count` | `(created_at, id, name, member_count) WHERE is_active = 1` (our index entries end with the primary key) |
/// | members clustered by `(guild_id, user_id)`, rows carry `joined_at`       | `(guild_id, user_id, joined_at)` (SQLite's members table is keyed by the text `"guild:user"`) |
/// | `idx_message_events_guild_time (guild_id, created_at) INCLUDING user_id` | `(guild_id, created_at, user_id)` |
/// | `idx_message_events_guild_user (guild_id, user_id, created_at) INCLUDING character_count, has_attachment` | the same five columns |
/// | `idx_voice_events_guild_time (guild_id, created_at) INCLUDING user_id, event_type, duration` | the same five columns |
/// | `idx_voice_events_guild_leaves (guild_id, created_at) WHERE event_type = 'leave' INCLUDING user_id, duration` | `(guild_id, created_at, user_id, duration) WHERE event_type = 'leave'` |
/// | `idx_member_events_guild_time (guild_id, created_at) INCLUDING event_type` | `(guild_id, created_at, event_type)` |
/// | `idx_presence_events_guild_time (guild_id, created_at) INCLUDING status` | `(guild_id, created_at, status)` |
/// | `idx_presence_events_guild_user (guild_id, user_id, created_at) INCLUDING status` | `(guild_id, user_id, created_at, status)` |
/// | `idx_reminder_events_active (last_reminder) WHERE NOT is_paused INCLUDING interval_minutes` | `(last_reminder, interval_minutes) WHERE is_paused = 0` |
///
/// After them `ANALYZE` runs, so SQLite's planner knows the indexes' selectivity.
package enum CoveringIndexes {
    /// The `CREATE INDEX` statements, then `ANALYZE`.
    package static let statements = [
        "CREATE INDEX cover_guilds_active_created ON guilds (created_at, id, name, member_count) WHERE is_active = 1",
        "CREATE INDEX cover_members_guild_user ON members (guild_id, user_id, joined_at)",
        "CREATE INDEX cover_message_events_guild_time ON message_events (guild_id, created_at, user_id)",
        "CREATE INDEX cover_message_events_guild_user ON message_events (guild_id, user_id, created_at, character_count, has_attachment)",
        "CREATE INDEX cover_voice_events_guild_time ON voice_events (guild_id, created_at, user_id, event_type, duration)",
        "CREATE INDEX cover_voice_events_guild_leaves ON voice_events (guild_id, created_at, user_id, duration) WHERE event_type = 'leave'",
        "CREATE INDEX cover_member_events_guild_time ON member_events (guild_id, created_at, event_type)",
        "CREATE INDEX cover_presence_events_guild_time ON presence_events (guild_id, created_at, status)",
        "CREATE INDEX cover_presence_events_guild_user ON presence_events (guild_id, user_id, created_at, status)",
        "CREATE INDEX cover_reminder_events_active ON reminder_events (last_reminder, interval_minutes) WHERE is_paused = 0",
        "ANALYZE",
    ]

    /// The names of the indexes `statements` creates (to recognize a finished covering copy).
    package static let names: [String] = statements.compactMap { statement in
        let words = statement.split(separator: " ")
        guard words.count > 2, words[0] == "CREATE", words[1] == "INDEX" else { return nil }
        return String(words[2])
    }
}
