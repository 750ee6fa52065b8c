import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore stats [--json]`: file, WAL and reader figures, and the rows of every table.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show sizes, the WAL, readers and row counts.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let (statistics, counts) = try await withStore(database) { store in
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
        ]
        if json {
            print(JSONValue.object(figures + [("tables", .object(counts.map { ($0.0, .int($0.1)) }))]).text)
        } else {
            for (name, value) in figures { print("\(name): \(value.cell)") }
            for (table, count) in counts { print("rows in \(table): \(count)") }
        }
    }
}

/// `guildstore check`: verifies every page (checksums), tree, overflow chain and the free
/// list, then every table's indexes against its rows; exits 1 on a problem.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Check the database's integrity.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (integrity, tableProblems) = try await withStore(database) { store in
            let report = try await store.database.check()
            // Rows and indexes are compared only on sound pages.
            return (report, report.isOK ? try await store.database.read { try $0.checkTables() } : [])
        }
        print("pages: \(integrity.pageCount), free: \(integrity.freePages), trees: \(integrity.trees.count), "
              + "fragmentation: \(String(format: "%.1f", integrity.fragmentation * 100))%")
        let problems = integrity.problems + tableProblems
        guard problems.isEmpty else {
            for problem in problems { report("problem: \(problem)") }
            throw ExitCode.failure
        }
        print("ok")
    }
}

/// `guildstore checkpoint [--mode passive|full|truncate]`.
struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint", abstract: "Copy the WAL into the database file.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "passive, full or truncate.") var mode: CheckpointModeOption = .passive

    func run() async throws {
        let mode = self.mode.mode
        let result = try await withStore(database) { store in try await store.database.checkpoint(mode) }
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
    static let configuration = CommandConfiguration(commandName: "vacuum", abstract: "Compact the database file.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let result = try await withStore(database) { store in try await store.database.vacuum() }
        print("pages: \(result.pagesBefore) -> \(result.pagesAfter), bytes: \(result.fileBytesBefore) -> \(result.fileBytesAfter)")
    }
}
