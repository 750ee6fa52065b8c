import Testing
@_spi(Benchmarks) import GuildStoreEngine
@testable @_spi(Benchmarks) import GuildStore

@Suite("Fixture generator")
struct FixtureGeneratorTests {
    static let small: [IngestRecord] = {
        guard let generator = try? FixtureGenerator(profile: .small) else { return [] }
        return Array(generator)
    }()

    static func records(_ kind: IngestKind) -> [IngestRecord] {
        small.filter { $0.kind == kind }
    }

    @Test("the same seed gives the same records; another seed gives others")
    func determinism() throws {
        let again = Array(try FixtureGenerator(profile: .small))
        #expect(again == Self.small)
        let other = Array(try FixtureGenerator(profile: .small, seed: 42))
        #expect(other != Self.small)
        #expect(other.count > 0)
    }

    @Test("small: every kind counted in full equals the plan, a few thousand events")
    func smallCounts() throws {
        var counts = FixtureCounts()
        for record in Self.small { counts.add(record.kind) }
        let generator = try FixtureGenerator(profile: .small)
        #expect(counts == generator.plannedCounts())
        #expect(counts[.message] == 2_400 && counts[.voice] == 600 && counts[.memberEvent] == 300 && counts[.presence] == 900)
        #expect(counts.gatewayEvents == 4_200)
        #expect(counts[.guild] == 12 && counts[.user] == 160 && counts[.reminderEvent] == 10)
        #expect(counts[.reaction] > 0 && counts[.reminderLog] > 0)
    }

    @Test("default plans about a million events and large about ten million, without generating them")
    func plannedSizes() throws {
        let planned = try FixtureGenerator(profile: .default).plannedCounts()
        #expect(planned.gatewayEvents == 1_000_000)
        #expect(planned[.guild] == 400 && planned[.user] == 30_000 && planned[.reminderEvent] == 1_000)
        #expect(planned[.member] > 50_000 && planned[.channel] > 400)
        #expect(FixtureProfile.large.gatewayEvents == 10_000_000)
        #expect(FixtureProfile.named("large") == .large && FixtureProfile.named("tiny") == nil)
    }

    @Test("a profile that breaks its invariants is refused")
    func invalidProfile() {
        var profile = FixtureProfile.small
        profile.emptyGuilds = profile.guilds
        #expect(throws: FixtureProfileError.self) { try FixtureGenerator(profile: profile) }
        profile = .small
        profile.largestGuildMembers = profile.users + 1
        #expect(throws: FixtureProfileError.self) { try FixtureGenerator(profile: profile) }
    }

    @Test("parents come first; event ids grow with created_at, are snowflakes of it and stay below 2^63")
    func orderAndIDs() throws {
        var seen = Set<IngestKind>()
        var last: [IngestKind: (id: UInt64, time: Int64)] = [:]
        let profile = FixtureProfile.small
        let order: [IngestKind] = [.guild, .user, .channel, .member]
        for record in Self.small {
            if let position = order.firstIndex(of: record.kind) {
                // An entity after a later phase's record would be out of order.
                #expect(!order[(position + 1)...].contains { seen.contains($0) }, "\(record.kind) after a later phase")
                #expect(!seen.contains { $0.isGatewayEvent })
            }
            seen.insert(record.kind)
            guard record.kind.isGatewayEvent, case .uint(let id)? = record.values["id"],
                  case .timestamp(let time)? = record.values["created_at"] else { continue }
            #expect(id < 1 << 63)
            #expect(Snowflake.seconds(of: id) == time)
            #expect(time >= profile.windowStart && time <= profile.now)
            if let previous = last[record.kind] {
                #expect(id > previous.id && time >= previous.time)
            }
            last[record.kind] = (id, time)
        }
        #expect(seen == Set(IngestKind.allCases))
    }

