import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore query PATTERN ...`: one of the seeds' query patterns, as a table or as JSON.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run a query pattern.",
        discussion: "Patterns: " + QueryPattern.allCases.map(\.rawValue).joined(separator: ", ")
            + ". Times are seconds since 1970; ranges are since <= created_at < until. " + readOnlyDiscussion)

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The pattern to run.")
    var pattern: QueryPattern

    @Option(help: "Guild id.") var guild: UInt64?
    @Option(help: "User id.") var user: UInt64?
    @Option(help: "Start of the time range (inclusive).") var since: Int64 = 0
    @Option(help: "End of the time range (exclusive); none by default.") var until: Int64?
    @Option(help: "At most this many rows.") var limit: Int = 10
    @Option(help: "Bucket width for member-growth: hour or day.") var bucket: BucketOption = .hour
    @Option(help: "The time 'now' for guild-stats and due-reminders (default: the clock).") var now: Int64?
    @Option(help: "Reminder event id for reminder-targets.") var event: UInt64?
    @Flag(help: "Print {\"pattern\": ..., \"rows\": [...]} instead of a table.") var json = false

    func validate() throws {
        guard limit >= 0 else { throw ValidationError("--limit must not be negative") }
        if let until, until <= since { throw ValidationError("--until must be after --since") }
        let given = ["--guild": guild != nil, "--user": user != nil, "--event": event != nil]
        for option in pattern.requiredOptions where given[option] != true {
            throw ValidationError("\(pattern.rawValue) needs \(option)")
        }
    }

    func run() async throws {
        let inputs = QueryInputs(guild: guild, user: user, since: since, until: until, limit: limit, bucket: bucket.bucket,
                                 now: now ?? currentTime(), event: event)
        let pattern = self.pattern
        let rows = try await withStore(database, .read) { store in
            try await store.database.read { tx in try pattern.run(tx, inputs) }
        }
        print(json ? pattern.json(rows).text : pattern.table(rows))
    }
}

/// `guildstore retention --older-than T`: deletes events older than T from the four event
/// tables, in one transaction, and prints the counts.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Delete events older than a cutoff (seconds since 1970).",
        discussion: existingDiscussion + " Applies the schema migrations the database lacks first.")

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("older-than"), help: "Delete events with created_at before this time.") var olderThan: Int64
    @Flag(help: "Print the counts as JSON.") var json = false

    func run() async throws {
        let cutoff = olderThan
        let result = try await withStore(database, .write) { store in
            try await store.database.write { tx in try tx.deleteEvents(olderThan: cutoff) }
        }
        let counts: [(String, Int)] = [("message_events", result.messageEvents), ("voice_events", result.voiceEvents),
                                       ("member_events", result.memberEvents), ("presence_events", result.presenceEvents)]
        if json {
            print(JSONValue.object(counts.map { ($0.0, .int(Int64($0.1))) } + [("total", .int(Int64(result.total)))]).text)
        } else {
            for (table, count) in counts { print("\(table): \(count) deleted") }
            print("total: \(result.total) deleted")
        }
    }
}
