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
    /// The mean is SQL's: the exact integer sum of `now - joined_at`, divided once.
    public final func guildStats(now: Int64) throws -> [GuildStats] {
        let guilds = try select("guilds", columns: ["id", "name"], where: ["is_active": true])
        var result: [GuildStats] = []
        result.reserveCapacity(guilds.count)
        for guild in guilds {
            let id = try guild.uint("id")
            // The guild's members are one prefix of the members' primary key.
            let totals = try aggregate("members", where: ["guild_id": .uint(id)],
                                       [.count, .max("joined_at"), .sum("joined_at"), .countNonNull("joined_at")])
            let row = totals.first
            let joined = row?.int(3) ?? 0
            var average: Double?
            if joined > 0, case .int(let sum)? = row?.values[2] {
                // Σ(now - j) = now·n - Σj, exact in 64 bits as SQLite's integer sum is.
                let (scaled, overflow1) = now.multipliedReportingOverflow(by: joined)
                let (total, overflow2) = scaled.subtractingReportingOverflow(sum)
                guard !overflow1, !overflow2 else {
                    throw GuildStoreError.aggregateOverflow(table: "members", column: "joined_at")
                }
                average = Double(total) / Double(joined)
            }
            var lastJoin: Int64?
            if case .timestamp(let t)? = row?.values[1] { lastJoin = t }
            result.append(GuildStats(id: id, name: try guild.optional("name", Row.text), memberCount: row?.int(0) ?? 0,
                                     lastJoin: lastJoin, averageMemberAgeSeconds: average))
        }
        result.sort { $0.memberCount != $1.memberCount ? $0.memberCount > $1.memberCount : $0.id < $1.id }
        return result
    }

    /// The number of members of `guild` (a prefix count of the members' primary key).
    public final func memberCount(guild: UInt64) throws -> Int64 {
        try count("members", where: ["guild_id": .uint(guild)])
    }
}
