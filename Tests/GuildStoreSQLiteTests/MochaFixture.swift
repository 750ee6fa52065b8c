@_spi(Benchmarks) import GuildStoreSQLite
import GuildStore
import GuildStoreEngine
import TestSupport

/// A Mocha `stats.db` made by hand: seed 004's `schema.ts` as Drizzle Kit turns it into a
/// migration (`drizzle/0000_*.sql`, statements separated by `--> statement-breakpoint`),
/// TEXT ids, timestamps in seconds, a few rows per table with NULLs where Drizzle allows them.
///
/// The DDL is written out here, not taken from GuildStoreSQLite, so the import is tested against
/// the seed and the export's DDL is checked against it (`SQLiteExportTests`).
enum MochaFixture {
    static let migration = """
    CREATE TABLE `guilds` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`name` text,
    \t`icon` text,
    \t`member_count` integer,
    \t`created_at` integer NOT NULL,
    \t`updated_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE TABLE `users` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`username` text,
    \t`discriminator` text,
    \t`avatar` text,
    \t`bot` integer DEFAULT false,
    \t`created_at` integer NOT NULL,
    \t`updated_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE TABLE `channels` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`guild_id` text NOT NULL,
    \t`name` text,
    \t`type` integer NOT NULL,
    \t`parent_id` text,
    \t`position` integer,
    \t`created_at` integer NOT NULL,
    \t`updated_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE INDEX `idx_channels_guild_id` ON `channels` (`guild_id`);
    --> statement-breakpoint
    CREATE TABLE `members` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`guild_id` text NOT NULL,
    \t`user_id` text NOT NULL,
    \t`nickname` text,
    \t`joined_at` integer,
    \t`premium_since` integer,
    \t`created_at` integer NOT NULL,
    \t`updated_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE INDEX `idx_members_guild_id` ON `members` (`guild_id`);
    --> statement-breakpoint
    CREATE INDEX `idx_members_user_id` ON `members` (`user_id`);
    --> statement-breakpoint
    CREATE INDEX `idx_members_joined_at` ON `members` (`joined_at`);
    --> statement-breakpoint
    CREATE TABLE `message_events` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`guild_id` text NOT NULL,
    \t`channel_id` text NOT NULL,
    \t`user_id` text NOT NULL,
    \t`message_type` integer DEFAULT 0,
    \t`has_attachment` integer DEFAULT false,
    \t`has_embed` integer DEFAULT false,
    \t`character_count` integer DEFAULT 0,
    \t`word_count` integer DEFAULT 0,
    \t`created_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE INDEX `idx_message_events_guild_time` ON `message_events` (`guild_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_message_events_user_time` ON `message_events` (`user_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_message_events_channel_time` ON `message_events` (`channel_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_message_events_guild_user` ON `message_events` (`guild_id`,`user_id`);
    --> statement-breakpoint
    CREATE TABLE `voice_events` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`guild_id` text NOT NULL,
    \t`channel_id` text,
    \t`user_id` text NOT NULL,
    \t`event_type` text NOT NULL,
    \t`session_start` integer,
    \t`session_end` integer,
    \t`duration` integer DEFAULT 0,
    \t`muted` integer DEFAULT false,
    \t`deafened` integer DEFAULT false,
    \t`created_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE INDEX `idx_voice_events_guild_time` ON `voice_events` (`guild_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_voice_events_user_time` ON `voice_events` (`user_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_voice_events_channel_time` ON `voice_events` (`channel_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_voice_events_session` ON `voice_events` (`session_start`,`session_end`);
    --> statement-breakpoint
    CREATE TABLE `member_events` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`guild_id` text NOT NULL,
    \t`user_id` text NOT NULL,
    \t`event_type` text NOT NULL,
    \t`member_count` integer,
    \t`created_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE INDEX `idx_member_events_guild_time` ON `member_events` (`guild_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_member_events_type_time` ON `member_events` (`event_type`,`created_at`);
    --> statement-breakpoint
    CREATE TABLE `presence_events` (
    \t`id` text PRIMARY KEY NOT NULL,
    \t`guild_id` text NOT NULL,
    \t`user_id` text NOT NULL,
    \t`status` text,
    \t`activity_type` integer,
    \t`activity_name` text,
    \t`created_at` integer NOT NULL
    );
    --> statement-breakpoint
    CREATE INDEX `idx_presence_events_guild_time` ON `presence_events` (`guild_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_presence_events_user_time` ON `presence_events` (`user_id`,`created_at`);
    --> statement-breakpoint
    CREATE INDEX `idx_presence_events_status` ON `presence_events` (`status`);
    """

