import Foundation
import Testing
import TestSupport
import GuildStore
@_spi(Benchmarks) import GuildStoreSQLite

/// Which commands create a database, which need one, and which only read: a mistyped `--db`
/// is an error that leaves nothing behind, reading commands write nothing, and `demo` runs on
/// data of any time and shape.
@Suite("guildstore: creating, writing and reading commands")
struct DatabaseAccessTests {
    /// A guild, a user, a channel, a member, two messages and a voice event in September 2020;
    /// the voice event (1600090000) is the latest.
    static let oldEvents = [
        #"{"event":"guild","id":"81384788765712384","name":"Mocha","created_at":1600000000}"#,
        #"{"event":"user","id":"80351110224678912","username":"ann"}"#,
        #"{"event":"channel","id":"81384788765712385","guild_id":"81384788765712384","type":0}"#,
        #"{"event":"member","guild_id":"81384788765712384","user_id":"80351110224678912","roles":[],"joined_at":1600000100}"#,
        #"{"event":"message","id":"1100000000000000001","guild_id":"81384788765712384","channel_id":"81384788765712385","user_id":"80351110224678912","character_count":12,"created_at":1600000200}"#,
        #"{"event":"message","id":"1100000000000000002","guild_id":"81384788765712384","channel_id":"81384788765712385","user_id":"80351110224678912","character_count":3,"created_at":1600086400}"#,
        #"{"event":"voice","id":"1100000000000000004","guild_id":"81384788765712384","user_id":"80351110224678912","event_type":"leave","duration":60000,"created_at":1600090000}"#,
    ].joined(separator: "\n") + "\n"

    /// The commands that must not create a database, with the options each needs.
    static let nonCreating: [[String]] = [
        ["query", "active-guilds"], ["query", "leaderboard", "--guild", "1"], ["stats"], ["check"],
        ["export-sqlite", "--to", "OUT"], ["checkpoint"], ["vacuum"], ["retention", "--older-than", "0"], ["migrate"], ["recover"],
    ]

    /// The files under `folder` (recursively, relative paths) with their bytes and
    /// modification dates.
    static func files(in folder: String) throws -> [String: (bytes: Data, modified: Date?)] {
        var result: [String: (bytes: Data, modified: Date?)] = [:]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return result }
        for case let name as String in walker {
            let path = folder + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            result[name] = (try Data(contentsOf: URL(fileURLWithPath: path)),
                            try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        }
        return result
    }

    /// Whether two `files(in:)` answers hold the same names, bytes and modification dates.
    static func unchanged(_ before: [String: (bytes: Data, modified: Date?)], _ after: [String: (bytes: Data, modified: Date?)]) -> Bool {
        before.keys.sorted() == after.keys.sorted()
            && before.allSatisfy { name, file in after[name].map { $0.bytes == file.bytes && $0.modified == file.modified } ?? false }
    }

