/// Deterministic guild datasets for tests, benchmarks and `guildstore seed`, like seed 001's
/// `db:seed:small` / `db:seed` / `db:seed:large`:
///
/// ```swift
/// let generator = try FixtureGenerator(profile: .default)        // seed: FixtureGenerator.defaultSeed
/// for record in generator { print(record.jsonLine) }              // JSON lines, streamed
/// let counts = try await generator.load(into: store.database)     // or straight into a database
/// let since = generator.now - 7 * 86_400                          // the dataset's own present
/// ```
///
/// Shape: Zipf-skewed guild activity and sizes, empty guilds, inactive guilds whose events stop
/// early, bots, unicode names of every kind, members with role arrays, snowflake ids whose
/// high bits are their creation time, ~90 days of messages, voice sessions (join / move /
/// leave with durations in ms), joins and leaves, presence bursts with equal timestamps, a
/// planned leaderboard tie, and seed 003's reminders with reactions and logs.
///
/// Invariants:
/// - (FX-24) Deterministic: the records are a pure function of (profile, seed) (FX-3).
/// - (FX-25) Parents first: every guild, then every user, then channels, then members, then the
///   gateway events in time order (FX-9), then each reminder followed by its reactions and
///   logs; so every foreign key holds at the moment its row is inserted.
/// - (FX-26) Streaming: only the world (entities, `FixtureWorld`) is held in memory; events
///   are made as they are consumed, so the large profile's 10 million events never are.
/// - (FX-27) The records of each kind number exactly `plannedCounts()`.
@_spi(Benchmarks) public struct FixtureGenerator: Sequence, Sendable {
    /// The seed of the checked-in fixture.
    @_spi(Benchmarks) public static let defaultSeed: UInt64 = 0x6775_696C_6473_746F  // "guildsto"

    package let profile: FixtureProfile
    package let seed: UInt64
    private let world: FixtureWorld

    /// Builds the profile's world (entities only, FX-26); throws `FixtureProfileError` for a
    /// profile that breaks its invariants.
    @_spi(Benchmarks) public init(profile: FixtureProfile = .small, seed: UInt64 = FixtureGenerator.defaultSeed) throws(FixtureProfileError) {
        self.profile = profile
        self.seed = seed
        world = try FixtureWorld(profile: profile, seed: seed)
    }

    /// The dataset's present (seconds since 1970): events span the profile's `days` before it.
    package var now: Int64 { profile.now }

    @_spi(Benchmarks) public func makeIterator() -> Iterator {
        Iterator(world: world)
    }

    /// The number of records of each kind the sequence yields (FX-27), without generating the
    /// gateway events (their counts are the profile's).
    package func plannedCounts() -> FixtureCounts {
        var counts = FixtureCounts()
        counts.add(.guild, world.guilds.count)
        counts.add(.user, world.users.count)
        counts.add(.channel, world.channelCount)
        counts.add(.member, world.memberCount)
        counts.add(.message, profile.messages)
        counts.add(.voice, profile.voiceEvents)
        counts.add(.memberEvent, profile.memberEvents)
        counts.add(.presence, profile.presenceEvents)
        var reminders = ReminderStream(world: world)
        while let record = reminders.next() { counts.add(record.kind) }
        return counts
    }

    /// The planned leaderboard tie (FX-13, FX-15): guild 0 (the busiest), the three users who have
    /// exactly the same number of messages there, and that number (`messages / 60`).
    package var plannedTie: (guild: UInt64, users: [UInt64], messages: Int) {
        (world.guilds[0].id, world.tieUsers.map { world.users[Int($0)].id }, MessageStream.tieCount(profile))
    }

    /// The records in insertion order (FX-25).
    @_spi(Benchmarks) public struct Iterator: IteratorProtocol {
        private enum Phase { case guilds, users, channels, members, events, reminders, done }

        private let world: FixtureWorld
        private var phase = Phase.guilds
        private var index = 0
        private var inner = 0
        private var channels: [IngestRecord] = []
        private var events: FixtureEvents
        private var reminders: ReminderStream

        init(world: FixtureWorld) {
            self.world = world
            events = FixtureEvents(world: world)
            reminders = ReminderStream(world: world)
        }

        @_spi(Benchmarks) public mutating func next() -> IngestRecord? {
            while true {
                switch phase {
                case .guilds:
                    if index < world.guilds.count { defer { index += 1 }; return world.guildRecord(index) }
                    advance(to: .users)
                case .users:
                    if index < world.users.count { defer { index += 1 }; return world.userRecord(index) }
                    advance(to: .channels)
                case .channels:
                    if inner < channels.count { defer { inner += 1 }; return channels[inner] }
                    guard index < world.guilds.count else { advance(to: .members); continue }
                    channels = world.channelRecords(index)
                    inner = 0
                    index += 1
                case .members:
                    guard index < world.guilds.count else { advance(to: .events); continue }
                    if inner < world.guilds[index].members.count { defer { inner += 1 }; return world.memberRecord(index, inner) }
                    index += 1
                    inner = 0
                case .events:
                    if let record = events.next() { return record }
                    advance(to: .reminders)
                case .reminders:
                    if let record = reminders.next() { return record }
                    advance(to: .done)
                case .done:
                    return nil
                }
            }
        }

        private mutating func advance(to next: Phase) {
            phase = next
            index = 0
            inner = 0
            channels = []
        }
    }
}
