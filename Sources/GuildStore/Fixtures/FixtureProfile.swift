/// The size and shape of a generated dataset, like seed 001's `db:seed:small`, `db:seed` and
/// `db:seed:large`.
///
/// Invariants (checked by `validate()`, which `FixtureGenerator` calls):
/// - (FX-4) `emptyGuilds + inactiveGuilds < guilds`: guild 0, the busiest, is active and has
///   members (it carries the planned leaderboard tie).
/// - (FX-5) `minGuildMembers >= 1`, `largestGuildMembers >= 10` and both at most `users`.
/// - (FX-6) every event count is at least 0, and `days >= 1`.
/// - (FX-7) fewer than 2^22 users, guilds, channels and reminder rows (snowflake low bits, FX-1).
@_spi(Benchmarks) public struct FixtureProfile: Sendable, Hashable, CustomStringConvertible {
    package var name: String
    /// All guilds, empty and inactive ones included.
    package var guilds: Int
    /// Guilds with no channels, members or events (the bot was just invited).
    package var emptyGuilds: Int
    /// Guilds with `is_active` false; their events stop after the first third of the window.
    package var inactiveGuilds: Int
    package var users: Int
    /// Share of users with `bot` true, in percent.
    package var botPercent: Int
    /// Members of the busiest guild; the guild of activity rank r has about
    /// `largestGuildMembers / r` (Zipf), and at least `minGuildMembers`.
    package var largestGuildMembers: Int
    package var minGuildMembers: Int
    package var messages: Int
    package var voiceEvents: Int
    package var memberEvents: Int
    package var presenceEvents: Int
    /// Seed 003's reminder events; each brings up to 8 reactions and up to 6 logs.
    package var reminderEvents: Int
    /// Length of the event window, ending at `now`.
    package var days: Int
    /// The dataset's present, seconds since 1970: every timestamp is at or before it.
    package var now: Int64

    package init(name: String, guilds: Int, emptyGuilds: Int, inactiveGuilds: Int, users: Int, botPercent: Int,
                largestGuildMembers: Int, minGuildMembers: Int, messages: Int, voiceEvents: Int, memberEvents: Int,
                presenceEvents: Int, reminderEvents: Int, days: Int = 90, now: Int64 = 1_748_736_000) {
        self.name = name
        self.guilds = guilds
        self.emptyGuilds = emptyGuilds
        self.inactiveGuilds = inactiveGuilds
        self.users = users
        self.botPercent = botPercent
        self.largestGuildMembers = largestGuildMembers
        self.minGuildMembers = minGuildMembers
        self.messages = messages
        self.voiceEvents = voiceEvents
        self.memberEvents = memberEvents
        self.presenceEvents = presenceEvents
        self.reminderEvents = reminderEvents
        self.days = days
        self.now = now
    }

    /// A few thousand events: the checked-in `Fixtures/small.jsonl` (about 1 MB).
    @_spi(Benchmarks) public static let small = FixtureProfile(
        name: "small", guilds: 12, emptyGuilds: 2, inactiveGuilds: 2, users: 160, botPercent: 8,
        largestGuildMembers: 90, minGuildMembers: 4,
        messages: 2_400, voiceEvents: 600, memberEvents: 300, presenceEvents: 900, reminderEvents: 10)

    /// About a million events across the four event tables.
    @_spi(Benchmarks) public static let `default` = FixtureProfile(
        name: "default", guilds: 400, emptyGuilds: 20, inactiveGuilds: 40, users: 30_000, botPercent: 5,
        largestGuildMembers: 12_000, minGuildMembers: 5,
        messages: 700_000, voiceEvents: 120_000, memberEvents: 50_000, presenceEvents: 130_000, reminderEvents: 1_000)

    /// About ten million events across the four event tables.
    package static let large = FixtureProfile(
        name: "large", guilds: 4_000, emptyGuilds: 200, inactiveGuilds: 400, users: 300_000, botPercent: 5,
        largestGuildMembers: 100_000, minGuildMembers: 5,
        messages: 7_000_000, voiceEvents: 1_200_000, memberEvents: 500_000, presenceEvents: 1_300_000, reminderEvents: 10_000)

    package static let all: [FixtureProfile] = [.small, .default, .large]

    /// The profile called `name` (`small`, `default`, `large`), for the command line.
    package static func named(_ name: String) -> FixtureProfile? {
        all.first { $0.name == name }
    }

    /// Events across the four gateway event tables.
    @_spi(Benchmarks) public var gatewayEvents: Int { messages + voiceEvents + memberEvents + presenceEvents }

    /// Seconds since 1970 at which the event window opens.
    package var windowStart: Int64 { now - Int64(days) * 86_400 }

    /// Throws `FixtureProfileError` naming the first invariant (FX-4 to FX-7) the profile breaks.
    package func validate() throws(FixtureProfileError) {
        guard guilds > 0, emptyGuilds >= 0, inactiveGuilds >= 0, emptyGuilds + inactiveGuilds < guilds else {
            throw FixtureProfileError(profile: name, reason: "P1: needs an active guild with members (guilds > empty + inactive)")
        }
        guard minGuildMembers >= 1, largestGuildMembers >= 10, largestGuildMembers <= users, minGuildMembers <= users else {
            throw FixtureProfileError(profile: name, reason: "P2: guild sizes must be within 1...users, the largest at least 10")
        }
        guard messages >= 0, voiceEvents >= 0, memberEvents >= 0, presenceEvents >= 0, reminderEvents >= 0, days >= 1,
              botPercent >= 0, botPercent <= 100 else {
            throw FixtureProfileError(profile: name, reason: "P3: counts must be non-negative and days at least 1")
        }
        let limit = 1 << 22
        guard users < limit, guilds < limit, reminderEvents * 8 < limit, guilds * 20 < limit else {
            throw FixtureProfileError(profile: name, reason: "P4: at most 2^22 rows per entity table")
        }
    }

    @_spi(Benchmarks) public var description: String {
        "\(name): \(guilds) guilds (\(emptyGuilds) empty, \(inactiveGuilds) inactive), \(users) users, "
            + "\(gatewayEvents) events over \(days) days to \(now)"
    }
}

/// A profile that breaks one of `FixtureProfile`'s invariants.
@_spi(Benchmarks) public struct FixtureProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    package var profile: String
    package var reason: String
    @_spi(Benchmarks) public var description: String { "fixture profile \(profile): \(reason)" }
}
