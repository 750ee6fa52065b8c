import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Tables, typed rows, and secondary / composite / unique / partial indexes kept in step.
@Suite("Tables and indexes")
struct TableTests {
    /// Seed 004's message_events with its four secondary indexes (ids as UInt64 snowflakes).
    static let messageEvents = TableSchema(
        "message_events",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("channel_id", .uint),
            ColumnDefinition("user_id", .uint),
            ColumnDefinition("message_id", .uint),
            ColumnDefinition("character_count", .int, default: .value(.int(0))),
            ColumnDefinition("has_attachment", .bool, default: .value(.bool(false))),
            ColumnDefinition("created_at", .timestamp),
        ],
        primaryKey: ["id"],
        indexes: [
            IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
            IndexDefinition("by_user_created", on: ["user_id", "created_at"]),
            IndexDefinition("by_channel_created", on: ["channel_id", "created_at"]),
            IndexDefinition("by_created", on: ["created_at"], descending: [true]),
        ])

    /// Seed 002's users (unique email) and seed 000's guilds (partial index on active ones).
    static let users = TableSchema(
        "users",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("email", .text),
            ColumnDefinition("name", .text, nullable: true),
            ColumnDefinition("created_at", .timestamp, default: .now),
            ColumnDefinition("updated_at", .timestamp, default: .now, updatedAtNow: true),
        ],
        primaryKey: ["id"],
        indexes: [IndexDefinition("email_unique", on: ["email"], unique: true)])

    static let guilds = TableSchema(
        "guilds",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("name", .text),
            ColumnDefinition("is_active", .bool, default: .value(.bool(true))),
            ColumnDefinition("created_at", .timestamp),
        ],
        primaryKey: ["id"],
        indexes: [IndexDefinition("active_by_created", on: ["created_at"], descending: [true],
                                  where: .equals("is_active", .bool(true)))])

    @Test("a schema survives reopen; insert, get, update, delete by primary key")
    func basics() throws {
        let directory = try TemporaryDirectory("tables")
        defer { directory.remove() }
        let path = directory.file("t.gsdb")
        do {
            let engine = try StorageEngine.open(path: path)
            try engine.write { tx in
                try tx.createTable(Self.users)
                try tx.insert(["id": .uint(1), "email": "a@example.com", "name": "Ada"], into: "users")
            }
            try engine.close()
        }
        let engine = try StorageEngine.open(path: path)
        try engine.write { tx throws in
            #expect(try tx.tables().map(\.name) == ["users"])
            let row = try #require(try tx.get("users", key: [.uint(1)]))
            #expect(row["email"] == "a@example.com")
            #expect(row["created_at"]?.columnType == .timestamp)
            #expect(try tx.update("users", key: [.uint(1)], set: ["name": "Ada L."]))
            #expect(try tx.get("users", key: [.uint(1)])?["name"] == "Ada L.")
            #expect(try tx.update("users", key: [.uint(2)], set: ["name": "nobody"]) == false)
            #expect(try tx.delete(from: "users", key: [.uint(1)]))
            #expect(try tx.get("users", key: [.uint(1)]) == nil)
            #expect(try tx.rows("users", index: "email_unique").isEmpty)
        }
        try engine.close()
    }

    @Test("bad input gives typed errors naming the table and column, and writes nothing")
    func badInput() throws {
        let directory = try TemporaryDirectory("tables-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        try engine.write { tx throws in
            try tx.createTable(Self.users)
            #expect(throws: GuildStoreError.unknownTable("nope")) { try tx.insert(["id": .uint(1)], into: "nope") }
            #expect(throws: GuildStoreError.unknownColumn(table: "users", column: "mail")) {
                try tx.insert(["id": .uint(1), "mail": "x"], into: "users")
            }
            #expect(throws: GuildStoreError.missingValue(table: "users", column: "email")) { try tx.insert(["id": .uint(1)], into: "users") }
            #expect(throws: GuildStoreError.columnTypeMismatch(table: "users", column: "email", expected: "text", found: "int")) {
                try tx.insert(["id": .uint(1), "email": .int(5)], into: "users")
            }
            #expect(throws: GuildStoreError.tableAlreadyExists("users")) { try tx.createTable(Self.users) }
            #expect(throws: GuildStoreError.self) {
                try tx.createTable(TableSchema("broken", columns: [ColumnDefinition("a", .int)], primaryKey: ["b"]))
            }
            #expect(try tx.rows("users").isEmpty)
        }
        try engine.close()
    }

    /// `insert` matches each row's names to columns against the previous row's order: rows
    /// whose dictionaries iterate in different orders, give different columns, or name a
    /// column the table lacks must each be stored column by column.
    @Test("rows named in any order, with any columns left out, are stored column by column; an unknown name is refused between them")
    func rowsByNameInAnyOrder() throws {
        let directory = try TemporaryDirectory("tables-names")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        defer { try? engine.close() }
        var random = SplitMix64(seed: 0x0_4de5)
        // Per id: the name given (nil: left out) and the times given (nil: the insert's time).
        var given: [UInt64: (name: Value?, times: (Int64, Int64)?)] = [:]
        let before = Int64(Date().timeIntervalSince1970)
        try engine.write { tx in
            try tx.createTable(Self.users)
            for i in 1...600 as ClosedRange<UInt64> {
                var pairs: [(String, Value)] = [("id", .uint(i)), ("email", .text("u\(i)@example.com"))]
                var name: Value?
                var times: (Int64, Int64)?
                switch Int.random(in: 0..<4, using: &random) {
                case 0: name = .text("n\(i)")
                case 1: name = .null
                case 2: (name, times) = (.text("all\(i)"), (Int64(i), Int64(i) + 7))
                default: break
                }
                if let name { pairs.append(("name", name)) }
                if let times { pairs += [("created_at", .timestamp(times.0)), ("updated_at", .timestamp(times.1))] }
                pairs.shuffle(using: &random)
                let values = Dictionary(uniqueKeysWithValues: pairs)
                if i % 50 == 0 {
                    #expect(throws: GuildStoreError.unknownColumn(table: "users", column: "mail")) {
                        try tx.insert(values.merging(["mail": .text("x")]) { a, _ in a }, into: "users")
                    }
                }
                try tx.insert(values, into: "users")
                given[i] = (name, times)
            }
        }
        let after = Int64(Date().timeIntervalSince1970)
        try engine.read { tx in
            #expect(try tx.count("users") == 600)
            for (id, (name, times)) in given {
                let row = try #require(try tx.get("users", key: [.uint(id)]))
                #expect(row["email"] == .text("u\(id)@example.com"))
                #expect(row["name"] == name ?? .null, "user \(id)")
                for (column, expected) in [("created_at", times?.0), ("updated_at", times?.1)] {
                    guard case .timestamp(let t)? = row[column] else {
                        Issue.record("user \(id): \(column) is \(String(describing: row[column]))")
                        continue
                    }
                    if let expected { #expect(t == expected, "user \(id) \(column)") } else { #expect((before...after).contains(t), "user \(id) \(column)") }
                }
            }
        }
    }

    @Test("unique index: a duplicate is a typed error and changes nothing; insert-or-ignore and upsert")
    func uniqueAndConflicts() throws {
        let directory = try TemporaryDirectory("tables-unique")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.users)
            try tx.insert(["id": .uint(1), "email": "a@example.com"], into: "users")
            try tx.insert(["id": .uint(2), "email": "b@example.com"], into: "users")
        }
        #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "email_unique", key: #"("a@example.com")"#)) {
            try engine.write { tx in try tx.insert(["id": .uint(3), "email": "a@example.com"], into: "users") }
        }
        #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "email_unique", key: #"("a@example.com")"#)) {
            try engine.write { tx in try tx.update("users", key: [.uint(2)], set: ["email": "a@example.com"]) }
        }
        #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "primary key", key: "(1u)")) {
            try engine.write { tx in try tx.insert(["id": .uint(1), "email": "z@example.com"], into: "users") }
        }
        try engine.write { tx throws in
            #expect(try tx.insert(["id": .uint(1), "email": "c@example.com"], into: "users", onConflict: .ignore) == false)
            #expect(try tx.get("users", key: [.uint(1)])?["email"] == "a@example.com")
            // Updating a row to its own unique key is no conflict.
            #expect(try tx.update("users", key: [.uint(1)], set: ["email": "a@example.com", "name": "A"]))
            #expect(try tx.insert(["id": .uint(1), "email": "c@example.com"], into: "users", onConflict: .replace))
            #expect(try tx.get("users", key: [.uint(1)])?["email"] == "c@example.com")
            #expect(try tx.rows("users", index: "email_unique", equals: ["a@example.com"]).isEmpty)
            #expect(try tx.rows("users", index: "email_unique", equals: ["c@example.com"]).map { $0["id"] } == [.uint(1)])
        }
        try engine.close()
    }

    @Test("partial index holds only matching rows, and follows updates")
    func partialIndex() throws {
        let directory = try TemporaryDirectory("tables-partial")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.guilds)
            for i in 0..<20 as Range<UInt64> {
                try tx.insert(["id": .uint(i), "name": .text("g\(i)"), "is_active": .bool(i % 3 != 0),
                               "created_at": .timestamp(1_700_000_000 + Int64(i))], into: "guilds")
            }
        }
        try engine.write { tx throws in
            let active = try tx.rows("guilds", index: "active_by_created", limit: 5).map { $0["id"] }
            #expect(active == [.uint(19), .uint(17), .uint(16), .uint(14), .uint(13)])
            try tx.update("guilds", key: [.uint(19)], set: ["is_active": .bool(false)])
            try tx.update("guilds", key: [.uint(18)], set: ["is_active": .bool(true)])
            let after = try tx.rows("guilds", index: "active_by_created", limit: 2).map { $0["id"] }
            #expect(after == [.uint(18), .uint(17)])
            #expect(try tx.rows("guilds", index: "active_by_created").count == 13)
        }
        try engine.close()
    }

    @Test("index range scans: equality prefix plus a half-open time range, both directions")
    func rangeScans() throws {
        let directory = try TemporaryDirectory("tables-range")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.messageEvents)
            for i in 0..<1_000 as Range<UInt64> {
                try tx.insert(["id": .uint(10_000 + i), "guild_id": .uint(i % 4), "channel_id": .uint(i % 10), "user_id": .uint(i % 7),
                               "message_id": .uint(i), "character_count": .int(Int64(i % 50)),
                               "created_at": .timestamp(1_000 + Int64(i))], into: "message_events")
            }
        }
        try engine.read { tx throws in
            let rows = try tx.rows("message_events", index: "by_guild_created", equals: [.uint(2)],
                                   from: .timestamp(1_100), below: .timestamp(1_200))
            let expected = (100..<200).filter { $0 % 4 == 2 }.map { Value.uint(10_000 + UInt64($0)) }
            #expect(rows.map { $0["id"] } == expected)
            let reversed = try tx.rows("message_events", index: "by_guild_created", equals: [.uint(2)],
                                       from: .timestamp(1_100), below: .timestamp(1_200), reverse: true)
            #expect(reversed.map { $0["id"] } == expected.reversed())
            // The descending index: newest first, bounded both ways.
            let newest = try tx.rows("message_events", index: "by_created", from: .timestamp(1_990), below: .timestamp(1_995))
            #expect(newest.map { $0["created_at"] } == (1_990..<1_995).reversed().map { Value.timestamp(Int64($0)) })
            let all = try tx.rows("message_events", index: "by_created", below: .timestamp(1_003))
            #expect(all.map { $0["created_at"] } == [.timestamp(1_002), .timestamp(1_001), .timestamp(1_000)])
            #expect(throws: GuildStoreError.self) {
                _ = try tx.rows("message_events", index: "by_guild_created", equals: [.text("not an id")])
            }
        }
        try engine.close()
    }

    @Test("index consistency: after random inserts, updates and deletes every index holds exactly what the rows imply")
    func indexConsistency() throws {
        let directory = try TemporaryDirectory("tables-consistency")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        let schema = TableSchema(
            "members",
            columns: [
                ColumnDefinition("guild_id", .uint),
                ColumnDefinition("user_id", .uint),
                ColumnDefinition("nickname", .text, nullable: true),
                ColumnDefinition("joined_at", .timestamp),
                ColumnDefinition("is_bot", .bool),
                ColumnDefinition("score", .double),
            ],
            primaryKey: ["guild_id", "user_id"],
            indexes: [
                IndexDefinition("by_joined", on: ["guild_id", "joined_at"], descending: [false, true]),
                IndexDefinition("nickname_unique", on: ["guild_id", "nickname"], unique: true),
                IndexDefinition("humans", on: ["score"], where: .equals("is_bot", .bool(false)), including: ["nickname"]),
            ])
        try engine.write { tx in try tx.createTable(schema) }
        var generator = SplitMix64(seed: 2026)
        var model: [[Value]: [Value]] = [:]  // primary key -> row
        for round in 0..<40 {
            try engine.write { tx in
                for _ in 0..<100 {
                    let guild = UInt64.random(in: 0..<3, using: &generator), user = UInt64.random(in: 0..<60, using: &generator)
                    let key: [Value] = [.uint(guild), .uint(user)]
                    let nickname: Value = Bool.random(using: &generator) ? .null : .text("nick\(UInt64.random(in: 0..<40, using: &generator))")
                    switch UInt64.random(in: 0..<10, using: &generator) {
                    case 0..<5:
                        let row: [Value] = [.uint(guild), .uint(user), nickname, .timestamp(Int64.random(in: 0..<1_000, using: &generator)),
                                            .bool(Bool.random(using: &generator)), .double(Double.random(in: -5...5, using: &generator))]
                        let values = Dictionary(uniqueKeysWithValues: zip(schema.columns.map(\.name), row))
                        do {
                            try tx.insert(values, into: "members", onConflict: .replace)
                            model[key] = row
                        } catch GuildStoreError.uniqueViolation {
                            // The model decides whether the nickname was taken by another row.
                            let taken = model.contains { $0.key != key && !nickname.isNull && $0.value[0] == .uint(guild) && $0.value[2] == nickname }
                            #expect(taken, "round \(round): unexpected violation")
                        }
                    case 5..<8:
                        do {
                            let updated = try tx.update("members", key: key, set: ["nickname": nickname, "score": .double(Double(round))])
                            #expect(updated == (model[key] != nil))
                            if updated { model[key]?[2] = nickname; model[key]?[5] = .double(Double(round)) }
                        } catch GuildStoreError.uniqueViolation {
                            let taken = model.contains { $0.key != key && !nickname.isNull && $0.value[0] == .uint(guild) && $0.value[2] == nickname }
                            #expect(taken, "round \(round): unexpected violation")
                        }
                    default:
                        #expect(try tx.delete(from: "members", key: key) == (model.removeValue(forKey: key) != nil))
                    }
                }
            }
        }
        try engine.read { tx throws in
            // Rows equal the model.
            let rows = try tx.rows("members")
            #expect(rows.count == model.count)
            for row in rows { #expect(model[[row.values[0], row.values[1]]] == row.values) }
            // Every index tree holds exactly the entries its rows imply.
            for index in schema.indexes {
                let tree = try #require(try tx.tree(schema.indexTreeName(index)))
                let actual = Set(try tx.entries(tree).map { $0.key + [0xFF] + $0.value })
                var expected = Set<[UInt8]>()
                for row in model.values where try schema.index(index, holds: row) {
                    let entry = try schema.indexEntry(index, for: row)
                    expected.insert(entry.key + [0xFF] + entry.value)
                }
                #expect(actual == expected, "index \(index.name)")
            }
            // Scans through an index return what filtering and sorting the model returns.
            for guild in 0..<3 as Range<UInt64> {
                let scanned = try tx.rows("members", index: "by_joined", equals: [.uint(guild)]).map(\.values)
                let reference = model.values.filter { $0[0] == .uint(guild) }.sorted {
                    $0[3] != $1[3] ? $0[3] > $1[3] : $0[1] < $1[1]
                }
                #expect(scanned == reference)
            }
        }
        #expect(try engine.check().isOK)
        try engine.close()
    }
}

extension TableTests {
    @Test("a catalog index whose direction flags do not match its columns is refused when compiled, never indexed past")
    func directionFlagsMismatch() throws {
        var index = IndexDefinition("by_created", on: ["created_at", "user_id"], descending: [true, false])
        index.descending = [true]  // as a damaged catalog entry would decode
        #expect(throws: GuildStoreError.invalidSchema("index by_created of message_events has 1 direction flags for 2 columns")) {
            _ = try CompiledIndex(index, schema: Self.messageEvents, tree: nil)
        }
    }
}
