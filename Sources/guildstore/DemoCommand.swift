import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore demo`: the README's main job. Seeds a profile into the database (unless it
/// holds events already), then runs every query pattern on its busiest guild and user over the
/// 30 days before the data's latest event, and prints each result with how long it took (the
/// median of several runs). A pattern the data gives no input for (no reminder event to
/// target, no guild) is skipped with a line saying why.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Seed a dataset and run every query pattern.",
        discussion: creatingDiscussion + """
             Seeds it when it holds no message events. "Now" is the database's latest event, so imported or \
            ingested data is measured against its own time; a pattern the data gives no input for is skipped, saying why.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The dataset to seed when the database is empty.") var profile: ProfileOption = .default
    @Option(help: "Result rows to print per pattern.") var rows: Int = 5
    @Option(help: "Runs per pattern; the median time is printed.") var runs: Int = 5

    func validate() throws {
        guard rows >= 0, runs > 0 else { throw ValidationError("--rows must not be negative and --runs must be positive") }
    }

    func run() async throws {
        let generator = try FixtureGenerator(profile: profile.profile)
        let rows = self.rows, runs = self.runs
        try await withStore(database, .create) { store in
            let events = try await store.database.read { try $0.count("message_events") }
            if events == 0 {
                let (counts, elapsed) = try await seedDatabase(store, generator)
                print(String(format: "Seeded the %@ profile: %d records in %.2f s (%.0f records/s).", generator.profile.name,
                             counts.total, elapsed, Double(counts.total) / max(elapsed, 1e-9)))
                print("  " + counts.description)
            } else {
                print("The database holds \(events) message events already: using them (a fresh --db seeds anew).")
            }
            let inputs = try await demoInputs(store)
            let now = Date(timeIntervalSince1970: TimeInterval(inputs.now)).formatted(.iso8601)
            print("Now: \(inputs.now) (\(now)), the latest event; the window: the 30 days since \(inputs.since).")
            print("Busiest guild: \(inputs.guild.map(String.init) ?? "none"), "
                  + "its busiest user in the window: \(inputs.user.map(String.init) ?? "none").\n")
            for pattern in QueryPattern.allCases {
                if let reason = missingInput(for: pattern, inputs) {
                    print("\(pattern.rawValue) — skipped: \(reason)\n")
                    continue
                }
                var times: [Double] = []
                var result: [[JSONValue]] = []
                for _ in 0..<runs {
                    let start = ContinuousClock.now
                    result = try await store.database.read { tx in try pattern.run(tx, inputs) }
                    times.append(seconds(since: start))
                }
                times.sort()
                print(String(format: "%@ — %d row%@ in %.3f ms", pattern.rawValue, result.count, result.count == 1 ? "" : "s",
                             times[times.count / 2] * 1000))
                print(pattern.table(Array(result.prefix(rows))).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
                if result.count > rows { print("  ... \(result.count - rows) more") }
                print()
            }
            let statistics = store.database.statistics()
            print(String(format: "File %.1f MiB, WAL %d frames.", Double(statistics.fileBytes) / 1_048_576, statistics.walFrames))
        }
    }

    /// The inputs every pattern gets: the guild with the most messages, its most active user
    /// in the window, the 30 days before the latest event (the clock's time when there is no
    /// event), the first reminder event.
    private func demoInputs(_ store: GuildDatabase) async throws -> QueryInputs {
        try await store.database.read { tx in
            var best: (guild: UInt64, messages: Int64)?
            for guild in try tx.select("guilds", columns: ["id"]) {
                let id = try guild.uint("id")
                let messages = try tx.count("message_events", where: ["guild_id": .uint(id)])
                if messages > best?.messages ?? -1 { best = (id, messages) }
            }
            let now = try tx.latestEventTime() ?? currentTime()
            let since = now - 30 * 86_400
            var inputs = QueryInputs(guild: best?.guild, since: since, limit: 10, now: now)
            if let guild = best?.guild {
                inputs.user = try tx.leaderboard(guild: guild, since: since, limit: 1).first?.userID
            }
            inputs.event = try tx.select("reminder_events", columns: ["id"], limit: 1).first.map { try $0.uint("id") }
            return inputs
        }
    }

    /// Why `pattern` cannot run on `inputs`: the first input it needs that the data did not
    /// give; nil when it has them all.
    private func missingInput(for pattern: QueryPattern, _ inputs: QueryInputs) -> String? {
        for option in pattern.requiredOptions {
            switch option {
            case "--guild" where inputs.guild == nil: return "the database holds no guild"
            case "--user" where inputs.user == nil:
                return "no user of guild \(inputs.guild.map(String.init) ?? "none") posted a message in the window"
            case "--event" where inputs.event == nil: return "the database holds no reminder event to target"
            default: continue
            }
        }
        return nil
    }
}
