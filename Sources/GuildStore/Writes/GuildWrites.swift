import GuildStoreEngine

// The seeds' write patterns beyond a plain insert / update / delete of a record (those come
// with `TableRecord`): creating a guild with its owner in one transaction (seed 000), batch
// updates, retention cleanup (seed 004) and the activity rollups (seed 001).

/// Rows retention deleted, per event table.
///
/// ```swift
/// let removed = try await db.write { tx in try tx.deleteEvents(olderThan: now - 365 * 86_400) }
/// print(removed.total, removed.messageEvents, removed.presenceEvents)
/// ```
public struct RetentionResult: Sendable, Hashable, Codable {
    public var messageEvents: Int
    public var voiceEvents: Int
    public var memberEvents: Int
    public var presenceEvents: Int

    public var total: Int { messageEvents + voiceEvents + memberEvents + presenceEvents }
}

extension WriteTransaction {
    /// Creates `guild` owned by `owner` (seed 000's `createGuildWithOwner`): the owner's user
    /// row is inserted unless it exists (kept as it is if so), the guild is inserted with
    /// `owner_id` set, and the owner becomes its first member. All or nothing: the caller's
    /// transaction rolls back on any error (e.g. `.uniqueViolation` when the guild exists).
    public func createGuild(_ guild: Guild, owner: User, joinedAt: Int64? = nil) throws {
        try insert(owner, onConflict: .ignore)
        var guild = guild
        guild.ownerID = owner.id
        guild.memberCount = 1
        try insert(guild)
        try insert(Member(guildID: guild.id, userID: owner.id, roles: "[\"owner\"]", joinedAt: joinedAt))
    }

    /// Sets `is_active` on each of `guilds` (a batch `UPDATE ... WHERE id IN (...)`);
    /// `updated_at` moves. Returns how many guilds exist among them.
    @discardableResult
    public func setActive(_ active: Bool, guilds: [UInt64]) throws -> Int {
        var updated = 0
        for id in guilds where try update("guilds", key: [.uint(id)], set: ["is_active": .bool(active)]) { updated += 1 }
        return updated
    }

    /// Sets each guild's `member_count` to the number of its members (seed 004's cached
    /// count); returns how many guilds changed.
    @discardableResult
    public func refreshMemberCounts() throws -> Int {
        var changed: [(UInt64, Int64)] = []
        for guild in try select("guilds", columns: ["id", "member_count"]) {
            let id = try guild.uint("id")
            let count = try memberCount(guild: id)
            if try guild.optional("member_count", Row.int) != count { changed.append((id, count)) }
        }
        for (id, count) in changed { try update("guilds", key: [.uint(id)], set: ["member_count": .int(count)]) }
        return changed.count
    }

    /// Deletes every event older than `cutoff` (`created_at < cutoff`) from the four event
    /// tables (seed 004's cleanup). Every event belongs to a guild (foreign key), so each
    /// guild's old events, one range of its `(guild_id, created_at)` index, are all of them.
    ///
    /// A table loses them one of two ways, whichever costs less for the share that goes
    /// (counted first from those ranges, a leaf at a time):
    /// - a third of its rows or more: its trees are rewritten without them
    ///   (`deleteRewriting`), which reads every page once and writes only what stays
    ///   (measured with `guildstore retention` on the default profile: about even with the
    ///   per-guild path at a third, 1.4-1.6x faster at a half, 1.7x at two thirds);
    /// - less: each guild's range is deleted as one statement (`delete(_ plan:)`: each tree's
    ///   keys in one sorted batch), which touches only the leaves that hold them. Memory holds
    ///   one guild's old events of one table at a time.
    public func deleteEvents(olderThan cutoff: Int64) throws -> RetentionResult {
        let guilds = try select("guilds", columns: ["id"]).map { try $0.uint("id") }
        let old = ColumnRange("created_at", below: .timestamp(cutoff))
        var counts: [Int] = []
        for table in GuildTables.eventTables {
            var going: Int64 = 0
            for guild in guilds { going += try count(table.name, where: ["guild_id": .uint(guild)], range: old) }
            guard going > 0 else {
                counts.append(0)
                continue
            }
            if going * Self.rewriteShare >= (try count(table.name)) {
                counts.append(try deleteRewriting(from: table.name, range: old))
                continue
            }
            var deleted = 0
            for guild in guilds {
                deleted += try delete(try planScan(table.name, equals: ["guild_id": .uint(guild)], range: old))
            }
            counts.append(deleted)
        }
        return RetentionResult(messageEvents: counts[0], voiceEvents: counts[1], memberEvents: counts[2], presenceEvents: counts[3])
    }

    /// Retention rewrites a table when at least 1 / `rewriteShare` of its rows go.
    static let rewriteShare: Int64 = 3

    /// Recomputes the hourly and daily rollups (seed 001's continuous aggregates) of `guild`
    /// for the days overlapping `since ..< until`: the buckets are dropped and rebuilt from
    /// the events, so a refresh after late events is exact. Returns the rows written.
    @discardableResult
    public func refreshActivityRollups(guild: UInt64, since: Int64, until: Int64) throws -> Int {
        let day = TimeBucket.day.rawValue
        func dayStart(_ t: Int64) -> Int64 { t - ((t % day) + day) % day }
        guard since < until else { return 0 }
        let start = dayStart(since)
        let end = dayStart(until - 1) + day
        for table in ["hourly_activity", "daily_activity"] {
            let bucket = table == "hourly_activity" ? "hour" : "day"
            let old = try select(table, where: ["guild_id": .uint(guild)],
                                 range: ColumnRange(bucket, from: .timestamp(start), below: .timestamp(end)))
            for row in old {
                try delete(from: table, key: [.uint(guild), try row.value(bucket), try row.value("user_id")])
            }
        }
        let range = ColumnRange("created_at", from: .timestamp(start), below: .timestamp(end))
        var written = 0
        for (table, width) in [("hourly_activity", TimeBucket.hour), ("daily_activity", TimeBucket.day)] {
            let messages = try aggregate("message_events", where: ["guild_id": .uint(guild)], range: range,
                                         groupBy: [.timeBucket("created_at", seconds: width.rawValue), .column("user_id")],
                                         [.count, .sum("character_count")])
            let bucket = width == .hour ? "hour" : "day"
            for row in messages {
                try insert(["guild_id": .uint(guild), bucket: row.group[0], "user_id": row.group[1],
                            "messages": .int(row.int(0) ?? 0), "characters": .int(row.int(1) ?? 0)], into: table)
                written += 1
            }
        }
        let voice = try aggregate("voice_events", where: ["guild_id": .uint(guild), "event_type": "leave"], range: range,
                                  groupBy: [.day("created_at"), .column("user_id")], [.sum("duration")])
        for row in voice {
            let key = [Value.uint(guild), row.group[0], row.group[1]]
            let milliseconds = Value.int(row.int(0) ?? 0)
            if try !update("daily_activity", key: key, set: ["voice_milliseconds": milliseconds]) {
                try insert(["guild_id": .uint(guild), "day": row.group[0], "user_id": row.group[1],
                            "voice_milliseconds": milliseconds], into: "daily_activity")
                written += 1
            }
        }
        return written
    }
}
