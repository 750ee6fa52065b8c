/// One thing the benchmark times on every contender: a query pattern on given inputs, a batch
/// of point lookups, retention, a run of durable commits. `WorkloadCatalog` lists them; add a
/// case to `WorkloadTask` (and to each contender's `prepare`) for a new kind of work.
public struct Workload: Sendable, Hashable {
    /// Unique within a run, e.g. `leaderboard · busiest · 30 days`.
    public var name: String
    /// The pattern's name, or the kind of work (`point-lookup`, `retention`, ...).
    public var group: String
    /// Which subject it runs on (`busiest`, `median`, `empty`, ...); empty when none.
    public var subject: String
    /// The time range's label (`1 day`, `30 days`, `all time`); nil when it takes none.
    public var range: String?
    public var task: WorkloadTask

    public init(group: String, subject: String = "", range: String? = nil, task: WorkloadTask) {
        self.group = group
        self.subject = subject
        self.range = range
        self.task = task
        name = ([group] + (subject.isEmpty ? [] : [subject]) + (range.map { [$0] } ?? [])).joined(separator: " · ")
    }

    /// The workload writes: it runs on throwaway copies of the databases (`ScratchCopies`),
    /// never on the ones the reads are timed on.
    public var writes: Bool {
        switch task {
        case .retention, .durableCommits: true
        case .pattern, .pointLookup: false
        }
    }

    /// A second run would not do the same work (retention finds nothing left to delete): its
    /// one checked run is also its only timed run.
    public var runsOnce: Bool {
        switch task {
        case .retention: true
        case .pattern, .pointLookup, .durableCommits: false
        }
    }

    /// The column kinds of its answer's rows.
    public var columnKinds: [ColumnKind] {
        switch task {
        case .pattern(let pattern, _): pattern.columnKinds
        case .pointLookup: PointLookup.columnKinds
        case .retention: [.text, .integer]
        case .durableCommits: [.integer]
        }
    }
}

/// What a workload does.
public enum WorkloadTask: Sendable, Hashable {
    /// A query pattern with its inputs.
    case pattern(GuildQueryPattern, PatternInputs)
    /// Message events fetched by primary key, one at a time, inside one read transaction.
    case pointLookup(PointLookup)
    /// Events older than `cutoff` deleted from the four event tables in one transaction.
    case retention(cutoff: Int64)
    /// Message events inserted one per durable commit (GuildStore `.full`, SQLite `FULL`),
    /// by one writer; `template` gives the guild, channel and user of each.
    case durableCommits(DurableCommits)
}

/// A batch of point lookups: the ids asked, in order.
public struct PointLookup: Sendable, Hashable {
    public var messageIDs: [UInt64]

    public init(messageIDs: [UInt64]) {
        self.messageIDs = messageIDs
    }

    /// The columns each lookup returns: id, guild_id, channel_id, user_id, character_count,
    /// has_attachment, created_at.
    public static let columnKinds: [ColumnKind] = [.id, .id, .id, .id, .integer, .integer, .integer]

    /// The same columns in SQL.
    public static let sql = """
        SELECT id, guild_id, channel_id, user_id, character_count, has_attachment, created_at
        FROM message_events WHERE id = ?
        """
}

/// A run of single-row durable commits.
public struct DurableCommits: Sendable, Hashable {
    /// Commits per run.
    public var commits: Int
    /// The first id a run may use; each run takes the next `commits` ids after the last run's.
    public var firstID: UInt64
    public var guild: UInt64
    public var channel: UInt64
    public var user: UInt64
    public var createdAt: Int64

    public init(commits: Int, firstID: UInt64, guild: UInt64, channel: UInt64, user: UInt64, createdAt: Int64) {
        self.commits = commits
        self.firstID = firstID
        self.guild = guild
        self.channel = channel
        self.user = user
        self.createdAt = createdAt
    }

    /// The ids of run number `run` (0-based).
    public func ids(run: Int) -> Range<UInt64> {
        let start = firstID + UInt64(run * commits)
        return start..<(start + UInt64(commits))
    }
}
