@_spi(Benchmarks) import GuildStoreEngine

/// `member_events` in time order: joins (60%) by members of the guild, leaves by any user
/// (former members), each with the guild's running member count.
///
/// Invariant (FX-29): `member_count` never goes below 0; it starts at the guild's member count.
struct MemberEventStream: TimedRecordStream {
    private let world: FixtureWorld
    private var rng: SplitMix64
    private var ids = EventIDs(worker: 3)
    private var i = 0
    private let count: Int
    private var memberCounts: [Int64]

    init(world: FixtureWorld) {
        self.world = world
        rng = SplitMix64.derived(world.seed, stream: FixtureWorld.Stream.memberEvents.rawValue)
        count = world.profile.memberEvents
        memberCounts = world.guilds.map { Int64($0.members.count) }
    }

    mutating func next() -> TimedRecord? {
        guard i < count else { return nil }
        defer { i += 1 }
        let t = windowTime(i, of: count, world.profile)
        let g = world.guild(at: t, &rng)
        let join = rng.percent(60)
        let user = join ? world.member(of: g, &rng) : rng.int(below: world.users.count)
        memberCounts[g] = max(0, memberCounts[g] + (join ? 1 : -1))
        let record = IngestRecord(.memberEvent, [
            "id": .uint(ids.next(at: t, &rng)), "guild_id": .uint(world.guilds[g].id), "user_id": .uint(world.users[user].id),
            "event_type": .text(join ? "join" : "leave"), "member_count": .int(memberCounts[g]), "created_at": .timestamp(t),
        ])
        return TimedRecord(time: t, record: record)
    }
}
