import Foundation
import Testing
import TestSupport
@_spi(Benchmarks) import GuildStoreSQLite

/// The `guildstore` command line end to end, as a process: seed, query (table and JSON),
/// export and import round trips through SQLite files, ingest with malformed input, the
/// maintenance commands, and errors (non-zero exit, a message on standard error).
@Suite("guildstore command line")
struct CommandLineTests {
    /// Every pattern's `--json` output for one database, keyed by pattern.
    static func allPatterns(_ cli: CommandLineRunner, database: String, guild: String, user: String, event: String) throws -> [String: String] {
        var outputs: [String: String] = [:]
        let common = ["--since", "0", "--now", "1748736000", "--json"]
        let patterns: [(String, [String])] = [
            ("active-guilds", ["--limit", "5"]), ("guild-member-count", ["--guild", guild]), ("guild-stats", []),
            ("user-stats", ["--guild", guild, "--user", user]), ("leaderboard", ["--guild", guild, "--limit", "10"]),
            ("voice-activity", ["--guild", guild]), ("hourly-activity", ["--guild", guild]),
            ("member-growth", ["--guild", guild, "--bucket", "day"]), ("presence-distribution", ["--guild", guild]),
            ("active-users", ["--guild", guild]), ("due-reminders", []), ("reminder-targets", ["--event", event]),
        ]
        for (pattern, options) in patterns {
            let result = try cli.run(["query", pattern] + options + common, database: database)
            #expect(result.status == 0, "\(pattern): \(result.stderr)")
            let object = try #require(try parseJSON(result.stdout) as? [String: Any])
            #expect(object["pattern"] as? String == pattern)
            #expect(object["rows"] is [Any])
            outputs[pattern] = result.stdout
        }
        return outputs
    }

