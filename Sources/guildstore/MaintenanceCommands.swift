import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore stats [--json]`: file, WAL and reader figures, and the rows of every table.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Show sizes, the WAL, readers and row counts.", discussion: readOnlyDiscussion)

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let (statistics, counts) = try await withStore(database, .read) { store in
            let counts = try await store.database.read { tx in
                try GuildTables.all.map { ($0.name, try tx.count($0.name)) }
            }
            return (store.database.statistics(), counts)
        }
        let figures: [(String, JSONValue)] = [
            ("page_size", .int(Int64(statistics.pageSize))), ("pages", .int(Int64(statistics.pageCount))),
            ("free_pages", .int(Int64(statistics.freePages))), ("file_bytes", .int(statistics.fileBytes)),
            ("wal_frames", .int(Int64(statistics.walFrames))), ("wal_bytes", .int(statistics.walBytes)),
            ("hardware_checksums", .bool(statistics.hardwareChecksums)),
            ("wal_frames_discarded", .int(Int64(statistics.walFramesDiscarded))),
            ("wal_commits_lost", .int(Int64(statistics.walCommitsLost))),
            ("commit_number", .int(Int64(clamping: statistics.commitNumber))),
        ] + (statistics.archiverThrough.map { through in
            // AR-3: a `guildstore archive` beside the database, and how far behind it is.
            [("archived_through", .int(Int64(clamping: through))),
             ("archive_lag_commits", .int(Int64(clamping: statistics.commitNumber &- min(through, statistics.commitNumber))))]
        } ?? [])
        if json {
            print(JSONValue.object(figures + [("tables", .object(counts.map { ($0.0, .int($0.1)) }))]).text)
        } else {
            for (name, value) in figures { print("\(name): \(value.cell)") }
            for (table, count) in counts { print("rows in \(table): \(count)") }
        }
    }
}

/// `guildstore check`: verifies every page (checksums), tree, overflow chain and the free
/// list, then every table's indexes against its rows; exits 1 on a problem, commits the WAL's
/// recovery lost behind damage included (WALR-2). Reads any GuildStore database as it is
/// (migrations are neither needed nor applied).
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check the database's integrity.",
        discussion: """
            Reads only: needs a database at --db (otherwise exits 1 with "no database at PATH") and writes nothing to it; \
            any GuildStore database is checked as it is, pending migrations and all, read-only, so while a bot has it \
            open too, as of the moment it opened. \
            Exits 1 too when recovering the write-ahead log lost commits behind damage (guildstore recover).
            """)

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (integrity, tableProblems, walProblem) = try await withDatabase(database, readOnly: true) { database in
            let report = try await database.check()
            // Rows and indexes are compared only on sound pages.
            let tables = report.isOK ? try await database.read { try $0.checkTables() } : []
            let engine = database.engine
            return (report, tables, engine.walRecovery.lostCommittedData ? engine.walRecoveryWarning : nil)
        }
        print("pages: \(integrity.pageCount), free: \(integrity.freePages), trees: \(integrity.trees.count), "
              + "fragmentation: \(String(format: "%.1f", integrity.fragmentation * 100))%")
        let problems = integrity.problems + tableProblems + (walProblem.map { [$0] } ?? [])
        guard problems.isEmpty else {
            for problem in problems { report("problem: \(problem)") }
            throw ExitCode.failure
        }
        print("ok")
    }
}

/// `guildstore checkpoint [--mode passive|full|truncate]`.
struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Copy the WAL into the database file.", discussion: existingDiscussion)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "passive, full or truncate.") var mode: CheckpointModeOption = .passive

    func run() async throws {
        let mode = self.mode.mode
        let result = try await withDatabase(database) { try await $0.checkpoint(mode) }
        print("frames in WAL: \(result.framesInWAL), checkpointed: \(result.framesCheckpointed), "
              + "log restarted: \(result.walRestarted), blocked by readers: \(result.blockedByReaders)")
    }
}

enum CheckpointModeOption: String, CaseIterable, ExpressibleByArgument {
    case passive, full, truncate

    var mode: CheckpointMode {
        switch self {
        case .passive: .passive
        case .full: .full
        case .truncate: .truncate
        }
    }
}

/// `guildstore vacuum`: rewrites the file without free pages.
struct VacuumCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vacuum", abstract: "Compact the database file.", discussion: existingDiscussion)

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let result = try await withDatabase(database) { try await $0.vacuum() }
        print("pages: \(result.pagesBefore) -> \(result.pagesAfter), bytes: \(result.fileBytesBefore) -> \(result.fileBytesAfter)")
    }
}

/// `guildstore recover`: saves aside a write-ahead log whose recovery lost commits behind
/// damage (WALR-2), after copying what it recovered into the database file, so the database
/// opens for writing again; says what was lost. A log that lost nothing is left alone.
struct RecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover", abstract: "Save a damaged write-ahead log aside so the database takes writes again.",
        discussion: """
            Needs a database at --db (otherwise exits 1 with "no database at PATH", creating nothing). \
            When recovering its write-ahead log (PATH-wal) stopped at damage with commits after it, copies the commits \
            before the damage into the database file, renames the log to PATH-wal.damaged-<UTC time> (kept for \
            inspection: nothing is deleted) and says how many commits and frames were lost. Otherwise changes nothing.
            """)

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let result = try StorageEngine.setAsideDamagedLog(path: database.db)
        let report = result.report
        guard let savedAs = result.savedAs else {
            print("nothing to recover: the write-ahead log lost no commits"
                  + (report.discardedFrames > 0 ? " (\(report.discardedFrames) frames of an uncommitted or torn tail were left out)" : ""))
            return
        }
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        let place = report.firstBadFrame.map { "frame \($0)" } ?? "the log header"
        print("damage at \(place): lost \(count(report.lostCommits, "commit")) (\(count(report.lostFrames, "frame"))) written after it")
        print("kept \(count(report.recoveredFrames, "frame")) of commits before it, now in the database file")
        print("damaged log saved as \(savedAs)")
    }
}

/// `guildstore migrate`: applies the guild schema's migrations an existing database lacks:
/// what the writing commands do when they open it, and what the reading ones refuse to do.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the schema migrations the database lacks.", discussion: existingDiscussion)

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let applied = try await withDatabase(database) { try await $0.migrate(GuildTables.migrations) }
        print(applied.isEmpty ? "up to date: every migration is applied" : applied.map { "applied \($0)" }.joined(separator: "\n"))
    }
}
