import Foundation
import Testing
import TestSupport
import GuildStore

/// Issue 13 at the command line: a damaged database or log is reported with a non-zero exit,
/// and no command replaces what is there.
@Suite("guildstore: damaged databases and logs")
struct DamagedDatabaseTests {
    @Test("an empty database file: every command exits 1 naming it, and the file stays empty")
    func emptyDatabaseFile() throws {
        let directory = try TemporaryDirectory("cli-empty")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let path = directory.file("empty.gsdb")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        for command in [["seed", "--profile", "small"], ["check"], ["stats"], ["query", "active-guilds"]] {
            let result = try cli.run(command, database: "empty.gsdb")
            #expect(result.status == 1, "\(command): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("database file \(path) is empty (0 bytes)"), "\(command): \(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("empty") } == ["empty.gsdb"])
    }

    /// A guild database whose WAL holds every commit (the migrations, then three guilds, one
    /// commit each), with the WAL header's salt damaged: recovery can apply none of them.
    /// Under `.full` each commit is synced and the later ones record it (WALR-7), so the
    /// damage is in synced data: lost commits, not a torn tail.
    static func damagedLog(_ path: String) async throws -> [UInt8] {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(path), synchronous: .full, checkpointThreshold: 0))
        for id in UInt64(1)...3 {
            try await store.database.write { tx in
                try tx.createGuild(Guild(id: id, name: "g\(id)", createdAt: 1_600_000_000), owner: User(id: 100 + id, username: "u\(id)"))
            }
        }
        try await store.close()
        var wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
        wal[20] ^= 0x5A
        try Data(wal).write(to: URL(fileURLWithPath: path + "-wal"))
        return wal
    }

    @Test("a WAL that lost commits: check exits 1, writing commands refuse and leave the log as it is")
    func damagedLogRefusesWrites() async throws {
        let directory = try TemporaryDirectory("cli-damaged-wal")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let path = directory.file("db.gsdb")
        let wal = try await Self.damagedLog(path)

        let check = try cli.run(["check"], database: "db.gsdb")
        #expect(check.status == 1, "\(check.stdout) \(check.stderr)")
        #expect(check.stderr.contains("guildstore recover --db \(path)"), "\(check.stderr)")
        let ingest = try cli.run(["ingest"], database: "db.gsdb", stdin: DatabaseAccessTests.oldEvents)
        #expect(ingest.status == 1, "\(ingest.stdout) \(ingest.stderr)")
        #expect(ingest.stderr.contains("guildstore recover --db \(path)"), "\(ingest.stderr)")
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) == wal, "the damaged log is left as it is")
    }

    @Test("guildstore recover saves a log that lost commits aside, says what was lost, and the database takes writes again")
    func recover() async throws {
        let directory = try TemporaryDirectory("cli-recover")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let path = directory.file("db.gsdb")
        let wal = try await Self.damagedLog(path)

        let recover = try cli.run(["recover"], database: "db.gsdb")
        #expect(recover.status == 0, "\(recover.stderr)")
        #expect(recover.lines.first?.hasPrefix("damage at the log header: lost ") == true, "\(recover.stdout)")
        let saved = try #require(recover.lines.last?.components(separatedBy: "damaged log saved as ").last)
        #expect(saved.hasPrefix(path + "-wal.damaged-"))
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: saved))) == wal, "the log is kept whole")

        let ingest = try cli.run(["ingest"], database: "db.gsdb", stdin: DatabaseAccessTests.oldEvents)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let check = try cli.run(["check"], database: "db.gsdb")
        #expect(check.status == 0 && check.lines.last == "ok", "\(check.stdout) \(check.stderr)")
        let again = try cli.run(["recover"], database: "db.gsdb")
        #expect(again.status == 0 && again.lines == ["nothing to recover: the write-ahead log lost no commits"], "\(again.stdout)")
        let missing = try cli.run(["recover"], database: "typo.gsdb")
        #expect(missing.status == 1 && missing.stderr.contains("no database at"), "\(missing.stderr)")
    }
}