    /// The busiest guild, its top user and a reminder event of a seeded database, read back
    /// through the command line itself.
    static func subjects(_ cli: CommandLineRunner, database: String) throws -> (guild: String, user: String, event: String) {
        let stats = try cli.run(["query", "guild-stats", "--json", "--now", "1748736000"], database: database)
        let rows = try #require((try parseJSON(stats.stdout) as? [String: Any])?["rows"] as? [[String: Any]])
        let guild = try #require(rows.first?["id"] as? String)
        let board = try cli.run(["query", "leaderboard", "--guild", guild, "--limit", "1", "--json"], database: database)
        let leader = try #require(((try parseJSON(board.stdout) as? [String: Any])?["rows"] as? [[String: Any]])?.first)
        let due = try cli.run(["query", "due-reminders", "--json", "--now", "1900000000"], database: database)
        let event = try #require((((try parseJSON(due.stdout) as? [String: Any])?["rows"] as? [[String: Any]])?.first)?["id"] as? String)
        return (guild, try #require(leader["user_id"] as? String), event)
    }

    @Test("seed → query → export → import → query: every pattern answers the same; SQLite files equal")
    func roundTrip() throws {
        let directory = try TemporaryDirectory("cli-round-trip")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let seeded = try cli.run(["seed", "--profile", "small"], database: "a.gsdb")
        #expect(seeded.status == 0, "\(seeded.stderr)")
        #expect(seeded.stderr.isEmpty, "no progress bar when standard error is not a terminal: \(seeded.stderr)")
        #expect(seeded.stdout.contains("seeded"))
        let (guild, user, event) = try Self.subjects(cli, database: "a.gsdb")
        let before = try Self.allPatterns(cli, database: "a.gsdb", guild: guild, user: user, event: event)
        // The table form prints the SQL's column names.
        let table = try cli.run(["query", "leaderboard", "--guild", guild], database: "a.gsdb")
        #expect(table.lines.first?.split(separator: " ").map(String.init) == ["user_id", "message_count", "rank"])

        let exported = try cli.run(["export-sqlite", "--to", directory.file("a.sqlite")], database: "a.gsdb")
        #expect(exported.status == 0, "\(exported.stderr)")
        // Seed 004's TEXT ids.
        let sqlite = try SQLiteConnection(path: directory.file("a.sqlite"), mode: .readOnly)
        let types = try sqlite.query("SELECT typeof(id), typeof(guild_id) FROM message_events LIMIT 1")
        #expect(types == [[.text("text"), .text("text")]])
        let refused = try cli.run(["export-sqlite", "--to", directory.file("a.sqlite")], database: "a.gsdb")
        #expect(refused.status != 0 && !refused.stderr.isEmpty, "an existing file is not overwritten")

        let imported = try cli.run(["import-sqlite", "--from", directory.file("a.sqlite")], database: "b.gsdb")
        #expect(imported.status == 0, "\(imported.stderr)")
        let after = try Self.allPatterns(cli, database: "b.gsdb", guild: guild, user: user, event: event)
        #expect(after == before)

        #expect(try cli.run(["export-sqlite", "--to", directory.file("b.sqlite")], database: "b.gsdb").status == 0)
        let again = try SQLiteConnection(path: directory.file("b.sqlite"), mode: .readOnly)
        for table in ["guilds", "users", "channels", "members", "message_events", "voice_events", "member_events", "presence_events",
                      "reminder_events", "reactions", "reminder_logs"] {
            let query = "SELECT * FROM \(table) ORDER BY 1, 2"
            #expect(try sqlite.query(query) == again.query(query), "\(table)")
        }
    }

    @Test("import-sqlite: a non-numeric id is an error naming the table and row; nothing of its batch lands")
    func importRejectsBadIDs() throws {
        let directory = try TemporaryDirectory("cli-bad-import")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let source = try SQLiteConnection(path: directory.file("bad.sqlite"))
        try source.execute("""
            CREATE TABLE guilds (id text PRIMARY KEY NOT NULL, name text, icon text, member_count integer,
                                 created_at integer NOT NULL, updated_at integer NOT NULL);
            INSERT INTO guilds VALUES ('81384788765712384', 'Mocha', NULL, 3, 1700000000, 1700000000);
            INSERT INTO guilds VALUES ('not-a-snowflake', 'Broken', NULL, 1, 1700000000, 1700000000);
            """)
        let result = try cli.run(["import-sqlite", "--from", directory.file("bad.sqlite")], database: "c.gsdb")
        #expect(result.status != 0)
        #expect(result.stderr.contains("guilds") && result.stderr.contains("not-a-snowflake"), "\(result.stderr)")
        let count = try cli.run(["query", "active-guilds", "--json"], database: "c.gsdb")
        #expect(count.stdout.contains("\"rows\":[]"), "\(count.stdout)")
    }

    @Test("ingest: ok ID per committed record in input order; malformed lines reported by number and skipped")
    func ingest() throws {
        let directory = try TemporaryDirectory("cli-ingest")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        let input = [
            #"{"event":"guild","id":"81384788765712384","name":"Mocha 🍵","created_at":1700000000}"#,
            #"{"event":"user","id":"80351110224678912","username":"ann"}"#,
            #"{"event":"channel","id":"81384788765712385","guild_id":"81384788765712384","type":0}"#,
            #"{"event":"member","guild_id":"81384788765712384","user_id":"80351110224678912","roles":["1","2"],"joined_at":1700000100}"#,
            "this is not json",
            #"{"event":"message","id":"1100000000000000001","guild_id":"81384788765712384","channel_id":"81384788765712385","user_id":"80351110224678912","character_count":12,"has_attachment":true,"created_at":1700000200}"#,
            #"{"event":"message","id":"1100000000000000002","guild_id":"81384788765712384","channel_id":"81384788765712385","user_id":"80351110224678912","character_count":"many","created_at":1700000201}"#,
            #"{"event":"teleport","id":"1"}"#,
            #"{"event":"message","id":"1100000000000000003","guild_id":"999","channel_id":"81384788765712385","user_id":"80351110224678912","created_at":1700000202}"#,
            #"{"event":"voice","id":"1100000000000000004","guild_id":"81384788765712384","user_id":"80351110224678912","event_type":"leave","duration":60000,"created_at":1700000300}"#,
            #"{"event":"message","id":"1100000000000000001","guild_id":"81384788765712384","channel_id":"81384788765712385","user_id":"80351110224678912","created_at":1700000400}"#,
        ].joined(separator: "\n") + "\n"
        let result = try cli.run(["ingest"], database: "i.gsdb", stdin: input)
        #expect(result.status == 1, "skipped lines make the exit status 1")
        #expect(result.lines == ["ok 81384788765712384", "ok 80351110224678912", "ok 81384788765712385",
                                 "ok 81384788765712384:80351110224678912", "ok 1100000000000000001", "ok 1100000000000000004"])
        for line in [5, 7, 8, 9, 11] { #expect(result.stderr.contains("line \(line):"), "line \(line) reported: \(result.stderr)") }
        #expect(result.stderr.contains("character_count"))
        #expect(result.stderr.contains("teleport"))
        // Only what was acknowledged is in the database.
        let stats = try cli.run(["query", "user-stats", "--guild", "81384788765712384", "--user", "80351110224678912", "--json"],
                                database: "i.gsdb")
        #expect(stats.stdout == #"{"pattern":"user-stats","rows":[{"message_count":1,"total_characters":12,"attachments":1}]}"# + "\n")
        // The table form keeps a name outside the BMP whole (padding counts Characters).
        let guilds = try cli.run(["query", "active-guilds"], database: "i.gsdb")
        #expect(guilds.lines.last?.contains("Mocha 🍵") == true, "\(guilds.stdout)")
        let voice = try cli.run(["query", "voice-activity", "--guild", "81384788765712384", "--json"], database: "i.gsdb")
        #expect(voice.stdout.contains(#"{"user_id":"80351110224678912","total_voice_time":60000,"session_count":1}"#))
    }

