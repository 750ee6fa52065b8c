@_spi(Benchmarks) import GuildStoreEngine

/// `message_events` in time order: guild by activity, author skewed to power users, bots
/// posting embeds.
///
/// Invariant (FX-15, the planned tie): message i with i % 20 == 10 and i / 20 < `tieSlots` goes to
/// guild 0's tie user number (i / 20) % 3; `tieSlots` is a multiple of 3, so the three tie
/// users have exactly `tieSlots / 3` messages each in guild 0, and no other message of guild 0
/// is theirs (FX-13).
struct MessageStream: TimedRecordStream {
    static let tiePeriod = 20

    private let world: FixtureWorld
    private var rng: SplitMix64
    private var ids = EventIDs(worker: 1)
    private var i = 0
    private let count: Int
    private let tieSlots: Int

    init(world: FixtureWorld) {
        self.world = world
        rng = SplitMix64.derived(world.seed, stream: FixtureWorld.Stream.messages.rawValue)
        count = world.profile.messages
        tieSlots = count / Self.tiePeriod / 3 * 3
    }

    /// Messages each tie user has in guild 0 (FX-15).
    static func tieCount(_ profile: FixtureProfile) -> Int {
        profile.messages / tiePeriod / 3
    }

    mutating func next() -> TimedRecord? {
        guard i < count else { return nil }
        defer { i += 1 }
        let t = windowTime(i, of: count, world.profile)
        let g: Int, user: Int
        if i % Self.tiePeriod == Self.tiePeriod / 2, i / Self.tiePeriod < tieSlots {
            g = 0
            user = Int(world.tieUsers[(i / Self.tiePeriod) % 3])
        } else {
            g = world.guild(at: t, &rng)
            // Guild 0's last three members are the tie users (FX-15): never drawn at random.
            let members = world.guilds[g].members
            user = Int(members[rng.skewed(below: g == 0 ? members.count - 3 : members.count)])
        }
        let guild = world.guilds[g]
        let channel = guild.textChannels[rng.skewed(below: guild.textChannels.count)]
        let bot = world.users[user].bot
        let u = rng.unit()
        let characters = Int64(1 + Int(u * u * 400))
        let words = max(1, characters / 6 + Int64(rng.int(below: 3)))
        let type: Int64 = rng.percent(12) ? 19 : (rng.percent(2) ? 18 : 0)  // reply, thread created, default
        let record = IngestRecord(.message, [
            "id": .uint(ids.next(at: t, &rng)), "guild_id": .uint(guild.id), "channel_id": .uint(channel),
            "user_id": .uint(world.users[user].id), "message_type": .int(type),
            "has_attachment": .bool(rng.percent(8)), "has_embed": .bool(rng.percent(bot ? 60 : 4)),
            "character_count": .int(characters), "word_count": .int(words), "created_at": .timestamp(t),
        ])
        return TimedRecord(time: t, record: record)
    }
}
