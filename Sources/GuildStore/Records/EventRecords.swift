import GuildStoreEngine

// The four event tables of seed 004. Event ids are snowflakes, so their primary keys grow with
// time and inserts append to the right-most leaf. `createdAt` is seconds since 1970.

public struct MessageEvent: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.messageEvents }

    public var id: UInt64
    public var guildID: UInt64
    public var channelID: UInt64
    public var userID: UInt64
    public var messageType: Int64
    public var hasAttachment: Bool
    public var hasEmbed: Bool
    public var characterCount: Int64
    public var wordCount: Int64
    public var createdAt: Int64

    public init(id: UInt64, guildID: UInt64, channelID: UInt64, userID: UInt64, messageType: Int64 = 0,
                hasAttachment: Bool = false, hasEmbed: Bool = false, characterCount: Int64 = 0, wordCount: Int64 = 0,
                createdAt: Int64) {
        self.id = id
        self.guildID = guildID
        self.channelID = channelID
        self.userID = userID
        self.messageType = messageType
        self.hasAttachment = hasAttachment
        self.hasEmbed = hasEmbed
        self.characterCount = characterCount
        self.wordCount = wordCount
        self.createdAt = createdAt
    }

    public init(row: Row) throws {
        id = try row.uint("id")
        guildID = try row.uint("guild_id")
        channelID = try row.uint("channel_id")
        userID = try row.uint("user_id")
        messageType = try row.int("message_type")
        hasAttachment = try row.bool("has_attachment")
        hasEmbed = try row.bool("has_embed")
        characterCount = try row.int("character_count")
        wordCount = try row.int("word_count")
        createdAt = try row.timestamp("created_at")
    }

    public var values: [String: Value] {
        ["id": .uint(id), "guild_id": .uint(guildID), "channel_id": .uint(channelID), "user_id": .uint(userID),
         "message_type": .int(messageType), "has_attachment": .bool(hasAttachment), "has_embed": .bool(hasEmbed),
         "character_count": .int(characterCount), "word_count": .int(wordCount), "created_at": .timestamp(createdAt)]
    }
}

public struct VoiceEvent: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.voiceEvents }

    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case join, leave, move
    }

    public var id: UInt64
    public var guildID: UInt64
    /// Nil on a disconnect.
    public var channelID: UInt64?
    public var userID: UInt64
    /// `join`, `leave` or `move` (seed 004 stores any text; so does this).
    public var eventType: String
    public var sessionStart: Int64?
    public var sessionEnd: Int64?
    /// Milliseconds.
    public var duration: Int64
    public var muted: Bool
    public var deafened: Bool
    public var createdAt: Int64

    public init(id: UInt64, guildID: UInt64, channelID: UInt64?, userID: UInt64, eventType: String,
                sessionStart: Int64? = nil, sessionEnd: Int64? = nil, duration: Int64 = 0, muted: Bool = false,
                deafened: Bool = false, createdAt: Int64) {
        self.id = id
        self.guildID = guildID
        self.channelID = channelID
        self.userID = userID
        self.eventType = eventType
        self.sessionStart = sessionStart
        self.sessionEnd = sessionEnd
        self.duration = duration
        self.muted = muted
        self.deafened = deafened
        self.createdAt = createdAt
    }

    public init(row: Row) throws {
        id = try row.uint("id")
        guildID = try row.uint("guild_id")
        channelID = try row.optional("channel_id", Row.uint)
        userID = try row.uint("user_id")
        eventType = try row.text("event_type")
        sessionStart = try row.optional("session_start", Row.timestamp)
        sessionEnd = try row.optional("session_end", Row.timestamp)
        duration = try row.int("duration")
        muted = try row.bool("muted")
        deafened = try row.bool("deafened")
        createdAt = try row.timestamp("created_at")
    }

    public var values: [String: Value] {
        ["id": .uint(id), "guild_id": .uint(guildID), "channel_id": .optional(channelID), "user_id": .uint(userID),
         "event_type": .text(eventType), "session_start": .optionalTimestamp(sessionStart),
         "session_end": .optionalTimestamp(sessionEnd), "duration": .int(duration), "muted": .bool(muted),
         "deafened": .bool(deafened), "created_at": .timestamp(createdAt)]
    }
}

public struct MemberEvent: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.memberEvents }

    public var id: UInt64
    public var guildID: UInt64
    public var userID: UInt64
    /// `join` or `leave`.
    public var eventType: String
    /// The guild's member count after the event.
    public var memberCount: Int64?
    public var createdAt: Int64

    public init(id: UInt64, guildID: UInt64, userID: UInt64, eventType: String, memberCount: Int64? = nil, createdAt: Int64) {
        self.id = id
        self.guildID = guildID
        self.userID = userID
        self.eventType = eventType
        self.memberCount = memberCount
        self.createdAt = createdAt
    }

    public init(row: Row) throws {
        id = try row.uint("id")
        guildID = try row.uint("guild_id")
        userID = try row.uint("user_id")
        eventType = try row.text("event_type")
        memberCount = try row.optional("member_count", Row.int)
        createdAt = try row.timestamp("created_at")
    }

    public var values: [String: Value] {
        ["id": .uint(id), "guild_id": .uint(guildID), "user_id": .uint(userID), "event_type": .text(eventType),
         "member_count": .optional(memberCount), "created_at": .timestamp(createdAt)]
    }
}

public struct PresenceEvent: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.presenceEvents }

    public var id: UInt64
    public var guildID: UInt64
    public var userID: UInt64
    /// `online`, `idle`, `dnd`, `offline`, or nil when unknown.
    public var status: String?
    public var activityType: Int64?
    public var activityName: String?
    public var createdAt: Int64

    public init(id: UInt64, guildID: UInt64, userID: UInt64, status: String?, activityType: Int64? = nil,
                activityName: String? = nil, createdAt: Int64) {
        self.id = id
        self.guildID = guildID
        self.userID = userID
        self.status = status
        self.activityType = activityType
        self.activityName = activityName
        self.createdAt = createdAt
    }

    public init(row: Row) throws {
        id = try row.uint("id")
        guildID = try row.uint("guild_id")
        userID = try row.uint("user_id")
        status = try row.optional("status", Row.text)
        activityType = try row.optional("activity_type", Row.int)
        activityName = try row.optional("activity_name", Row.text)
        createdAt = try row.timestamp("created_at")
    }

    public var values: [String: Value] {
        ["id": .uint(id), "guild_id": .uint(guildID), "user_id": .uint(userID), "status": .optional(status),
         "activity_type": .optional(activityType), "activity_name": .optional(activityName), "created_at": .timestamp(createdAt)]
    }
}