    @Test("stats, check, checkpoint, vacuum and retention on a seeded database")
    func maintenance() throws {
        let directory = try TemporaryDirectory("cli-maintenance")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        #expect(try cli.run(["seed", "--profile", "small", "--seed", "7"], database: "m.gsdb").status == 0)
        let stats = try cli.run(["stats", "--json"], database: "m.gsdb")
        let object = try #require(try parseJSON(stats.stdout) as? [String: Any])
        let tables = try #require(object["tables"] as? [String: Int])
        let messages = try #require(tables["message_events"])
        #expect(messages > 1_000)
        #expect(try cli.run(["check"], database: "m.gsdb").lines.last == "ok")
        let checkpoint = try cli.run(["checkpoint", "--mode", "truncate"], database: "m.gsdb")
        #expect(checkpoint.status == 0 && checkpoint.stdout.contains("log restarted: true"), "\(checkpoint.stdout) \(checkpoint.stderr)")
        let retention = try cli.run(["retention", "--older-than", "1746144000", "--json"], database: "m.gsdb")
        #expect(retention.status == 0, "\(retention.stderr)")
        let deleted = try #require(try parseJSON(retention.stdout) as? [String: Int])
        #expect((deleted["total"] ?? 0) > 0)
        let after = try #require((try parseJSON(try cli.run(["stats", "--json"], database: "m.gsdb").stdout) as? [String: Any])?["tables"] as? [String: Int])
        #expect(after["message_events"] == messages - (deleted["message_events"] ?? -1))
        let vacuum = try cli.run(["vacuum"], database: "m.gsdb")
        #expect(vacuum.status == 0 && vacuum.stdout.contains("pages:"), "\(vacuum.stderr)")
        #expect(try cli.run(["check"], database: "m.gsdb").status == 0)
    }

    @Test("errors: unknown command or pattern, a missing option, a file that is not a database — non-zero exit and a message")
    func errors() throws {
        let directory = try TemporaryDirectory("cli-errors")
        defer { directory.remove() }
        let cli = CommandLineRunner(directory: directory)
        for arguments in [["frobnicate"], ["query", "everything"], ["query", "leaderboard"], ["query", "user-stats", "--guild", "1"],
                          ["seed", "--profile", "huge"], ["query", "leaderboard", "--guild", "-3"]] {
            let result = try cli.run(arguments, database: "e.gsdb")
            #expect(result.status != 0, "\(arguments)")
            #expect(!result.stderr.isEmpty, "\(arguments)")
        }
        try Data(repeating: 0x41, count: 8_192).write(to: URL(fileURLWithPath: directory.file("garbage.gsdb")))
        let result = try cli.run(["stats"], database: "garbage.gsdb")
        #expect(result.status != 0)
        #expect(result.stderr.contains("not a GuildStore database"), "\(result.stderr)")
    }
}
