import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) import GuildStoreSQLite
@_spi(Benchmarks) import GuildStoreEngine
@testable @_spi(Benchmarks) import GuildStore

/// Every query pattern against SQLite on generated data, on hundreds of random
/// (guild, user, since, until, limit, now, event) cases drawn from a fixed seed (issue 11).
///
/// A fixture denser than `.small` (so hours and days hold several events each) is loaded into
/// a GuildStore and exported to an SQLite twin with integer ids. Then, phase by phase, both
/// receive the same changes and every pattern's answer must equal SQLite's row for row:
/// 1. as loaded;
/// 2. after random deletes (events, members, users and a channel with their cascades, a
///    reminder, a whole guild), updates (join times, statuses, `is_active`, reminders' pause
///    and last reminder, event times, durations, types, bots) and late events inside existing
///    hours, through the public write API; the twin gets the same changes as SQL, its
///    cascades derived from `GuildTables`' foreign keys;
/// 3. after retention at a cutoff inside an hour, then late events around the cutoff;
/// 4. on a database imported from SQLite: the store is exported in seed 004's text-id form,
///    imported into a new store with `SQLiteImport`, which is reopened and compared with the
///    twin.
///
/// Cases mix busy, quiet, empty, deleted and made-up guilds; active, silent, deleted and
/// made-up users; ranges that are empty or reversed, that start or end exactly on an event,
/// an hour or a day, or inside an hour or a day, or at the retention cutoff, and open-ended
/// ones; limits 0...50; `now` at, just before and after reminders' due times.
///
/// `GUILDSTORE_DIFF_CASES` sets the cases per phase (300 by default), `GUILDSTORE_DIFF_SEED`
/// the seed (decimal or 0x-hex); every failure names the seed, the phase, the case and its inputs.
@Suite("Query patterns against SQLite: random differential cases", .serialized)
struct PatternDifferentialTests {
    static let defaultSeed: UInt64 = 0x1151_D1FF_5EED_0011

    static var seed: UInt64 {
        guard let text = ProcessInfo.processInfo.environment["GUILDSTORE_DIFF_SEED"] else { return defaultSeed }
        let parsed = text.lowercased().hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
        return parsed ?? defaultSeed
    }

    static var casesPerPhase: Int {
        ProcessInfo.processInfo.environment["GUILDSTORE_DIFF_CASES"].flatMap { Int($0) }.map { max(1, $0) } ?? 300
    }

    static var seedText: String { "0x" + String(seed, radix: 16) }

    /// Denser than `.small`: three weeks, so the busiest guild has a few messages every hour.
    static let profile = FixtureProfile(
        name: "differential", guilds: 14, emptyGuilds: 2, inactiveGuilds: 2, users: 220, botPercent: 8,
        largestGuildMembers: 120, minGuildMembers: 4,
        messages: 5_000, voiceEvents: 1_000, memberEvents: 500, presenceEvents: 1_600, reminderEvents: 24, days: 21)

    // MARK: The tests

    @Test("every pattern equals SQLite on random cases: as loaded, after deletes / updates / late events, after retention, after an import")
    func differential() async throws {
        let fixture = try await Fixture.make("pattern-differential", profile: Self.profile)
        let seed = Self.seed
        let cases = Self.casesPerPhase
        var world = try World.load(fixture.sqlite, profile: Self.profile)
        var tally = Tally()

        // 1. As loaded.
        var rng = SplitMix64.derived(seed, stream: 1)
        tally += try await Self.compare("1 as loaded", fixture.store.database, fixture.sqlite, world, &rng, cases: cases)

        // 2. Deletes, updates and late events, in a few transactions.
        var changes = SplitMix64.derived(seed, stream: 2)
        var mutator = Mutator(world: world)
        for batch in 0..<4 {
            let batchChanges = try mutator.randomChanges(&changes, count: 45, sqlite: fixture.sqlite, deleteGuild: batch == 2)
            try await Self.apply(batchChanges, to: fixture.store.database, phase: "2 batch \(batch)")
        }
        #expect(mutator.deletedGuilds.count == 1 && mutator.deletedUsers.count >= 2, "the phase deleted a guild and users")
        world = try World.load(fixture.sqlite, profile: Self.profile, missingGuilds: mutator.deletedGuilds,
                               missingUsers: mutator.deletedUsers, missingEvents: mutator.deletedReminders,
                               special: mutator.lateTimes)
        try await Self.checkCounts("2 after changes", fixture.store.database, fixture.sqlite)
        rng = SplitMix64.derived(seed, stream: 3)
        tally += try await Self.compare("2 after deletes, updates and late events", fixture.store.database, fixture.sqlite, world, &rng, cases: cases)

        // 3. Retention at a cutoff inside an hour, then late events on both sides of it.
        var retention = SplitMix64.derived(seed, stream: 4)
        let span = Int64(Self.profile.days) * 86_400
        let cutoff = Self.hourStart(world.windowStart + span / 3 + Int64(retention.int(below: Int(span / 3))))
            + Int64(retention.int(in: 1...3_599))
        let result = try await fixture.store.database.write { tx in try tx.deleteEvents(olderThan: cutoff) }
        var sqlDeleted: [Int] = []
        for table in GuildTables.eventTables {
            sqlDeleted.append(try fixture.sqlite.run("DELETE FROM `\(table.name)` WHERE created_at < ?", [.integer(cutoff)]))
        }
        #expect([result.messageEvents, result.voiceEvents, result.memberEvents, result.presenceEvents] == sqlDeleted,
                "retention at \(cutoff) (\(PatternSQL.time(cutoff))) deleted as many rows as SQLite's DELETEs; seed \(Self.seedText)")
        #expect(result.total > 0)
        mutator.world = try World.load(fixture.sqlite, profile: Self.profile)
        let late = try mutator.eventsAround(cutoff, &retention, sqlite: fixture.sqlite, count: 40)
        try await Self.apply(late, to: fixture.store.database, phase: "3 late events around the cutoff")
        let around: [Int64] = [cutoff, cutoff - 1, cutoff + 1, Self.hourStart(cutoff), Self.hourStart(cutoff) + 3_600,
                               Self.dayStart(cutoff), Self.dayStart(cutoff) + 86_400]
        world = try World.load(fixture.sqlite, profile: Self.profile, missingGuilds: mutator.deletedGuilds,
                               missingUsers: mutator.deletedUsers, missingEvents: mutator.deletedReminders,
                               special: around + mutator.lateTimes)
        try await Self.checkCounts("3 after retention", fixture.store.database, fixture.sqlite)
        rng = SplitMix64.derived(seed, stream: 5)
        tally += try await Self.compare("3 after retention at \(cutoff) and late events around it", fixture.store.database,
                                        fixture.sqlite, world, &rng, cases: cases)
        #expect(try await fixture.store.database.check().isOK)

