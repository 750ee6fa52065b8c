import ArgumentParser
import Foundation
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore backup`: writes backups (`create`, the default), lists (`list`) and checks
/// (`verify`) them.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Write, list and verify backups.",
        discussion: """
            guildstore backup --db D --to FILE [--since PARENT] writes one backup; \
            guildstore backup --db D --dir DIR [--incremental] [--keep N] writes a time-named one into DIR and rotates. \
            guildstore backup list --dir DIR and guildstore backup verify PATH... read backups only. \
            guildstore restore brings a database back from them.
            """,
        subcommands: [BackupCreateCommand.self, BackupListCommand.self, BackupVerifyCommand.self],
        defaultSubcommand: BackupCreateCommand.self)
}

/// `guildstore backup [create] --db D (--to FILE [--since PARENT] | --dir DIR [--incremental]
/// [--keep N])`: a full or incremental backup of the database, taken from one snapshot of a
/// read-only opening (a bot may have the database open); then, with `--keep`, the rotation of DIR.
struct BackupCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Write a full or incremental backup of the database (the default).",
        discussion: """
            Needs a database at --db (otherwise exits 1 with "no database at PATH", creating nothing) and writes nothing \
            to it: it opens the database read-only, so it works while a bot has it open. The backup holds the last commit; it is written to FILE.partial, synced and renamed into place, so a \
            file with the backup's name is always complete. --to never replaces an existing file. \
            --dir names the file after the database and the UTC time (bot-20261205T093000Z-full.gsbackup), never \
            reusing a name; --incremental builds on the newest backup in DIR whose chain is complete (a full backup when \
            there is none). --keep N then removes the backups older than the N newest restorable ones, except those a \
            kept backup's chain needs, and the unfinished .partial files older than the newest backup.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The backup file to write (not replaced when it exists).") var to: String?
    @Option(help: "With --to: write an incremental backup on this backup (full or incremental) of the database.")
    var since: String?
    @Option(help: "Write a time-named backup into this directory (created when missing).") var dir: String?
    @Flag(help: "With --dir: an incremental on the newest restorable backup in the directory (full when there is none).")
    var incremental = false
    @Option(help: "With --dir: then keep the N newest restorable backups and the backups their chains need.")
    var keep: Int?

    func validate() throws {
        guard (to == nil) != (dir == nil) else { throw ValidationError("give either --to FILE or --dir DIR") }
        if since != nil && to == nil { throw ValidationError("--since goes with --to (with --dir, use --incremental)") }
        if dir == nil && (incremental || keep != nil) { throw ValidationError("--incremental and --keep go with --dir") }
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1") }
    }

    func run() async throws {
        // The database is opened first: a missing one creates no directory and no file.
        let info = try await withDatabase(database, readOnly: true) { db in
            let (path, parent) = try target()
            let bar = ProgressBar(parent == nil ? "full backup" : "incremental backup")
            defer { bar.finish() }
            let progress: @Sendable (BackupProgress) -> Void = { bar.update($0.pagesDone, of: $0.pagesTotal) }
            if let parent { return try await db.backup(to: path, since: parent, progress: progress) }
            return try await db.backup(to: path, progress: progress)
        }
        for line in BackupFormatting.written(info) { print(line) }
        if let dir, let keep {
            for removed in try Database.pruneBackups(in: dir, keep: keep) { print("removed \(removed)") }
        }
    }

    /// The file to write and the parent backup, if an incremental.
    private func target() throws -> (path: String, parent: String?) {
        if let to {
            guard !FileManager.default.fileExists(atPath: to) else {
                report("\(to) exists: a backup never replaces a file (choose another name, or --dir)")
                throw ExitCode.failure
            }
            return (to, since)
        }
        guard let dir else { throw ValidationError("give either --to FILE or --dir DIR") }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let parent = incremental ? BackupListing.read([dir]).newestRestorable?.path : nil
        let path = BackupNaming.path(in: dir, database: database.db, kind: parent == nil ? .full : .incremental, at: Date())
        return (path, parent)
    }
}
