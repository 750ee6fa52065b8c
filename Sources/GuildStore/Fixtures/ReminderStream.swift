@_spi(Benchmarks) import GuildStoreEngine

/// Seed 003's reminder bot: each reminder event, then its reactions, then its logs.
///
/// Each reminder draws from its own random stream (FX-3), so counting the reminder records
/// (`FixtureGenerator.plannedCounts`) regenerates only this small part.
///
/// Invariants:
/// - (FX-21) A reminder's `message_id` and `id` are unique (snowflakes with the reminder's index
///   in the low bits); reactions and logs take ids from per-table counters.
/// - (FX-22) A reminder's reactions come from distinct members of its guild, each with one of
///   its required emoji, so (event_id, user_id, emoji) is unique.
/// - (FX-23) `last_reminder` is NULL for about a quarter (never reminded), and such reminders
///   have no logs; `is_paused` for one in five; logs are scheduled every `interval_minutes`
///   from creation, never after `now`; failed logs carry an error message and no `sent_at`.
struct ReminderStream {
    private static let intervals: [Int64] = [5, 15, 30, 60, 120, 360, 720, 1440, 10_080]

    private let world: FixtureWorld
    private var index = 0
    private var reactionIndex = 0
    private var logIndex = 0
    private var queue: [IngestRecord] = []
    private var queueStart = 0

    init(world: FixtureWorld) {
        self.world = world
    }

    mutating func next() -> IngestRecord? {
        if queueStart == queue.count {
            guard index < world.profile.reminderEvents else { return nil }
            queue = makeReminder(index)
            queueStart = 0
            index += 1
        }
        defer { queueStart += 1 }
        return queue[queueStart]
    }

    private mutating func makeReminder(_ r: Int) -> [IngestRecord] {
        let profile = world.profile
        var rng = SplitMix64.derived(world.seed, stream: FixtureWorld.Stream.reminders.rawValue, index: UInt64(r))
        let span = Int(profile.now - profile.windowStart)
        let created = profile.windowStart + Int64(rng.int(below: span - 3600))
        let g = world.guild(at: created, &rng)
        let guild = world.guilds[g]
        let interval = rng.pick(Self.intervals)
        let neverReminded = rng.percent(25)
        let lastReminder = neverReminded ? nil : min(profile.now, created + interval * 60 * Int64(1 + rng.int(below: 6)))
        var emoji: [String] = []
        for _ in 0..<(1 + rng.int(below: 3)) {
            let e = rng.pick(FixtureNames.emoji)
            if !emoji.contains(e) { emoji.append(e) }
        }
        let id = Snowflake.entity(seconds: created, index: r)  // FX-21
        var records = [IngestRecord(.reminderEvent, [
            "id": .uint(id), "message_id": .uint(Snowflake.entity(seconds: created - 5, index: r)),
            "channel_id": .uint(rng.pick(guild.textChannels)), "guild_id": .uint(guild.id),
            "title": .text(rng.pick(FixtureNames.reminderTitles)),
            "description": rng.percent(30) ? .null : .text(rng.pick(FixtureNames.reminderDescriptions)),
            "interval_minutes": .int(interval), "is_paused": .bool(rng.percent(20)),
            "last_reminder": lastReminder.map { .timestamp($0) } ?? .null,
            "required_reactions": .json("[" + emoji.map { "\"\($0)\"" }.joined(separator: ",") + "]"),
            "created_at": .timestamp(created), "updated_at": .timestamp(lastReminder ?? created),
        ])]

        // FX-22: consecutive members from a random offset are distinct.
        let reactions = min(guild.members.count, rng.int(below: 9))
        let offset = rng.int(below: guild.members.count)
        for k in 0..<reactions {
            let user = world.users[Int(guild.members[(offset + k) % guild.members.count])]
            let at = created + Int64(rng.int(below: Int(profile.now - created)))
            records.append(IngestRecord(.reaction, [
                "id": .uint(Snowflake.entity(seconds: at, index: reactionIndex)), "event_id": .uint(id), "user_id": .uint(user.id),
                "emoji": .text(rng.pick(emoji)), "reacted_at": .timestamp(at), "created_at": .timestamp(at), "updated_at": .timestamp(at),
            ]))
            reactionIndex += 1
        }

        if lastReminder != nil {  // FX-23
            for k in 0..<(1 + rng.int(below: 6)) {
                let scheduled = min(profile.now, created + interval * 60 * Int64(k + 1))
                let draw = rng.int(below: 10)
                let status = draw < 8 ? "sent" : (draw == 8 ? "failed" : "pending")
                records.append(IngestRecord(.reminderLog, [
                    "id": .uint(Snowflake.entity(seconds: scheduled, index: logIndex)), "event_id": .uint(id),
                    "scheduled_at": .timestamp(scheduled),
                    "sent_at": status == "sent" ? .timestamp(scheduled + Int64(rng.int(below: 30))) : .null,
                    "users_notified": .int(status == "sent" ? Int64(rng.int(in: 0...reactions)) : 0),
                    "status": .text(status),
                    "error_message": status == "failed" ? .text(rng.pick(FixtureNames.errorMessages)) : .null,
                    "created_at": .timestamp(scheduled), "updated_at": .timestamp(scheduled),
                ]))
                logIndex += 1
            }
        }
        return records
    }
}
