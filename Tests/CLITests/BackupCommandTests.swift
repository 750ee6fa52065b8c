import Foundation
import Testing
import TestSupport
import GuildStore

/// Issue 12 at the command line: `guildstore backup` (create, list, verify) and
/// `guildstore restore` as an operator runs them, on seeded databases: answers equal after a
/// round trip, rotation that never removes a needed ancestor, damaged files named, an existing
/// database never replaced unforced, and a process killed mid-way leaving nothing that passes
/// for a complete backup or database. `lz4 -t` accepts every backup written.
@Suite("guildstore backup and restore")
struct BackupCommandTests {
    /// The path of the backup a `guildstore backup` run wrote ("wrote full backup PATH").
    static func writtenPath(_ result: CommandLineRunner.Result) throws -> String {
        let line = try #require(result.lines.first { $0.hasPrefix("wrote ") }, "\(result.stdout) \(result.stderr)")
        return try #require(line.components(separatedBy: " backup ").last)
    }

    /// The commit number a `guildstore backup` run reports ("commit: N at TIME").
    static func commitNumber(_ result: CommandLineRunner.Result) throws -> UInt64 {
        let line = try #require(result.lines.first { $0.hasPrefix("commit: ") }, "\(result.stdout)")
        return try #require(UInt64(line.dropFirst("commit: ".count).prefix { $0.isNumber }))
    }

    /// Row counts of every guild table (`guildstore stats --json`).
    static func rowCounts(_ cli: CommandLineRunner, _ database: String) throws -> [String: Int] {
        let stats = try cli.run(["stats", "--json"], database: database)
        #expect(stats.status == 0, "\(stats.stderr)")
        return try #require((try parseJSON(stats.stdout) as? [String: Any])?["tables"] as? [String: Int])
    }

