@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreSQLite

/// One thing the benchmark times on every contender: a query pattern on given inputs, a batch
/// of point lookups, retention, a run of durable commits by one or many writers, a bulk
/// ingest, the open of a database with a long WAL. `WorkloadCatalog` lists them; add a
/// case to `WorkloadTask` (and to each contender's `prepare`) for a new kind of work.
@_spi(Benchmarks) public struct Workload: Sendable, Hashable {
    /// Unique within a run, e.g. `leaderboard · busiest · 30 days`.
    @_spi(Benchmarks) public var name: String
    /// The pattern's name, or the kind of work (`point-lookup`, `retention`, ...).
    package var group: String
    /// Which subject it runs on (`busiest`, `median`, `empty`, ...); empty when none.
    package var subject: String
    /// The time range's label (`1 day`, `30 days`, `all time`); nil when it takes none.
    package var range: String?
    @_spi(Benchmarks) public var task: WorkloadTask

    package init(group: String, subject: String = "", range: String? = nil, maximumRuns: Int? = nil, task: WorkloadTask) {
        self.group = group
        self.maximumRuns = maximumRuns
        self.subject = subject
        self.range = range
        self.task = task
        name = ([group] + (subject.isEmpty ? [] : [subject]) + (range.map { [$0] } ?? [])).joined(separator: " · ")
    }

    /// The workload writes: it runs on throwaway copies of the databases (`ScratchCopies`),
    /// never on the ones the reads are timed on.
    package var writes: Bool {
        switch task {
        case .retention, .durableCommits, .bulkIngest, .openWithWAL: true
        case .pattern, .pointLookup: false
        }
    }

    /// A second run would not do the same work (retention finds nothing left to delete): its
    /// one checked run is also its only timed run.
    @_spi(Benchmarks) public var runsOnce: Bool {
        switch task {
        case .retention: true
        case .pattern, .pointLookup, .durableCommits, .bulkIngest, .openWithWAL: false
        }
    }

    /// At most this many timed runs, whatever the runner's count (nil: no limit): for a
    /// workload whose every run is long.
    package var maximumRuns: Int?

    /// What one run does, when the workload is about throughput: rows loaded by a bulk
    /// ingest, commits made by durable commits. The report gives these per second.
    package var operations: (count: Int, unit: String)? {
        switch task {
        case .bulkIngest(let ingest): (ingest.events, "rows")
        case .durableCommits(let plan): (plan.commits, "commits")
        case .pattern, .pointLookup, .retention, .openWithWAL: nil
        }
    }

    /// The column kinds of its answer's rows.
    @_spi(Benchmarks) public var columnKinds: [ColumnKind] {
        switch task {
        case .pattern(let pattern, _): pattern.columnKinds
        case .pointLookup: PointLookup.columnKinds
        case .retention, .bulkIngest: [.text, .integer]
        case .durableCommits: [.integer]
        case .openWithWAL: PointLookup.columnKinds
        }
    }
}

/// What a workload does.
@_spi(Benchmarks) public enum WorkloadTask: Sendable, Hashable {
    /// A query pattern with its inputs.
    case pattern(GuildQueryPattern, PatternInputs)
    /// Message events fetched by primary key, one at a time, inside one read transaction.
    case pointLookup(PointLookup)
    /// Events older than `cutoff` deleted from the four event tables in one transaction.
    case retention(cutoff: Int64)
    /// Message events inserted one per durable commit (GuildStore `.full`, SQLite `FULL`),
    /// by `writers` concurrent writers (GuildStore: tasks calling `Database.write`, whose
    /// commits share syncs; SQLite: threads with a connection each, `busy_timeout`); the plan
    /// gives the guild, channel and user of each.
    case durableCommits(DurableCommits)
    /// Events loaded into an empty copy of the schema (holding only the guilds, users,
    /// channels and members they refer to) in transactions of `batchSize`.
    case bulkIngest(BulkIngest)
    /// A copy of the database given the plan's commits (one row each, durable, no checkpoint),
    /// so they are all in its WAL; each run opens a fresh copy of that and reads the last
    /// committed row: the open replays the WAL.
    case openWithWAL(DurableCommits)
}

/// A batch of point lookups: the ids asked, in order.
@_spi(Benchmarks) public struct PointLookup: Sendable, Hashable {
    @_spi(Benchmarks) public var messageIDs: [UInt64]

    package init(messageIDs: [UInt64]) {
        self.messageIDs = messageIDs
    }

    /// The columns each lookup returns: id, guild_id, channel_id, user_id, character_count,
    /// has_attachment, created_at.
    package static let columnKinds: [ColumnKind] = [.id, .id, .id, .id, .integer, .integer, .integer]

    /// The same columns in SQL.
    @_spi(Benchmarks) public static let sql = """
        SELECT id, guild_id, channel_id, user_id, character_count, has_attachment, created_at
        FROM message_events WHERE id = ?
        """
}

/// A run of single-row durable commits.
@_spi(Benchmarks) public struct DurableCommits: Sendable, Hashable {
    /// Commits per run, over all writers.
    package var commits: Int
    /// Concurrent writers; each makes `commits / writers` of them.
    package var writers: Int
    /// The first id a run may use; each run takes the next `commits` ids after the last run's.
    package var firstID: UInt64
    package var guild: UInt64
    package var channel: UInt64
    package var user: UInt64
    package var createdAt: Int64

    package init(commits: Int, writers: Int = 1, firstID: UInt64, guild: UInt64, channel: UInt64, user: UInt64, createdAt: Int64) {
        self.writers = max(1, writers)
        self.commits = commits / self.writers * self.writers
        self.firstID = firstID
        self.guild = guild
        self.channel = channel
        self.user = user
        self.createdAt = createdAt
    }

    /// The ids of run number `run` (0-based).
    package func ids(run: Int) -> Range<UInt64> {
        let start = firstID + UInt64(run * commits)
        return start..<(start + UInt64(commits))
    }

    /// The ids writer number `writer` (0-based) commits in run `run`: its share of `ids(run:)`.
    package func ids(run: Int, writer: Int) -> Range<UInt64> {
        let share = commits / writers
        let start = ids(run: run).lowerBound + UInt64(writer * share)
        return start..<(start + UInt64(share))
    }

    /// The row each id is.
    package func event(_ id: UInt64) -> MessageEvent {
        MessageEvent(id: id, guildID: guild, channelID: channel, userID: user, characterCount: 42, createdAt: createdAt)
    }

    /// The same row as the SQL the SQLite contenders insert it with binds it.
    static let insertSQL = """
        INSERT INTO message_events (id, guild_id, channel_id, user_id, character_count, created_at)
        VALUES (?, ?, ?, ?, 42, ?)
        """

    func sqliteParameters(_ id: UInt64) -> [SQLiteValue] {
        [.integer(Int64(bitPattern: id)), .integer(Int64(bitPattern: guild)), .integer(Int64(bitPattern: channel)),
         .integer(Int64(bitPattern: user)), .integer(createdAt)]
    }
}

/// A bulk load: every event of `source` in transactions of `batchSize` rows.
@_spi(Benchmarks) public struct BulkIngest: Sendable, Hashable {
    package var source: IngestSource
    /// Events per run (all of the source's).
    package var events: Int
    package var batchSize: Int

    package init(source: IngestSource, batchSize: Int) {
        self.source = source
        events = source.profile.gatewayEvents
        self.batchSize = max(1, batchSize)
    }
}
