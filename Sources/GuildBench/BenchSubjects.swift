@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

/// What the workloads ask about, found in the data itself (through the seed-index SQLite
/// twin, which holds the same rows as the GuildStore database):
///
/// - `now`: one second after the latest event of the four event tables, never the wall
///   clock, so "the last day" always holds the data's last day; and the earliest event;
/// - the busiest guild (most message events), a median guild (the middle one of the guilds
///   with messages, ordered by their count) and an empty one (the first guild without
///   messages, else an id no guild has), each with its busiest user;
/// - a reminder event of the busiest guild (else the first one) and an id no event has;
/// - message event ids for point lookups, drawn by a seeded generator;
/// - what a durable commit inserts (a channel and user of the busiest guild, ids above every
///   existing one).
@_spi(Benchmarks) public struct BenchSubjects: Sendable {
    /// One guild the patterns run on.
    package struct GuildSubject: Sendable, Hashable {
        /// `busiest`, `median` or `empty`.
        package var label: String
        package var guild: UInt64
        /// Its user with the most messages; for a guild without messages, the busiest guild's.
        package var user: UInt64
        package var messages: Int
    }

    package var now: Int64
    /// The earliest event's time (retention deletes the oldest days from it).
    package var earliest: Int64
    package var guilds: [GuildSubject]
    /// `(label, event id)`: `busiest` (an event of the busiest guild, else the first) and
    /// `missing` (no such event).
    package var reminderEvents: [(label: String, event: UInt64)]
    package var lookupIDs: [UInt64]
    package var commitChannel: UInt64
    package var nextMessageID: UInt64
    /// Rows per event table, for bytes per event.
    package var eventCounts: [(table: String, rows: Int)]

    package var totalEvents: Int { eventCounts.reduce(0) { $0 + $1.rows } }

    /// The event tables (those retention cleans).
    package static let eventTables = ["message_events", "voice_events", "member_events", "presence_events"]

    /// Finds the subjects in the SQLite file at `sqlitePath` (the seed-index twin).
    @_spi(Benchmarks) public static func discover(sqlitePath: String, lookups: Int) throws -> BenchSubjects {
        try discover(in: SQLiteConnection(path: sqlitePath, mode: .readOnly), lookups: lookups)
    }

    /// Finds the subjects in `sqlite`; `lookups` ids are drawn with `seed`.
    @_spi(Benchmarks) public static func discover(in sqlite: SQLiteConnection, lookups: Int, seed: UInt64 = 0x6265_6E63_6821) throws -> BenchSubjects {
        func integer(_ rows: [[SQLiteValue]]) -> Int64? {
            if case .integer(let v)? = rows.first?.first { v } else { nil }
        }
        func id(_ value: UInt64) -> SQLiteValue { .integer(Int64(bitPattern: value)) }

        let latest = try eventTables.compactMap { try integer(sqlite.query("SELECT MAX(created_at) FROM \($0)")) }.max()
        let earliest = try eventTables.compactMap { try integer(sqlite.query("SELECT MIN(created_at) FROM \($0)")) }.min()
        guard let latest, let earliest else { throw BenchError.unusableDataset("no events") }
        let eventCounts = try eventTables.map { ($0, Int(try integer(sqlite.query("SELECT COUNT(*) FROM \($0)")) ?? 0)) }

        // Every guild with its message count, busiest first (ties by id).
        let perGuild = try sqlite.query("""
            SELECT g.id, (SELECT COUNT(*) FROM message_events e WHERE e.guild_id = g.id) AS messages
            FROM guilds g ORDER BY messages DESC, g.id
            """).compactMap { row -> (guild: UInt64, messages: Int)? in
            guard row.count == 2, case .integer(let guild) = row[0], case .integer(let messages) = row[1] else { return nil }
            return (UInt64(bitPattern: guild), Int(messages))
        }
        let active = perGuild.filter { $0.messages > 0 }
        guard let busiest = active.first else { throw BenchError.unusableDataset("no guild has message events") }
        let median = active[active.count / 2]
        let maxGuild = perGuild.map(\.guild).max() ?? 0
        let empty = perGuild.filter { $0.messages == 0 }.min { $0.guild < $1.guild } ?? (maxGuild + 1, 0)

        func busiestUser(of guild: UInt64) throws -> UInt64? {
            try integer(sqlite.query("""
                SELECT user_id FROM message_events WHERE guild_id = ? GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT 1
                """, [id(guild)])).map { UInt64(bitPattern: $0) }
        }
        guard let topUser = try busiestUser(of: busiest.guild) else { throw BenchError.unusableDataset("no busiest user") }
        var guilds: [GuildSubject] = []
        for (label, subject) in [("busiest", busiest), ("median", median), ("empty", empty)] {
            guilds.append(GuildSubject(label: label, guild: subject.guild, user: try busiestUser(of: subject.guild) ?? topUser,
                                       messages: subject.messages))
        }

        var reminderEvents: [(String, UInt64)] = []
        let ofBusiest = try integer(sqlite.query("SELECT id FROM reminder_events WHERE guild_id = ? ORDER BY id LIMIT 1", [id(busiest.guild)]))
        if let event = try ofBusiest ?? integer(sqlite.query("SELECT id FROM reminder_events ORDER BY id LIMIT 1")) {
            reminderEvents.append(("busiest", UInt64(bitPattern: event)))
        }
        let maxEvent = try integer(sqlite.query("SELECT MAX(id) FROM reminder_events")).map { UInt64(bitPattern: $0) } ?? 0
        reminderEvents.append(("missing", maxEvent + 1))

        // Point lookups: ids drawn from every message event, with a fixed seed.
        var ids = try sqlite.query("SELECT id FROM message_events").compactMap { row -> UInt64? in
            if case .integer(let v)? = row.first { UInt64(bitPattern: v) } else { nil }
        }
        var random = SplitMix64(seed: seed)
        var lookupIDs: [UInt64] = []
        if !ids.isEmpty {
            for _ in 0..<lookups {
                let index = Int(random.next() % UInt64(ids.count))
                lookupIDs.append(ids[index])
                ids.swapAt(index, ids.count - 1)
                if ids.count > 1 { ids.removeLast() }
            }
        }
        let channel = try integer(sqlite.query("SELECT channel_id FROM message_events WHERE guild_id = ? LIMIT 1", [id(busiest.guild)]))
        let maxMessage = try integer(sqlite.query("SELECT MAX(id) FROM message_events")).map { UInt64(bitPattern: $0) } ?? 0
        return BenchSubjects(now: latest + 1, earliest: earliest, guilds: guilds, reminderEvents: reminderEvents, lookupIDs: lookupIDs,
                             commitChannel: channel.map { UInt64(bitPattern: $0) } ?? 0, nextMessageID: maxMessage + 1,
                             eventCounts: eventCounts)
    }
}
