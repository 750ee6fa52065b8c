import Foundation
import Testing
import TestSupport

/// `guildstore bench` as a process on the small profile: it seeds, exports, checks every
/// answer across the three contenders, and reports every pattern; a second run reuses the
/// database and the SQLite files.
@Suite("guildstore bench")
struct BenchCommandTests {
    static let patterns = ["active-guilds", "guild-member-count", "guild-stats", "user-stats", "leaderboard", "voice-activity",
                           "hourly-activity", "member-growth", "presence-distribution", "active-users", "due-reminders",
                           "reminder-targets"]
    static let guildPatterns = ["guild-member-count", "user-stats", "leaderboard", "voice-activity", "hourly-activity",
                                "member-growth", "presence-distribution", "active-users"]
    static let contenders = ["guildstore", "sqlite_seed", "sqlite_covering"]

    @Test("bench --profile small --runs 1 --json: exit 0, every pattern and contender, every answer agreed; files written; reuse")
    func smallProfile() throws {
        let directory = try TemporaryDirectory("cli-bench")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let markdown = directory.file("report/bench.md"), svg = directory.file("report/bench.svg")
        let result = try cli.run(["bench", "--profile", "small", "--runs", "1", "--json", "--markdown", markdown, "--svg", svg],
                                 database: "bench.gsdb")
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try parseJSON(result.stdout) as? [String: Any], "\(result.stdout.prefix(500))")

        let contenders = try #require(report["contenders"] as? [[String: Any]])
        #expect(contenders.compactMap { $0["key"] as? String } == Self.contenders)
        #expect(report["measured"] as? String == "guildstore")
        #expect((report["command"] as? String)?.contains("bench --profile small --runs 1 --json") == true)
        let machine = try #require(report["machine"] as? [String: Any])
        #expect((machine["cores"] as? Int ?? 0) > 0 && machine["cpu_model"] is String && machine["filesystem"] is String)

        let workloads = try #require(report["workloads"] as? [[String: Any]])
        let groups = Set(workloads.compactMap { $0["group"] as? String })
        for pattern in Self.patterns { #expect(groups.contains(pattern), "\(pattern) is benchmarked") }
        for other in ["point-lookup", "durable-commits", "retention", "bulk-ingest", "open-with-wal"] {
            #expect(groups.contains(other), "\(other) is benchmarked")
        }
        // The write workloads: bulk ingest of every event of the small world, commits by 1, 8 and 64 writers
        // (fewer per writer on the small profile).
        let commits = workloads.filter { $0["group"] as? String == "durable-commits" }
        #expect(commits.compactMap { $0["subject"] as? String } == ["1 writer, 50 commits", "8 writers, 80 commits", "64 writers, 128 commits"])
        let ingest = try #require(workloads.first { $0["group"] as? String == "bulk-ingest" })
        #expect(ingest["subject"] as? String == "4200 events, 10000 per transaction" && ingest["unit"] as? String == "rows")
        for throughput in commits + [ingest] {
            let timings = throughput["timings"] as? [[String: Any]] ?? []
            #expect(timings.count == 3 && timings.allSatisfy { ($0["per_second"] as? Double ?? 0) > 0 }, "\(throughput["name"] ?? "?")")
        }
        let open = try #require(workloads.first { $0["group"] as? String == "open-with-wal" })
        #expect((open["notes"] as? [[String: Any]])?.count == 3, "each contender says how many frames the WAL held")
        for pattern in Self.guildPatterns {
            let subjects = Set(workloads.filter { $0["group"] as? String == pattern }.compactMap { $0["subject"] as? String })
            #expect(subjects == ["busiest", "median", "empty"], "\(pattern) runs on three guilds")
        }
        for workload in workloads {
            let name = workload["name"] as? String ?? "?"
            #expect(workload["answers_agree"] as? Bool == true, "\(name)")
            let timings = try #require(workload["timings"] as? [[String: Any]], "\(name)")
            #expect(timings.compactMap { $0["contender"] as? String } == Self.contenders, "\(name)")
            for timing in timings {
                let statistics = try #require(timing["statistics"] as? [String: Any], "\(name)")
                #expect((statistics["median"] as? Double ?? -1) >= 0, "\(name)")
            }
            let ratios = try #require(workload["ratios"] as? [[String: Any]], "\(name)")
            #expect(ratios.compactMap { $0["against"] as? String } == ["sqlite_seed", "sqlite_covering"], "\(name)")
        }
        let footprint = try #require(report["footprint"] as? [[String: Any]])
        #expect(footprint.allSatisfy { ($0["bytes_per_event"] as? Double ?? 0) > 0 })

        let markdownText = try String(contentsOfFile: markdown, encoding: .utf8)
        #expect(markdownText.contains("| workload | rows |") && markdownText.contains("leaderboard · busiest · 30 days"))
        let svgText = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(svgText.hasPrefix("<svg") && svgText.contains(">1x<") && svgText.hasSuffix("</svg>\n"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("bench.gsdb.bench-scratch")), "scratch copies removed")

        // A second run reuses the seeded database and both SQLite files.
        let sqlite = directory.file("bench.sqlite")
        let before = try FileManager.default.attributesOfItem(atPath: sqlite)[.modificationDate] as? Date
        let again = try cli.run(["bench", "--runs", "1", "--skip-writes"], database: "bench.gsdb")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("ratio") && again.stdout.contains("Geometric mean"), "\(again.stdout)")
        #expect(!again.stdout.contains("retention ·") && !again.stdout.contains("durable-commits ·"), "--skip-writes skips the write workloads")
        let after = try FileManager.default.attributesOfItem(atPath: sqlite)[.modificationDate] as? Date
        #expect(before != nil && before == after, "the SQLite file is reused, not exported again")

        // --skip-slow-writes keeps one writer's commits and retention, and leaves out the rest.
        let quick = try cli.run(["bench", "--runs", "1", "--skip-slow-writes"], database: "bench.gsdb")
        #expect(quick.status == 0, "\(quick.stderr)")
        #expect(quick.stdout.contains("durable-commits · 1 writer") && quick.stdout.contains("retention ·"), "\(quick.stdout)")
        #expect(!quick.stdout.contains("bulk-ingest ·") && !quick.stdout.contains("8 writers") && !quick.stdout.contains("open-with-wal ·"))
    }

    @Test("bench rejects --runs 0 with a message")
    func rejectsBadRuns() throws {
        let directory = try TemporaryDirectory("cli-bench-errors")
        defer { directory.remove() }
        let result = try CommandLineRunner(directory: directory).run(["bench", "--runs", "0"], database: "b.gsdb")
        #expect(result.status != 0 && result.stderr.contains("--runs"), "\(result.stderr)")
    }
}
