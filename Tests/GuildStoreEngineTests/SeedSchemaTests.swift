import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The seeds' schemas, declared with their constraints and indexes, created in a fresh database
/// through migrations, and exercised: inserts, a unique violation, a cascade, an index scan.
/// Ids are UInt64 snowflakes, timestamps seconds. Seed 004's schema is not here: it is the
/// guild schema itself (`GuildTables`, exercised the same way in GuildStoreTests' "Guild
/// tables").
@Suite("Seed schemas")
struct SeedSchemaTests {
    // Column shorthands.
    static func id(_ name: String = "id") -> ColumnDefinition { ColumnDefinition(name, .uint) }
    static func optionalID(_ name: String) -> ColumnDefinition { ColumnDefinition(name, .uint, nullable: true) }
    static func text(_ name: String, nullable: Bool = false) -> ColumnDefinition { ColumnDefinition(name, .text, nullable: nullable) }
    static func int(_ name: String, default value: Int64? = nil) -> ColumnDefinition {
        ColumnDefinition(name, .int, default: value.map { .value(.int($0)) })
    }
    static func flag(_ name: String, default value: Bool) -> ColumnDefinition { ColumnDefinition(name, .bool, default: .value(.bool(value))) }
    static func time(_ name: String, nullable: Bool = false) -> ColumnDefinition { ColumnDefinition(name, .timestamp, nullable: nullable) }
    static let createdAt = ColumnDefinition("created_at", .timestamp, default: .now)
    static let updatedAt = ColumnDefinition("updated_at", .timestamp, default: .now, updatedAtNow: true)
    static func index(_ name: String, _ columns: String..., unique: Bool = false) -> IndexDefinition {
        IndexDefinition(name, on: columns, unique: unique)
    }

