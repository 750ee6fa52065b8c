import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

/// A database a bot holds open (here a `guildstore ingest` process waiting for input): the
/// commands that only read open it read-only beside it (RO-1) and answer from the commits
/// acknowledged before they started; the commands that write are refused, naming the process
/// that holds it (issue 15).
@Suite("guildstore: a database open in another process")
struct LiveDatabaseTests {
    /// A `guildstore ingest` process on `database`, fed and acknowledged line by line.
    private final class Ingest {
        let process = Process()
        private let input = Pipe(), output = Pipe()

        init(database: String, directory: TemporaryDirectory) throws {
            process.executableURL = CommandLineRunner.executable
            process.arguments = ["ingest", "--db", database]
            process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Sends a user record and waits for its acknowledgement, which comes after its commit.
        func addUser(_ id: UInt64) throws -> String {
            try input.fileHandleForWriting.write(contentsOf: Data("{\"event\":\"user\",\"id\":\"\(id)\",\"username\":\"u\(id)\"}\n".utf8))
            var line = Data()
            var byte: UInt8 = 0
            while read(output.fileHandleForReading.fileDescriptor, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
            return String(decoding: line, as: UTF8.self)
        }

        /// Ends its input and waits for it to exit.
        func finish() -> Int32 {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// `guildstore stats --json`'s row count of `table`.
    private static func rows(_ cli: CommandLineRunner, _ database: String, _ table: String) throws -> Int? {
        let stats = try cli.run(["stats", "--json", "--db", database])
        #expect(stats.status == 0, "\(stats.stderr)")
        let object = try #require(try parseJSON(stats.stdout) as? [String: Any])
        return (object["tables"] as? [String: Any])?[table] as? Int
    }

    @Test("stats, check, backup and export-sqlite read a database an ingest process holds, as of their start; checkpoint is refused naming the ingest")
    func readersBesideAWriter() throws {
        signal(SIGPIPE, SIG_IGN)
        let directory = try TemporaryDirectory("gs-cli-live")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let database = directory.file("bot.gsdb")
        let ingest = try Ingest(database: database, directory: directory)
        defer { _ = ingest.finish() }
        for id in UInt64(1)...3 { #expect(try ingest.addUser(80351110224678900 + id) == "ok \(80351110224678900 + id)") }

        #expect(try Self.rows(cli, database, "users") == 3)
        let check = try cli.run(["check", "--db", database])
        #expect(check.status == 0 && check.lines.last == "ok", "\(check.stdout)\(check.stderr)")
        let backup = try cli.run(["backup", "--db", database, "--to", directory.file("live.gsbackup")])
        #expect(backup.status == 0, "\(backup.stderr)")
        let export = try cli.run(["export-sqlite", "--db", database, "--to", directory.file("live.sqlite")])
        #expect(export.status == 0, "\(export.stderr)")
        let sqlite = try SQLiteConnection(path: directory.file("live.sqlite"), mode: .readOnly)
        #expect(try sqlite.query("SELECT COUNT(*) FROM users") == [[.integer(3)]])

        // Later commits are seen by the next command, not by what already opened.
        for id in UInt64(4)...5 { #expect(try ingest.addUser(80351110224678900 + id) == "ok \(80351110224678900 + id)") }
        #expect(try Self.rows(cli, database, "users") == 5)

        let refused = try cli.run(["checkpoint", "--db", database])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("database is locked: \(database) is open in pid \(ingest.process.processIdentifier) (guildstore)"),
                "\(refused.stderr)")

        #expect(ingest.finish() == 0)
        #expect(try Self.rows(cli, database, "users") == 5)
        // The backup taken beside the ingest restores to what it saw.
        let restore = try cli.run(["restore", "--from", directory.file("live.gsbackup"), "--db", directory.file("restored.gsdb")])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try Self.rows(cli, directory.file("restored.gsdb"), "users") == 3)
    }

    @Test("--busy-timeout: a command that writes waits for the ingest holding the database to exit, then runs")
    func writerWaitsForTheHolder() throws {
        signal(SIGPIPE, SIG_IGN)
        let directory = try TemporaryDirectory("gs-cli-busy")
        defer { directory.remove() }
        let database = directory.file("bot.gsdb")
        let ingest = try Ingest(database: database, directory: directory)
        defer { _ = ingest.finish() }
        #expect(try ingest.addUser(80351110224678901) == "ok 80351110224678901")
        let refused = try CommandLineRunner(directory: directory).run(["checkpoint", "--db", database, "--busy-timeout", "0"])
        #expect(refused.status == 1 && refused.stderr.contains("is open in pid \(ingest.process.processIdentifier)"), "\(refused.stderr)")

        let waiting = Process()
        waiting.executableURL = CommandLineRunner.executable
        waiting.arguments = ["checkpoint", "--db", database, "--mode", "truncate", "--busy-timeout", "300"]
        waiting.standardOutput = FileHandle.nullDevice
        waiting.standardError = FileHandle.nullDevice
        try waiting.run()
        // Time for it to reach the lock, usually; the default 200 ms would have ended it by then.
        usleep(500_000)
        #expect(ingest.finish() == 0)
        waiting.waitUntilExit()
        #expect(waiting.terminationStatus == 0, "the checkpoint ran once the ingest let go")
        let invalid = try CommandLineRunner(directory: directory).run(["stats", "--db", database, "--busy-timeout", "-1"])
        #expect(invalid.status != 0 && invalid.stderr.contains("--busy-timeout"), "\(invalid.stderr)")
    }

    /// Issue 15: "kill -9 of a reader holding back a checkpoint: the others go on, the dead
    /// reader's slot is reclaimed, and the WAL restarts". The reader is `guildstore check`,
    /// killed once it is seen holding the readers' byte (probed through a descriptor of the
    /// test's own, which takes the byte exclusively for an instant when it is free); a child
    /// that finished before it was seen holding it is run again.
    @Test("guildstore check killed with SIGKILL while its snapshot holds back the owner's checkpoint: the byte is free again, the checkpoint copies and restarts the log, nothing is lost")
    func killedReader() throws {
        let directory = try TemporaryDirectory("gs-cli-killed-reader")
        defer { directory.remove() }
        let path = directory.file("owner.gsdb")
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0))
        defer { try? owner.close() }
        // Enough pages that a check takes a while, and commits in the log for the checkpoint.
        try owner.write { tx in
            let tree = try tx.createTree("t")
            for key in UInt64(0)..<120_000 { try tx.put(bigEndianKey(key), bigEndianKey(key &* 7), in: tree) }
        }
        _ = try owner.checkpoint(.truncate)
        try owner.write { tx in
            let tree = try tx.openTree("t")
            for key in UInt64(120_000)..<121_000 { try tx.put(bigEndianKey(key), bigEndianKey(key &* 7), in: tree) }
        }
        let probe = try PosixFileSystem().open(path, create: false)
        defer { try? probe.close() }
        /// Whether a read-only opening holds the byte now (the probe gives it back at once).
        func readerHolds() throws -> Bool {
            guard try probe.lockReaders(.exclusive) else { return true }
            _ = try probe.lockReaders(.none)
            return false
        }

        var killedWhileHolding = false
        for _ in 0..<20 where !killedWhileHolding {
            let child = Process()
            child.executableURL = CommandLineRunner.executable
            child.arguments = ["check", "--db", path]
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            while child.isRunning {
                if try readerHolds() {
                    kill(child.processIdentifier, SIGKILL)
                    killedWhileHolding = true
                    break
                }
                usleep(200)
            }
            child.waitUntilExit()
            if killedWhileHolding { #expect(child.terminationReason == .uncaughtSignal) }
        }
        #expect(killedWhileHolding, "no check was seen holding the byte in 20 runs")
        #expect(try !readerHolds(), "the kernel released the dead reader's lock")
        let result = try owner.checkpoint(.truncate)
        #expect(!result.blockedByReaders && owner.statistics().walFrames == 0, "the checkpoint copied and restarted the log: \(result)")
        #expect(try owner.read { tx in try tx.entries(try #require(try tx.tree("t"))).count } == 121_000)
        #expect(try owner.check().isOK)
    }
}
