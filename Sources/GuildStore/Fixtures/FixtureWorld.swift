@_spi(Benchmarks) import GuildStoreEngine

/// The entities of a fixture, built once from (profile, seed) and held in memory: guilds,
/// users, channels and memberships. Events are not here: they stream (`FixtureEvents`).
/// Even the large profile's world is small (300,000 users, under a million memberships).
///
/// Invariants:
/// - (FX-10) Guild i has activity rank i + 1: its event weight is 1,000,000 / (i + 1) (Zipf) and
///   its size about `largestGuildMembers / (i + 1)`.
/// - (FX-11) Empty guilds (the last `emptyGuilds` indices) have no members, channels or events;
///   every other guild has at least one text and one voice channel and
///   at least `minGuildMembers` members, `members[0]` its owner.
/// - (FX-12) A guild's members are distinct users (an arithmetic progression modulo `users`
///   with a step coprime to it).
/// - (FX-13) Guild 0 is active and non-empty (FX-4); `tieUsers` are three of its members that
///   random message picks in guild 0 never choose: `FixtureEvents` gives each of them exactly
///   the same number of messages there (a planned leaderboard tie).
/// - (FX-14) Every entity is created before the event window opens, so no event predates its
///   guild, user or channel.
final class FixtureWorld: Sendable {
    struct Guild: Sendable {
        let id: UInt64
        let createdAt: Int64
        let isActive: Bool
        let isEmpty: Bool
        /// User indices, distinct (FX-12); the first is the owner.
        let members: [Int32]
        let categoryID: UInt64?
        let textChannels: [UInt64]
        let voiceChannels: [UInt64]
        /// The guild's role ids: the guild id itself is @everyone, as on Discord.
        let roleIDs: [UInt64]
    }

    struct User: Sendable {
        let id: UInt64
        let createdAt: Int64
        let bot: Bool
    }

    let profile: FixtureProfile
    let seed: UInt64
    let guilds: [Guild]
    let users: [User]
    /// For each user, the guilds they are a member of.
    let userGuilds: [[Int32]]
    /// After this second, inactive guilds get no more events.
    let inactiveCutoff: Int64
    /// Non-empty guilds weighted by activity (FX-10), and the same without inactive guilds.
    let allGuildSampler: WeightedSampler
    let activeGuildSampler: WeightedSampler
    /// Guild 0's tie users (FX-13).
    let tieUsers: [Int32]

    /// Random streams: one per part of the fixture, so each part is stable on its own.
    enum Stream: UInt64 {
        case world = 1, guildRecords, userRecords, channelRecords, memberRecords
        case messages, voice, memberEvents, presence, reminders
    }

    init(profile: FixtureProfile, seed: UInt64) throws(FixtureProfileError) {
        try profile.validate()
        self.profile = profile
        self.seed = seed
        var rng = SplitMix64.derived(seed, stream: Stream.world.rawValue)
        let windowStart = profile.windowStart

        // Users: created between 2015-03-01 and a day before the window (FX-14).
        let firstUser: Int64 = 1_425_168_000
        var users: [User] = []
        users.reserveCapacity(profile.users)
        for u in 0..<profile.users {
            let created = firstUser + Int64(rng.int(below: Int(max(1, windowStart - 86_400 - firstUser))))
            users.append(User(id: Snowflake.entity(seconds: created, index: u), createdAt: created, bot: rng.percent(profile.botPercent)))
        }

        // Inactive guilds spread over the activity ranks 2...(non-empty count).
        let nonEmpty = profile.guilds - profile.emptyGuilds
        var inactive = Set<Int>()
        for j in 0..<profile.inactiveGuilds { inactive.insert(1 + j * (nonEmpty - 1) / profile.inactiveGuilds) }

        // Guilds: created between 2016-01-01 and ten days before the window (FX-14).
        let firstGuild: Int64 = 1_451_606_400
        var guilds: [Guild] = []
        var userGuilds = [[Int32]](repeating: [], count: profile.users)
        var channelIndex = 0
        for i in 0..<profile.guilds {
            let created = firstGuild + Int64(rng.int(below: Int(max(1, windowStart - 10 * 86_400 - firstGuild))))
            let id = Snowflake.entity(seconds: created, index: i)
            let isEmpty = i >= nonEmpty
            let size = isEmpty ? 0 : min(profile.users, max(profile.minGuildMembers, profile.largestGuildMembers / (i + 1)))
            // FX-12: start + k * step (mod users), step coprime to users.
            let start = rng.int(below: profile.users)
            var step = 1 + rng.int(below: profile.users)
            while gcd(step, profile.users) != 1 { step += 1 }
            var members: [Int32] = []
            members.reserveCapacity(size)
            for k in 0..<size {
                let user = Int32((start + k * step) % profile.users)
                members.append(user)
                userGuilds[Int(user)].append(Int32(i))
            }
            var category: UInt64?
            var text: [UInt64] = [], voice: [UInt64] = []
            if !isEmpty {
                func channel(_ hours: Int) -> UInt64 {
                    defer { channelIndex += 1 }
                    return Snowflake.entity(seconds: created + Int64(hours) * 3600, index: channelIndex)
                }
                category = channel(0)
                for k in 0..<min(12, 2 + size / 30) { text.append(channel(1 + k)) }
                for k in 0..<min(6, 1 + size / 60) { voice.append(channel(13 + k)) }
            }
            guilds.append(Guild(id: id, createdAt: created, isActive: !inactive.contains(i), isEmpty: isEmpty, members: members,
                                categoryID: category, textChannels: text, voiceChannels: voice,
                                roleIDs: isEmpty ? [id] : (0...4).map { id + UInt64($0) }))
        }

        self.users = users
        self.guilds = guilds
        self.userGuilds = userGuilds
        inactiveCutoff = windowStart + (profile.now - windowStart) / 3
        let weights = (0..<nonEmpty).map { (item: $0, weight: UInt64(1_000_000 / ($0 + 1))) }
        allGuildSampler = WeightedSampler(weights)
        activeGuildSampler = WeightedSampler(weights.filter { guilds[$0.item].isActive })
        let hot = guilds[0].members
        tieUsers = [hot[hot.count - 1], hot[hot.count - 2], hot[hot.count - 3]]
    }

    /// A guild with events at second `t`, by activity (FX-10); inactive guilds only before the
    /// cutoff. Never nil: guild 0 is always a candidate (FX-13).
    func guild(at t: Int64, _ rng: inout SplitMix64) -> Int {
        (t < inactiveCutoff ? allGuildSampler : activeGuildSampler).pick(&rng) ?? 0
    }

    /// A member of guild `g`, skewed towards its first members (the "power users").
    func member(of g: Int, _ rng: inout SplitMix64) -> Int {
        let members = guilds[g].members
        return Int(members[rng.skewed(below: members.count)])
    }

    var channelCount: Int {
        guilds.reduce(0) { $0 + ($1.categoryID == nil ? 0 : 1) + $1.textChannels.count + $1.voiceChannels.count }
    }

    var memberCount: Int {
        guilds.reduce(0) { $0 + $1.members.count }
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
