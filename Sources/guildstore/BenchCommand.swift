import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore bench`: the seeds' query patterns (and point lookups, bulk ingest, durable
/// commits by 1, 8 and 64 writers, retention, the open of a database with a long WAL) side by
/// side on GuildStore and SQLite, on the same data in the same run.
///
/// Seeds the profile into the database when it holds no events (a database already seeded is
/// reused), exports it to SQLite beside it (`NAME.sqlite`, seed 004's schema and indexes,
/// integer ids) and copies that with the covering indexes GuildStore declares
/// (`NAME.covering.sqlite`), both reused while they hold the same rows; then runs every
/// workload once on each contender, checks the answers equal, and only then times it. A
/// wrong answer stops the run with a non-zero exit and no ratio. Prints a table (or `--json`),
/// and writes `--markdown` and `--svg` files when asked.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time every query pattern against SQLite on the same data, answers checked first.")

    @Option(help: "The dataset to seed when the database holds no events.") var profile: ProfileOption = .default
    @Option(help: "The GuildStore database (default ./data/bench-PROFILE.gsdb); the SQLite files go beside it.") var db: String?
    @Option(help: "Timed runs per workload; the median is reported.") var runs: Int = 7
    @Option(help: "Message ids per point-lookup batch.") var lookups: Int = 1_000
    @Flag(name: .customLong("skip-writes"), help: "Skip the write workloads (bulk ingest, durable commits, retention, open with a WAL).")
    var skipWrites = false
    @Flag(name: .customLong("skip-slow-writes"),
          help: "Skip the slow write workloads (bulk ingest, 8 and 64 concurrent writers, open with a WAL); keep the others.")
    var skipSlowWrites = false
    @Option(help: ArgumentHelp("Run only the workloads whose name contains this text (any case); repeatable.",
                               valueName: "text")) var only: [String] = []
    @Flag(help: "Print the report as JSON instead of a table.") var json = false
    @Option(help: "Also write the table as Markdown to this file.") var markdown: String?
    @Option(help: "Also write an SVG bar chart of the ratios to this file.") var svg: String?

    func validate() throws {
        guard runs > 0 else { throw ValidationError("--runs must be positive") }
        guard lookups > 0 else { throw ValidationError("--lookups must be positive") }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let path = db ?? "./data/bench-\(profile.rawValue).gsdb"
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(path)))
        let result: BenchReport
        do {
            result = try await measure(store, path: path, started: started)
            try await store.close()
        } catch let error as BenchError {
            // A wrong answer (or unusable data) ends the run here: no table, no ratio.
            try? await store.close()
            FileHandle.standardError.write(Data("\n".utf8))
            report("bench stopped: \(error)")
            throw ExitCode.failure
        } catch {
            try? await store.close()
            throw error
        }
        if let markdown { try write(ReportMarkdown.render(result), to: markdown) }
        if let svg { try write(ReportSVGChart.render(result), to: svg) }
        print(json ? try result.jsonText() : ReportTextTable.render(result))
    }

    /// Seeds if needed, then runs the session.
    private func measure(_ store: GuildDatabase, path: String, started: ContinuousClock.Instant) async throws -> BenchReport {
        let terminal = isatty(STDERR_FILENO) == 1
        func status(_ message: String) {
            if terminal { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
        }
        var seeded: String?
        var phases: [BenchPhase] = []
        let events = try await store.database.read { try $0.count("message_events") }
        if events == 0 {
            let generator = try FixtureGenerator(profile: profile.profile)
            let (counts, elapsed) = try await seedDatabase(store, generator)
            status(String(format: "seeded the %@ profile: %d records in %.1f s", generator.profile.name, counts.total, elapsed))
            seeded = generator.profile.name
            phases.append(BenchPhase(name: "seeding", seconds: elapsed))
        } else {
            status("\(path) holds \(events) message events already: using them (a new --db seeds anew)")
        }
        let bar = ProgressBar("bench")
        var catalog = WorkloadCatalog()
        catalog.includeSlowWrites = !skipSlowWrites
        // Bulk ingest loads 100,000 events of the profile's world (all of them, when it has fewer).
        catalog.ingestProfile = IngestSource.profile(events: min(100_000, profile.profile.gatewayEvents), world: profile.profile)
        // The small profile is the smoke test's: 8 and 64 writers make 10 and 2 commits each, not 50 and 10.
        if profile == .small { catalog.concurrentWriters = [(8, 10), (64, 2)] }
        let session = BenchSession(runs: runs, lookups: lookups, includeWrites: !skipWrites, catalog: catalog, only: only)
        let observer = BenchSession.Observer(status: { message in bar.finish(); status(message) },
                                             progress: { done, total, name in bar.update(done, of: total, detail: name) })
        let report = try await session.run(database: store.database, databasePath: path, command: Self.commandLine(),
                                           seededProfile: seeded, started: started, phases: phases, observer: observer)
        bar.finish()
        return report
    }

    private func write(_ text: String, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The command line as typed, each argument quoted where a shell would need it.
    static func commandLine() -> String {
        CommandLine.arguments.map { argument in
            let plain = !argument.isEmpty && argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@+".contains($0) }
            return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
