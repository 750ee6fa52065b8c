import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore restore --from PATH|DIR [--from ...] --db D [--at TIME | --sequence N] [--force]`:
/// writes the database at D from backups (`Database.restore`): the chain that reaches the point
/// asked for is read and checked whole, written beside D, checked page by page and renamed into
/// place; D is not touched unless all of that succeeds (BK-4).
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a database from backups.",
        discussion: """
            Creates the database at --db (and its folder). Refuses an existing database unless --force, and replaces one \
            only while no process has it open. Without --at or --sequence, restores the newest commit the backups hold. \
            A broken chain or a point the backups do not hold exits 1 naming what is missing or what they hold; the \
            database at --db is then left as it was.
            """)

    @Option(name: .customLong("from"), help: "A backup file or a directory of them (repeatable).") var sources: [String] = []
    @Option(help: "The database file to write.") var db: String
    @Option(help: "Restore the last commit made at or before this time (ISO 8601, e.g. 2026-12-05T09:30:00Z).")
    var at: String?
    @Option(help: "Restore exactly this commit number.") var sequence: UInt64?
    @Flag(help: "Replace an existing database at --db.") var force = false

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("name the backups with --from PATH (a file or a directory)") }
        if at != nil && sequence != nil { throw ValidationError("give --at or --sequence, not both") }
        if let at, Self.parseTime(at) == nil {
            throw ValidationError("--at \(at) is not an ISO 8601 time (e.g. 2026-12-05T09:30:00Z or 2026-12-05T10:30:00+01:00)")
        }
    }

    func run() async throws {
        let point: RestorePoint =
            if let sequence { .commit(sequence) } else if let at, let date = Self.parseTime(at) { .time(date) } else { .latest }
        let folder = (db as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let bar = ProgressBar("restore")
        let result: RestoreResult
        do {
            defer { bar.finish() }
            result = try Database.restore(from: sources, to: db, at: point, force: force) { bar.update($0.pagesDone, of: $0.pagesTotal) }
        }
        print("restored commit \(result.commitNumber) (\(BackupFormatting.time(result.commitTime))) into \(result.path)")
        for path in result.backupsApplied { print("applied \(path)") }
        print("pages written: \(result.pagesWritten)")
    }

    /// An ISO 8601 time with a zone (Z or an offset), with or without fractional seconds.
    static func parseTime(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
