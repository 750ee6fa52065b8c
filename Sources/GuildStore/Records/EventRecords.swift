import GuildStoreEngine

// The four event tables of seed 004. Event ids are snowflakes, so their primary keys grow with
// time and inserts append to the right-most leaf. `createdAt` is seconds since 1970.

/// A message sent in a guild channel (seed 004's `message_events`): who, where, when and how
/// long. The leaderboard, user stats, hourly activity and active users patterns read these.
///
/// ```swift
/// try tx.insert(MessageEvent(id: snowflake, guildID: guild, channelID: channel, userID: author,
///                            hasAttachment: false, characterCount: 42, createdAt: now))
/// ```
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

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("guild_id", &r.guildID)
        try c.uint("channel_id", &r.channelID)
        try c.uint("user_id", &r.userID)
        try c.int("message_type", &r.messageType)
        try c.bool("has_attachment", &r.hasAttachment)
        try c.bool("has_embed", &r.hasEmbed)
        try c.int("character_count", &r.characterCount)
        try c.int("word_count", &r.wordCount)
        try c.timestamp("created_at", &r.createdAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, guildID: 0, channelID: 0, userID: 0, createdAt: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A member joining, leaving or moving between voice channels (seed 004's `voice_events`);
/// `duration` (milliseconds) is set on the event that ends a session.
///
/// ```swift
/// try tx.insert(VoiceEvent(id: snowflake, guildID: guild, channelID: voice, userID: member,
///                          eventType: "leave", duration: 90_000, createdAt: now))
/// ```
public struct VoiceEvent: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.voiceEvents }

    /// The values of `eventType` a voice event takes: `join`, `leave` or `move`.
    ///
    /// ```swift
    /// try tx.insert(VoiceEvent(id: snowflake, guildID: guild, channelID: voice, userID: member,
    ///                          eventType: VoiceEvent.Kind.leave.rawValue, duration: 90_000, createdAt: now))
    /// ```
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

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("guild_id", &r.guildID)
        try c.optionalUInt("channel_id", &r.channelID)
        try c.uint("user_id", &r.userID)
        try c.text("event_type", &r.eventType)
        try c.optionalTimestamp("session_start", &r.sessionStart)
        try c.optionalTimestamp("session_end", &r.sessionEnd)
        try c.int("duration", &r.duration)
        try c.bool("muted", &r.muted)
        try c.bool("deafened", &r.deafened)
        try c.timestamp("created_at", &r.createdAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, guildID: 0, channelID: nil, userID: 0, eventType: "", createdAt: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A member joining or leaving a guild (seed 004's `member_events`), with the member count
/// after it when the bot knows it; member growth reads these.
///
/// ```swift
/// try tx.insert(MemberEvent(id: snowflake, guildID: guild, userID: member, eventType: "join", createdAt: now))
/// ```
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

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("guild_id", &r.guildID)
        try c.uint("user_id", &r.userID)
        try c.text("event_type", &r.eventType)
        try c.optionalInt("member_count", &r.memberCount)
        try c.timestamp("created_at", &r.createdAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, guildID: 0, userID: 0, eventType: "", createdAt: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A member's status or activity changing (seed 004's `presence_events`); the presence
/// distribution pattern counts these.
///
/// ```swift
/// try tx.insert(PresenceEvent(id: snowflake, guildID: guild, userID: member, status: "online", createdAt: now))
/// ```
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

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("guild_id", &r.guildID)
        try c.uint("user_id", &r.userID)
        try c.optionalText("status", &r.status)
        try c.optionalInt("activity_type", &r.activityType)
        try c.optionalText("activity_name", &r.activityName)
        try c.timestamp("created_at", &r.createdAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, guildID: 0, userID: 0, status: nil, createdAt: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}
