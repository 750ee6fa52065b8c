import GuildStoreEngine

// Seed 003's reminder bot: events the bot tracks reactions on, the reactions, and the log of
// reminders sent.

/// A scheduled event members are reminded of (seed 003's `reminder_events`); the due
/// reminders and reminder targets patterns read these.
///
/// ```swift
/// try tx.insert(ReminderEvent(id: snowflake, messageID: message, channelID: channel, guildID: guild,
///                             title: "Raid night", intervalMinutes: 60))
/// ```
public struct ReminderEvent: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.reminderEvents }

    public var id: UInt64
    /// The Discord message whose reactions are tracked (unique).
    public var messageID: UInt64
    public var channelID: UInt64
    public var guildID: UInt64
    public var title: String
    public var description: String?
    public var intervalMinutes: Int64
    public var isPaused: Bool
    /// When the last reminder went out; nil if none has.
    public var lastReminder: Int64?
    /// The emojis that count as an answer, a JSON array as text.
    public var requiredReactions: String
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(id: UInt64, messageID: UInt64, channelID: UInt64, guildID: UInt64, title: String, description: String? = nil,
                intervalMinutes: Int64 = 60, isPaused: Bool = false, lastReminder: Int64? = nil, requiredReactions: String = "[]",
                createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.id = id
        self.messageID = messageID
        self.channelID = channelID
        self.guildID = guildID
        self.title = title
        self.description = description
        self.intervalMinutes = intervalMinutes
        self.isPaused = isPaused
        self.lastReminder = lastReminder
        self.requiredReactions = requiredReactions
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("message_id", &r.messageID)
        try c.uint("channel_id", &r.channelID)
        try c.uint("guild_id", &r.guildID)
        try c.text("title", &r.title)
        try c.optionalText("description", &r.description)
        try c.int("interval_minutes", &r.intervalMinutes)
        try c.bool("is_paused", &r.isPaused)
        try c.optionalTimestamp("last_reminder", &r.lastReminder)
        try c.json("required_reactions", &r.requiredReactions)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, messageID: 0, channelID: 0, guildID: 0, title: "")
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A member's reaction to a reminder event's message (seed 003's `reactions`): who wants to be
/// reminded.
///
/// ```swift
/// try tx.insert(Reaction(id: snowflake, eventID: event, userID: member, emoji: "✅", reactedAt: now))
/// ```
public struct Reaction: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.reactions }

    public var id: UInt64
    public var eventID: UInt64
    public var userID: UInt64
    public var emoji: String
    public var reactedAt: Int64
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(id: UInt64, eventID: UInt64, userID: UInt64, emoji: String, reactedAt: Int64, createdAt: Int64? = nil,
                updatedAt: Int64? = nil) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.emoji = emoji
        self.reactedAt = reactedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("event_id", &r.eventID)
        try c.uint("user_id", &r.userID)
        try c.text("emoji", &r.emoji)
        try c.timestamp("reacted_at", &r.reactedAt)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, eventID: 0, userID: 0, emoji: "", reactedAt: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A reminder sent for an event (seed 003's `reminder_logs`): when, and how many users it
/// reached.
///
/// ```swift
/// try tx.insert(ReminderLog(id: snowflake, eventID: event, scheduledAt: when, sentAt: now, usersNotified: 12))
/// ```
public struct ReminderLog: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.reminderLogs }

    public var id: UInt64
    public var eventID: UInt64
    public var scheduledAt: Int64
    public var sentAt: Int64?
    public var usersNotified: Int64
    /// `pending`, `sent` or `failed`.
    public var status: String
    public var errorMessage: String?
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(id: UInt64, eventID: UInt64, scheduledAt: Int64, sentAt: Int64? = nil, usersNotified: Int64 = 0,
                status: String = "pending", errorMessage: String? = nil, createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.id = id
        self.eventID = eventID
        self.scheduledAt = scheduledAt
        self.sentAt = sentAt
        self.usersNotified = usersNotified
        self.status = status
        self.errorMessage = errorMessage
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("event_id", &r.eventID)
        try c.timestamp("scheduled_at", &r.scheduledAt)
        try c.optionalTimestamp("sent_at", &r.sentAt)
        try c.int("users_notified", &r.usersNotified)
        try c.text("status", &r.status)
        try c.optionalText("error_message", &r.errorMessage)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, eventID: 0, scheduledAt: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}
