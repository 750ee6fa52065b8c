import ArgumentParser
import Dispatch
import Foundation
import GuildStoreEngine

/// `guildstore archive --db D --to DIR`: continuous archiving from a process of its own, beside
/// the bot that owns the database (AR-3, `Database.followArchive`), until SIGINT or SIGTERM.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "Archive every commit of a live database into a directory, as a process of its own.",
        discussion: """
            Opens the database read-only beside the process that writes it (a bot, an ingest) and keeps its archive: \
            a base (a full backup) when DIR does not reach the live log yet, then each time the owner is about to restart \
            its write-ahead log, the log's commits as one WAL segment, before the owner goes on (it waits for the archiver up to \
            its archiverPatience, a second by default). guildstore restore --from DIR [--at TIME|--sequence N] brings \
            back any archived commit. Runs until SIGINT or SIGTERM; killed, it holds nothing back, and the next run \
            writes a new base when commits were restarted over meanwhile. Prints a line per segment. \
            Use it instead of DatabaseConfiguration.archive in the bot, not beside it.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The archive directory (created when missing).") var to: String
    @Option(help: "Write a new base when the newest is older than this many hours (0: never by age).")
    var newBaseHours: Double = 24
    @Option(help: "Write a new base when the segments after the newest exceed this many MiB (0: never by size).")
    var newBaseMib: Int64 = 1024

    func validate() throws {
        guard newBaseHours >= 0, newBaseMib >= 0 else { throw ValidationError("--new-base-hours and --new-base-mib are 0 or more") }
    }

    func run() async throws {
        let policy = ArchiveConfiguration(
            directory: to,
            newBaseEvery: newBaseHours > 0 ? .milliseconds(Int64(newBaseHours * 3_600_000)) : nil,
            newBaseAfterBytes: newBaseMib > 0 ? newBaseMib << 20 : nil)
        try await withDatabase(database, readOnly: true) { db in
            let follower = Task {
                try await db.followArchive(policy) { first, last in
                    print("archived commits \(first)...\(last)")
                    fflush(nil)  // every output stream: a line as soon as it is written, to a pipe too
                }
            }
            // SIGINT and SIGTERM end the archiver between two polls; its mark goes with it.
            let signals = [SIGINT, SIGTERM].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { follower.cancel() }
                source.resume()
                return source
            }
            defer { for source in signals { source.cancel() } }
            print("archiving \(database.db) into \(to); stop with SIGINT or SIGTERM")
            fflush(nil)  // every output stream: a line as soon as it is written, to a pipe too
            try await follower.value
        }
    }
}
