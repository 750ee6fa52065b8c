import StorageEngine

// The guild query patterns (seeds 000 and 004). Each method's result equals, row for row and
// in the same order, the SQL in its comment on the same data (GuildQueryTests checks it
// against SQLite).

public struct ActiveGuild: Sendable, Hashable, Codable {
    public var id: UInt64
    public var name: String?
    public var memberCount: Int64?
    public var createdAt: Int64
}

public struct GuildMemberCount: Sendable, Hashable, Codable {
    public var id: UInt64
    public var name: String?
    public var memberCount: Int64
}

public struct GuildStats: Sendable, Hashable, Codable {
    public var id: UInt64
    public var name: String?
    public var memberCount: Int64
    /// The latest `joined_at` of a member; nil without members (or join times).
    public var lastJoin: Int64?
    /// The mean of `now - joined_at` over members with a join time, in seconds.
    public var averageMemberAgeSeconds: Double?
}

extension Transaction {
    /// Active guilds, newest first.
    ///
    ///     SELECT id, name, member_count, created_at FROM guilds WHERE is_active = 1
    ///     ORDER BY created_at DESC, id DESC LIMIT N
    ///
    /// A reverse walk of the partial index `idx_guilds_active_created`, which carries the
    /// columns: no row is read, and the walk stops after `limit` entries.
    public final func activeGuilds(limit: Int) throws -> [ActiveGuild] {
        try select("guilds", columns: ["id", "name", "member_count", "created_at"], where: ["is_active": true],
                   orderBy: [.descending("created_at"), .descending("id")], limit: limit).map { row in
            ActiveGuild(id: try row.uint("id"), name: try row.optional("name", Row.text),
                        memberCount: try row.optional("member_count", Row.int), createdAt: try row.timestamp("created_at"))
        }
    }

    /// One guild with the number of its members; nil when there is no such guild.
    ///
    ///     SELECT g.id, g.name, COUNT(m.user_id) AS member_count FROM guilds g
    ///     LEFT JOIN members m ON m.guild_id = g.id WHERE g.id = G GROUP BY g.id
    public final func guildMemberCount(guild: UInt64) throws -> GuildMemberCount? {
        guard let row = try get("guilds", key: [.uint(guild)]) else { return nil }
        return GuildMemberCount(id: guild, name: try row.optional("name", Row.text), memberCount: try memberCount(guild: guild))
    }

    /// Every active guild with its member count, latest join and mean member age at `now`,
    /// largest first.
    ///
    ///     SELECT g.id, g.name, COUNT(m.user_id) AS member_count, MAX(m.joined_at) AS last_join,
    ///            AVG(NOW - m.joined_at) AS avg_member_age_seconds
    ///     FROM guilds g LEFT JOIN members m ON m.guild_id = g.id WHERE g.is_active = 1
    ///     GROUP BY g.id ORDER BY member_count DESC, g.id ASC
    ///
    /// One walk of the members' primary key, whose order keeps each guild's members together:
    /// only the active guilds' members are added up. The mean is SQL's: the exact integer sum
    /// of `now - joined_at`, divided once.
    public final func guildStats(now: Int64) throws -> [GuildStats] {
        struct Totals {
            var name: String?
            var members: Int64 = 0
            var joined: Int64 = 0
            var joinedSum: Int64 = 0
            var lastJoin: Int64?
        }
        let guildsSchema = try table("guilds")
        let (guildID, guildName) = (try guildsSchema.columnIndex("id"), try guildsSchema.columnIndex("name"))
        var totals: [UInt64: Totals] = [:]
        try walk(try planScan("guilds", equals: ["is_active": true], reading: ["id", "name"]), reading: [guildID, guildName]) { values in
            guard case .uint(let id) = values[guildID] else { return true }
            var name: String?
            if case .text(let text) = values[guildName] { name = text }
            totals[id] = Totals(name: name)
            return true
        }
        let members = try table("members")
        let (memberGuild, joinedAt) = (try members.columnIndex("guild_id"), try members.columnIndex("joined_at"))
        // The guild whose members the walk is in, and its totals while it is active.
        var currentGuild: UInt64?
        var current: Totals?
        func finish() { if let currentGuild, let current { totals[currentGuild] = current } }
        try walk(try planScan("members", orderBy: [.ascending("guild_id")], reading: ["guild_id", "joined_at"]),
                 reading: [memberGuild, joinedAt]) { values in
            guard case .uint(let guild) = values[memberGuild] else { return true }
            if currentGuild != guild {
                finish()
                (currentGuild, current) = (guild, totals[guild])
            }
            guard var running = current else { return true }  // not an active guild
            running.members += 1
            if case .timestamp(let joined) = values[joinedAt] {
                let (sum, overflow) = running.joinedSum.addingReportingOverflow(joined)
                guard !overflow else { throw GuildStoreError.aggregateOverflow(table: "members", column: "joined_at") }
                running.joinedSum = sum
                running.joined += 1
                running.lastJoin = max(running.lastJoin ?? joined, joined)
            }
            current = running
            return true
        }
        finish()
        var result: [GuildStats] = []
        result.reserveCapacity(totals.count)
        for (id, guild) in totals {
            var average: Double?
            if guild.joined > 0 {
                // Σ(now - j) = now·n - Σj, exact in 64 bits as SQLite's integer sum is.
                let (scaled, overflow1) = now.multipliedReportingOverflow(by: guild.joined)
                let (total, overflow2) = scaled.subtractingReportingOverflow(guild.joinedSum)
                guard !overflow1, !overflow2 else {
                    throw GuildStoreError.aggregateOverflow(table: "members", column: "joined_at")
                }
                average = Double(total) / Double(guild.joined)
            }
            result.append(GuildStats(id: id, name: guild.name, memberCount: guild.members, lastJoin: guild.lastJoin,
                                     averageMemberAgeSeconds: average))
        }
        result.sort { $0.memberCount != $1.memberCount ? $0.memberCount > $1.memberCount : $0.id < $1.id }
        return result
    }

    /// The number of members of `guild` (a prefix count of the members' primary key).
    public final func memberCount(guild: UInt64) throws -> Int64 {
        try count("members", where: ["guild_id": .uint(guild)])
    }
}
