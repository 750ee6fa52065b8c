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
/// Writes (on throwaway copies, `ScratchCopies`): single-row durable commits by one writer,
/// then retention of 60 days: the events of the oldest 60 days (older than the earliest
/// event + 60 days) deleted from the four event tables, as issue 11 measured it (on the
/// default profile's 90 days, 667k of its 1M events).
public struct WorkloadCatalog: Sendable {
    /// The ranges the time-range patterns run on: label and length (nil: all time).
    public static let ranges: [(label: String, seconds: Int64?)] = [("1 day", 86_400), ("30 days", 30 * 86_400), ("all time", nil)]

    public var limit = 10
    public var commitsPerRun = 50
    public var retentionDays = 60

    public init() {}

    /// The read workloads, in report order.
    public func reads(_ subjects: BenchSubjects) -> [Workload] {
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

    /// The write workloads, in the order they run on the scratch copies.
    public func writes(_ subjects: BenchSubjects) -> [Workload] {
        guard let busiest = subjects.guilds.first else { return [] }
        let commits = DurableCommits(commits: commitsPerRun, firstID: subjects.nextMessageID, guild: busiest.guild,
                                     channel: subjects.commitChannel, user: busiest.user, createdAt: subjects.now)
        return [
            Workload(group: "durable-commits", subject: "1 writer, \(commitsPerRun) commits", task: .durableCommits(commits)),
            Workload(group: "retention", subject: "oldest \(retentionDays) days",
                     task: .retention(cutoff: subjects.earliest + Int64(retentionDays) * 86_400)),
        ]
    }
}
