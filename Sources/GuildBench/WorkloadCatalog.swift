@_spi(Benchmarks) import GuildStore

/// The benchmark's workloads, made from the data's subjects: a list, so adding one is adding
/// an entry here.
///
/// Reads (timed on the databases themselves):
/// - every pattern that takes a guild on the busiest, a median and an empty guild; those that
///   take a time range on the last day, the last 30 days (before the data's `now`) and all
///   time. `member-growth` buckets by hour over a day and by day over longer ranges;
///   `leaderboard`, `voice-activity` and `active-guilds` take the top 10;
/// - `active-guilds`, `guild-stats` and `due-reminders` (at `now`) once each; `reminder-targets`
///   on an event of the busiest guild and on a missing event;
/// - point lookups of message events by id, a batch per run.
///
/// Writes (on throwaway copies, `ScratchCopies`), in this order:
/// - bulk ingest: `ingestProfile`'s gateway events (100,000 of the default world, by
///   default) loaded into an empty copy of the schema holding only their guilds, users,
///   channels and members, in transactions of `ingestBatch` rows; rows per second
///   (`IngestSource`);
/// - single-row durable commits by one writer, then by each of `concurrentWriters`
///   (8 writers x 50 commits, 64 x 10); commits per second;
/// - retention of 60 days: the events of the oldest 60 days (older than the earliest event +
///   60 days) deleted from the four event tables, as issue 11 measured it (on the default
///   profile's 90 days, 667k of its 1M events);
/// - open of a copy whose WAL holds `walCommits` single-row commits (no checkpoint), and the
///   first read.
///
/// Bulk ingest, the concurrent commits and the open with a WAL are the slow ones
/// (`slowWrites`); `includeSlowWrites` false leaves them out.
@_spi(Benchmarks) public struct WorkloadCatalog: Sendable {
    /// The ranges the time-range patterns run on: label and length (nil: all time).
    package static let ranges: [(label: String, seconds: Int64?)] = [("1 day", 86_400), ("30 days", 30 * 86_400), ("all time", nil)]

    package var limit = 10
    package var commitsPerRun = 50
    package var retentionDays = 60
    /// Concurrent durable-commit workloads: writers and commits per writer per run.
    @_spi(Benchmarks) public var concurrentWriters: [(writers: Int, commitsPerWriter: Int)] = [(8, 50), (64, 10)]
    /// Commits the open-with-WAL workload leaves in the log.
    package var walCommits = 1_000
    /// What bulk ingest loads (nil: no bulk ingest).
    @_spi(Benchmarks) public var ingestProfile: FixtureProfile? = IngestSource.profile(events: 100_000, world: .default)
    package var ingestBatch = 10_000
    /// Timed runs of a bulk ingest at most (each loads every event anew).
    package var ingestRuns = 5
    /// Whether `writes` includes bulk ingest, the concurrent commits and the open with a WAL.
    package var includeSlowWrites = true

    @_spi(Benchmarks) public init() {}

    /// The read workloads, in report order.
    @_spi(Benchmarks) public func reads(_ subjects: BenchSubjects) -> [Workload] {
        let now = subjects.now
        var workloads: [Workload] = []
        for pattern in GuildQueryPattern.allCases {
            let group = pattern.rawValue
            if pattern.takesGuild {
                for subject in subjects.guilds {
                    let base = PatternInputs(guild: subject.guild, user: subject.user, limit: limit, now: now)
                    guard pattern.takesTimeRange else {
                        workloads.append(Workload(group: group, subject: subject.label, task: .pattern(pattern, base)))
                        continue
                    }
                    for range in Self.ranges {
                        var inputs = base
                        inputs.since = range.seconds.map { now - $0 } ?? 0
                        inputs.until = range.seconds == nil ? nil : now
                        inputs.bucketSeconds = range.seconds == 86_400 ? 3_600 : 86_400
                        workloads.append(Workload(group: group, subject: subject.label, range: range.label, task: .pattern(pattern, inputs)))
                    }
                }
            } else if pattern == .reminderTargets {
                for (label, event) in subjects.reminderEvents {
                    workloads.append(Workload(group: group, subject: label, task: .pattern(pattern, PatternInputs(now: now, event: event))))
                }
            } else {
                workloads.append(Workload(group: group, task: .pattern(pattern, PatternInputs(limit: limit, now: now))))
            }
        }
        if !subjects.lookupIDs.isEmpty {
            workloads.append(Workload(group: "point-lookup", subject: "\(subjects.lookupIDs.count) message ids",
                                      task: .pointLookup(PointLookup(messageIDs: subjects.lookupIDs))))
        }
        return workloads
    }

    /// The write workloads, in the order they run on the scratch copies; a bulk ingest makes
    /// its files in `scratchFolder`.
    @_spi(Benchmarks) public func writes(_ subjects: BenchSubjects, scratchFolder: String) -> [Workload] {
        guard let busiest = subjects.guilds.first else { return [] }
        // Each workload's ids start 2^32 above the last one's, past every id its runs take.
        func commits(_ count: Int, writers: Int, block: UInt64) -> DurableCommits {
            DurableCommits(commits: count, writers: writers, firstID: subjects.nextMessageID + (block << 32), guild: busiest.guild,
                           channel: subjects.commitChannel, user: busiest.user, createdAt: subjects.now)
        }
        var workloads: [Workload] = []
        if includeSlowWrites, let ingestProfile {
            let source = IngestSource(profile: ingestProfile, folder: scratchFolder + "/ingest")
            let ingest = BulkIngest(source: source, batchSize: ingestBatch)
            workloads.append(Workload(group: "bulk-ingest", subject: "\(ingest.events) events, \(ingestBatch) per transaction",
                                      maximumRuns: ingestRuns, task: .bulkIngest(ingest)))
        }
        workloads.append(Workload(group: "durable-commits", subject: "1 writer, \(commitsPerRun) commits",
                                  task: .durableCommits(commits(commitsPerRun, writers: 1, block: 0))))
        if includeSlowWrites {
            for (number, concurrent) in concurrentWriters.enumerated() {
                let plan = commits(concurrent.writers * concurrent.commitsPerWriter, writers: concurrent.writers, block: UInt64(number + 1))
                workloads.append(Workload(group: "durable-commits", subject: "\(plan.writers) writers, \(plan.commits) commits",
                                          task: .durableCommits(plan)))
            }
        }
        workloads.append(Workload(group: "retention", subject: "oldest \(retentionDays) days",
                                  task: .retention(cutoff: subjects.earliest + Int64(retentionDays) * 86_400)))
        if includeSlowWrites {
            let plan = commits(walCommits, writers: 1, block: UInt64(concurrentWriters.count + 1))
            workloads.append(Workload(group: "open-with-wal", subject: "\(walCommits) commits in the WAL, then one read",
                                      task: .openWithWAL(plan)))
        }
        return workloads
    }
}