    @Test("loading small into a GuildStore satisfies every foreign key and writes every row")
    func loadsIntoGuildStore() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let generator = try FixtureGenerator(profile: .small)
        var commits = 0
        let written = try await generator.load(into: store.database, batchSize: 700) { _ in commits += 1 }
        #expect(written == generator.plannedCounts())
        #expect(commits == (Self.small.count + 699) / 700)
        for kind in IngestKind.allCases {
            let rows = try await store.database.read { try $0.count(kind.table.name) }
            #expect(rows == written[kind], "\(kind.table.name)")
        }
        // Loading again is refused at the first event: the entities upsert, events do not.
        await #expect(throws: GuildStoreError.self) { try await generator.load(into: store.database, batchSize: 10_000) }
        try await store.close()
    }

    @Test("guild shape: empty, inactive and Zipf-skewed guilds; bots; the planned leaderboard tie")
    func guildShape() throws {
        let guilds = Self.records(.guild)
        let members = Self.records(.member)
        let messages = Self.records(.message)
        let memberGuilds = Set(members.compactMap { $0.values["guild_id"] })
        let eventGuilds = Set(Self.small.filter(\.kind.isGatewayEvent).compactMap { $0.values["guild_id"] })
        let empty = guilds.filter { !memberGuilds.contains($0.values["id"] ?? .null) }
        #expect(empty.count == 2)
        for guild in empty { #expect(!eventGuilds.contains(guild.values["id"] ?? .null)) }
        #expect(guilds.filter { $0.values["is_active"] == .bool(false) }.count == 2)
        #expect(Self.records(.user).contains { $0.values["bot"] == .bool(true) })
        #expect(Self.records(.user).contains { $0.values["bot"] == .bool(false) })

        var perGuild: [Value: Int] = [:]
        var perGuildUser: [Value: [Value: Int]] = [:]
        for message in messages {
            let guild = message.values["guild_id"] ?? .null, user = message.values["user_id"] ?? .null
            perGuild[guild, default: 0] += 1
            perGuildUser[guild, default: [:]][user, default: 0] += 1
        }
        let busiest = perGuild.values.max() ?? 0, quietest = perGuild.values.min() ?? 0
        #expect(busiest > 5 * quietest, "Zipf skew: \(perGuild.values.sorted())")

        let tie = try FixtureGenerator(profile: .small).plannedTie
        let counts = perGuildUser[.uint(tie.guild)] ?? [:]
        #expect(tie.messages == 40)
        for user in tie.users { #expect(counts[.uint(user)] == tie.messages) }
        // And ties arise by themselves elsewhere too.
        let guildsWithTies = perGuildUser.values.filter { users in Set(users.values).count < users.count }
        #expect(guildsWithTies.count >= 3)
    }

    @Test("names use emoji, CJK, right-to-left scripts and combining marks")
    func unicodeNames() {
        let names = Self.small.flatMap { record in
            ["name", "nickname", "global_name", "title"].compactMap { key -> String? in
                if case .text(let text)? = record.values[key] { return text }
                return nil
            }
        }
        func has(_ range: ClosedRange<UInt32>) -> Bool {
            names.contains { $0.unicodeScalars.contains { range.contains($0.value) } }
        }
        #expect(has(0x1F300...0x1FAFF))  // emoji
        #expect(has(0x4E00...0x9FFF))  // CJK ideographs
        #expect(has(0x0590...0x06FF))  // Hebrew, Arabic
        #expect(has(0x0300...0x036F))  // combining diacritical marks
        let kinds = Set(Self.records(.guild).prefix(5).compactMap { $0.values["name"] })
        #expect(kinds.count == 5)
        #expect(Self.records(.member).contains { $0.values["roles"] != .json("[]") })
    }

    @Test("events: voice sessions with ms durations, joins and leaves, presence ties and NULL statuses, reminders")
    func eventShape() {
        let voice = Self.records(.voice)
        #expect(Set(voice.compactMap { $0.values["event_type"] }) == ["join", "leave", "move"])
        let leaves = voice.filter { $0.values["event_type"] == "leave" }
        for leave in leaves {
            guard case .timestamp(let start)? = leave.values["session_start"], case .timestamp(let end)? = leave.values["session_end"],
                  case .int(let duration)? = leave.values["duration"] else {
                Issue.record("leave without a session: \(leave)")
                continue
            }
            #expect(duration >= (end - start) * 1000 && duration < (end - start) * 1000 + 1000)
        }
        #expect(leaves.contains { $0.values["channel_id"] == .null })

        #expect(Set(Self.records(.memberEvent).compactMap { $0.values["event_type"] }) == ["join", "leave"])

        let presence = Self.records(.presence)
        #expect(Set(presence.compactMap { $0.values["status"] }) == ["online", "idle", "dnd", "offline", .null])
        var perUserTime: [[Value]: Int] = [:]
        for event in presence { perUserTime[[event.values["user_id"] ?? .null, event.values["created_at"] ?? .null], default: 0] += 1 }
        #expect(perUserTime.values.contains { $0 >= 2 }, "a user with two presence events at one second")

        let reminders = Self.records(.reminderEvent)
        #expect(reminders.contains { $0.values["is_paused"] == .bool(true) })
        #expect(reminders.contains { $0.values["last_reminder"] == .null })
        #expect(Set(reminders.compactMap { $0.values["interval_minutes"] }).count >= 3)
        #expect(Set(Self.records(.reminderLog).compactMap { $0.values["status"] }).count >= 2)
    }
}
