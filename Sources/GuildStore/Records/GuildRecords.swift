import GuildStoreEngine

// The guild, user, channel and member records (seed 004 with seed 000's extras). Timestamps
// are seconds since 1970. A nil `createdAt` / `updatedAt` on insert means "now" (the columns'
// defaults); reads always fill them.

/// The engine's `Value` (inside a `Dictionary` extension `Value` names the element type).
typealias ColumnValue = Value

extension Dictionary where Key == String, Value == ColumnValue {
    /// Sets `created_at` / `updated_at` to the given times; a nil one is left out, so an
    /// insert takes "now" and an update keeps (or, for `updated_at`, moves) the stored time.
    mutating func setTimestamps(createdAt: Int64?, updatedAt: Int64?) {
        if let createdAt { self["created_at"] = .timestamp(createdAt) }
        if let updatedAt { self["updated_at"] = .timestamp(updatedAt) }
    }
}

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

    public init(row: Row) throws {
        id = try row.uint("id")
        name = try row.optional("name", Row.text)
        icon = try row.optional("icon", Row.text)
        ownerID = try row.optional("owner_id", Row.uint)
        memberCount = try row.optional("member_count", Row.int)
        isActive = try row.bool("is_active")
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = ["id": .uint(id), "name": .optional(name), "icon": .optional(icon),
                                       "owner_id": .optional(ownerID), "member_count": .optional(memberCount),
                                       "is_active": .bool(isActive)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}

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

    public init(row: Row) throws {
        id = try row.uint("id")
        username = try row.optional("username", Row.text)
        discriminator = try row.optional("discriminator", Row.text)
        globalName = try row.optional("global_name", Row.text)
        avatar = try row.optional("avatar", Row.text)
        bot = try row.bool("bot")
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = ["id": .uint(id), "username": .optional(username), "discriminator": .optional(discriminator),
                                       "global_name": .optional(globalName), "avatar": .optional(avatar), "bot": .bool(bot)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}

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

    public init(row: Row) throws {
        id = try row.uint("id")
        guildID = try row.uint("guild_id")
        name = try row.optional("name", Row.text)
        type = try row.int("type")
        parentID = try row.optional("parent_id", Row.uint)
        position = try row.optional("position", Row.int)
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = ["id": .uint(id), "guild_id": .uint(guildID), "name": .optional(name), "type": .int(type),
                                       "parent_id": .optional(parentID), "position": .optional(position)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}

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

    public init(row: Row) throws {
        guildID = try row.uint("guild_id")
        userID = try row.uint("user_id")
        nickname = try row.optional("nickname", Row.text)
        roles = try row.json("roles")
        joinedAt = try row.optional("joined_at", Row.timestamp)
        premiumSince = try row.optional("premium_since", Row.timestamp)
        createdAt = try row.timestamp("created_at")
        updatedAt = try row.timestamp("updated_at")
    }

    public var values: [String: Value] {
        var values: [String: Value] = ["guild_id": .uint(guildID), "user_id": .uint(userID), "nickname": .optional(nickname),
                                       "roles": .json(roles), "joined_at": .optionalTimestamp(joinedAt),
                                       "premium_since": .optionalTimestamp(premiumSince)]
        values.setTimestamps(createdAt: createdAt, updatedAt: updatedAt)
        return values
    }
}
