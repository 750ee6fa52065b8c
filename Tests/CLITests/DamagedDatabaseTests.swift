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
}
