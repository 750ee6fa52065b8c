import GuildStoreEngine

// Seed 003's reminder bot: which events are due a reminder, and whom to remind.

/// A reminder event due now (`dueReminders(now:)`).
///
/// ```swift
/// let due = try await db.read { tx in try tx.dueReminders(now: now) }
/// for reminder in due { print(reminder.title, reminder.channelID, reminder.messageID) }
/// ```
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
        let scan = try walkPlan(PreparedPatterns.remindersNotPaused, equals: [false])
        let positions = scan.columns
        let (id, guild, channel, message, title, last, interval) =
            (positions[0], positions[1], positions[2], positions[3], positions[4], positions[5], positions[6])
        var due: [DueReminder] = []
        try walk(scan.plan, reading: positions) { values in
            var dueAt: Int64?
            if case .timestamp(let lastReminder) = values[last] {
                guard case .int(let minutes) = values[interval] else { return true }
                let (seconds, overflow1) = minutes.multipliedReportingOverflow(by: 60)
                let (at, overflow2) = lastReminder.addingReportingOverflow(seconds)
                guard !overflow1, !overflow2 else {
                    throw GuildStoreError.aggregateOverflow(table: "reminder_events", column: "interval_minutes")
                }
                guard at <= now else { return true }
                dueAt = at
            }
            guard case .uint(let eventID) = values[id], case .uint(let guildID) = values[guild], case .uint(let channelID) = values[channel],
                  case .uint(let messageID) = values[message], case .text(let text) = values[title] else {
                throw GuildStoreError.invalidSchema("reminder_events: a row does not match the table's column types")
            }
            due.append(DueReminder(id: eventID, guildID: guildID, channelID: channelID, messageID: messageID, title: text, dueAt: dueAt))
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
        return due
    }

    /// The users to remind about `event`: the non-bot members of its guild without a reaction
    /// on it, by user id; empty when there is no such event.
    ///
    ///     SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id
    ///     WHERE m.guild_id = (SELECT guild_id FROM reminder_events WHERE id = E) AND u.bot = 0
    ///       AND NOT EXISTS (SELECT 1 FROM reactions r WHERE r.event_id = E AND r.user_id = m.user_id)
    ///     ORDER BY m.user_id
    ///
    /// Members minus the users who reacted minus the bots: each a walk of an index range
    /// (`idx_reactions_event_user`, the members' primary key, `idx_users_bot`), no lookup per
    /// member. Every member has a user row (the members' foreign key, FK-1).
    public final func reminderTargets(event: UInt64) throws -> [UInt64] {
        /// The ids in the first column `scan` reads, of the rows whose equal column is `value`.
        func ids(_ scan: PreparedScan, where value: Value) throws -> Set<UInt64> {
            let walk = try walkPlan(scan, equals: [value])
            let position = walk.columns[0]
            var found: Set<UInt64> = []
            try self.walk(walk.plan, reading: walk.columns) { values in
                if case .uint(let id) = values[position] { found.insert(id) }
                return true
            }
            return found
        }
        guard let guild = try get("reminder_events", key: [.uint(event)])?.uint("guild_id") else { return [] }
        let excluded = try ids(PreparedPatterns.reactors, where: .uint(event)).union(ids(PreparedPatterns.bots, where: true))
        let members = try walkPlan(PreparedPatterns.membersByUser, equals: [.uint(guild)])
        let memberUser = members.columns[0]
        var targets: [UInt64] = []
        try walk(members.plan, reading: members.columns) { values in
            if case .uint(let user) = values[memberUser], !excluded.contains(user) { targets.append(user) }
            return true
        }
        if !members.ordered { targets.sort() }
        return targets
    }
}
