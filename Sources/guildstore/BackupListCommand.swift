import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore backup list --dir DIR [--headers-only] [--json]`: one line per backup file
/// (kind, commit number and time, id, parent, size, pages, whether a restore reaches it), then
/// the commits a restore can reach. A damaged file is listed as damaged, with why, and the
/// listing goes on; the exit status is then 1.
struct BackupListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the backups in a directory and what they restore.",
        discussion: """
            Reads only. Every file is read whole and checked (as backup verify does), so damage anywhere in it is \
            found; --headers-only reads the headers alone (fast; pages stored unknown, damage past the header unseen). \
            A backup is restorable when its chain is complete: its full backup and every incremental up to it are \
            there. Exits 1 when a file is damaged or of another database, after listing everything.
            """)

    @Option(help: "The directory of backups.") var dir: String
    @Flag(name: .customLong("headers-only"), help: "Read each file's header only.") var headersOnly = false
    @Flag(help: "Print JSON: {\"backups\": [...], \"damaged\": [...], \"restorable\": [...]}.") var json = false

    func run() async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            report("no directory at \(dir)")
            throw ExitCode.failure
        }
        let catalog = BackupListing.read([dir], wholeFiles: !headersOnly)
        print(json ? Self.json(catalog).text : Self.text(catalog, directory: dir))
        if !catalog.problems.isEmpty { throw ExitCode.failure }
    }

    /// The table, then the summary lines.
    static func text(_ catalog: BackupListing, directory: String) -> String {
        var rows = [["KIND", "COMMIT", "COMMIT TIME", "ID", "PARENT", "SIZE", "PAGES", "RESTORABLE", "FILE"]]
        for entry in catalog.entries {
            let info = entry.info
            let pages = info.pagesStored.map { "\($0)/\(info.pageCount)" } ?? "\(info.pageCount)"
            rows.append([info.kind.description, String(info.commitNumber), BackupFormatting.time(info.commitTime),
                         BackupFormatting.shortID(info.backupID), info.parentID.map(BackupFormatting.shortID) ?? "-",
                         BackupFormatting.size(info.fileBytes), pages,
                         entry.isRestorable ? "yes" : "no (chain broken)", name(info.path)])
        }
        for problem in catalog.problems {
            rows.append([isForeign(problem) ? "foreign" : "damaged", "-", "-", "-", "-", fileSize(problem.path).map(BackupFormatting.size) ?? "-", "-", "no",
                         name(problem.path)])
        }
        var lines = [textTable(rows)]
        if catalog.entries.isEmpty && catalog.problems.isEmpty { lines = ["no backups"] }
        for entry in catalog.entries where !entry.isRestorable {
            lines.append("chain broken: \(name(entry.info.path)) needs \(entry.missing ?? "a missing backup"), missing or damaged")
        }
        for problem in catalog.problems {
            lines.append("\(Self.isForeign(problem) ? "foreign" : "damaged"): \(problem.error)")
        }
        let runs = catalog.restorableRuns
        // An archive (continuous archiving): WAL segments carry restores on between backups.
        let segments = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".gswal") }
        if !segments.isEmpty {
            let ranges = (try? Database.restorableRanges(from: [directory])) ?? []
            lines.append("archive: \(segments.count) WAL segment\(segments.count == 1 ? "" : "s"); point-in-time restorable: "
                + (ranges.isEmpty ? "nothing" : ranges.map { $0.count == 1 ? "commit \($0.lowerBound)" : "commits \($0.lowerBound)...\($0.upperBound)" }.joined(separator: ", ")))
        }
        if runs.isEmpty {
            lines.append("restorable: nothing")
        }
        for run in runs {
            guard let first = run.first, let last = run.last else { continue }
            let count = "\(run.count) backup\(run.count == 1 ? "" : "s")"
            lines.append(first.commitNumber == last.commitNumber
                ? "restorable: commit \(first.commitNumber) (\(BackupFormatting.time(first.commitTime))), \(count)"
                : "restorable: commits \(first.commitNumber) (\(BackupFormatting.time(first.commitTime))) to "
                    + "\(last.commitNumber) (\(BackupFormatting.time(last.commitTime))), \(count)")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ catalog: BackupListing) -> JSONValue {
        func time(_ date: Date?) -> JSONValue { .optional(date.map { $0.formatted(.iso8601) }) }
        let backups = catalog.entries.map { entry -> JSONValue in
            let info = entry.info
            return .object([
                ("file", .string(info.path)), ("kind", .string(info.kind.description)),
                ("commit", .int(Int64(info.commitNumber))), ("commit_time", time(info.commitTime)),
                ("id", .string(info.backupID.uuidString.lowercased())),
                ("parent_id", .optional(info.parentID.map { $0.uuidString.lowercased() })),
                ("parent_commit", .optional(info.parentCommitNumber.map { Int64($0) })),
                ("bytes", .int(info.fileBytes)), ("page_count", .int(Int64(info.pageCount))),
                ("pages_stored", .optional(info.pagesStored.map { Int64($0) })),
                ("restorable", .bool(entry.isRestorable)), ("missing", .optional(entry.missing)),
            ])
        }
        let damaged = catalog.problems.map { JSONValue.object([("file", .string($0.path)), ("error", .string("\($0.error)"))]) }
        let runs = catalog.restorableRuns.compactMap { run -> JSONValue? in
            guard let first = run.first, let last = run.last else { return nil }
            return .object([("from_commit", .int(Int64(first.commitNumber))), ("from_time", time(first.commitTime)),
                            ("through_commit", .int(Int64(last.commitNumber))), ("through_time", time(last.commitTime)),
                            ("backups", .int(Int64(run.count)))])
        }
        return .object([("backups", .array(backups)), ("damaged", .array(damaged)), ("restorable", .array(runs))])
    }

    /// A sound backup of another database than the directory's latest.
    private static func isForeign(_ problem: BackupListing.Problem) -> Bool {
        if case .backupMismatch = problem.error { true } else { false }
    }

    private static func name(_ path: String) -> String { (path as NSString).lastPathComponent }

    private static func fileSize(_ path: String) -> Int64? {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value
    }
}