    /// Creates the tables in one migration per table, in order, on a fresh database.
    func database(_ name: String, _ tables: [TableSchema], then more: [Migration] = []) throws -> (TemporaryDirectory, StorageEngine) {
        let directory = try TemporaryDirectory(name)
        let engine = try StorageEngine.open(path: directory.file("seed.gsdb"))
        let migrations = tables.enumerated().map { i, schema in
            Migration(String(format: "%03d_create_%@", i, schema.name)) { tx in try tx.createTable(schema) }
        } + more
        #expect(try engine.migrate(migrations).count == migrations.count)
        #expect(try engine.migrate(migrations).isEmpty)
        // Every declared foreign key finds its children through an index, never a scan.
        for schema in tables {
            for key in schema.foreignKeys { #expect(schema.childLookup(for: key) != .scan, "\(schema.name).\(key.columns)") }
        }
        return (directory, engine)
    }

    // MARK: Seed 000 (PostgreSQL / Prisma / Kysely)

    static let seed000: [TableSchema] = [
        TableSchema("guilds", columns: [id(), text("name"), id("owner_id"), int("member_count", default: 0),
                                        flag("is_active", default: true), createdAt, updatedAt],
                    primaryKey: ["id"],
                    indexes: [index("idx_guilds_owner_id", "owner_id"), index("idx_guilds_is_active", "is_active"),
                              index("idx_guilds_created_at", "created_at"),
                              IndexDefinition("idx_guilds_active_created", on: ["is_active", "created_at"], descending: [false, true]),
                              IndexDefinition("idx_active_guilds", on: ["created_at"], where: .equals("is_active", true))]),
        TableSchema("users", columns: [id(), text("username"), text("discriminator", nullable: true), text("global_name", nullable: true),
                                       text("avatar_url", nullable: true), createdAt, updatedAt],
                    primaryKey: ["id"],
                    indexes: [index("idx_users_username", "username"), index("idx_users_created_at", "created_at")]),
        TableSchema("guild_members", columns: [id("guild_id"), id("user_id"), ColumnDefinition("joined_at", .timestamp, default: .now),
                                               ColumnDefinition("roles", .json, default: .value(.json("[]"))), text("nickname", nullable: true)],
                    primaryKey: ["guild_id", "user_id"],
                    indexes: [index("idx_guild_members_guild_id", "guild_id"), index("idx_guild_members_user_id", "user_id"),
                              index("idx_guild_members_joined_at", "joined_at"),
                              IndexDefinition("idx_guild_members_guild_joined", on: ["guild_id", "joined_at"], descending: [false, true])],
                    foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade),
                                  ForeignKey("user_id", references: "users", onDelete: .cascade)]),
    ]

    @Test("000: guilds, users, guild_members; the add_user_roles migration; active guilds; cascades")
    func seed000() throws {
        let addRoles = Migration("20241201000000_add_user_roles") { tx in
            try tx.addColumn(to: "users", ColumnDefinition("role", .text, default: .value("MEMBER")))
            try tx.addIndex(to: "users", IndexDefinition("idx_users_role", on: ["role"]))
        }
        let (db, engine) = try database("seed000", Self.seed000)
        defer { db.remove() }
        try engine.write { tx in
            // createGuildWithOwner: user upsert, guild, owner membership, one transaction.
            for (g, owner) in [(123456789012345678, 987654321098765432), (876543210987654321, 456789012345678901)] as [(UInt64, UInt64)] {
                try tx.insert(["id": .uint(owner), "username": .text("owner\(owner % 10)")], into: "users", onConflict: .ignore)
                try tx.insert(["id": .uint(g), "name": "Test Guild", "owner_id": .uint(owner), "created_at": .timestamp(Int64(g % 1000))], into: "guilds")
                try tx.insert(["guild_id": .uint(g), "user_id": .uint(owner), "roles": .json(#"["owner"]"#)], into: "guild_members")
            }
            try tx.update("guilds", key: [.uint(876543210987654321)], set: ["is_active": false])
        }
        #expect(try engine.migrate([addRoles]) == ["20241201000000_add_user_roles"])
        try engine.write { tx throws in
            #expect(try tx.get("users", key: [.uint(987654321098765432)])?["role"] == "MEMBER")
            #expect(try tx.rows("users", index: "idx_users_role", equals: ["MEMBER"]).count == 2)
            // PRIMARY KEY (guild_id, user_id) is unique.
            #expect(throws: GuildStoreError.uniqueViolation(table: "guild_members", index: "primary key", key: "(123456789012345678u, 987654321098765432u)")) {
                try tx.insert(["guild_id": .uint(123456789012345678), "user_id": .uint(987654321098765432)], into: "guild_members")
            }
            // Active guilds, newest first, from the partial index.
            #expect(try tx.rows("guilds", index: "idx_active_guilds", reverse: true).map { $0["id"] } == [.uint(123456789012345678)])
            #expect(try tx.rows("guilds", index: "idx_guilds_active_created", equals: [false]).map { $0["id"] } == [.uint(876543210987654321)])
            // Deleting a user removes their memberships (ON DELETE CASCADE); the guild stays.
            #expect(try tx.delete(from: "users", key: [.uint(987654321098765432)]))
            #expect(try tx.rows("guild_members", index: "idx_guild_members_guild_id", equals: [.uint(123456789012345678)]).isEmpty)
            #expect(try tx.get("guilds", key: [.uint(123456789012345678)]) != nil)
            #expect(try tx.delete(from: "guilds", key: [.uint(876543210987654321)]))
            #expect(try tx.rows("guild_members").isEmpty)
        }
        try engine.close()
    }

    // MARK: Seed 001 (PostgreSQL / Prisma / TimescaleDB): servers and the activity analytics

    static let seed001: [TableSchema] = [
        TableSchema("users", columns: [id(), text("username"), text("discriminator"), text("display_name")], primaryKey: ["id"]),
        TableSchema("servers", columns: [id(), text("name"), id("owner_id"), int("verification_level", default: 0)],
                    primaryKey: ["id"], indexes: [index("idx_servers_owner", "owner_id")],
                    foreignKeys: [ForeignKey("owner_id", references: "users", onDelete: .restrict)]),
        // DM channels have no server: an optional relation, so ON DELETE SET NULL (Prisma's default).
        TableSchema("channels", columns: [id(), optionalID("server_id"), text("name"), int("type", default: 0)],
                    primaryKey: ["id"], indexes: [IndexDefinition("idx_channels_server", on: ["server_id"], where: .isNotNull("server_id"))],
                    foreignKeys: [ForeignKey("server_id", references: "servers", onDelete: .setNull)]),
        TableSchema("server_members", columns: [id("server_id"), id("user_id"), ColumnDefinition("joined_at", .timestamp, default: .now)],
                    primaryKey: ["server_id", "user_id"], indexes: [index("idx_server_members_user", "user_id")],
                    foreignKeys: [ForeignKey("server_id", references: "servers", onDelete: .cascade),
                                  ForeignKey("user_id", references: "users", onDelete: .cascade)]),
        TableSchema("user_presence", columns: [id("user_id"), text("status")], primaryKey: ["user_id"],
                    foreignKeys: [ForeignKey("user_id", references: "users", onDelete: .cascade)]),
        TableSchema("message_analytics", columns: [id(), optionalID("server_id"), id("channel_id"), id("user_id"),
                                                   int("message_count"), int("character_count"), time("timestamp")],
                    primaryKey: ["id"],
                    indexes: [index("idx_message_analytics_server_time", "server_id", "timestamp"),
                              index("idx_message_analytics_channel_time", "channel_id", "timestamp")],
                    foreignKeys: [ForeignKey("channel_id", references: "channels", onDelete: .cascade)]),
        TableSchema("voice_analytics", columns: [id(), optionalID("server_id"), id("channel_id"), id("user_id"),
                                                 int("session_duration"), time("timestamp")],
                    primaryKey: ["id"],
                    indexes: [index("idx_voice_analytics_server_time", "server_id", "timestamp"),
                              index("idx_voice_analytics_channel_time", "channel_id", "timestamp")],
                    foreignKeys: [ForeignKey("channel_id", references: "channels", onDelete: .cascade)]),
    ]

    @Test("001: servers, channels, members; hourly message analytics over the last 24 hours; set NULL and cascades")
    func seed001() throws {
        let (directory, engine) = try database("seed001", Self.seed001)
        defer { directory.remove() }
        let now: Int64 = 1_700_000_000
        try engine.write { tx in
            for u in 1...3 as ClosedRange<UInt64> {
                try tx.insert(["id": .uint(u), "username": .text("u\(u)"), "discriminator": "0001", "display_name": .text("U\(u)")], into: "users")
            }
            try tx.insert(["id": .uint(100), "name": "CRYB", "owner_id": .uint(1)], into: "servers")
            try tx.insert(["id": .uint(200), "server_id": .uint(100), "name": "general"], into: "channels")
            try tx.insert(["id": .uint(201), "name": "dm"], into: "channels")
            for u in 1...3 as ClosedRange<UInt64> {
                try tx.insert(["server_id": .uint(100), "user_id": .uint(u)], into: "server_members")
                try tx.insert(["user_id": .uint(u), "status": u == 3 ? "OFFLINE" : "ONLINE"], into: "user_presence")
            }
            for i in 0..<48 as Range<UInt64> {
                try tx.insert(["id": .uint(i), "server_id": .uint(100), "channel_id": .uint(200), "user_id": .uint(i % 3 + 1),
                               "message_count": .int(Int64(i)), "character_count": 10, "timestamp": .timestamp(now - Int64(i) * 1800)],
                              into: "message_analytics")
            }
        }
        try engine.write { tx throws in
            #expect(throws: GuildStoreError.uniqueViolation(table: "server_members", index: "primary key", key: "(100u, 1u)")) {
                try tx.insert(["server_id": .uint(100), "user_id": .uint(1)], into: "server_members")
            }
            // Messages in the last 24 hours, from the (server_id, timestamp) index.
            let recent = try tx.rows("message_analytics", index: "idx_message_analytics_server_time", equals: [.uint(100)],
                                     from: .timestamp(now - 86_400 + 1), below: .timestamp(now + 1))
            #expect(recent.count == 48)
            #expect(Set(recent.map { $0["user_id"] }).count == 3)
            // The owner is protected (RESTRICT) while the server exists.
            #expect(throws: GuildStoreError.foreignKeyRestricted(table: "users", key: "(1u)", child: "servers")) {
                try tx.delete(from: "users", key: [.uint(1)])
            }
            #expect(try tx.delete(from: "users", key: [.uint(3)]))
            #expect(try tx.get("user_presence", key: [.uint(3)]) == nil)
            // Deleting the server keeps its channels as server-less (SET NULL) and drops memberships.
            #expect(try tx.delete(from: "servers", key: [.uint(100)]))
            #expect(try tx.get("channels", key: [.uint(200)])?["server_id"] == .null)
            #expect(try tx.rows("server_members").isEmpty)
            #expect(try tx.rows("channels", index: "idx_channels_server").isEmpty)
            // Deleting the channel drops its analytics.
            #expect(try tx.delete(from: "channels", key: [.uint(200)]))
            #expect(try tx.rows("message_analytics").isEmpty)
            #expect(try tx.delete(from: "users", key: [.uint(1)]))
        }
        try engine.close()
    }

    // MARK: Seed 002 (PostgreSQL / Prisma): users, magic links, sessions, accounts, posts

    static let seed002: [TableSchema] = [
        TableSchema("users", columns: [id(), text("email"), ColumnDefinition("role", .text, default: .value("USER")),
                                       flag("is_active", default: true), time("last_login_at", nullable: true), createdAt, updatedAt],
                    primaryKey: ["id"], indexes: [index("users_email_key", "email", unique: true)]),
        TableSchema("magic_links", columns: [id(), text("token"), text("email"), time("expires_at"), time("used_at", nullable: true),
                                             createdAt, optionalID("user_id")],
                    primaryKey: ["id"],
                    indexes: [index("magic_links_token_key", "token", unique: true), index("magic_links_expires_at_idx", "expires_at"),
                              IndexDefinition("magic_links_user_id_idx", on: ["user_id"], where: .isNotNull("user_id"))],
                    foreignKeys: [ForeignKey("user_id", references: "users", onDelete: .setNull)]),
        TableSchema("sessions", columns: [id(), text("access_token"), text("refresh_token"), time("expires_at"), createdAt, id("user_id")],
                    primaryKey: ["id"],
                    indexes: [index("sessions_access_token_key", "access_token", unique: true),
                              index("sessions_refresh_token_key", "refresh_token", unique: true),
                              index("sessions_expires_at_idx", "expires_at"), index("sessions_user_id_idx", "user_id")],
                    foreignKeys: [ForeignKey("user_id", references: "users", onDelete: .cascade)]),
        TableSchema("accounts", columns: [id(), id("user_id"), text("provider"), text("provider_account_id")],
                    primaryKey: ["id"],
                    indexes: [index("accounts_provider_key", "provider", "provider_account_id", unique: true),
                              index("accounts_user_id_idx", "user_id")],
                    foreignKeys: [ForeignKey("user_id", references: "users", onDelete: .cascade)]),
        TableSchema("posts", columns: [id(), text("title"), text("content"), flag("published", default: false), createdAt, updatedAt, id("author_id")],
                    primaryKey: ["id"],
                    indexes: [index("posts_author_id_idx", "author_id"), index("posts_published_created_at_idx", "published", "created_at")],
                    foreignKeys: [ForeignKey("author_id", references: "users", onDelete: .cascade)]),
    ]

    @Test("002: unique email and tokens; deleting a user cascades to sessions, accounts and posts; expired sessions by index")
    func seed002() throws {
        let (directory, engine) = try database("seed002", Self.seed002)
        defer { directory.remove() }
        let now: Int64 = 1_700_000_000
        try engine.write { tx in
            try tx.insert(["id": .uint(1), "email": "admin@example.com", "role": "ADMIN"], into: "users")
            try tx.insert(["id": .uint(2), "email": "user@example.com"], into: "users")
            for s in 0..<6 as Range<UInt64> {
                try tx.insert(["id": .uint(s), "access_token": .text("a\(s)"), "refresh_token": .text("r\(s)"),
                               "expires_at": .timestamp(now + (Int64(s) - 3) * 3600), "user_id": .uint(s % 2 + 1)], into: "sessions")
            }
            try tx.insert(["id": .uint(1), "user_id": .uint(1), "provider": "github", "provider_account_id": "42"], into: "accounts")
            try tx.insert(["id": .uint(1), "token": "t1", "email": "admin@example.com", "expires_at": .timestamp(now), "user_id": .uint(1)], into: "magic_links")
            try tx.insert(["id": .uint(1), "title": "Hello World", "content": "My first post", "author_id": .uint(1)], into: "posts")
        }
        try engine.write { tx throws in
            #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "users_email_key", key: #"("user@example.com")"#)) {
                try tx.insert(["id": .uint(3), "email": "user@example.com"], into: "users")
            }
            #expect(throws: GuildStoreError.uniqueViolation(table: "sessions", index: "sessions_access_token_key", key: #"("a1")"#)) {
                try tx.insert(["id": .uint(9), "access_token": "a1", "refresh_token": "r9", "expires_at": .timestamp(now), "user_id": .uint(1)], into: "sessions")
            }
            #expect(throws: GuildStoreError.foreignKeyViolation(table: "sessions", column: "user_id", value: "(7u)", parent: "users")) {
                try tx.insert(["id": .uint(9), "access_token": "a9", "refresh_token": "r9", "expires_at": .timestamp(now), "user_id": .uint(7)], into: "sessions")
            }
            // Expired sessions, from the expiry index; the retention cleanup deletes them.
            let expired = try tx.rows("sessions", index: "sessions_expires_at_idx", below: .timestamp(now))
            #expect(expired.map { $0["id"] } == [.uint(0), .uint(1), .uint(2)])
            #expect(try tx.delete(from: "sessions", where: { row in if case .timestamp(let t)? = row["expires_at"] { t < now } else { false } }) == 3)
            // Deleting the admin cascades; the magic link survives unlinked.
            #expect(try tx.delete(from: "users", key: [.uint(1)]))
            #expect(try tx.rows("sessions").map { $0["user_id"] } == [.uint(2), .uint(2)])
            #expect(try tx.rows("accounts").isEmpty)
            #expect(try tx.rows("posts").isEmpty)
            #expect(try tx.get("magic_links", key: [.uint(1)])?["user_id"] == .null)
            try tx.insert(["id": .uint(3), "email": "admin@example.com"], into: "users")  // the email is free again
        }
        try engine.close()
    }

    // MARK: Seed 003 (SQLite / Peewee): the reminder bot

    static let seed003: [TableSchema] = [
        TableSchema("guild", columns: [id("guild_id"), text("name"), ColumnDefinition("settings", .json, default: .value(.json("{}"))), createdAt, updatedAt],
                    primaryKey: ["guild_id"]),
        TableSchema("user", columns: [id(), id("user_id"), id("guild_id"), text("username"), flag("is_bot", default: false),
                                      time("last_seen", nullable: true), createdAt, updatedAt],
                    primaryKey: ["id"], indexes: [index("user_guild_user", "guild_id", "user_id", unique: true)],
                    foreignKeys: [ForeignKey("guild_id", references: "guild", onDelete: .cascade)]),
        // Peewee's default: no ON DELETE action, so a guild with events cannot be deleted.
        TableSchema("event", columns: [id(), id("message_id"), id("channel_id"), id("guild_id"), text("title"), text("description", nullable: true),
                                       int("interval_minutes", default: 60), flag("is_paused", default: false), time("last_reminder", nullable: true),
                                       ColumnDefinition("required_reactions", .json, default: .value(.json("[]"))), createdAt, updatedAt],
                    primaryKey: ["id"],
                    indexes: [index("event_message_id", "message_id", unique: true), index("event_guild_id", "guild_id"),
                              index("event_due", "is_paused", "last_reminder")],
                    foreignKeys: [ForeignKey("guild_id", references: "guild", onDelete: .restrict)]),
        TableSchema("reaction", columns: [id(), id("event_id"), id("user_id"), text("emoji"), time("reacted_at"), createdAt, updatedAt],
                    primaryKey: ["id"], indexes: [index("reaction_event_user_emoji", "event_id", "user_id", "emoji", unique: true)],
                    foreignKeys: [ForeignKey("event_id", references: "event", onDelete: .cascade)]),
        TableSchema("reminderlog", columns: [id(), id("event_id"), time("scheduled_at"), time("sent_at", nullable: true),
                                             int("users_notified", default: 0), ColumnDefinition("status", .text, default: .value("pending")),
                                             text("error_message", nullable: true), createdAt, updatedAt],
                    primaryKey: ["id"],
                    indexes: [index("reminderlog_event_scheduled", "event_id", "scheduled_at"), index("reminderlog_status_scheduled", "status", "scheduled_at")],
                    foreignKeys: [ForeignKey("event_id", references: "event", onDelete: .cascade)]),
    ]

    @Test("003: events, reactions, reminder logs; due reminders by index; RESTRICT guild, CASCADE event")
    func seed003() throws {
        let (directory, engine) = try database("seed003", Self.seed003)
        defer { directory.remove() }
        let now: Int64 = 1_700_000_000
        try engine.write { tx in
            try tx.insert(["guild_id": .uint(123456789), "name": "My Discord Server", "settings": .json(#"{"auto_delete": true}"#)], into: "guild")
            try tx.insert(["id": .uint(1), "user_id": .uint(42), "guild_id": .uint(123456789), "username": "ada"], into: "user")
            for e in 1...3 as ClosedRange<UInt64> {
                try tx.insert(["id": .uint(e), "message_id": .uint(987654321 + e), "channel_id": .uint(555666777), "guild_id": .uint(123456789),
                               "title": .text("Weekly Team Meeting \(e)"), "interval_minutes": 1440, "is_paused": .bool(e == 3),
                               "last_reminder": .timestamp(now - Int64(e) * 86_400)], into: "event")
                try tx.insert(["id": .uint(e), "event_id": .uint(e), "user_id": .uint(42), "emoji": "✅", "reacted_at": .timestamp(now)], into: "reaction")
                try tx.insert(["id": .uint(e), "event_id": .uint(e), "scheduled_at": .timestamp(now)], into: "reminderlog")
            }
        }
        try engine.write { tx throws in
            #expect(throws: GuildStoreError.uniqueViolation(table: "event", index: "event_message_id", key: "(987654322u)")) {
                try tx.insert(["id": .uint(9), "message_id": .uint(987654322), "channel_id": .uint(1), "guild_id": .uint(123456789), "title": "dupe"], into: "event")
            }
            #expect(throws: GuildStoreError.uniqueViolation(table: "reaction", index: "reaction_event_user_emoji", key: #"(1u, 42u, "✅")"#)) {
                try tx.insert(["id": .uint(9), "event_id": .uint(1), "user_id": .uint(42), "emoji": "✅", "reacted_at": .timestamp(now)], into: "reaction")
            }
            // Due reminders: unpaused events whose last reminder is over a day old.
            let due = try tx.rows("event", index: "event_due", equals: [false], below: .timestamp(now - 86_400 + 1))
            #expect(due.map { $0["id"] } == [.uint(2), .uint(1)])
            #expect(try tx.rows("reminderlog", index: "reminderlog_status_scheduled", equals: ["pending"]).count == 3)
            #expect(throws: GuildStoreError.foreignKeyRestricted(table: "guild", key: "(123456789u)", child: "event")) {
                try tx.delete(from: "guild", key: [.uint(123456789)])
            }
            #expect(try tx.get("user", key: [.uint(1)]) != nil)
            #expect(try tx.delete(from: "event", key: [.uint(1)]))
            #expect(try tx.rows("reaction", index: "reaction_event_user_emoji", equals: [.uint(1)]).isEmpty)
            #expect(try tx.rows("reminderlog").map { $0["event_id"] } == [.uint(2), .uint(3)])
            #expect(try tx.delete(from: "event", where: { _ in true }) == 2)
            #expect(try tx.delete(from: "guild", key: [.uint(123456789)]))
            #expect(try tx.rows("user").isEmpty && tx.rows("reaction").isEmpty && tx.rows("reminderlog").isEmpty)
        }
        try engine.close()
    }
}