        // 4. An import: seed 004's text-id export of the store, imported into a new store, reopened.
        let exported = fixture.directory.file("exported-text-ids.sqlite")
        try await SQLiteExport.export(from: fixture.store.database, to: exported)
        let importedPath = fixture.directory.file("imported.gsdb")
        let imported = try await GuildDatabase.open(DatabaseConfiguration(.file(importedPath)))
        try await SQLiteImport.import(from: exported, into: imported.database, batchSize: 1_500)
        try await imported.close()
        let reopened = try await GuildDatabase.open(DatabaseConfiguration(.file(importedPath)))
        try await Self.checkCounts("4 imported", reopened.database, fixture.sqlite)
        rng = SplitMix64.derived(seed, stream: 6)
        tally += try await Self.compare("4 imported from SQLite", reopened.database, fixture.sqlite, world, &rng, cases: cases)
        #expect(try await reopened.database.check().isOK)
        try await reopened.close()

        print("PatternDifferential seed \(Self.seedText): \(tally.cases) cases, \(tally.comparisons) comparisons, "
              + "\(tally.mismatches) mismatches, \(tally.emptyAnswers) empty answers")
        #expect(tally.cases == 4 * cases)
        #expect(tally.emptyAnswers * 20 > tally.comparisons && tally.emptyAnswers * 5 < tally.comparisons * 4,
                "the cases mix empty and non-empty answers (\(tally.emptyAnswers) of \(tally.comparisons) empty)")
        try await fixture.close()
    }

    @Test("a write that inserts, updates and deletes, then throws, changes no pattern's answer (and saw its own changes)")
    func rollbackLeavesAnswersUnchanged() async throws {
        let fixture = try await Fixture.make("pattern-rollback", profile: .small)
        let db = fixture.store.database
        let seed = Self.seed
        let world = try World.load(fixture.sqlite, profile: .small)
        let count = max(40, Self.casesPerPhase / 5)
        var draw = SplitMix64.derived(seed, stream: 11)
        let cases = (0..<count).map { _ in Self.drawCase(&draw, world) }
        let before = try await db.read { tx in try cases.map { inputs in try QueryPattern.allCases.map { try $0.rows(tx, inputs) } } }

        // The changes: late events in existing hours, updates, deletes (a guild among them).
        var rng = SplitMix64.derived(seed, stream: 12)
        var mutator = Mutator(world: world)
        try fixture.sqlite.execute("BEGIN")
        let changes = try mutator.randomChanges(&rng, count: 80, sqlite: fixture.sqlite, deleteGuild: true)
            + (try mutator.lateEvents(&rng, sqlite: fixture.sqlite, count: 40))
        // SQLite's answers inside its transaction, then it rolls back.
        let sqlInside = try cases.map { inputs in try QueryPattern.allCases.map { try $0.expected(fixture.sqlite, inputs) } }
        try fixture.sqlite.execute("ROLLBACK")

        struct RolledBack: Error { var inside: [[[[SQLiteValue]]]] }
        let patternCases = cases
        let list = changes.map(\.change)
        do {
            try await db.write { (tx: WriteTransaction) throws -> Void in
                for change in list { _ = try change.apply(tx) }
                // Inside the transaction the patterns see its own changes.
                let inside = try patternCases.map { inputs in try QueryPattern.allCases.map { try $0.rows(tx, inputs) } }
                throw RolledBack(inside: inside)
            }
            Issue.record("the write closure threw, so write must throw")
        } catch let error as RolledBack {
            Self.report("rollback: inside the transaction", cases: cases, ours: error.inside, expected: sqlInside, limit: 6)
        }

        let after = try await db.read { tx in try cases.map { inputs in try QueryPattern.allCases.map { try $0.rows(tx, inputs) } } }
        let sqlAfter = try cases.map { inputs in try QueryPattern.allCases.map { try $0.expected(fixture.sqlite, inputs) } }
        Self.report("rollback: after the rollback, against SQLite", cases: cases, ours: after, expected: sqlAfter, limit: 6)
        Self.report("rollback: after the rollback, against before it", cases: cases, ours: after, expected: before, limit: 6)
        try await Self.checkCounts("after the rollback", db, fixture.sqlite)

        // A committed write afterwards: what the rolled-back one did does not resurface.
        var next = SplitMix64.derived(seed, stream: 13)
        var committed = Mutator(world: world)
        let late = try committed.lateEvents(&next, sqlite: fixture.sqlite, count: 30)
        try await Self.apply(late, to: db, phase: "late events after the rollback")
        var tally = try await Self.compare("rollback: a commit after it", db, fixture.sqlite, world, &next, cases: count)

        // Nor after a reopen (the rolled-back write left nothing in the log).
        try await fixture.store.close()
        let reopened = try await GuildDatabase.open(DatabaseConfiguration(.file(fixture.directory.file("guild.gsdb"))))
        try await Self.checkCounts("reopened after the rollback", reopened.database, fixture.sqlite)
        tally += try await Self.compare("rollback: reopened", reopened.database, fixture.sqlite, world, &next, cases: count)
        #expect(tally.cases == 2 * count)
        try await reopened.close()
        fixture.directory.remove()
    }

    // MARK: Fixture

    /// A store loaded with generated data and its SQLite twin (integer ids), open read-write.
    struct Fixture {
        let directory: TemporaryDirectory
        let store: GuildDatabase
        let sqlite: SQLiteConnection

        static func make(_ name: String, profile: FixtureProfile) async throws -> Fixture {
            let directory = try TemporaryDirectory(name)
            let store = try await GuildDatabase.open(DatabaseConfiguration(.file(directory.file("guild.gsdb"))))
            try await FixtureGenerator(profile: profile).load(into: store.database, batchSize: 2_000)
            try await SQLiteExport.export(from: store.database, to: directory.file("twin.sqlite"), ids: .integer)
            let sqlite = try SQLiteConnection(path: directory.file("twin.sqlite"), mode: .readWrite)
            return Fixture(directory: directory, store: store, sqlite: sqlite)
        }

        func close() async throws {
            try await store.close()
            directory.remove()
        }
    }

    // MARK: What the cases are drawn from

    /// The twin's contents that cases are drawn from, reloaded after each phase's changes.
    struct World {
        var now: Int64
        var windowStart: Int64
        var guilds: [UInt64] = []
        /// The three guilds with the most messages, and the others (empty, inactive, quiet).
        var busy: [UInt64] = []
        var quiet: [UInt64] = []
        /// Ids that are no guild: deleted ones and made-up ones.
        var missingGuilds: [UInt64] = []
        /// Per guild: users with messages there, most messages first; members without any.
        var authors: [UInt64: [UInt64]] = [:]
        var silentMembers: [UInt64: [UInt64]] = [:]
        var users: [UInt64] = []
        var missingUsers: [UInt64] = []
        /// Per guild: the `created_at` of its events, one list per event table.
        var eventTimes: [UInt64: [[Int64]]] = [:]
        var reminders: [UInt64] = []
        var missingReminders: [UInt64] = []
        /// `last_reminder + interval_minutes * 60` of the reminders reminded before.
        var dueTimes: [Int64] = []
        /// Times worth hitting exactly: the retention cutoff and its buckets, late events.
        var special: [Int64] = []

        static func load(_ sqlite: SQLiteConnection, profile: FixtureProfile, missingGuilds: [UInt64] = [],
                         missingUsers: [UInt64] = [], missingEvents: [UInt64] = [], special: [Int64] = []) throws -> World {
            var world = World(now: profile.now, windowStart: profile.windowStart)
            world.guilds = PatternSQL.ids(try sqlite.query("SELECT id FROM guilds ORDER BY id"))
            let byMessages = PatternSQL.ids(try sqlite.query("""
                SELECT g.id FROM guilds g LEFT JOIN message_events m ON m.guild_id = g.id
                GROUP BY g.id ORDER BY COUNT(m.id) DESC, g.id
                """))
            world.busy = Array(byMessages.prefix(3))
            world.quiet = Array(byMessages.dropFirst(3))
            world.missingGuilds = missingGuilds + [1, 999, 0x7FFF_FFFF_FFFF_FFFF]
            for row in try sqlite.query("""
                SELECT guild_id, user_id FROM message_events GROUP BY guild_id, user_id ORDER BY guild_id, COUNT(*) DESC, user_id
                """) {
                world.authors[Self.id(row[0]), default: []].append(Self.id(row[1]))
            }
            for row in try sqlite.query("""
                SELECT m.guild_id, m.user_id FROM members m
                WHERE NOT EXISTS (SELECT 1 FROM message_events e WHERE e.guild_id = m.guild_id AND e.user_id = m.user_id)
                ORDER BY m.guild_id, m.user_id
                """) {
                world.silentMembers[Self.id(row[0]), default: []].append(Self.id(row[1]))
            }
            world.users = PatternSQL.ids(try sqlite.query("SELECT id FROM users ORDER BY id"))
            world.missingUsers = missingUsers + [424_242]
            for (index, table) in GuildTables.eventTables.enumerated() {
                for row in try sqlite.query("SELECT guild_id, created_at FROM `\(table.name)` ORDER BY 1, 2") {
                    guard case .integer(let t) = row[1] else { continue }
                    world.eventTimes[Self.id(row[0]), default: Array(repeating: [], count: GuildTables.eventTables.count)][index].append(t)
                }
            }
            world.reminders = PatternSQL.ids(try sqlite.query("SELECT id FROM reminder_events ORDER BY id"))
            world.missingReminders = missingEvents + [1]
            world.dueTimes = try sqlite.query("""
                SELECT last_reminder + interval_minutes * 60 FROM reminder_events WHERE last_reminder IS NOT NULL ORDER BY 1
                """).compactMap { row in if case .integer(let t)? = row.first { t } else { nil } }
            world.special = special
            return world
        }

        static func id(_ value: SQLiteValue) -> UInt64 {
            if case .integer(let v) = value { UInt64(bitPattern: v) } else { 0 }
        }
    }

    static func hourStart(_ t: Int64) -> Int64 { t - ((t % 3_600) + 3_600) % 3_600 }
    static func dayStart(_ t: Int64) -> Int64 { t - ((t % 86_400) + 86_400) % 86_400 }

    /// A time for `since` or `until`: mostly near the guild's own events (of one event table,
    /// so the sparse tables' edges are hit as often as the messages'), exactly on one, on an
    /// hour or day boundary or inside an hour or day, at a special time, or at the extremes.
    static func drawTime(_ rng: inout SplitMix64, _ world: World, guild: UInt64) -> Int64 {
        let tables = (world.eventTimes[guild] ?? []).filter { !$0.isEmpty }
        let times = tables.isEmpty ? [] : rng.pick(tables)
        let anchor = !times.isEmpty && rng.percent(80)
            ? rng.pick(times) : world.windowStart - 86_400 + Int64(rng.int(below: Int(world.now - world.windowStart) + 2 * 86_400))
        switch rng.int(below: 20) {
        case 0..<4: return anchor                                              // exactly an event's second
        case 4..<6: return anchor + Int64(rng.int(in: -2...2))                 // a second or two off it
        case 6..<8: return hourStart(anchor)                                   // on an hour boundary
        case 8: return hourStart(anchor) + 3_600
        case 9..<11: return dayStart(anchor)                                   // on a day boundary
        case 11..<14: return hourStart(anchor) + Int64(rng.int(in: 1...3_599)) // inside an hour
        case 14..<16: return dayStart(anchor) + Int64(rng.int(in: 1...86_399)) // inside a day
        case 16..<18: return world.special.isEmpty ? anchor : rng.pick(world.special)
        default: return rng.pick([0, world.windowStart - 86_400, world.windowStart, world.now, world.now + 1, world.now + 86_400])
        }
    }

    static func drawCase(_ rng: inout SplitMix64, _ world: World) -> PatternInputs {
        var inputs = PatternInputs()
        func any(_ list: [UInt64], or fallback: [UInt64]) -> UInt64 {
            rng.pick(list.isEmpty ? fallback : list)
        }
        switch rng.int(below: 20) {
        case 0..<9: inputs.guild = any(world.busy, or: world.missingGuilds)
        case 9..<15: inputs.guild = any(world.quiet, or: world.missingGuilds)
        case 15..<17: inputs.guild = rng.pick(world.missingGuilds)
        default: inputs.guild = any(world.guilds, or: world.missingGuilds)
        }
        let authors = world.authors[inputs.guild] ?? []
        let silent = world.silentMembers[inputs.guild] ?? []
        switch rng.int(below: 20) {
        case 0..<6: inputs.user = authors.isEmpty ? rng.pick(world.users) : authors[rng.skewed(below: min(authors.count, 5))]
        case 6..<10: inputs.user = any(authors, or: world.users)
        case 10..<13: inputs.user = any(silent, or: world.users)
        case 13..<16: inputs.user = rng.pick(world.users)
        case 16..<18: inputs.user = rng.pick(world.missingUsers)
        default:
            let other = rng.pick(world.busy.isEmpty ? world.guilds : world.busy)
            inputs.user = any(world.authors[other] ?? [], or: world.users)
        }
        inputs.since = drawTime(&rng, world, guild: inputs.guild)
        switch rng.int(below: 20) {
        case 0..<3: inputs.until = nil
        case 3: (inputs.since, inputs.until) = (rng.pick([0, world.windowStart - 86_400]), nil) // all time: every event of the guild
        case 4: inputs.until = inputs.since                                               // empty
        case 5: inputs.until = inputs.since - Int64(rng.int(in: 1...7_200))               // reversed: empty
        case 6..<10: inputs.until = inputs.since + rng.pick([1, 2, 59, 3_599, 3_600, 3_601, 7_200, 86_399, 86_400, 86_401, 604_800])
        case 10..<14: inputs.until = inputs.since + Int64(rng.int(in: 1...(rng.percent(50) ? 36_000 : 30 * 86_400)))
        default: inputs.until = drawTime(&rng, world, guild: inputs.guild)                // may be before since
        }
        inputs.limit = rng.percent(15) ? rng.pick([0, 1, 2]) : rng.int(in: 0...50)
        switch rng.int(below: 10) {
        case 0..<3 where !world.dueTimes.isEmpty: inputs.now = rng.pick(world.dueTimes)   // exactly due
        case 3 where !world.dueTimes.isEmpty: inputs.now = rng.pick(world.dueTimes) + rng.pick([-1, 1])
        case 4: inputs.now = world.now
        default: inputs.now = world.windowStart - 86_400 + Int64(rng.int(below: Int(world.now - world.windowStart) + 30 * 86_400))
        }
        inputs.event = rng.percent(85) || world.reminders.isEmpty
            ? any(world.reminders, or: world.missingReminders) : rng.pick(world.missingReminders)
        return inputs
    }

    // MARK: Comparing

    struct Tally {
        var cases = 0
        var comparisons = 0
        var mismatches = 0
        var emptyAnswers = 0

        static func += (lhs: inout Tally, rhs: Tally) {
            lhs.cases += rhs.cases
            lhs.comparisons += rhs.comparisons
            lhs.mismatches += rhs.mismatches
            lhs.emptyAnswers += rhs.emptyAnswers
        }
    }

    /// GuildStore's answer to one pattern, or the error it threw.
    enum Answer: Sendable {
        case rows([[SQLiteValue]])
        case failed(String)
    }

    /// Draws `cases` cases and compares every pattern on each; records an issue for the first
    /// few differences of each pattern and a summary of all.
    static func compare(_ phase: String, _ db: Database, _ sqlite: SQLiteConnection, _ world: World,
                        _ rng: inout SplitMix64, cases: Int) async throws -> Tally {
        let clock = ContinuousClock.now
        var tally = Tally()
        var perPattern: [QueryPattern: Int] = [:]
        for index in 0..<cases {
            let inputs = drawCase(&rng, world)
            let ours: [Answer] = try await db.read { tx in
                QueryPattern.allCases.map { pattern in
                    do { return .rows(try pattern.rows(tx, inputs)) } catch { return .failed(String(describing: error)) }
                }
            }
            for (pattern, answer) in zip(QueryPattern.allCases, ours) {
                let expected = try pattern.expected(sqlite, inputs)
                tally.comparisons += 1
                if expected.isEmpty { tally.emptyAnswers += 1 }
                let difference: String?
                var oursText = ""
                switch answer {
                case .rows(let rows):
                    difference = PatternSQL.firstDifference(rows, expected)
                    oursText = PatternSQL.show(rows)
                case .failed(let error):
                    difference = "GuildStore threw \(error)"
                    oursText = "(threw)"
                }
                guard let difference else { continue }
                tally.mismatches += 1
                perPattern[pattern, default: 0] += 1
                if perPattern[pattern]! <= 3 {
                    Issue.record(Comment(rawValue: """
                        [phase \(phase)] \(pattern.rawValue) differs from SQLite — seed \(seedText), case \(index) of \(cases)
                          inputs: \(inputs)
                          first difference: \(difference)
                          ours:   \(oursText)
                          SQLite: \(PatternSQL.show(expected))
                          SQL parameters: \((try? pattern.parameters(inputs))?.description ?? "(none: an input is missing)")
                          replay: GUILDSTORE_DIFF_SEED=\(seedText) GUILDSTORE_DIFF_CASES=\(cases) swift test --filter PatternDifferential
                        """))
                }
            }
            tally.cases += 1
        }
        if tally.mismatches > 0 {
            let summary = perPattern.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue): \($0.value)" }
            Issue.record(Comment(rawValue: "[phase \(phase)] \(tally.mismatches) of \(tally.comparisons) answers differ from SQLite "
                                         + "(seed \(seedText)): " + summary.joined(separator: ", ")))
        }
        print("PatternDifferential [phase \(phase)]: \(tally.cases) cases, \(tally.comparisons) comparisons, "
              + "\(tally.mismatches) mismatches, \(tally.emptyAnswers) empty, \(ContinuousClock.now - clock)")
        return tally
    }

    /// Compares answers computed elsewhere (inside a transaction, before a rollback).
    static func report(_ phase: String, cases: [PatternInputs], ours: [[[[SQLiteValue]]]], expected: [[[[SQLiteValue]]]], limit: Int) {
        var mismatches = 0
        for (index, inputs) in cases.enumerated() {
            for (p, pattern) in QueryPattern.allCases.enumerated() {
                guard let difference = PatternSQL.firstDifference(ours[index][p], expected[index][p]) else { continue }
                mismatches += 1
                if mismatches <= limit {
                    Issue.record(Comment(rawValue: """
                        [\(phase)] \(pattern.rawValue) differs — seed \(seedText), case \(index) of \(cases.count)
                          inputs: \(inputs)
                          first difference: \(difference)
                          ours:     \(PatternSQL.show(ours[index][p]))
                          expected: \(PatternSQL.show(expected[index][p]))
                        """))
                }
            }
        }
        if mismatches > limit { Issue.record("[\(phase)] \(mismatches) answers differ in all (seed \(seedText))") }
    }

    /// Every table has as many rows in the store as in the twin (cascades agree).
    static func checkCounts(_ phase: String, _ db: Database, _ sqlite: SQLiteConnection) async throws {
        let ours = try await db.read { tx in try GuildTables.all.map { try tx.count($0.name) } }
        for (table, count) in zip(GuildTables.all, ours) {
            let theirs = try sqlite.query("SELECT COUNT(*) FROM `\(table.name)`")
            #expect(theirs == [[.integer(Int64(count))]], "[\(phase)] \(table.name): \(count) rows here, SQLite \(theirs) (seed \(seedText))")
        }
    }

    // MARK: Changes applied to both

    /// One row change, applied to the store through the public write API and to the twin as SQL.
    enum Change: Sendable, CustomStringConvertible {
        case insert(String, [String: Value])
        case update(String, key: [Value], set: [String: Value])
        case delete(String, key: [Value])

        var description: String {
            switch self {
            case .insert(let table, let values): "insert into \(table) \(values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
            case .update(let table, let key, let set): "update \(table) \(key) set \(set.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
            case .delete(let table, let key): "delete from \(table) \(key)"
            }
        }

        func apply(_ tx: WriteTransaction) throws -> Bool {
            switch self {
            case .insert(let table, let values): try tx.insert(values, into: table)
            case .update(let table, let key, let set): try tx.update(table, key: key, set: set)
            case .delete(let table, let key): try tx.delete(from: table, key: key)
            }
        }

        /// The same change in SQL; a delete cascades along `GuildTables`' foreign keys. Returns
        /// whether the row was there (for an insert: written).
        func applySQL(_ sqlite: SQLiteConnection) throws -> Bool {
            switch self {
            case .insert(let table, let values):
                var columns = Change.schema(table).columns.map(\.name)
                var parameters = columns.map { PatternSQL.sqlite(values[$0] ?? .null) }
                if table == GuildTables.members.name, case .uint(let g)? = values["guild_id"], case .uint(let u)? = values["user_id"] {
                    columns.append("id")
                    parameters.append(.text("\(g):\(u)"))
                }
                return try sqlite.run("INSERT INTO `\(table)` (" + columns.map { "`\($0)`" }.joined(separator: ", ") + ") VALUES ("
                                      + columns.map { _ in "?" }.joined(separator: ", ") + ")", parameters) == 1
            case .update(let table, let key, let set):
                let names = set.keys.sorted()
                return try sqlite.run("UPDATE `\(table)` SET " + names.map { "`\($0)` = ?" }.joined(separator: ", ")
                                      + " WHERE " + Change.keyCondition(table), names.map { PatternSQL.sqlite(set[$0]!) } + key.map(PatternSQL.sqlite)) > 0
            case .delete(let table, let key):
                return try Change.deleteSQL(table, where: Change.keyCondition(table), key.map(PatternSQL.sqlite), sqlite, depth: 0) > 0
            }
        }

        static func schema(_ table: String) -> TableSchema {
            GuildTables.all.first { $0.name == table }!
        }

        static func keyCondition(_ table: String) -> String {
            schema(table).primaryKey.map { "`\($0)` = ?" }.joined(separator: " AND ")
        }

        /// Deletes the rows of `table` matching `condition`, children first.
        static func deleteSQL(_ table: String, where condition: String, _ parameters: [SQLiteValue], _ sqlite: SQLiteConnection,
                              depth: Int) throws -> Int {
            precondition(depth < 8, "a cycle of foreign keys")
            let parentKey = schema(table).primaryKey
            for child in GuildTables.all {
                for foreignKey in child.foreignKeys where foreignKey.parentTable == table {
                    precondition(foreignKey.columns.count == 1 && parentKey.count == 1, "single-column foreign keys only")
                    let childCondition = "`\(foreignKey.columns[0])` IN (SELECT `\(parentKey[0])` FROM `\(table)` WHERE \(condition))"
                    switch foreignKey.onDelete {
                    case .cascade:
                        _ = try deleteSQL(child.name, where: childCondition, parameters, sqlite, depth: depth + 1)
                    case .setNull:
                        try sqlite.run("UPDATE `\(child.name)` SET `\(foreignKey.columns[0])` = NULL WHERE \(childCondition)", parameters)
                    case .restrict:
                        break  // the changes never delete a referenced parent of a restricting key
                    }
                }
            }
            return try sqlite.run("DELETE FROM `\(table)` WHERE \(condition)", parameters)
        }
    }

    /// Applies `changes` to the store in one write transaction; each change must report what
    /// SQLite's did (the caller applied them to SQLite as they were drawn, see `Mutator`).
    static func apply(_ changes: [(change: Change, sqlite: Bool)], to db: Database, phase: String) async throws {
        let list = changes.map(\.change)
        let results = try await db.write { tx in try list.map { try $0.apply(tx) } }
        for ((change, expected), result) in zip(changes, results) where result != expected {
            Issue.record("[phase \(phase)] \(change): GuildStore reported \(result), SQLite \(expected) (seed \(seedText))")
        }
    }

    /// Draws changes from the twin's current rows and applies each to the twin at once (so the
    /// next draw sees it); the caller applies the list to the store.
    struct Mutator {
        var world: World
        var nextID: UInt64 = 0x3000_0000_0000_0000
        var deletedGuilds: [UInt64] = []
        var deletedUsers: [UInt64] = []
        var deletedReminders: [UInt64] = []
        var lateTimes: [Int64] = []

        init(world: World) { self.world = world }

        mutating func newID() -> UInt64 {
            nextID += 1
            return nextID
        }

        /// A random row of `table` (its `columns`) matching `condition`, in primary key order; nil if none.
        func randomRow(_ rng: inout SplitMix64, _ sqlite: SQLiteConnection, _ table: String, _ columns: String,
                       where condition: String = "1", _ parameters: [SQLiteValue] = []) throws -> [SQLiteValue]? {
            let count = try sqlite.query("SELECT COUNT(*) FROM `\(table)` WHERE \(condition)", parameters)
            guard case .integer(let n)? = count.first?.first, n > 0 else { return nil }
            let order = Change.schema(table).primaryKey.map { "`\($0)`" }.joined(separator: ", ")
            return try sqlite.query("SELECT \(columns) FROM `\(table)` WHERE \(condition) ORDER BY \(order) LIMIT 1 OFFSET ?",
                                    parameters + [.integer(Int64(rng.int(below: Int(n))))]).first
        }

        func uint(_ value: SQLiteValue) -> UInt64 { World.id(value) }
        func int(_ value: SQLiteValue) -> Int64 { if case .integer(let v) = value { v } else { 0 } }

        /// A guild to change: mostly a busy one (where ranges have the most to get wrong).
        func guild(_ rng: inout SplitMix64) -> UInt64 {
            rng.percent(70) && !world.busy.isEmpty ? rng.pick(world.busy) : rng.pick(world.guilds)
        }

        /// A time in the window, sometimes exactly on an hour or a day boundary.
        func windowTime(_ rng: inout SplitMix64) -> Int64 {
            let t = world.windowStart + Int64(rng.int(below: Int(world.now - world.windowStart)))
            return rng.percent(20) ? hourStart(t) : rng.percent(10) ? dayStart(t) : t
        }

        /// `count` random changes (plus, with `deleteGuild`, the deletion of the second busiest guild).
        mutating func randomChanges(_ rng: inout SplitMix64, count: Int, sqlite: SQLiteConnection,
                                    deleteGuild: Bool) throws -> [(change: Change, sqlite: Bool)] {
            var changes: [Change] = []
            var applied: [(change: Change, sqlite: Bool)] = []
            func add(_ change: Change) throws {
                applied.append((change, try change.applySQL(sqlite)))
                changes.append(change)
            }
            for _ in 0..<count {
                let g = guild(&rng)
                let inGuild = "guild_id = ?", gp = [PatternSQL.id(g)]
                switch rng.int(below: 34) {
                case 0..<4:  // delete an event of one of the four tables
                    let table = rng.pick(GuildTables.eventTables).name
                    if let row = try randomRow(&rng, sqlite, table, "id", where: inGuild, gp) {
                        try add(.delete(table, key: [.uint(uint(row[0]))]))
                    }
                case 4:  // delete a member
                    if let row = try randomRow(&rng, sqlite, "members", "guild_id, user_id", where: inGuild, gp) {
                        try add(.delete("members", key: [.uint(uint(row[0])), .uint(uint(row[1]))]))
                    }
                case 5 where deletedUsers.count < 3:  // delete a user: cascades to memberships and messages
                    if let row = try randomRow(&rng, sqlite, "message_events", "user_id", where: inGuild, gp) {
                        deletedUsers.append(uint(row[0]))
                        try add(.delete("users", key: [.uint(uint(row[0]))]))
                    }
                case 6 where deletedReminders.isEmpty:  // delete a reminder: cascades to reactions and logs
                    if let row = try randomRow(&rng, sqlite, "reminder_events", "id") {
                        deletedReminders.append(uint(row[0]))
                        try add(.delete("reminder_events", key: [.uint(uint(row[0]))]))
                    }
                case 7:  // delete a reaction, or one that is not there
                    if rng.percent(20) {
                        try add(.delete("reactions", key: [.uint(7)]))
                    } else if let row = try randomRow(&rng, sqlite, "reactions", "id") {
                        try add(.delete("reactions", key: [.uint(uint(row[0]))]))
                    }
                case 8 where changes.count % 3 == 0:  // delete a channel: cascades to its messages
                    if let row = try randomRow(&rng, sqlite, "channels", "id", where: inGuild, gp) {
                        try add(.delete("channels", key: [.uint(uint(row[0]))]))
                    }
                case 9:  // a member's join time moves, or goes
                    if let row = try randomRow(&rng, sqlite, "members", "guild_id, user_id", where: inGuild, gp) {
                        let joined: Value = rng.percent(15) ? .null : .timestamp(windowTime(&rng))
                        try add(.update("members", key: [.uint(uint(row[0])), .uint(uint(row[1]))], set: ["joined_at": joined]))
                    }
                case 10, 11:  // a presence status changes (the latest one of a member, half the time)
                    let condition = rng.percent(50) ? inGuild : inGuild + " AND id IN (SELECT (SELECT p.id FROM presence_events p WHERE p.guild_id = m.guild_id AND p.user_id = m.user_id ORDER BY p.created_at DESC, p.id DESC LIMIT 1) FROM members m WHERE m.guild_id = ?)"
                    if let row = try randomRow(&rng, sqlite, "presence_events", "id", where: condition, condition == inGuild ? gp : gp + gp) {
                        let status: Value = rng.pick([.text("online"), .text("idle"), .text("dnd"), .text("offline"), .null])
                        try add(.update("presence_events", key: [.uint(uint(row[0]))], set: ["status": status]))
                    }
                case 12:  // a guild turns (in)active; its cached member count or name changes
                    let target = rng.pick(world.guilds)
                    let active = try sqlite.query("SELECT is_active FROM guilds WHERE id = ?", [PatternSQL.id(target)])
                    var set: [String: Value] = ["is_active": .bool(active.first?.first != .integer(1))]
                    if rng.percent(50) { set["member_count"] = rng.percent(20) ? .null : .int(Int64(rng.int(below: 500))) }
                    if rng.percent(30) { set["name"] = rng.percent(30) ? .null : .text("renamed \(rng.int(below: 1_000))") }
                    try add(.update("guilds", key: [.uint(target)], set: set))
                case 13, 14:  // a reminder is paused or resumed, reminded, or its interval changes
                    if let row = try randomRow(&rng, sqlite, "reminder_events", "id, is_paused") {
                        var set: [String: Value] = [:]
                        switch rng.int(below: 3) {
                        case 0: set["is_paused"] = .bool(row[1] != .integer(1))
                        case 1: set["last_reminder"] = rng.percent(25) ? .null : .timestamp(windowTime(&rng))
                        default: set["interval_minutes"] = .int(rng.pick([1, 5, 60, 1_440]))
                        }
                        try add(.update("reminder_events", key: [.uint(uint(row[0]))], set: set))
                    }
                case 15..<18:  // a message moves in time (across buckets), or its size or attachment changes
                    if let row = try randomRow(&rng, sqlite, "message_events", "id, created_at", where: inGuild, gp) {
                        var set: [String: Value] = [:]
                        switch rng.int(below: 3) {
                        case 0:
                            let t = rng.percent(50) ? int(row[1]) + Int64(rng.int(in: -7_200...7_200)) : windowTime(&rng)
                            set["created_at"] = .timestamp(t)
                            lateTimes.append(t)
                        case 1: set["character_count"] = .int(Int64(rng.int(below: 2_000)))
                        default: set["has_attachment"] = .bool(rng.percent(50))
                        }
                        try add(.update("message_events", key: [.uint(uint(row[0]))], set: set))
                    }
                case 18:  // a voice event's duration or type changes
                    if let row = try randomRow(&rng, sqlite, "voice_events", "id", where: inGuild, gp) {
                        let set: [String: Value] = rng.percent(50) ? ["duration": .int(Int64(rng.int(below: 7_200_000)))]
                            : ["event_type": .text(rng.pick(["join", "leave", "move"]))]
                        try add(.update("voice_events", key: [.uint(uint(row[0]))], set: set))
                    }
                case 19:  // a member event's type flips
                    if let row = try randomRow(&rng, sqlite, "member_events", "id, event_type", where: inGuild, gp) {
                        try add(.update("member_events", key: [.uint(uint(row[0]))],
                                        set: ["event_type": .text(row[1] == .text("join") ? "leave" : "join")]))
                    }
                case 20:  // a user becomes a bot, or stops being one
                    if let row = try randomRow(&rng, sqlite, "users", "id, bot") {
                        try add(.update("users", key: [.uint(uint(row[0]))], set: ["bot": .bool(row[1] != .integer(1))]))
                    }
                case 21:  // a new member, with or without a join time
                    if let row = try randomRow(&rng, sqlite, "users", "id", where: "id NOT IN (SELECT user_id FROM members WHERE guild_id = ?)", gp) {
                        try add(.insert("members", Self.memberRow(guild: g, user: uint(row[0]),
                                                                  joined: rng.percent(20) ? nil : windowTime(&rng), now: world.now)))
                    }
                case 22:  // a reaction to a reminder (whose author then needs no reminding)
                    if let event = try randomRow(&rng, sqlite, "reminder_events", "id, guild_id"),
                       let member = try randomRow(&rng, sqlite, "members", "user_id", where: "guild_id = ?", [event[1]]) {
                        try add(.insert("reactions", ["id": .uint(newID()), "event_id": .uint(uint(event[0])), "user_id": .uint(uint(member[0])),
                                                      "emoji": .text("🧪\(nextID)"), "reacted_at": .timestamp(world.now),
                                                      "created_at": .timestamp(world.now), "updated_at": .timestamp(world.now)]))
                    }
                case 23:  // a new reminder, never reminded or reminded at some time
                    if let channel = try randomRow(&rng, sqlite, "channels", "id, guild_id") {
                        let last: Value = rng.percent(30) ? .null : .timestamp(windowTime(&rng))
                        try add(.insert("reminder_events", [
                            "id": .uint(newID()), "message_id": .uint(nextID + 0x0100_0000_0000_0000), "channel_id": .uint(uint(channel[0])),
                            "guild_id": .uint(uint(channel[1])), "title": .text("late reminder \(nextID)"), "description": .null,
                            "interval_minutes": .int(rng.pick([5, 60, 1_440])), "is_paused": .bool(rng.percent(20)),
                            "last_reminder": last, "required_reactions": .json("[]"),
                            "created_at": .timestamp(world.now), "updated_at": .timestamp(world.now)]))
                    }
                case 24:  // a delete or update of a row that is not there
                    if rng.percent(50) {
                        try add(.delete(rng.pick(GuildTables.eventTables).name, key: [.uint(5)]))
                    } else {
                        try add(.update("members", key: [.uint(g), .uint(424_242)], set: ["joined_at": .timestamp(world.now)]))
                    }
                default:  // late events in existing hours
                    let late = try lateEvents(&rng, sqlite: sqlite, count: 1, guild: g)  // applied to SQLite already
                    applied += late
                    changes += late.map(\.change)
                }
            }
            if deleteGuild, world.busy.count > 1 {
                let g = world.busy[1]
                deletedGuilds.append(g)
                try add(.delete("guilds", key: [.uint(g)]))
                world.busy.removeAll { $0 == g }
                world.guilds.removeAll { $0 == g }
            }
            return applied
        }

        static func memberRow(guild: UInt64, user: UInt64, joined: Int64?, now: Int64) -> [String: Value] {
            ["guild_id": .uint(guild), "user_id": .uint(user), "nickname": .null, "roles": .json("[]"),
             "joined_at": joined.map { .timestamp($0) } ?? .null, "premium_since": .null,
             "created_at": .timestamp(now), "updated_at": .timestamp(now)]
        }

        /// `count` late events: copies of existing events of a random table moved to a second
        /// inside the original's hour (sometimes the very same second), with new ids.
        mutating func lateEvents(_ rng: inout SplitMix64, sqlite: SQLiteConnection, count: Int,
                                 guild chosen: UInt64? = nil) throws -> [(change: Change, sqlite: Bool)] {
            var applied: [(change: Change, sqlite: Bool)] = []
            for _ in 0..<count {
                let g = chosen ?? guild(&rng)
                let table = rng.pick(GuildTables.eventTables)
                guard let row = try randomRow(&rng, sqlite, table.name, "created_at", where: "guild_id = ?", [PatternSQL.id(g)]) else { continue }
                let original = int(row[0])
                let at = rng.percent(30) ? original : hourStart(original) + Int64(rng.int(below: 3_600))
                if let change = try lateEvent(table.name, guild: g, at: at, &rng, sqlite: sqlite) {
                    applied.append((change, try change.applySQL(sqlite)))
                }
            }
            return applied
        }

        /// Late events at times around `cutoff`: inside its hour on both sides, on it, before it.
        mutating func eventsAround(_ cutoff: Int64, _ rng: inout SplitMix64, sqlite: SQLiteConnection,
                                   count: Int) throws -> [(change: Change, sqlite: Bool)] {
            var applied: [(change: Change, sqlite: Bool)] = []
            for _ in 0..<count {
                let g = guild(&rng)
                let at: Int64
                switch rng.int(below: 5) {
                case 0: at = cutoff
                case 1: at = cutoff - 1
                case 2: at = hourStart(cutoff) + Int64(rng.int(below: 3_600))
                case 3: at = dayStart(cutoff) + Int64(rng.int(below: 86_400))
                default: at = cutoff - Int64(rng.int(in: 1...(3 * 86_400)))
                }
                let table = rng.pick(GuildTables.eventTables).name
                if let change = try lateEvent(table, guild: g, at: at, &rng, sqlite: sqlite) {
                    applied.append((change, try change.applySQL(sqlite)))
                }
            }
            return applied
        }

        /// A new event of `table` in guild `g` at `at`, by a member (or author) of the guild.
        mutating func lateEvent(_ table: String, guild g: UInt64, at: Int64, _ rng: inout SplitMix64,
                                sqlite: SQLiteConnection) throws -> Change? {
            let gp = [PatternSQL.id(g)]
            lateTimes.append(at)
            let id = Value.uint(newID())
            switch table {
            case "message_events":
                guard let source = try randomRow(&rng, sqlite, "message_events", "channel_id, user_id", where: "guild_id = ?", gp) else { return nil }
                return .insert(table, ["id": id, "guild_id": .uint(g), "channel_id": .uint(uint(source[0])), "user_id": .uint(uint(source[1])),
                                       "message_type": .int(0), "has_attachment": .bool(rng.percent(20)), "has_embed": .bool(false),
                                       "character_count": .int(Int64(rng.int(below: 400))), "word_count": .int(Int64(rng.int(below: 60))),
                                       "created_at": .timestamp(at)])
            case "voice_events":
                guard let source = try randomRow(&rng, sqlite, "members", "user_id", where: "guild_id = ?", gp) else { return nil }
                let leave = rng.percent(70)
                return .insert(table, ["id": id, "guild_id": .uint(g), "channel_id": .null, "user_id": .uint(uint(source[0])),
                                       "event_type": .text(leave ? "leave" : "join"), "session_start": .timestamp(at - 600),
                                       "session_end": leave ? .timestamp(at) : .null, "duration": .int(leave ? Int64(rng.int(below: 3_600_000)) : 0),
                                       "muted": .bool(false), "deafened": .bool(false), "created_at": .timestamp(at)])
            case "member_events":
                guard let source = try randomRow(&rng, sqlite, "users", "id") else { return nil }
                return .insert(table, ["id": id, "guild_id": .uint(g), "user_id": .uint(uint(source[0])),
                                       "event_type": .text(rng.percent(60) ? "join" : "leave"), "member_count": .null, "created_at": .timestamp(at)])
            default:
                // Presence: half the time the member's newest, at the very second of their latest (a tie broken by id).
                guard let source = try randomRow(&rng, sqlite, "members", "user_id", where: "guild_id = ?", gp) else { return nil }
                let user = uint(source[0])
                var time = at
                if rng.percent(50), let latest = try sqlite.query("SELECT MAX(created_at) FROM presence_events WHERE guild_id = ? AND user_id = ?",
                                                                 gp + [PatternSQL.id(user)]).first?.first, case .integer(let t) = latest {
                    time = t
                }
                let status: Value = rng.pick([.text("online"), .text("idle"), .text("dnd"), .text("offline"), .null])
                return .insert(table, ["id": id, "guild_id": .uint(g), "user_id": .uint(user), "status": status,
                                       "activity_type": .null, "activity_name": .null, "created_at": .timestamp(time)])
            }
        }
    }
}
