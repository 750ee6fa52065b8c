import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) import GuildStoreEngine

/// `guildstore archive` as a process of its own beside the owner of the database (AR-3).
@Suite("guildstore archive: continuous archiving beside a live database")
struct ArchiveCommandTests {
    private static func archiver(_ database: String, _ archive: String, output: URL) throws -> Process {
        let child = Process()
        child.executableURL = CommandLineRunner.executable
        child.arguments = ["archive", "--db", database, "--to", archive]
        child.standardOutput = try FileHandle(forWritingTo: output)
        child.standardError = try FileHandle(forWritingTo: output.appendingPathExtension("err"))
        try child.run()
        return child
    }

    /// Waits, with a deadline far beyond any machine's load that only ends a hung test, until
    /// `condition` holds.
    private static func eventually(_ what: String, _ condition: () throws -> Bool) throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while try !condition() {
            guard ContinuousClock.now < deadline else { throw GuildStoreError.busy("gave up waiting: \(what)") }
            usleep(5_000)
        }
    }

    private static func bases(_ archive: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).filter { $0.hasPrefix("base-") && $0.hasSuffix(".gsbackup") }.count
    }

    @Test("every restart of the owner's log waits for the archive process's segment; SIGTERM ends it cleanly, SIGKILL holds nothing back, and the archive restores the owner's last commit")
    func archiveBesideOwner() throws {
        let directory = try TemporaryDirectory("gs-cli-archive")
        defer { directory.remove() }
        let (path, archive) = (directory.file("bot.gsdb"), directory.file("archive"))
        // A guild database (so that `stats` reads it), made by an ingest of nothing.
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["ingest", "--db", path]).status == 0)
        let owner = try StorageEngine.open(path: path, configuration: EngineConfiguration(checkpointThreshold: 0, archiverPatience: .seconds(300)))
        var ownerOpen = true
        defer { if ownerOpen { try? owner.close() } }
        try owner.write { tx in _ = try tx.createTree("t") }

        let output = URL(fileURLWithPath: directory.file("archive.out"))
        try Data().write(to: output)
        try Data().write(to: output.appendingPathExtension("err"))
        let child = try Self.archiver(path, archive, output: output)
        try Self.eventually("the archiver's base") { Self.bases(archive) == 1 }
        var next: UInt64 = 0
        for _ in 0..<5 {
            for _ in 0..<4 {
                try owner.write { tx in
                    let tree = try tx.openTree("t")
                    for _ in 0..<50 {
                        try tx.put(bigEndianKey(next), bigEndianKey(next &* 31), in: tree)
                        next += 1
                    }
                }
            }
            let result = try owner.checkpoint(.truncate)
            #expect(result.walRestarted && owner.statistics().walFrames == 0, "the log restarted once the archiver had it: \(result)")
        }
        #expect(owner.statistics().archiveError == nil)
        let last = owner.statistics().commitNumber
        // The archiver's position, as the owner and as `guildstore stats` beside both see it.
        #expect(owner.statistics().archiverThrough == last)
        let stats = try cli.run(["stats", "--json", "--db", path])
        #expect(stats.status == 0, "\(stats.stderr)")
        let figures = try #require(try parseJSON(stats.stdout) as? [String: Any])
        #expect(figures["archived_through"] as? Int == Int(last))
        #expect(figures["archive_lag_commits"] as? Int == 0)
        kill(child.processIdentifier, SIGTERM)
        child.waitUntilExit()
        let errors = try String(contentsOf: output.appendingPathExtension("err"), encoding: .utf8)
        #expect(child.terminationReason == .exit && child.terminationStatus == 0, "\(errors)")
        let printed = try String(contentsOf: output, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("archived commits ") }
        #expect(printed.count == 5, "one segment per restart: \(printed)")
        #expect(printed.last?.hasSuffix("...\(last)") == true)

        // A killed archiver: the kernel drops its mark, so the owner restarts without waiting
        // (the commits of that generation are then a gap a new base closes, AR-2).
        let probe = try PosixFileSystem().open(path, create: false)
        defer { try? probe.close() }
        let killed = try Self.archiver(path, archive, output: output)
        try owner.write { tx in try tx.put(bigEndianKey(next), bigEndianKey(1), in: try tx.openTree("t")) }
        try Self.eventually("the second archiver's mark") { try probe.archiveMarkBelow(.max) }
        try Self.eventually("the second archiver's mark at the archive's last commit") { try probe.lowestArchiveMark() == last }
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(killed.terminationReason == .uncaughtSignal)
        #expect(try !probe.archiveMarkBelow(.max), "the kernel dropped the dead archiver's mark")
        let freed = try owner.checkpoint(.truncate)
        #expect(freed.walRestarted, "no dead archiver holds the restart back: \(freed)")
        #expect(owner.statistics().archiverThrough == nil)
        try owner.close()
        ownerOpen = false

        let restore = try cli.run(["restore", "--from", archive, "--db", directory.file("restored.gsdb"), "--sequence", "\(last)"])
        #expect(restore.status == 0, "\(restore.stderr)")
        let restored = try StorageEngine.open(path: directory.file("restored.gsdb"), configuration: EngineConfiguration(createIfMissing: false))
        defer { try? restored.close() }
        let entries = try restored.read { tx in try tx.entries(try #require(try tx.tree("t"))) }
        #expect(entries.count == Int(next))
        #expect(entries.allSatisfy { $0.value == bigEndianKey(decode($0.key) &* 31) })
    }

    private func decode(_ key: [UInt8]) -> UInt64 { key.reduce(0) { $0 << 8 | UInt64($1) } }
}
