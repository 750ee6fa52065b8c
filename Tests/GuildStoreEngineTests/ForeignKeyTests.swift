import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Foreign keys: parents must exist (FK-1), deletes cascade / restrict / set NULL all-or-nothing
/// (FK-2), a referenced primary key does not move (FK-3).
@Suite("Foreign keys")
struct ForeignKeyTests {
    static let guilds = TableSchema(
        "guilds", columns: [ColumnDefinition("id", .uint), ColumnDefinition("name", .text)], primaryKey: ["id"])
    static let channels = TableSchema(
        "channels",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("name", .text)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("idx_channels_guild_id", on: ["guild_id"])],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade)])
    /// Two routes from a guild: directly and through its channel; no index on guild_id (scan).
    static let messages = TableSchema(
        "messages",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("channel_id", .uint),
                  ColumnDefinition("created_at", .timestamp)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("idx_messages_channel_time", on: ["channel_id", "created_at"], descending: [false, true])],
        foreignKeys: [ForeignKey("guild_id", references: "guilds", onDelete: .cascade),
                      ForeignKey("channel_id", references: "channels", onDelete: .cascade)])
    static let pins = TableSchema(
        "pins",
        columns: [ColumnDefinition("message_id", .uint), ColumnDefinition("note", .text, nullable: true)],
        primaryKey: ["message_id"],
        foreignKeys: [ForeignKey("message_id", references: "messages", onDelete: .restrict)])
    static let bookmarks = TableSchema(
        "bookmarks",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("channel_id", .uint, nullable: true)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("idx_bookmarks_channel", on: ["channel_id"], where: .isNotNull("channel_id"))],
        foreignKeys: [ForeignKey("channel_id", references: "channels", onDelete: .setNull)])

    func open(_ name: String) throws -> (TemporaryDirectory, StorageEngine) {
        let directory = try TemporaryDirectory(name)
        let engine = try StorageEngine.open(path: directory.file("fk.gsdb"))
        try engine.write { tx in
            for schema in [Self.guilds, Self.channels, Self.messages, Self.pins, Self.bookmarks] { try tx.createTable(schema) }
            for g in 1...2 as ClosedRange<UInt64> {
                try tx.insert(["id": .uint(g), "name": .text("g\(g)")], into: "guilds")
                for c in 0..<2 as Range<UInt64> {
                    let channel = g * 10 + c
                    try tx.insert(["id": .uint(channel), "guild_id": .uint(g), "name": "c"], into: "channels")
                    for m in 0..<3 as Range<UInt64> {
                        try tx.insert(["id": .uint(channel * 10 + m), "guild_id": .uint(g), "channel_id": .uint(channel),
                                       "created_at": .timestamp(Int64(m))], into: "messages")
                    }
                    try tx.insert(["id": .uint(channel), "channel_id": .uint(channel)], into: "bookmarks")
                }
            }
        }
        return (directory, engine)
    }

    @Test("lookups: primary-key prefix, a leading index, an IS NOT NULL partial index, else a scan")
    func lookups() {
        #expect(Self.channels.childLookup(for: Self.channels.foreignKeys[0]) == .index("idx_channels_guild_id"))
        #expect(Self.messages.childLookup(for: Self.messages.foreignKeys[0]) == .scan)
        #expect(Self.messages.childLookup(for: Self.messages.foreignKeys[1]) == .index("idx_messages_channel_time"))
        #expect(Self.pins.childLookup(for: Self.pins.foreignKeys[0]) == .primaryKey)
        #expect(Self.bookmarks.childLookup(for: Self.bookmarks.foreignKeys[0]) == .index("idx_bookmarks_channel"))
    }

    @Test("a parent found once and then deleted in the same transaction is looked for again (F4)")
    func parentsFoundAreForgottenOnDelete() throws {
        let (directory, engine) = try open("fk-known-parents")
        defer { directory.remove() }
        // In one transaction: a channel of guild 1 finds its parent, guild 1 is deleted (with
        // its channels), and a new channel naming guild 1 must be refused.
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in
                try tx.insert(["id": .uint(900), "guild_id": .uint(1), "name": "new"], into: "channels")
                try tx.delete(from: "guilds", key: [.uint(1)])
                try tx.insert(["id": .uint(901), "guild_id": .uint(1), "name": "late"], into: "channels")
            }
        }
        // The same through a tree-level delete of the guild's row, bypassing the table layer.
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in
                try tx.insert(["id": .uint(902), "guild_id": .uint(2), "name": "new"], into: "channels")
                let rows = try #require(try tx.tree("table:guilds"))
                let deleted = try tx.delete(TupleEncoding.encode([.uint(2)]), in: rows)
                #expect(deleted)
                try tx.insert(["id": .uint(903), "guild_id": .uint(2), "name": "late"], into: "channels")
            }
        }
        // Both transactions rolled back: the guilds and their channels are all there.
        try engine.read { tx in
            let (guilds, channels) = (try tx.count("guilds"), try tx.count("channels"))
            #expect(guilds == 2 && channels == 4)
        }
        try engine.close()
    }

    @Test("parents found are carried to the next transaction, but not past a later delete or out of a rollback (F4)")
    func parentsFoundAcrossTransactions() throws {
        let (directory, engine) = try open("fk-known-across")
        defer { directory.remove() }
        // Guild 1 is found and committed; a later transaction removes its row at the tree level
        // (no cascade, no restrict); the one after must look for guild 1 again and refuse.
        try engine.write { tx in try tx.insert(["id": .uint(900), "guild_id": .uint(1), "name": "new"], into: "channels") }
        try engine.write { tx in
            let rows = try #require(try tx.tree("table:guilds"))
            #expect(try tx.delete(TupleEncoding.encode([.uint(1)]), in: rows))
        }
        #expect(throws: GuildStoreError.foreignKeyViolation(table: "channels", column: "guild_id", value: "(1u)", parent: "guilds")) {
            try engine.write { tx in try tx.insert(["id": .uint(901), "guild_id": .uint(1), "name": "late"], into: "channels") }
        }
        // Guild 3 is made and found by a transaction that then rolls back: gone, and not known.
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try engine.write { tx in
                try tx.insert(["id": .uint(3), "name": .text("g3")], into: "guilds")
                try tx.insert(["id": .uint(902), "guild_id": .uint(3), "name": "new"], into: "channels")
                throw Abandon()
            }
        }
        #expect(throws: GuildStoreError.foreignKeyViolation(table: "channels", column: "guild_id", value: "(3u)", parent: "guilds")) {
            try engine.write { tx in try tx.insert(["id": .uint(903), "guild_id": .uint(3), "name": "late"], into: "channels") }
        }
        // Guild 2, found by a committed transaction, is known to the next one without a lookup.
        try engine.write { tx in try tx.insert(["id": .uint(904), "guild_id": .uint(2), "name": "new"], into: "channels") }
        try engine.write { tx in
            #expect(tx.knownParents.contains(table: "guilds", id: 2))
            #expect(!tx.knownParents.contains(table: "channels", id: 2))
            try tx.insert(["id": .uint(905), "guild_id": .uint(2), "name": "next"], into: "channels")
        }
        try engine.read { tx throws in #expect(try tx.count("channels") == 7) }
        try engine.close()
    }

    @Test("a parent found in one table does not stand for the same id in another (F4 keeps parents by table and id)")
    func knownParentsAreKeptPerTable() throws {
        let (directory, engine) = try open("fk-known-per-table")
        defer { directory.remove() }
        try engine.write { tx in
            // Guild 1 and channel 10 are found and kept.
            try tx.insert(["id": .uint(500), "guild_id": .uint(1), "channel_id": .uint(10), "created_at": .timestamp(0)], into: "messages")
            // Guild 10 does not exist, though channel 10, with the same id, was just found.
            #expect(throws: GuildStoreError.foreignKeyViolation(table: "messages", column: "guild_id", value: "(10u)", parent: "guilds")) {
                try tx.insert(["id": .uint(501), "guild_id": .uint(10), "channel_id": .uint(10), "created_at": .timestamp(0)], into: "messages")
            }
            // Channel 1 does not exist, though guild 1 was found.
            #expect(throws: GuildStoreError.foreignKeyViolation(table: "messages", column: "channel_id", value: "(1u)", parent: "channels")) {
                try tx.insert(["id": .uint(502), "guild_id": .uint(1), "channel_id": .uint(1), "created_at": .timestamp(0)], into: "messages")
            }
        }
        try engine.read { tx throws in #expect(try tx.count("messages") == 13) }
        try engine.close()
    }

    @Test("a parent of several key columns found in one table does not stand for the same key in another")
    func knownCompositeParentsAreKeptPerTable() throws {
        func room(_ name: String) -> TableSchema {
            TableSchema(name, columns: [ColumnDefinition("guild_id", .uint), ColumnDefinition("number", .int)],
                        primaryKey: ["guild_id", "number"])
        }
        let seats = TableSchema(
            "seats",
            columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("number", .int),
                      ColumnDefinition("spare_number", .int)],
            primaryKey: ["id"],
            foreignKeys: [ForeignKey(["guild_id", "number"], references: "rooms"),
                          ForeignKey(["guild_id", "spare_number"], references: "spare_rooms")])
        let directory = try TemporaryDirectory("fk-known-composite")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("fk.gsdb"))
        try engine.write { tx in
            for schema in [room("rooms"), room("spare_rooms"), seats] { try tx.createTable(schema) }
            try tx.insert(["guild_id": .uint(1), "number": .int(7)], into: "rooms")
            try tx.insert(["guild_id": .uint(1), "number": .int(8)], into: "spare_rooms")
            // Room (1, 7) and spare room (1, 8) are found and kept.
            try tx.insert(["id": .uint(1), "guild_id": .uint(1), "number": .int(7), "spare_number": .int(8)], into: "seats")
            // Spare room (1, 7) does not exist, though room (1, 7), with the same key, was just found.
            #expect(throws: GuildStoreError.foreignKeyViolation(table: "seats", column: "guild_id, spare_number",
                                                                 value: "(1u, 7)", parent: "spare_rooms")) {
                try tx.insert(["id": .uint(2), "guild_id": .uint(1), "number": .int(7), "spare_number": .int(7)], into: "seats")
            }
            // Room (1, 8) does not exist, though spare room (1, 8) was found.
            #expect(throws: GuildStoreError.foreignKeyViolation(table: "seats", column: "guild_id, number",
                                                                 value: "(1u, 8)", parent: "rooms")) {
                try tx.insert(["id": .uint(3), "guild_id": .uint(1), "number": .int(8), "spare_number": .int(8)], into: "seats")
            }
            try tx.insert(["id": .uint(4), "guild_id": .uint(1), "number": .int(7), "spare_number": .int(8)], into: "seats")
        }
        try engine.read { tx throws in #expect(try tx.count("seats") == 2) }
        try engine.close()
    }

    @Test("a row naming a missing parent is refused with the table, column and value; NULL references nothing")
    func missingParent() throws {
        let (directory, engine) = try open("fk-parent")
        defer { directory.remove() }
        #expect(throws: GuildStoreError.foreignKeyViolation(table: "channels", column: "guild_id", value: "(9u)", parent: "guilds")) {
            try engine.write { tx in try tx.insert(["id": .uint(99), "guild_id": .uint(9), "name": "x"], into: "channels") }
        }
        #expect(throws: GuildStoreError.foreignKeyViolation(table: "messages", column: "channel_id", value: "(77u)", parent: "channels")) {
            try engine.write { tx in try tx.update("messages", key: [.uint(100)], set: ["channel_id": .uint(77)]) }
        }
        try engine.write { tx throws in
            #expect(try tx.get("channels", key: [.uint(99)]) == nil)
            #expect(try tx.get("messages", key: [.uint(100)])?["channel_id"] == .uint(10))
            // NULL references nothing; a real parent passes; so does an upsert that keeps it.
            try tx.insert(["id": .uint(500), "channel_id": nil], into: "bookmarks")
            try tx.insert(["id": .uint(500), "channel_id": .uint(11)], into: "bookmarks", onConflict: .replace)
            #expect(try tx.update("messages", key: [.uint(100)], set: ["channel_id": .uint(11)]))
        }
        try engine.close()
    }

    @Test("deleting a guild cascades through channels to messages and clears bookmarks, in one statement")
    func cascade() throws {
        let (directory, engine) = try open("fk-cascade")
        defer { directory.remove() }
        try engine.write { tx throws in
            #expect(try tx.delete(from: "guilds", key: [.uint(1)]))
            #expect(try tx.rows("channels").map { $0["guild_id"] } == [.uint(2), .uint(2)])
            #expect(try tx.rows("messages").count == 6)
            #expect(try tx.rows("messages").allSatisfy { $0["guild_id"] == .uint(2) })
            #expect(try tx.rows("channels", index: "idx_channels_guild_id", equals: [.uint(1)]).isEmpty)
            #expect(try tx.rows("messages", index: "idx_messages_channel_time", equals: [.uint(10)]).isEmpty)
            // setNull: the bookmarks survive, unlinked, and leave the partial index.
            #expect(try tx.get("bookmarks", key: [.uint(10)])?["channel_id"] == .null)
            #expect(try tx.rows("bookmarks", index: "idx_bookmarks_channel").map { $0["id"] } == [.uint(20), .uint(21)])
        }
        try engine.close()
    }

    @Test("a restricting child refuses the delete and nothing at all is deleted; deleting it first lets it through")
    func restrict() throws {
        let (directory, engine) = try open("fk-restrict")
        defer { directory.remove() }
        _ = try engine.write { tx in try tx.insert(["message_id": .uint(211), "note": "keep"], into: "pins") }
        #expect(throws: GuildStoreError.foreignKeyRestricted(table: "messages", key: "(211u)", child: "pins")) {
            try engine.write { tx in try tx.delete(from: "guilds", key: [.uint(2)]) }
        }
        // Inside one transaction, the refused statement leaves no trace either.
        try engine.write { tx throws in
            #expect(throws: GuildStoreError.foreignKeyRestricted(table: "messages", key: "(211u)", child: "pins")) {
                try tx.delete(from: "channels", key: [.uint(21)])
            }
            #expect(try tx.rows("messages").count == 12)
            #expect(try tx.rows("channels").count == 4)
            #expect(try tx.get("bookmarks", key: [.uint(21)])?["channel_id"] == .uint(21))
            #expect(try tx.delete(from: "pins", where: { _ in true }) == 1)
            #expect(try tx.delete(from: "guilds", where: { $0["id"] == .uint(2) }) == 1)
            #expect(try tx.rows("messages").count == 6)
        }
        try engine.close()
    }

    @Test("a referenced primary key cannot move; an unreferenced one can")
    func rekey() throws {
        let (directory, engine) = try open("fk-rekey")
        defer { directory.remove() }
        #expect(throws: GuildStoreError.foreignKeyRestricted(table: "guilds", key: "(1u)", child: "channels")) {
            try engine.write { tx in try tx.update("guilds", key: [.uint(1)], set: ["id": .uint(3)]) }
        }
        try engine.write { tx throws in
            try tx.insert(["id": .uint(7), "name": "empty"], into: "guilds")
            #expect(try tx.update("guilds", key: [.uint(7)], set: ["id": .uint(8)]))
        }
        try engine.close()
    }

    @Test("foreign keys persist; a catalog entry written before them decodes with none; bad references are refused")
    func persistence() throws {
        let directory = try TemporaryDirectory("fk-persist")
        defer { directory.remove() }
        let path = directory.file("fk.gsdb")
        do {
            let engine = try StorageEngine.open(path: path)
            try engine.write { tx in
                try tx.createTable(Self.guilds)
                try tx.createTable(Self.channels)
            }
            try engine.close()
        }
        let engine = try StorageEngine.open(path: path)
        try engine.read { tx throws in #expect(try tx.table("channels").foreignKeys == Self.channels.foreignKeys) }

        let old = #"{"name":"t","columns":[{"name":"a","type":1,"nullable":false,"updatedAtNow":false}],"primaryKey":["a"],"indexes":[]}"#
        let decoded = try JSONDecoder().decode(TableSchema.self, from: Data(old.utf8))
        #expect(decoded.foreignKeys.isEmpty && decoded.primaryKey == ["a"])

        try engine.write { tx throws in
            #expect(throws: GuildStoreError.self) {
                try tx.createTable(TableSchema("x", columns: [ColumnDefinition("id", .uint), ColumnDefinition("g", .uint)],
                                               primaryKey: ["id"], foreignKeys: [ForeignKey("g", references: "nope")]))
            }
            #expect(throws: GuildStoreError.columnTypeMismatch(table: "y", column: "g", expected: "uint (guilds's primary key)", found: "int")) {
                try tx.createTable(TableSchema("y", columns: [ColumnDefinition("id", .uint), ColumnDefinition("g", .int)],
                                               primaryKey: ["id"], foreignKeys: [ForeignKey("g", references: "guilds")]))
            }
            #expect(throws: GuildStoreError.self) {
                try tx.createTable(TableSchema("z", columns: [ColumnDefinition("id", .uint), ColumnDefinition("g", .uint)],
                                               primaryKey: ["id"], foreignKeys: [ForeignKey("g", references: "guilds", onDelete: .setNull)]))
            }
            #expect(try tx.tables().map(\.name) == ["channels", "guilds"])
        }
        try engine.close()
    }

    @Test("a self-reference: a row may name itself; deleting the root cascades down the chain")
    func selfReference() throws {
        let directory = try TemporaryDirectory("fk-self")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("fk.gsdb"))
        let categories = TableSchema(
            "categories", columns: [ColumnDefinition("id", .uint), ColumnDefinition("parent_id", .uint, nullable: true)],
            primaryKey: ["id"], foreignKeys: [ForeignKey("parent_id", references: "categories", onDelete: .cascade)])
        try engine.write { tx throws in
            try tx.createTable(categories)
            try tx.insert(["id": .uint(1), "parent_id": .uint(1)], into: "categories")
            for id in 2...5 as ClosedRange<UInt64> { try tx.insert(["id": .uint(id), "parent_id": .uint(id - 1)], into: "categories") }
            try tx.insert(["id": .uint(9)], into: "categories")
            #expect(try tx.delete(from: "categories", key: [.uint(1)]))
            #expect(try tx.rows("categories").map { $0["id"] } == [.uint(9)])
        }
        try engine.close()
    }
}
