import StorageEngine

// Seed 003's reminder bot: which events are due a reminder, and whom to remind.

public struct DueReminder: Sendable, Hashable, Codable {
    public var id: UInt64
    public var guildID: UInt64
    public var channelID: UInt64
    public var messageID: UInt64
    public var title: String
    /// `last_reminder + interval_minutes * 60`; nil for an event never reminded (due at once).
    public var dueAt: Int64?
}

extension Transaction {
    /// Events not paused that are due at `now`: never reminded, or reminded at least
    /// `interval_minutes` ago. Never-reminded events first, then by due time, then by id.
    ///
    ///     SELECT id, guild_id, channel_id, message_id, title, last_reminder + interval_minutes * 60 AS due_at
    ///     FROM reminder_events
    ///     WHERE is_paused = 0 AND (last_reminder IS NULL OR last_reminder + interval_minutes * 60 <= NOW)
    ///     ORDER BY due_at, id
    ///
    /// Walks the partial index `idx_reminder_events_active` (events not paused, carrying
    /// `interval_minutes`) and reads only the rows of due events.
    public final func dueReminders(now: Int64) throws -> [DueReminder] {
        var due: [(id: UInt64, dueAt: Int64?)] = []
        let plan = try planScan("reminder_events", equals: ["is_paused": false], reading: ["id", "last_reminder", "interval_minutes"])
        try scan(plan) { row in
            let id = try row.uint("id")
            guard let last = try row.optional("last_reminder", Row.timestamp) else {
                due.append((id, nil))
                return true
            }
            let (interval, overflow1) = try row.int("interval_minutes").multipliedReportingOverflow(by: 60)
            let (dueAt, overflow2) = last.addingReportingOverflow(interval)
            guard !overflow1, !overflow2 else {
                throw GuildStoreError.aggregateOverflow(table: "reminder_events", column: "interval_minutes")
            }
            if dueAt <= now { due.append((id, dueAt)) }
            return true
        }
        // NULL first, as SQL orders it; ids break ties.
        due.sort { a, b in
            switch (a.dueAt, b.dueAt) {
            case (nil, nil): a.id < b.id
            case (nil, _): true
            case (_, nil): false
            case (let x?, let y?): x != y ? x < y : a.id < b.id
            }
        }
        return try due.compactMap { entry in
            guard let event = try get(ReminderEvent.self, key: [.uint(entry.id)]) else { return nil }
            return DueReminder(id: event.id, guildID: event.guildID, channelID: event.channelID, messageID: event.messageID,
                               title: event.title, dueAt: entry.dueAt)
        }
    }

    /// The users to remind about `event`: the non-bot members of its guild without a reaction
    /// on it, by user id; empty when there is no such event.
    ///
    ///     SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id
    ///     WHERE m.guild_id = (SELECT guild_id FROM reminder_events WHERE id = E) AND u.bot = 0
    ///       AND NOT EXISTS (SELECT 1 FROM reactions r WHERE r.event_id = E AND r.user_id = m.user_id)
    ///     ORDER BY m.user_id
    public final func reminderTargets(event: UInt64) throws -> [UInt64] {
        guard let row = try get("reminder_events", key: [.uint(event)]) else { return [] }
        let guild = try row.uint("guild_id")
        var reacted: Set<UInt64> = []
        for reaction in try select("reactions", columns: ["user_id"], where: ["event_id": .uint(event)]) {
            reacted.insert(try reaction.uint("user_id"))
        }
        var targets: [UInt64] = []
        for member in try select("members", columns: ["user_id"], where: ["guild_id": .uint(guild)], orderBy: [.ascending("user_id")]) {
            let user = try member.uint("user_id")
            guard !reacted.contains(user), let account = try get("users", key: [.uint(user)]), try !account.bool("bot") else { continue }
            targets.append(user)
        }
        return targets
    }
}