    /// The `.gsbackup` files in `directory`, by name.
    static func backups(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".gsbackup") }.sorted()
    }

    /// One guild record for `ingest`: one more commit.
    static func guildLine(_ id: Int) -> String {
        #"{"event":"guild","id":"\#(900_000 + id)","name":"g\#(id)","created_at":1700000000}"# + "\n"
    }

    @Test("backup, incremental, restore: every pattern answers the same; --sequence restores the full backup's commit")
    func roundTrip() throws {
        let directory = try TemporaryDirectory("cli-backup-round-trip")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["seed", "--profile", "small"], database: "a.gsdb").status == 0)
        let (guild, user, event) = try CommandLineTests.subjects(cli, database: "a.gsdb")
        let answersBefore = try CommandLineTests.allPatterns(cli, database: "a.gsdb", guild: guild, user: user, event: event)
        let countsBefore = try Self.rowCounts(cli, "a.gsdb")

        let full = try cli.run(["backup", "--to", directory.file("full.gsbackup")], database: "a.gsdb")
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stderr.isEmpty, "no progress bar when standard error is not a terminal: \(full.stderr)")
        #expect(full.lines.first == "wrote full backup \(directory.file("full.gsbackup"))")
        #expect(full.lines.contains { $0.hasPrefix("pages: ") && $0.contains(" stored of ") }, "\(full.stdout)")
        #expect(full.lines.contains { $0.hasPrefix("bytes: ") && $0.contains("% of the database's ") }, "\(full.stdout)")
        let fullCommit = try Self.commitNumber(full)
        let stats = try cli.run(["stats"], database: "a.gsdb")
        #expect(stats.lines.contains("commit_number: \(fullCommit)"), "stats shows the commit a backup would hold: \(stats.stdout)")

        let retention = try cli.run(["retention", "--older-than", "1746144000"], database: "a.gsdb")
        #expect(retention.status == 0, "\(retention.stderr)")
        let answersAfter = try CommandLineTests.allPatterns(cli, database: "a.gsdb", guild: guild, user: user, event: event)
        let countsAfter = try Self.rowCounts(cli, "a.gsdb")
        #expect(countsAfter != countsBefore, "retention changed the data")
        let incremental = try cli.run(["backup", "--to", directory.file("inc.gsbackup"), "--since", directory.file("full.gsbackup")],
                                      database: "a.gsdb")
        #expect(incremental.status == 0, "\(incremental.stderr)")
        #expect(incremental.lines.first == "wrote incremental backup \(directory.file("inc.gsbackup"))")
        #expect(try Self.commitNumber(incremental) > fullCommit)
        let again = try cli.run(["backup", "--to", directory.file("inc.gsbackup")], database: "a.gsdb")
        #expect(again.status == 1 && again.stderr.contains("exists"), "--to never replaces a file: \(again.stderr)")

        let latest = try cli.run(["restore", "--from", directory.file("full.gsbackup"), "--from", directory.file("inc.gsbackup"),
                                  "--db", directory.file("latest/b.gsdb")])
        #expect(latest.status == 0, "\(latest.stderr)")
        #expect(latest.lines.first?.hasPrefix("restored commit \(try Self.commitNumber(incremental)) (") == true, "\(latest.stdout)")
        #expect(latest.lines.contains("applied \(directory.file("full.gsbackup"))") && latest.lines.contains("applied \(directory.file("inc.gsbackup"))"))
        #expect(try CommandLineTests.allPatterns(cli, database: "latest/b.gsdb", guild: guild, user: user, event: event) == answersAfter)
        #expect(try Self.rowCounts(cli, "latest/b.gsdb") == countsAfter)
        #expect(try cli.run(["check"], database: "latest/b.gsdb").lines.last == "ok")

        let older = try cli.run(["restore", "--from", directory.path, "--db", directory.file("c.gsdb"), "--sequence", String(fullCommit)])
        #expect(older.status == 0, "\(older.stderr)")
        #expect(older.lines.contains("applied \(directory.file("full.gsbackup"))") && !older.stdout.contains("inc.gsbackup"))
        #expect(try CommandLineTests.allPatterns(cli, database: "c.gsdb", guild: guild, user: user, event: event) == answersBefore)
        #expect(try Self.rowCounts(cli, "c.gsdb") == countsBefore)

        // A point the backups do not hold, a chain without its full backup: exit 1, said on stderr.
        let missingPoint = try cli.run(["restore", "--from", directory.path, "--db", directory.file("d.gsdb"), "--sequence", "999999"])
        #expect(missingPoint.status == 1 && missingPoint.stderr.contains("cannot restore to commit 999999"), "\(missingPoint.stderr)")
        let early = try cli.run(["restore", "--from", directory.path, "--db", directory.file("d.gsdb"), "--at", "2001-01-01T00:00:00Z"])
        #expect(early.status == 1 && early.stderr.contains("cannot restore to time 2001-01-01T00:00:00Z"), "\(early.stderr)")
        let broken = try cli.run(["restore", "--from", directory.file("inc.gsbackup"), "--db", directory.file("d.gsdb")])
        #expect(broken.status == 1 && broken.stderr.contains("the backup chain is broken"), "\(broken.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("d.gsdb")))
        for file in ["full.gsbackup", "inc.gsbackup"] { #expect(try lz4ToolAccepts(directory.file(file)), "\(file)") }
    }

    @Test("backup --dir --incremental --keep 2 over eight commits: exactly the newest backups and their chains stay, each restores")
    func rotation() throws {
        let directory = try TemporaryDirectory("cli-backup-rotation")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["seed", "--profile", "small"], database: "bot.gsdb").status == 0)
        let dir = directory.file("backups")
        // Round r writes backup r: a full one every third round, an incremental on the newest otherwise.
        let fullRounds: Set<Int> = [0, 3, 6]
        // What keep 2 leaves after each round: the two newest and their ancestors.
        let expected: [[Int]] = [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [3, 4], [3, 4, 5], [3, 4, 5, 6], [6, 7]]
        var written: [String] = []
        var commits: [UInt64] = []
        for round in 0..<8 {
            #expect(try cli.run(["ingest"], database: "bot.gsdb", stdin: Self.guildLine(round)).status == 0)
            if round == 4 {
                // A .partial left by a killed backup, older than the newest backup: removed.
                let stale = dir + "/stale.gsbackup.partial"
                try Data([0x04, 0x22]).write(to: URL(fileURLWithPath: stale))
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3_600)], ofItemAtPath: stale)
            }
            let result = try cli.run(["backup", "--dir", dir, "--keep", "2"] + (fullRounds.contains(round) ? [] : ["--incremental"]),
                                     database: "bot.gsdb")
            #expect(result.status == 0, "round \(round): \(result.stderr)")
            let path = try Self.writtenPath(result)
            #expect(path.hasPrefix(dir + "/bot-") && path.hasSuffix((fullRounds.contains(round) ? "-full" : "-incremental") + ".gsbackup"),
                    "round \(round): \(path)")
            #expect(!written.contains(path), "a name is never reused")
            written.append(path)
            commits.append(try Self.commitNumber(result))
            #expect(try Self.backups(in: dir) == expected[round].map { (written[$0] as NSString).lastPathComponent }.sorted(),
                    "round \(round)")
            if round == 4 { #expect(result.lines.contains("removed \(dir)/stale.gsbackup.partial"), "\(result.stdout)") }
            let verify = try cli.run(["backup", "verify", dir])
            #expect(verify.status == 0, "round \(round): every remaining chain is whole: \(verify.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/stale.gsbackup.partial"))
        #expect(Set(commits).count == commits.count, "one commit per round")

        let list = try cli.run(["backup", "list", "--dir", dir])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.lines.last?.hasPrefix("restorable: commits \(commits[6]) (") == true, "\(list.stdout)")
        let json = try #require(try parseJSON(try cli.run(["backup", "list", "--dir", dir, "--json"]).stdout) as? [String: Any])
        let rows = try #require(json["backups"] as? [[String: Any]])
        #expect(rows.map { $0["kind"] as? String } == ["full", "incremental"])
        #expect(rows.allSatisfy { $0["restorable"] as? Bool == true })

        // Every remaining backup restores, and the newest equals the database.
        for (index, round) in expected[7].enumerated() {
            let name = "r\(index).gsdb"
            let restored = try cli.run(["restore", "--from", dir, "--sequence", String(commits[round]), "--db", directory.file(name)])
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(try cli.run(["check"], database: name).lines.last == "ok")
        }
        #expect(try Self.rowCounts(cli, "r1.gsdb") == Self.rowCounts(cli, "bot.gsdb"))
        for path in written where FileManager.default.fileExists(atPath: path) { #expect(try lz4ToolAccepts(path), "\(path)") }
    }

    @Test("list and verify a directory with a truncated and a bit-flipped backup: listed as damaged, exit 1 naming them and the broken chain")
    func damagedBackups() throws {
        let directory = try TemporaryDirectory("cli-backup-damaged")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["seed", "--profile", "small"], database: "d.gsdb").status == 0)
        let dir = directory.file("backups")
        let full = try Self.writtenPath(try cli.run(["backup", "--dir", dir], database: "d.gsdb"))
        #expect(try cli.run(["ingest"], database: "d.gsdb", stdin: Self.guildLine(1)).status == 0)
        let incremental = try Self.writtenPath(try cli.run(["backup", "--dir", dir, "--incremental"], database: "d.gsdb"))
        let truncated = dir + "/truncated.gsbackup", flipped = dir + "/flipped.gsbackup", orphan = dir + "/on-flipped.gsbackup"
        #expect(try cli.run(["backup", "--to", truncated], database: "d.gsdb").status == 0)
        #expect(try cli.run(["ingest"], database: "d.gsdb", stdin: Self.guildLine(2)).status == 0)
        #expect(try cli.run(["backup", "--to", flipped], database: "d.gsdb").status == 0)
        #expect(try cli.run(["ingest"], database: "d.gsdb", stdin: Self.guildLine(3)).status == 0)
        #expect(try cli.run(["backup", "--to", orphan, "--since", flipped], database: "d.gsdb").status == 0)
        for path in [full, incremental, truncated, flipped, orphan] { #expect(try lz4ToolAccepts(path), "\(path)") }

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: truncated)))
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: truncated))
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: flipped)))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))

        let list = try cli.run(["backup", "list", "--dir", dir])
        #expect(list.status == 1, "\(list.stdout) \(list.stderr)")
        for name in ["truncated.gsbackup", "flipped.gsbackup"] {
            #expect(list.lines.contains { $0.hasPrefix("damaged ") && $0.hasSuffix(name) }, "\(name): \(list.stdout)")
            #expect(list.lines.contains { $0.hasPrefix("damaged: backup \(dir)/\(name) is damaged") }, "\(name): \(list.stdout)")
        }
        for path in [full, incremental] {
            let name = (path as NSString).lastPathComponent
            #expect(list.lines.contains { $0.hasSuffix("  " + name) && $0.contains("  yes  ") }, "\(name): \(list.stdout)")
        }
        #expect(list.lines.contains { $0.hasSuffix("no (chain broken)  on-flipped.gsbackup") }, "\(list.stdout)")
        let json = try #require(try parseJSON(try cli.run(["backup", "list", "--dir", dir, "--json"]).stdout) as? [String: Any])
        let damaged = try #require(json["damaged"] as? [[String: Any]]).compactMap { $0["file"] as? String }
        #expect(damaged == [flipped, truncated])
        let rows = try #require(json["backups"] as? [[String: Any]])
        #expect(rows.map { $0["file"] as? String } == [full, incremental, orphan])
        #expect(rows.map { $0["restorable"] as? Bool } == [true, true, false])

        let verify = try cli.run(["backup", "verify", dir])
        #expect(verify.status == 1)
        #expect(verify.lines.count == 2 && verify.lines.allSatisfy { $0.hasPrefix("ok ") }, "\(verify.stdout)")
        for path in [truncated, flipped] { #expect(verify.stderr.contains("backup \(path) is damaged"), "\(verify.stderr)") }
        #expect(verify.stderr.contains("chain broken: \(orphan) needs "), "\(verify.stderr)")
        let sound = try cli.run(["backup", "verify", full, incremental])
        #expect(sound.status == 0 && sound.lines.count == 2, "\(sound.stdout) \(sound.stderr)")
        #expect(try cli.run(["backup", "verify", directory.file("empty")]).status == 1)
    }

    @Test("restore refuses an existing database without --force and leaves it byte for byte; --force replaces it")
    func restoreRefusesExisting() throws {
        let directory = try TemporaryDirectory("cli-restore-existing")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["seed", "--profile", "small", "--seed", "1"], database: "a.gsdb").status == 0)
        #expect(try cli.run(["seed", "--profile", "small", "--seed", "2"], database: "b.gsdb").status == 0)
        #expect(try cli.run(["backup", "--to", directory.file("a.gsbackup")], database: "a.gsdb").status == 0)
        let files = [directory.file("b.gsdb"), directory.file("b.gsdb-wal")].filter { FileManager.default.fileExists(atPath: $0) }
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }

        let refused = try cli.run(["restore", "--from", directory.file("a.gsbackup"), "--db", directory.file("b.gsdb")])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("\(directory.file("b.gsdb")) exists: restore refuses to replace a database unless forced (--force)"),
                "\(refused.stderr)")
        #expect(try files.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)

        let forced = try cli.run(["restore", "--from", directory.file("a.gsbackup"), "--db", directory.file("b.gsdb"), "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Self.rowCounts(cli, "b.gsdb") == Self.rowCounts(cli, "a.gsdb"))
    }

    /// A database of incompressible blobs, big enough (about 48 MB) that a backup or restore of it
    /// runs long enough to be caught mid-way; the number of rows.
    static func bigDatabase(_ path: String) async throws -> Int {
        let db = try Database.open(DatabaseConfiguration(.file(path)))
        try await db.migrate([Migration("001_blobs") { tx in
            try tx.createTable(TableSchema("blobs", columns: [ColumnDefinition("id", .uint), ColumnDefinition("data", .bytes)],
                                           primaryKey: ["id"]))
        }])
        var state: UInt64 = 0x5EED
        let rows = 1_200, size = 40_000
        for batch in 0..<6 {
            try await db.write { tx in
                for i in 0..<rows / 6 {
                    var blob = [UInt8](repeating: 0, count: size)
                    blob.withUnsafeMutableBytes { raw in
                        for word in 0..<size / 8 {
                            // SplitMix64: incompressible, and quick to make.
                            state &+= 0x9E37_79B9_7F4A_7C15
                            var z = state
                            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                            raw.storeBytes(of: z ^ (z >> 31), toByteOffset: word * 8, as: UInt64.self)
                        }
                    }
                    try tx.insert(["id": .uint(UInt64(batch * rows / 6 + i)), "data": .bytes(blob)], into: "blobs")
                }
            }
        }
        try await db.checkpoint(.truncate)
        try await db.close()
        return rows
    }

    /// Starts `guildstore arguments`, waits until `started()` holds (polling the file system) or
    /// the process ends on its own, then kills it with SIGKILL; whether the kill landed while it ran.
    static func killMidway(_ arguments: [String], in directory: TemporaryDirectory, when started: () -> Bool) throws -> Bool {
        let process = Process()
        process.executableURL = CommandLineRunner.executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning && !started() { usleep(200) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
    }

    /// The rows of the blob table in the database at `path`, after an integrity check.
    static func blobRows(_ path: String) async throws -> Int {
        let db = try Database.open(DatabaseConfiguration(.file(path), createIfMissing: false))
        let report = try await db.check()
        #expect(report.isOK, "\(report.problems)")
        let count = try await db.read { try $0.count("blobs") }
        try await db.close()
        return Int(count)
    }

    @Test("kill -9 during backup: the target is absent or a backup that verifies; the next rotation removes the .partial")
    func killedBackup() async throws {
        let directory = try TemporaryDirectory("cli-backup-killed")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let database = directory.file("big.gsdb")
        _ = try await Self.bigDatabase(database)
        let dir = directory.file("backups")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let target = dir + "/big.gsbackup"
        let killed = try Self.killMidway(["backup", "--db", database, "--to", target], in: directory) {
            FileManager.default.fileExists(atPath: target + ".partial")
        }
        if FileManager.default.fileExists(atPath: target) {
            // The kill came after the rename: the backup is complete.
            let verify = try cli.run(["backup", "verify", target])
            #expect(verify.status == 0, "killed: \(killed); \(verify.stderr)")
            #expect(try lz4ToolAccepts(target))
        }
        let list = try cli.run(["backup", "list", "--dir", dir, "--json"])
        let rows = try #require((try parseJSON(list.stdout) as? [String: Any])?["backups"] as? [Any])
        #expect(rows.count == (FileManager.default.fileExists(atPath: target) ? 1 : 0), "a .partial is never listed: \(list.stdout)")

        // The next backup into the directory, with rotation, removes what the killed one left.
        let next = try cli.run(["backup", "--dir", dir, "--keep", "1"], database: "big.gsdb")
        #expect(next.status == 0, "\(next.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasSuffix(".partial") })
        let written = try Self.writtenPath(next)
        #expect(try lz4ToolAccepts(written))
        #expect(try cli.run(["backup", "verify", dir]).status == 0)
    }

    @Test("kill -9 during restore: a new target stays absent or is the whole database; a forced one stays the old database byte for byte or is the whole new one")
    func killedRestore() async throws {
        let directory = try TemporaryDirectory("cli-restore-killed")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let rows = try await Self.bigDatabase(directory.file("big.gsdb"))
        let backup = directory.file("big.gsbackup")
        #expect(try cli.run(["backup", "--to", backup], database: "big.gsdb").status == 0)

        // Into a path with no database.
        let fresh = directory.file("fresh.gsdb")
        let killedFresh = try Self.killMidway(["restore", "--from", backup, "--db", fresh], in: directory) {
            FileManager.default.fileExists(atPath: fresh + ".restore")
        }
        if FileManager.default.fileExists(atPath: fresh) {
            #expect(try await Self.blobRows(fresh) == rows, "killed: \(killedFresh)")
        }

        // Over an existing database, forced.
        #expect(try cli.run(["seed", "--profile", "small"], database: "old.gsdb").status == 0)
        #expect(try cli.run(["checkpoint", "--mode", "truncate"], database: "old.gsdb").status == 0)
        let old = directory.file("old.gsdb")
        let oldBytes = try Data(contentsOf: URL(fileURLWithPath: old))
        let killedOld = try Self.killMidway(["restore", "--from", backup, "--db", old, "--force"], in: directory) {
            FileManager.default.fileExists(atPath: old + ".restore")
        }
        let now = try Data(contentsOf: URL(fileURLWithPath: old))
        if now != oldBytes {
            // Only a whole restored database ever replaces it.
            #expect(try await Self.blobRows(old) == rows, "killed: \(killedOld)")
        }
        // A restore run to its end afterwards replaces what the killed one left.
        let again = try cli.run(["restore", "--from", backup, "--db", fresh, "--force"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await Self.blobRows(fresh) == rows)
        #expect(try lz4ToolAccepts(backup))
    }
}
