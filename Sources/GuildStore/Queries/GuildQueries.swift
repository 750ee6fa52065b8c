import GuildStoreEngine

// The guild query patterns (seeds 000 and 004). Each method's result equals, row for row and
// in the same order, the SQL in its comment on the same data (GuildQueryTests checks it
// against SQLite).

/// An active guild, newest first (`activeGuilds(limit:)`).
///
/// ```swift
/// let guilds = try await db.read { tx in try tx.activeGuilds(limit: 20) }
/// for guild in guilds { print(guild.id, guild.name ?? "?", guild.memberCount ?? 0) }
/// ```
public struct ActiveGuild: Sendable, Hashable, Codable {
    public var id: UInt64
    public var name: String?
    public var memberCount: Int64?
    public var createdAt: Int64
}

/// A guild and the number of its members (`guildMemberCount(guild:)`).
///
/// ```swift
/// let count = try await db.read { tx in try tx.guildMemberCount(guild: guild) }
/// print(count?.name ?? "no such guild", count?.memberCount ?? 0)
/// ```
public struct GuildMemberCount: Sendable, Hashable, Codable {
    public var id: UInt64
    public var name: String?
    public var memberCount: Int64
}

/// An active guild's members, latest join and average membership age (`guildStats(now:)`).
///
/// ```swift
/// let stats = try await db.read { tx in try tx.guildStats(now: now) }
/// for guild in stats { print(guild.id, guild.memberCount, guild.lastJoin ?? 0, guild.averageMemberAgeSeconds ?? 0) }
/// ```
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
        guard limit > 0 else { return [] }
        let scan = try walkPlan(PreparedPatterns.activeGuilds, equals: [true])
        let (id, name, memberCount, createdAt) = (scan.columns[0], scan.columns[1], scan.columns[2], scan.columns[3])
        let ordered = scan.ordered
        var result: [ActiveGuild] = []
        try walk(scan.plan, reading: scan.columns) { values in
            guard case .uint(let guild) = values[id], case .timestamp(let created) = values[createdAt] else {
                throw GuildStoreError.invalidSchema("guilds: a row does not match the table's column types")
            }
            var text: String?
            if case .text(let t) = values[name] { text = t }
            var members: Int64?
            if case .int(let m) = values[memberCount] { members = m }
            result.append(ActiveGuild(id: guild, name: text, memberCount: members, createdAt: created))
            // In the plan's order the first `limit` are the answer; otherwise every row is sorted below.
            return !ordered || result.count < limit
        }
        if !ordered {
            result.sort { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.id > $1.id }
            result.removeSubrange(min(limit, result.count)...)
        }
        return result
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
    /// The counts and join-time sums per guild come from the members' rollup `by_guild`, the
    /// latest join from one reverse seek of `idx_members_guild_joined` per active guild. The
    /// mean is SQL's: the exact integer sum of `now - joined_at`, divided once.
    public final func guildStats(now: Int64) throws -> [GuildStats] {
        let guilds = try walkPlan(PreparedPatterns.activeGuildNames, equals: [true])
        let (guildID, guildName) = (guilds.columns[0], guilds.columns[1])
        var active: [(id: UInt64, name: String?)] = []
        try walk(guilds.plan, reading: guilds.columns) { values in
            guard case .uint(let id) = values[guildID] else { return true }
            var name: String?
            if case .text(let text) = values[guildName] { name = text }
            active.append((id, name))
            return true
        }
        var totals: [UInt64: (members: Int64, joined: Int64, joinedSum: Int64?)] = [:]
        for row in try aggregate(PreparedPatterns.membersPerGuild) {
            guard case .uint(let guild) = row.group[0] else { continue }
            var sum: Int64?
            if case .int(let s) = row.values[2] { sum = s }
            totals[guild] = (row.int(0) ?? 0, row.int(1) ?? 0, sum)
        }
        var result: [GuildStats] = []
        result.reserveCapacity(active.count)
        for (id, name) in active {
            let guild = totals[id] ?? (0, 0, nil)
            var average: Double?
            if guild.joined > 0, let sum = guild.joinedSum {
                // Σ(now - j) = now·n - Σj, exact in 64 bits as SQLite's integer sum is.
                let (scaled, overflow1) = now.multipliedReportingOverflow(by: guild.joined)
                let (total, overflow2) = scaled.subtractingReportingOverflow(sum)
                guard !overflow1, !overflow2 else {
                    throw GuildStoreError.aggregateOverflow(table: "members", column: "joined_at")
                }
                average = Double(total) / Double(guild.joined)
            }
            // The greatest join time: NULLs sort first, so a reverse walk meets them last.
            var lastJoin: Int64?
            if guild.joined > 0 {
                let members = try walkPlan(PreparedPatterns.membersByJoin, equals: [.uint(id)])
                let (joinedAt, ordered) = (members.columns[0], members.ordered)
                // In the index's order the first value is the greatest; otherwise every row is read.
                try walk(members.plan, reading: members.columns) { values in
                    if case .timestamp(let t) = values[joinedAt] { lastJoin = max(lastJoin ?? t, t) }
                    return !ordered
                }
            }
            result.append(GuildStats(id: id, name: name, memberCount: guild.members, lastJoin: lastJoin, averageMemberAgeSeconds: average))
        }
        result.sort { $0.memberCount != $1.memberCount ? $0.memberCount > $1.memberCount : $0.id < $1.id }
        return result
    }

    /// The number of members of `guild`: one entry of the members' rollup `by_guild` (without
    /// it, a prefix count of the members' primary key).
    public final func memberCount(guild: UInt64) throws -> Int64 {
        try aggregate(PreparedPatterns.memberCount, equals: [.uint(guild)]).first?.int(0) ?? 0
    }
}
