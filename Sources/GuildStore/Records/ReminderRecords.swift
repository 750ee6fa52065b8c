import GuildStoreEngine

// Seed 003's reminder bot: events the bot tracks reactions on, the reactions, and the log of
// reminders sent.

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

    public init(row: Row) throws {
        id = try row.uint("id")
        messageID = try row.uint("message_id")
        channelID = try row.uint("channel_id")
        guildID = try row.uint("guild_id")
        title = try row.text("title")
        description = try row.optional("description", Row.text)
        intervalMinutes = try row.int("interval_minutes")
        isPaused = try row.bool("is_paused")
        lastReminder = try row.optional("last_reminder", Row.timestamp)
        requiredReactions = try row.json("required_reactions")
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = [
            "id": .uint(id), "message_id": .uint(messageID), "channel_id": .uint(channelID), "guild_id": .uint(guildID),
            "title": .text(title), "description": .optional(description), "interval_minutes": .int(intervalMinutes),
            "is_paused": .bool(isPaused), "last_reminder": .optionalTimestamp(lastReminder),
            "required_reactions": .json(requiredReactions)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}

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

    public init(row: Row) throws {
        id = try row.uint("id")
        eventID = try row.uint("event_id")
        userID = try row.uint("user_id")
        emoji = try row.text("emoji")
        reactedAt = try row.timestamp("reacted_at")
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = ["id": .uint(id), "event_id": .uint(eventID), "user_id": .uint(userID),
                                       "emoji": .text(emoji), "reacted_at": .timestamp(reactedAt)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}

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

    public init(row: Row) throws {
        id = try row.uint("id")
        eventID = try row.uint("event_id")
        scheduledAt = try row.timestamp("scheduled_at")
        sentAt = try row.optional("sent_at", Row.timestamp)
        usersNotified = try row.int("users_notified")
        status = try row.text("status")
        errorMessage = try row.optional("error_message", Row.text)
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = ["id": .uint(id), "event_id": .uint(eventID), "scheduled_at": .timestamp(scheduledAt),
                                       "sent_at": .optionalTimestamp(sentAt), "users_notified": .int(usersNotified),
                                       "status": .text(status), "error_message": .optional(errorMessage)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}
