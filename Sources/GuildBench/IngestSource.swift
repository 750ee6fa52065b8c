import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreSQLite
@_spi(Benchmarks) import GuildStoreEngine

/// What a bulk ingest loads and the empty databases it loads into, made once, by the first
/// contender that prepares the workload, in `folder`:
///
/// - the events: the gateway events (message, voice, member and presence events) of
///   `FixtureGenerator(profile:)` with its default seed, in the generator's (time) order:
///   deterministic, the same on every contender;
/// - `guildstore.gsdb`: a database opened through `GuildDatabase.open`, so every migration
///   applied (indexes and the rollups of `0002_activity_rollups` included), holding the
///   profile's guilds, users, channels and members and no event;
/// - `seed.sqlite`: its export with integer ids (seed 004's schema and indexes, the same
///   parents), in WAL mode. A contender with more indexes adds them to its own copy.
///
/// The parents are there because GuildStore checks every event's guild, user and channel;
/// they are loaded off the clock, once.
@_spi(Benchmarks) public actor IngestSource {
    package nonisolated let profile: FixtureProfile
    package nonisolated let folder: String
    private var made: IngestMaterials?

    package init(profile: FixtureProfile, folder: String) {
        self.profile = profile
        self.folder = folder
    }

    /// `world`'s guilds, users, channels and members with `events` gateway events, split
    /// between the four tables as `world` splits its own, and no reminders.
    @_spi(Benchmarks) public static func profile(events: Int, world: FixtureProfile) -> FixtureProfile {
        var profile = world
        let total = Double(max(1, world.gatewayEvents))
        func share(_ count: Int) -> Int { Int(Double(max(0, events)) * Double(count) / total) }
        profile.messages = share(world.messages)
        profile.voiceEvents = share(world.voiceEvents)
        profile.memberEvents = share(world.memberEvents)
        profile.presenceEvents = max(0, events - profile.messages - profile.voiceEvents - profile.memberEvents)
        profile.reminderEvents = 0
        profile.name = "\(world.name) world, \(events) events"
        return profile
    }

    /// The events and the two template files, made on the first call.
    package func materials() async throws -> IngestMaterials {
        if let made { return made }
        let generator: FixtureGenerator
        do {
            generator = try FixtureGenerator(profile: profile)
        } catch {
            throw BenchError.unusableDataset("\(error)")
        }
        var parents: [IngestRecord] = []
        var events: [IngestRecord] = []
        events.reserveCapacity(profile.gatewayEvents)
        for record in generator {
            if record.kind.isGatewayEvent {
                events.append(record)
            } else if record.kind.isUpsert {
                parents.append(record)
            }
        }
        guard !events.isEmpty else { throw BenchError.unusableDataset("the ingest profile has no events") }

        try DatabaseFiles.makeFolder(folder)
        let guildStorePath = folder + "/guildstore.gsdb", sqlitePath = folder + "/seed.sqlite"
        try DatabaseFiles.remove(guildStorePath)
        try DatabaseFiles.remove(sqlitePath)
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(guildStorePath)))
        do {
            var start = 0
            while start < parents.count {
                let batch = Array(parents[start..<min(parents.count, start + 10_000)])
                try await store.database.write { tx in for record in batch { try record.apply(to: tx) } }
                start += batch.count
            }
            _ = try await store.database.checkpoint(.truncate)
            try await SQLiteExport.export(from: store.database, to: sqlitePath, ids: .integer, replace: true)
            let connection = try SQLiteConnection(path: sqlitePath, mode: .readWrite)
            try connection.execute("PRAGMA journal_mode = WAL")
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        let materials = IngestMaterials(events: events, guildStoreTemplate: guildStorePath, sqliteTemplate: sqlitePath)
        made = materials
        return materials
    }
}

extension IngestSource: Hashable {
    @_spi(Benchmarks) public nonisolated static func == (lhs: IngestSource, rhs: IngestSource) -> Bool { lhs === rhs }
    @_spi(Benchmarks) public nonisolated func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// The events of a bulk ingest and the files each run starts from (`IngestSource`).
package struct IngestMaterials: Sendable {
    /// In load order.
    package var events: [IngestRecord]
    /// The GuildStore database with the parents and no event.
    package var guildStoreTemplate: String
    /// Its SQLite export (seed 004's schema and indexes, integer ids, WAL mode).
    package var sqliteTemplate: String

    /// The four event tables, whose rows a finished load is checked by.
    package static let eventTables = BenchSubjects.eventTables

    /// `value` as a SQLite column stores it: ids as integers (below 2^63, as the integer-id
    /// export requires), booleans as 0 or 1, JSON as text.
    static func sqliteValue(_ value: Value) throws -> SQLiteValue {
        switch value {
        case .null: return .null
        case .int(let v), .timestamp(let v): return .integer(v)
        case .uint(let v):
            guard v <= UInt64(Int64.max) else { throw BenchError.unusableDataset("id \(v) does not fit a SQLite integer") }
            return .integer(Int64(v))
        case .double(let v): return .real(v)
        case .bool(let v): return .integer(v ? 1 : 0)
        case .text(let s), .json(let s): return .text(s)
        case .bytes(let b): return .blob(b)
        }
    }
}
