@_spi(Benchmarks) import GuildStoreEngine

/// `presence_events` in time order. A presence update is one user's status changing: the
/// gateway reports it once per guild they share with the bot, so an update is a burst of one
/// to three events with the same user, status and `created_at` (the ties of seed 000's
/// "latest presence" query).
///
/// Invariants:
/// - (FX-19) A burst never goes past the planned count (FX-8); its extra guilds are guilds the
///   user is a member of, active ones only after the inactive cutoff.
/// - (FX-20) Status is online, idle, dnd or offline, and NULL one time in twenty.
struct PresenceStream: TimedRecordStream {
    private static let statuses: [(String, Int)] = [("online", 45), ("idle", 20), ("dnd", 15), ("offline", 15)]

    private let world: FixtureWorld
    private var rng: SplitMix64
    private var ids = EventIDs(worker: 4)
    private let count: Int
    private var planned = 0
    private var burst: [TimedRecord] = []

    init(world: FixtureWorld) {
        self.world = world
        rng = SplitMix64.derived(world.seed, stream: FixtureWorld.Stream.presence.rawValue)
        count = world.profile.presenceEvents
    }

    mutating func next() -> TimedRecord? {
        if burst.isEmpty {
            guard planned < count else { return nil }
            makeBurst()
        }
        return burst.isEmpty ? nil : burst.removeFirst()
    }

    private mutating func makeBurst() {
        let t = windowTime(planned, of: count, world.profile)
        let g = world.guild(at: t, &rng)
        let user = world.member(of: g, &rng)
        var guilds = [g]
        let wanted = min(count - planned, 1 + rng.int(below: 3))  // FX-19
        for other in world.userGuilds[user] where guilds.count < wanted && Int(other) != g {
            if world.guilds[Int(other)].isActive || t < world.inactiveCutoff { guilds.append(Int(other)) }
        }
        planned += guilds.count
        var draw = rng.int(below: 100)
        var status: Value = .null  // FX-20: the 5% left over
        for (name, share) in Self.statuses {
            if draw < share { status = .text(name); break }
            draw -= share
        }
        let activity = status == .text("offline") || rng.percent(50) ? nil : rng.int(below: 6)
        let activityName: Value = activity.map { $0 == 4 ? .text("🌙 away") : .text(rng.pick(FixtureNames.activityNames)) } ?? .null
        for guild in guilds {
            burst.append(TimedRecord(time: t, record: IngestRecord(.presence, [
                "id": .uint(ids.next(at: t, &rng)), "guild_id": .uint(world.guilds[guild].id), "user_id": .uint(world.users[user].id),
                "status": status, "activity_type": activity.map { .int(Int64($0)) } ?? .null, "activity_name": activityName,
                "created_at": .timestamp(t),
            ])))
        }
    }
}
