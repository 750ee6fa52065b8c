import GuildStoreEngine

/// The guild schema: the tables of seed 004 (Mocha's Drizzle / SQLite stats database) with
/// seed 000's extras (guild owner, `is_active` and its partial index, `global_name`, member
/// roles), seed 003's reminder bot tables and seed 001's hourly and daily activity rollups.
///
/// Conventions at every interface: ids are `UInt64` snowflakes (seed 004 keeps them as TEXT;
/// `GuildStoreSQLite` converts), timestamps are seconds since 1970, voice duration is milliseconds.
///
/// Indexes are the seeds', with four deliberate refinements so the hot query patterns read
/// only the rows of their guild and time range, from the index alone (covering columns ride in
/// the index entry, see `IndexDefinition.including`):
/// - `idx_message_events_guild_time (guild_id, created_at)` carries `user_id`: the
///   leaderboard and hourly activity never fetch a row;
/// - `idx_message_events_guild_user` is `(guild_id, user_id, created_at)` (the seed's
///   `(guild_id, user_id)` plus the time, which serves every query the seed's did) carrying
///   `character_count` and `has_attachment`: user stats is one bounded index walk;
/// - the voice, member and presence `guild_time` indexes carry what their patterns aggregate,
///   and `idx_presence_events_guild_user (guild_id, user_id, created_at)` finds a member's
///   latest presence with one reverse seek (active users);
/// - `idx_voice_events_guild_leaves (guild_id, created_at) WHERE event_type = 'leave'` carries
///   `user_id` and `duration`: voice activity walks only the leaves.
///
/// Foreign keys follow seed 004's (channels, members and message events cascade from their
/// guild; members and message events from their user; message events from their channel),
/// extended so that deleting a guild removes every event of it (voice, member, presence, and
/// the reminder events of seed 003 with their reactions and logs).
///
/// ```swift
/// let tables = GuildTables.all.map(\.name)              // every table, parents before children
/// let migrations = GuildTables.migrations.map(\.name)   // applied by GuildDatabase.open
/// ```
public enum GuildTables {
    // Column shorthands.
    static func id(_ name: String = "id") -> ColumnDefinition { ColumnDefinition(name, .uint) }
    static func optionalID(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .uint, nullable: true) }
    static func text(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .text) }
    static func optionalText(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .text, nullable: true) }
    static func int(_ name: String, default value: Int64) -> ColumnDefinition {
        ColumnDefinition(name, .int, default: .value(.int(value)))
    }
    static func optionalInt(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .int, nullable: true) }
    static func flag(_ name: String, default value: Bool) -> ColumnDefinition {
        ColumnDefinition(name, .bool, default: .value(.bool(value)))
    }
    static func time(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .timestamp) }
    static func optionalTime(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .timestamp, nullable: true) }
    static let createdAt = ColumnDefinition("created_at", .timestamp, default: .now)
    static let updatedAt = ColumnDefinition("updated_at", .timestamp, default: .now, updatedAtNow: true)
    static func index(_ name: String, _ columns: String..., including: [String] = [], unique: Bool = false) -> IndexDefinition {
        IndexDefinition(name, on: columns, unique: unique, including: including)
    }

    public static let guilds = TableSchema(
        "guilds",
        columns: [id(), optionalText("name"), optionalText("icon"), optionalID("owner_id"),
                  ColumnDefinition("member_count", .int, nullable: true, default: .value(.int(0))),
                  flag("is_active", default: true), createdAt, updatedAt],
        primaryKey: ["id"],
        indexes: [index("idx_guilds_created_at", "created_at"), index("idx_guilds_owner_id", "owner_id"),
                  // Seed 000's partial index: active guilds, newest first, by a reverse walk.
                  IndexDefinition("idx_guilds_active_created", on: ["created_at"], where: .equals("is_active", true),
                                  including: ["name", "member_count"])])

    public static let users = TableSchema(
        "users",
        columns: [id(), optionalText("username"), optionalText("discriminator"), optionalText("global_name"),
                  optionalText("avatar"), flag("bot", default: false), createdAt, updatedAt],
        primaryKey: ["id"],
        indexes: [index("idx_users_bot", "bot")])

    public static let channels = TableSchema(
        "channels",
        columns: [id(), id("guild_id"), optionalText("name"), int("type", default: 0), optionalID("parent_id"),
                  optionalInt("position"), createdAt, updatedAt],
        primaryKey: ["id"],
        indexes: [index("idx_channels_guild_id", "guild_id"), index("idx_channels_type", "type")],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    /// Seed 004 keys a member by the text "guild_id:user_id"; here the key is the pair itself,
    /// so a guild's members are one prefix of the primary key (seed 004's
    /// `idx_members_guild_id`).
    public static let members = TableSchema(
        "members",
        columns: [id("guild_id"), id("user_id"), optionalText("nickname"),
                  ColumnDefinition("roles", .json, default: .value(.json("[]"))),
                  optionalTime("joined_at"), optionalTime("premium_since"), createdAt, updatedAt],
        primaryKey: ["guild_id", "user_id"],
        indexes: [index("idx_members_user_id", "user_id"), index("idx_members_joined_at", "joined_at"),
                  // A guild's latest join by one reverse seek (guild stats).
                  index("idx_members_guild_joined", "guild_id", "joined_at")],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade),
                      ForeignKey("user_id", references: "users", onDelete: .cascade)])

    public static let messageEvents = TableSchema(
        "message_events",
        columns: [id(), id("guild_id"), id("channel_id"), id("user_id"), int("message_type", default: 0),
                  flag("has_attachment", default: false), flag("has_embed", default: false),
                  int("character_count", default: 0), int("word_count", default: 0), time("created_at")],
        primaryKey: ["id"],
        indexes: [index("idx_message_events_guild_time", "guild_id", "created_at", including: ["user_id"]),
                  index("idx_message_events_user_time", "user_id", "created_at"),
                  index("idx_message_events_channel_time", "channel_id", "created_at"),
                  index("idx_message_events_guild_user", "guild_id", "user_id", "created_at",
                        including: ["character_count", "has_attachment"])],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade),
                      ForeignKey("user_id", references: "users", onDelete: .cascade),
                      ForeignKey("channel_id", references: "channels", onDelete: .cascade)])

    public static let voiceEvents = TableSchema(
        "voice_events",
        columns: [id(), id("guild_id"), optionalID("channel_id"), id("user_id"), text("event_type"),
                  optionalTime("session_start"), optionalTime("session_end"), int("duration", default: 0),
                  flag("muted", default: false), flag("deafened", default: false), time("created_at")],
        primaryKey: ["id"],
        indexes: [index("idx_voice_events_guild_time", "guild_id", "created_at", including: ["user_id", "event_type", "duration"]),
                  index("idx_voice_events_user_time", "user_id", "created_at"),
                  index("idx_voice_events_channel_time", "channel_id", "created_at"),
                  index("idx_voice_events_session", "session_start", "session_end"),
                  voiceLeavesIndex],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    public static let memberEvents = TableSchema(
        "member_events",
        columns: [id(), id("guild_id"), id("user_id"), text("event_type"), optionalInt("member_count"), time("created_at")],
        primaryKey: ["id"],
        indexes: [index("idx_member_events_guild_time", "guild_id", "created_at", including: ["event_type"]),
                  index("idx_member_events_type_time", "event_type", "created_at")],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    public static let presenceEvents = TableSchema(
        "presence_events",
        columns: [id(), id("guild_id"), id("user_id"), optionalText("status"), optionalInt("activity_type"),
                  optionalText("activity_name"), time("created_at")],
        primaryKey: ["id"],
        indexes: [index("idx_presence_events_guild_time", "guild_id", "created_at", including: ["status"]),
                  index("idx_presence_events_user_time", "user_id", "created_at"),
                  index("idx_presence_events_status", "status"),
                  index("idx_presence_events_guild_user", "guild_id", "user_id", "created_at", including: ["status"])],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    /// Seed 003's `event`: a message whose reactions the bot tracks and reminds about every
    /// `interval_minutes`.
    public static let reminderEvents = TableSchema(
        "reminder_events",
        columns: [id(), id("message_id"), id("channel_id"), id("guild_id"), text("title"), optionalText("description"),
                  int("interval_minutes", default: 60), flag("is_paused", default: false), optionalTime("last_reminder"),
                  ColumnDefinition("required_reactions", .json, default: .value(.json("[]"))), createdAt, updatedAt],
        primaryKey: ["id"],
        indexes: [index("idx_reminder_events_message_id", "message_id", unique: true),
                  index("idx_reminder_events_guild_id", "guild_id"),
                  IndexDefinition("idx_reminder_events_active", on: ["last_reminder"], where: .equals("is_paused", false),
                                  including: ["interval_minutes"])],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    public static let reactions = TableSchema(
        "reactions",
        columns: [id(), id("event_id"), id("user_id"), text("emoji"), time("reacted_at"), createdAt, updatedAt],
        primaryKey: ["id"],
        indexes: [index("idx_reactions_event_user", "event_id", "user_id", "emoji", unique: true)],
        foreignKeys: [ForeignKey("event_id", references: "reminder_events", onDelete: .cascade)])

    public static let reminderLogs = TableSchema(
        "reminder_logs",
        columns: [id(), id("event_id"), time("scheduled_at"), optionalTime("sent_at"), int("users_notified", default: 0),
                  ColumnDefinition("status", .text, default: .value("pending")), optionalText("error_message"),
                  createdAt, updatedAt],
        primaryKey: ["id"],
        indexes: [index("idx_reminder_logs_event_time", "event_id", "scheduled_at")],
        foreignKeys: [ForeignKey("event_id", references: "reminder_events", onDelete: .cascade)])

    /// Seed 001's continuous aggregates, materialized: one row per guild, bucket and user
    /// (so distinct users are a row count), refreshed by `refreshActivityRollups`.
    public static let hourlyActivity = TableSchema(
        "hourly_activity",
        columns: [id("guild_id"), time("hour"), id("user_id"), int("messages", default: 0), int("characters", default: 0)],
        primaryKey: ["guild_id", "hour", "user_id"],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    public static let dailyActivity = TableSchema(
        "daily_activity",
        columns: [id("guild_id"), time("day"), id("user_id"), int("messages", default: 0), int("characters", default: 0),
                  int("voice_milliseconds", default: 0)],
        primaryKey: ["guild_id", "day", "user_id"],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])

    /// Every table, parents before children.
    public static let all: [TableSchema] = [
        guilds, users, channels, members, messageEvents, voiceEvents, memberEvents, presenceEvents,
        reminderEvents, reactions, reminderLogs, hourlyActivity, dailyActivity,
    ]

    /// The four event tables retention cleans (seed 004's maintenance).
    public static let eventTables: [TableSchema] = [messageEvents, voiceEvents, memberEvents, presenceEvents]

    /// The maintained aggregates the activity patterns read (`RollupDefinition`): counters
    /// kept in the same write transaction as the events, so a time range costs its whole
    /// buckets plus the events of its two partial edges, whatever the table's size.
    /// - user stats: messages, characters and attachments per (guild, user, day);
    /// - hourly activity: messages and distinct authors per (guild, hour);
    /// - member growth: joins and leaves per (guild, hour) for hour buckets, and per
    ///   (guild, day) for day buckets (a query takes the widest rollup that answers it);
    /// - presence distribution: events per (guild, day, status);
    /// - guild stats: members, members with a join time and the sum of join times per guild.
    ///
    /// Voice activity and the leaderboard rank users over the range; a (guild, day, user)
    /// rollup holds about as many entries as a busy guild has events in the range, so it
    /// would cost every insert without making those patterns cheaper (measured: voice
    /// activity 4.2 ms from the index, 5.2 ms from such a rollup, on `default`).
    package static let rollups: [(table: String, rollup: RollupDefinition)] = activityRollups + memberRollups + memberDayRollups
        + allTimeRollups

    /// The rollups of migration `0002_activity_rollups`.
    static let activityRollups: [(table: String, rollup: RollupDefinition)] = [
        ("message_events", RollupDefinition("by_guild_user_day", groupBy: [.column("guild_id"), .column("user_id"), .day("created_at")],
                                            [.sum("character_count"), .countWhere("has_attachment", equals: true)])),
        ("message_events", RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")],
                                            [.countDistinct("user_id")])),
        ("member_events", RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")],
                                           [.countWhere("event_type", equals: "join"), .countWhere("event_type", equals: "leave")])),
        ("presence_events", RollupDefinition("by_guild_day_status", groupBy: [.column("guild_id"), .day("created_at"), .column("status")],
                                             [])),
    ]

    /// The rollup of migration `0003_member_rollup`.
    static let memberRollups: [(table: String, rollup: RollupDefinition)] = [
        ("members", RollupDefinition("by_guild", groupBy: [.column("guild_id")], [.countNonNull("joined_at"), .sum("joined_at")])),
    ]

    /// The rollup of migration `0004_member_growth_days`: member growth by day reads 24 times
    /// fewer entries than from the hour rollup.
    static let memberDayRollups: [(table: String, rollup: RollupDefinition)] = [
        ("member_events", RollupDefinition("by_guild_day", groupBy: [.column("guild_id"), .day("created_at")],
                                           [.countWhere("event_type", equals: "join"), .countWhere("event_type", equals: "leave")])),
    ]

    /// The rollups of migration `0005_all_time_rankings`: one entry per (guild, user), no time
    /// bucket. They answer the leaderboard and voice activity for any range that holds all of
    /// the guild's events (all time, typically; checked per call through the `(guild_id,
    /// created_at)` index, see `RollupCoverage`): one entry per user read instead of one per
    /// event. Other ranges go to the rows as before.
    static let allTimeRollups: [(table: String, rollup: RollupDefinition)] = [
        ("message_events", RollupDefinition("by_guild_user", groupBy: [.column("guild_id"), .column("user_id")], [])),
        ("voice_events", RollupDefinition("leaves_by_guild_user", groupBy: [.column("guild_id"), .column("user_id")], [.sum("duration")],
                                          where: .equals("event_type", "leave"))),
    ]

    /// Each guild's voice leaves by time, carrying what voice activity sums (migration
    /// `0006_voice_leaves`): a range that leaves some of the guild's events out walks only its
    /// leaves, where `idx_voice_events_guild_time` holds the joins and moves too (more than
    /// half the entries), each compared and dropped.
    static let voiceLeavesIndex = IndexDefinition("idx_voice_events_guild_leaves", on: ["guild_id", "created_at"],
                                                  where: .equals("event_type", "leave"), including: ["user_id", "duration"])

    /// The schema's migrations, in order: applied once each by `GuildDatabase.open`
    /// (`prisma migrate deploy`). Append new ones; never edit an applied one.
    public static let migrations: [Migration] = [
        Migration("0001_guild_schema") { tx in
            for table in all { try tx.createTable(table) }
        },
        // Built from the events already stored, in the migration's transaction.
        Migration("0002_activity_rollups") { tx in
            for (table, rollup) in activityRollups { try tx.addRollup(to: table, rollup) }
        },
        // Guild stats from a rollup and one seek per guild; databases made before the index
        // was declared get it here.
        Migration("0003_member_rollup") { tx in
            if try !tx.table("members").indexes.contains(where: { $0.name == "idx_members_guild_joined" }) {
                try tx.addIndex(to: "members", index("idx_members_guild_joined", "guild_id", "joined_at"))
            }
            for (table, rollup) in memberRollups { try tx.addRollup(to: table, rollup) }
        },
        Migration("0004_member_growth_days") { tx in
            for (table, rollup) in memberDayRollups { try tx.addRollup(to: table, rollup) }
        },
        Migration("0005_all_time_rankings") { tx in
            for (table, rollup) in allTimeRollups { try tx.addRollup(to: table, rollup) }
        },
        // Databases made before the index was declared get it here; 0001 creates the tables as
        // `all` declares them now, so a new database has it already (as with 0003's index).
        Migration("0006_voice_leaves") { tx in
            if try !tx.table("voice_events").indexes.contains(where: { $0.name == voiceLeavesIndex.name }) {
                try tx.addIndex(to: "voice_events", voiceLeavesIndex)
            }
        },
    ]
}
