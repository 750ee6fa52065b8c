import GuildStoreEngine

// The guild, user, channel and member records (seed 004 with seed 000's extras). Timestamps
// are seconds since 1970. A nil `createdAt` / `updatedAt` on insert means "now" (the columns'
// defaults); reads always fill them.

/// A guild (seed 004's `guilds`, with seed 000's owner and `is_active`).
///
/// ```swift
/// try tx.createGuild(Guild(id: 1, name: "Mocha"), owner: User(id: 7, username: "ann"))
/// if var mocha = try tx.get(Guild.self, key: [.uint(1)]) { mocha.icon = "a_1f2e"; try tx.update(mocha) }
/// ```
public struct Guild: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.guilds }

    public var id: UInt64
    public var name: String?
    public var icon: String?
    public var ownerID: UInt64?
    public var memberCount: Int64?
    public var isActive: Bool
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(id: UInt64, name: String?, icon: String? = nil, ownerID: UInt64? = nil, memberCount: Int64? = 0,
                isActive: Bool = true, createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.icon = icon
        self.ownerID = ownerID
        self.memberCount = memberCount
        self.isActive = isActive
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.optionalText("name", &r.name)
        try c.optionalText("icon", &r.icon)
        try c.optionalUInt("owner_id", &r.ownerID)
        try c.optionalInt("member_count", &r.memberCount)
        try c.bool("is_active", &r.isActive)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, name: nil)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A Discord user (seed 004's `users`), kept once across every guild they are in.
///
/// ```swift
/// try tx.insert(User(id: 7, username: "ann"), onConflict: .ignore)   // insert-or-ignore
/// ```
public struct User: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.users }

    public var id: UInt64
    public var username: String?
    public var discriminator: String?
    public var globalName: String?
    public var avatar: String?
    public var bot: Bool
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(id: UInt64, username: String?, discriminator: String? = nil, globalName: String? = nil, avatar: String? = nil,
                bot: Bool = false, createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.id = id
        self.username = username
        self.discriminator = discriminator
        self.globalName = globalName
        self.avatar = avatar
        self.bot = bot
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.optionalText("username", &r.username)
        try c.optionalText("discriminator", &r.discriminator)
        try c.optionalText("global_name", &r.globalName)
        try c.optionalText("avatar", &r.avatar)
        try c.bool("bot", &r.bot)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, username: nil)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A guild channel (seed 004's `channels`): text, voice or category by `type`.
///
/// ```swift
/// try tx.insert(Channel(id: 2, guildID: 1, name: "general"))
/// ```
public struct Channel: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.channels }

    public var id: UInt64
    public var guildID: UInt64
    public var name: String?
    /// Discord's channel type: 0 text, 2 voice, 4 category, ...
    public var type: Int64
    public var parentID: UInt64?
    public var position: Int64?
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(id: UInt64, guildID: UInt64, name: String?, type: Int64 = 0, parentID: UInt64? = nil, position: Int64? = nil,
                createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.id = id
        self.guildID = guildID
        self.name = name
        self.type = type
        self.parentID = parentID
        self.position = position
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("id", &r.id)
        try c.uint("guild_id", &r.guildID)
        try c.optionalText("name", &r.name)
        try c.int("type", &r.type)
        try c.optionalUInt("parent_id", &r.parentID)
        try c.optionalInt("position", &r.position)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(id: 0, guildID: 0, name: nil)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}

/// A user's membership of a guild (seed 004's `members`), keyed by guild and user, with the
/// nickname, roles (a JSON array) and when they joined.
///
/// ```swift
/// try tx.insert(Member(guildID: 1, userID: 7, joinedAt: now), onConflict: .replace)   // upsert
/// ```
public struct Member: TableRecord, Hashable {
    public static var schema: TableSchema { GuildTables.members }

    public var guildID: UInt64
    public var userID: UInt64
    public var nickname: String?
    /// The member's role ids, a JSON array as text (e.g. `["123","456"]`).
    public var roles: String
    public var joinedAt: Int64?
    public var premiumSince: Int64?
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(guildID: UInt64, userID: UInt64, nickname: String? = nil, roles: String = "[]", joinedAt: Int64? = nil,
                premiumSince: Int64? = nil, createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.guildID = guildID
        self.userID = userID
        self.nickname = nickname
        self.roles = roles
        self.joinedAt = joinedAt
        self.premiumSince = premiumSince
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The columns, in the table's order: `init(row:)` and `values` both run this list.
    static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
        try c.uint("guild_id", &r.guildID)
        try c.uint("user_id", &r.userID)
        try c.optionalText("nickname", &r.nickname)
        try c.json("roles", &r.roles)
        try c.optionalTimestamp("joined_at", &r.joinedAt)
        try c.optionalTimestamp("premium_since", &r.premiumSince)
        try c.defaultedTimestamp("created_at", &r.createdAt)
        try c.defaultedTimestamp("updated_at", &r.updatedAt)
    }
    private static let columnCount = schema.columns.count

    public init(row: Row) throws {
        self.init(guildID: 0, userID: 0)
        try RecordRowReader.read(row, into: &self, Self.columns)
    }

    public var values: [String: Value] { RecordValueCollector.values(of: self, columns: Self.columnCount, Self.columns) }
    public var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
}