    @Test("every command but demo, seed, ingest and import-sqlite, on a path with no database: exit 1, \"no database at PATH\", nothing created",
          arguments: nonCreating)
    func missingDatabase(command: [String]) throws {
        let directory = try TemporaryDirectory("cli-missing")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let folder = directory.file("db")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let arguments = command.map { $0 == "OUT" ? directory.file("db/out.sqlite") : $0 }
        for path in [directory.file("db/typo.gsdb"), directory.file("nowhere/typo.gsdb")] {
            let result = try cli.run(arguments + ["--db", path])
            #expect(result.status == 1, "\(command): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("no database at \(path)"), "\(command): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(command): \(result.stdout)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "\(command) created nothing beside the path")
        #expect(!FileManager.default.fileExists(atPath: directory.file("nowhere")), "\(command) created no folder")
    }

    @Test("demo, seed, ingest and import-sqlite create the database and its folder")
    func creatingCommands() throws {
        let directory = try TemporaryDirectory("cli-create")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let source = try SQLiteConnection(path: directory.file("source.sqlite"))
        try source.execute("""
            CREATE TABLE guilds (id text PRIMARY KEY NOT NULL, name text, icon text, member_count integer,
                                 created_at integer NOT NULL, updated_at integer NOT NULL);
            INSERT INTO guilds VALUES ('81384788765712384', 'Mocha', NULL, 3, 1700000000, 1700000000);
            """)
        let runs: [(name: String, arguments: [String], stdin: String)] = [
            ("seed", ["seed", "--profile", "small"], ""),
            ("ingest", ["ingest"], Self.oldEvents),
            ("import", ["import-sqlite", "--from", directory.file("source.sqlite")], ""),
            ("demo", ["demo", "--profile", "small", "--runs", "1", "--rows", "1"], ""),
        ]
        var outputs: [String: String] = [:]
        for (name, arguments, stdin) in runs {
            let path = directory.file("\(name)/new.gsdb")
            let result = try cli.run(arguments + ["--db", path], stdin: stdin)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(FileManager.default.fileExists(atPath: path), "\(name) created \(path)")
            #expect(try cli.run(["check", "--db", path]).lines.last == "ok", "\(name)")
            outputs[name] = result.stdout
        }
        // On an empty database demo seeds, then every pattern finds its inputs.
        let demo = try #require(outputs["demo"])
        #expect(demo.contains("Seeded the small profile") && demo.contains("Now: ") && !demo.contains("skipped"), "\(demo)")
    }

    @Test("query, stats, check and export-sqlite write nothing to a database whose migrations are all applied")
    func readingWritesNothing() throws {
        let directory = try TemporaryDirectory("cli-read-only")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["ingest"], database: "db/r.gsdb", stdin: Self.oldEvents).status == 0)
        let before = try Self.files(in: directory.file("db"))
        #expect(before.keys.contains("r.gsdb"))
        let reads = [["query", "leaderboard", "--guild", "81384788765712384"], ["query", "guild-stats"], ["stats"], ["check"],
                     ["export-sqlite", "--to", directory.file("r.sqlite")]]
        for arguments in reads {
            let result = try cli.run(arguments, database: "db/r.gsdb")
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: directory.file("r.sqlite")))
        #expect(Self.unchanged(before, try Self.files(in: directory.file("db"))), "the database's files kept their bytes and times")
    }

    @Test("a database lacking migrations: reading commands refuse, naming them, and write nothing; check reads it; migrate applies them")
    func pendingMigrations() async throws {
        let directory = try TemporaryDirectory("cli-pending")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let path = directory.file("db/old.gsdb")
        try FileManager.default.createDirectory(atPath: directory.file("db"), withIntermediateDirectories: false)
        // A database made before the rollup migrations existed.
        let old = try Database.open(DatabaseConfiguration(.file(path)))
        try await old.migrate(Array(GuildTables.migrations.prefix(1)))
        try await old.close()
        let before = try Self.files(in: directory.file("db"))
        for arguments in [["query", "active-guilds"], ["stats"], ["export-sqlite", "--to", directory.file("old.sqlite")]] {
            let result = try cli.run(arguments, database: "db/old.gsdb")
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains("0002_activity_rollups, 0003_member_rollup, 0004_member_growth_days, 0005_all_time_rankings, 0006_voice_leaves") && result.stderr.contains("guildstore migrate"),
                    "\(arguments): \(result.stderr)")
        }
        #expect(try cli.run(["check"], database: "db/old.gsdb").lines.last == "ok")
        #expect(Self.unchanged(before, try Self.files(in: directory.file("db"))), "refused reads and check wrote nothing")
        #expect(!FileManager.default.fileExists(atPath: directory.file("old.sqlite")))

        let migrate = try cli.run(["migrate"], database: "db/old.gsdb")
        #expect(migrate.status == 0 && migrate.lines == ["applied 0002_activity_rollups", "applied 0003_member_rollup", "applied 0004_member_growth_days", "applied 0005_all_time_rankings", "applied 0006_voice_leaves"], "\(migrate)")
        #expect(try cli.run(["migrate"], database: "db/old.gsdb").lines == ["up to date: every migration is applied"])
        let query = try cli.run(["query", "active-guilds", "--json"], database: "db/old.gsdb")
        #expect(query.status == 0 && query.stdout.contains(#""rows":[]"#), "\(query.stderr)")
    }

    @Test("demo on ingested data from 2020 without reminder events: now is the latest event, reminder-targets is skipped, exit 0")
    func demoOnOtherData() throws {
        let directory = try TemporaryDirectory("cli-demo")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["ingest"], database: "d.gsdb", stdin: Self.oldEvents).status == 0)
        let demo = try cli.run(["demo", "--runs", "1"], database: "d.gsdb")
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("The database holds 2 message events already"), "not seeded: \(demo.stdout)")
        // 1600090000 - 30 days = 1597498000.
        #expect(demo.lines.contains("Now: 1600090000 (2020-09-14T13:26:40Z), the latest event; the window: the 30 days since 1597498000."),
                "\(demo.stdout)")
        #expect(demo.lines.contains("Busiest guild: 81384788765712384, its busiest user in the window: 80351110224678912."), "\(demo.stdout)")
        #expect(demo.lines.contains("reminder-targets — skipped: the database holds no reminder event to target"), "\(demo.stdout)")
        // The window holds the data: the leaderboard ranks the one author with both messages.
        let board = try #require(demo.lines.firstIndex { $0.hasPrefix("leaderboard — 1 row") }, "\(demo.stdout)")
        #expect(demo.lines[board + 2].split(separator: " ") == ["80351110224678912", "2", "1"])
    }
}