    /// The migration's statements, as Drizzle's migrator splits them.
    static var statements: [String] {
        migration.split(separator: "--> statement-breakpoint").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    static let mocha = "111111111111111111"     // a guild
    static let cafe = "222222222222222222"      // another guild
    static let nine = "9"                       // users, of different lengths so text and numeric order differ
    static let ten = "10"
    static let big = "18000000000000000000"     // above 2^63: fine as TEXT, not as an SQLite INTEGER
    static let t0: Int64 = 1_700_000_000

    /// Creates the file at `path`: the migration, then the rows of `rows` (or the standard ones).
    static func create(at path: String, rows: [(table: String, values: [String: SQLiteValue])] = standardRows) throws {
        let db = try SQLiteConnection(path: path, mode: .create)
        try db.transaction {
            for statement in statements { try db.execute(statement) }
            for (table, values) in rows { try insert(values, into: table, db) }
        }
    }

    static func insert(_ values: [String: SQLiteValue], into table: String, _ db: SQLiteConnection) throws {
        let columns = values.keys.sorted()
        try db.run("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))",
                   columns.map { values[$0] ?? .null })
    }

    static func time(_ offset: Int64) -> SQLiteValue { .integer(t0 + offset) }

    static let standardRows: [(table: String, values: [String: SQLiteValue])] = [
        ("guilds", ["id": .text(mocha), "name": .text("Mocha"), "icon": .null, "member_count": .null,
                    "created_at": time(0), "updated_at": time(10)]),
        ("guilds", ["id": .text(cafe), "name": .null, "icon": .text("a_1f2e"), "member_count": .integer(42),
                    "created_at": time(1), "updated_at": time(11)]),
        ("users", ["id": .text(nine), "username": .text("nine"), "discriminator": .text("0009"), "avatar": .null,
                   "bot": .null, "created_at": time(2), "updated_at": time(2)]),
        ("users", ["id": .text(ten), "username": .text("ten"), "discriminator": .null, "avatar": .text("av10"),
                   "bot": .integer(1), "created_at": time(3), "updated_at": time(4)]),
        ("users", ["id": .text(big), "username": .null, "discriminator": .null, "avatar": .null,
                   "created_at": time(5), "updated_at": time(5)]),  // bot left out: its DEFAULT false
        ("channels", ["id": .text("333"), "guild_id": .text(mocha), "name": .text("general"), "type": .integer(0),
                      "parent_id": .null, "position": .null, "created_at": time(6), "updated_at": time(6)]),
        ("channels", ["id": .text("334"), "guild_id": .text(cafe), "name": .text("voice"), "type": .integer(2),
                      "parent_id": .text("333"), "position": .integer(1), "created_at": time(7), "updated_at": time(8)]),
        ("members", ["id": .text("\(mocha):\(nine)"), "guild_id": .text(mocha), "user_id": .text(nine), "nickname": .text("niner"),
                     "joined_at": time(20), "premium_since": .null, "created_at": time(20), "updated_at": time(21)]),
        ("members", ["id": .text("\(cafe):\(big)"), "guild_id": .text(cafe), "user_id": .text(big), "nickname": .null,
                     "joined_at": .null, "premium_since": time(30), "created_at": time(22), "updated_at": time(22)]),
        ("message_events", ["id": .text("1000"), "guild_id": .text(mocha), "channel_id": .text("333"), "user_id": .text(nine),
                            "message_type": .null, "has_attachment": .integer(1), "has_embed": .null,
                            "character_count": .integer(12), "word_count": .integer(3), "created_at": time(100)]),
        ("message_events", ["id": .text("1001"), "guild_id": .text(mocha), "channel_id": .text("333"), "user_id": .text(ten),
                            "message_type": .integer(19), "has_attachment": .integer(0), "has_embed": .integer(1),
                            "character_count": .integer(0), "word_count": .null, "created_at": time(101)]),
        ("message_events", ["id": .text("1002"), "guild_id": .text(cafe), "channel_id": .text("334"), "user_id": .text(big),
                            "created_at": time(102)]),  // every defaulted column left to its DEFAULT
        ("voice_events", ["id": .text("2000"), "guild_id": .text(cafe), "channel_id": .text("334"), "user_id": .text(ten),
                          "event_type": .text("join"), "session_start": time(200), "session_end": .null, "duration": .null,
                          "muted": .integer(1), "deafened": .integer(0), "created_at": time(200)]),
        ("voice_events", ["id": .text("2001"), "guild_id": .text(cafe), "channel_id": .null, "user_id": .text(ten),
                          "event_type": .text("leave"), "session_start": time(200), "session_end": time(260),
                          "duration": .integer(60_000), "created_at": time(260)]),
        ("member_events", ["id": .text("3000"), "guild_id": .text(mocha), "user_id": .text(nine), "event_type": .text("join"),
                           "member_count": .integer(1), "created_at": time(20)]),
        ("member_events", ["id": .text("3001"), "guild_id": .text(cafe), "user_id": .text("77"), "event_type": .text("leave"),
                           "member_count": .null, "created_at": time(25)]),  // a user the file does not hold: no foreign key there
        ("presence_events", ["id": .text("4000"), "guild_id": .text(mocha), "user_id": .text(nine), "status": .text("online"),
                             "activity_type": .integer(0), "activity_name": .text("Chess"), "created_at": time(300)]),
        ("presence_events", ["id": .text("4001"), "guild_id": .text(mocha), "user_id": .text(ten), "status": .null,
                             "activity_type": .null, "activity_name": .null, "created_at": time(301)]),
    ]

    /// Every row of every guild table, table by table in primary key order.
    static func allRows(_ database: Database) async throws -> [String: [Row]] {
        try await database.read { tx in
            var rows: [String: [Row]] = [:]
            for table in GuildTables.all { rows[table.name] = try tx.rows(table.name) }
            return rows
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
