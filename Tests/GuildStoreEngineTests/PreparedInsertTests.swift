import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `PreparedInsert`: a row given by position is stored, indexed and checked exactly as the
/// same row given by name, across conflicts, errors and a schema change between runs.
@Suite("Prepared inserts")
struct PreparedInsertTests {
    static let messageColumns = ["id", "guild_id", "channel_id", "user_id", "message_id", "character_count", "has_attachment", "created_at"]

    /// 300 message rows, some leaving out the two defaulted columns.
    static func rows() -> [[String: Value]] {
        var random = SplitMix64(seed: 5)
        return (0..<300).map { i in
            var row: [String: Value] = [
                "id": .uint(UInt64(1_000 + i * 7 % 300)), "guild_id": .uint(random.next() % 5), "channel_id": .uint(random.next() % 9),
                "user_id": .uint(random.next() % 40), "message_id": .uint(random.next()), "created_at": .timestamp(Int64(random.next() % 10_000)),
            ]
            if i % 3 != 0 {
                row["character_count"] = .int(Int64(random.next() % 500))
                row["has_attachment"] = .bool(random.next() % 2 == 0)
            }
            return row
        }
    }

    /// Every row of the table and of each of its indexes, as the engine reads them back.
    static func contents(_ engine: StorageEngine) throws -> [[Row]] {
        try engine.read { tx throws in
            try [tx.rows("message_events")] + TableTests.messageEvents.indexes.map { try tx.rows("message_events", index: $0.name) }
        }
    }

    @Test("rows given by position store, index and check as the same rows given by name")
    func sameAsByName() throws {
        let directory = try TemporaryDirectory("prepared-insert")
        defer { directory.remove() }
        let byName = try StorageEngine.open(path: directory.file("name.gsdb"))
        let byPosition = try StorageEngine.open(path: directory.file("position.gsdb"))
        defer {
            try? byName.close()
            try? byPosition.close()
        }
        // The columns in another order than the table's, and a statement without the defaults.
        let full = PreparedInsert(into: "message_events", columns: Self.messageColumns.reversed())
        let short = PreparedInsert(into: "message_events", columns: ["created_at", "user_id", "id", "message_id", "channel_id", "guild_id"])
        for engine in [byName, byPosition] { try engine.write { tx in try tx.createTable(TableTests.messageEvents) } }
        try byName.write { tx in for row in Self.rows() { try tx.insert(row, into: "message_events") } }
        try byPosition.write { tx throws in
            for row in Self.rows() {
                let statement = row["character_count"] == nil ? short : full
                #expect(try tx.insert(statement.columns.map { row[$0] ?? .null }, statement))
            }
        }
        #expect(try Self.contents(byPosition) == Self.contents(byName))
        #expect(try Self.contents(byPosition)[0].count == 300)
        #expect(try byPosition.read { tx in try tx.checkTables() }.isEmpty)
    }

    @Test("conflicts follow the statement's policy; a replace keeps the creation time it was not given")
    func conflicts() throws {
        let directory = try TemporaryDirectory("prepared-insert-conflicts")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx throws in
            try tx.createTable(TableTests.users)
            try tx.insert(["id": .uint(1), "email": "a@example.com", "created_at": .timestamp(5), "updated_at": .timestamp(5)], into: "users")
        }
        let columns = ["id", "email", "name"]
        let fail = PreparedInsert(into: "users", columns: columns)
        let ignore = PreparedInsert(into: "users", columns: columns, onConflict: .ignore)
        let replace = PreparedInsert(into: "users", columns: columns, onConflict: .replace)
        let before = Int64(Date().timeIntervalSince1970)
        try engine.write { tx throws in
            #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "primary key", key: "(1u)")) {
                try tx.insert([.uint(1), "b@example.com", "B"], fail)
            }
            #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "email_unique", key: "(\"a@example.com\")")) {
                try tx.insert([.uint(2), "a@example.com", "B"], fail)
            }
            #expect(try tx.insert([.uint(1), "c@example.com", "C"], ignore) == false)
            #expect(try tx.get("users", key: [.uint(1)])?["email"] == "a@example.com")
            #expect(try tx.insert([.uint(1), "d@example.com", "D"], replace))
            let replaced = try #require(try tx.get("users", key: [.uint(1)]))
            #expect(replaced["email"] == "d@example.com")
            #expect(replaced["created_at"] == .timestamp(5))
            #expect(replaced["updated_at"] != .timestamp(5))  // `updatedAtNow`: it moves
            #expect(try tx.rows("users", index: "email_unique").map { $0["email"] } == ["d@example.com"])
            // A new row takes the insert's time in both `.now` columns.
            #expect(try tx.insert([.uint(3), "e@example.com", .null], fail))
            let new = try #require(try tx.get("users", key: [.uint(3)]))
            for column in ["created_at", "updated_at"] {
                guard case .timestamp(let at)? = new[column] else { Issue.record("\(column) is \(String(describing: new[column]))"); continue }
                #expect(at >= before && at <= Int64(Date().timeIntervalSince1970))
            }
        }
    }

    @Test("bad statements and bad values are typed errors that write nothing")
    func errors() throws {
        let directory = try TemporaryDirectory("prepared-insert-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in try tx.createTable(TableTests.users) }
        try engine.write { tx throws in
            let statement = PreparedInsert(into: "users", columns: ["id", "email"])
            #expect(throws: GuildStoreError.invalidQuery("insert into users (id, email) takes 2 values, not 1")) { try tx.insert([.uint(1)], statement) }
            #expect(throws: GuildStoreError.columnTypeMismatch(table: "users", column: "email", expected: "text", found: "int")) {
                try tx.insert([.uint(1), .int(4)], statement)
            }
            #expect(throws: GuildStoreError.missingValue(table: "users", column: "email")) {
                try tx.insert([.uint(1)], PreparedInsert(into: "users", columns: ["id"]))
            }
            #expect(throws: GuildStoreError.unknownColumn(table: "users", column: "mail")) {
                try tx.insert([.uint(1), "x"], PreparedInsert(into: "users", columns: ["id", "mail"]))
            }
            #expect(throws: GuildStoreError.invalidQuery("column id is given twice")) {
                try tx.insert([.uint(1), .uint(1)], PreparedInsert(into: "users", columns: ["id", "id"]))
            }
            #expect(throws: GuildStoreError.unknownTable("nobody")) { try tx.insert([.uint(1)], PreparedInsert(into: "nobody", columns: ["id"])) }
            #expect(try tx.rows("users").isEmpty)
            #expect(try tx.rows("users", index: "email_unique").isEmpty)
        }
    }

    @Test("a statement prepared before a migration adds a column runs after it, the new column defaulted")
    func schemaChange() throws {
        let directory = try TemporaryDirectory("prepared-insert-migration")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        defer { try? engine.close() }
        let statement = PreparedInsert(into: "guilds", columns: ["id", "name", "created_at"])
        try engine.write { tx throws in
            try tx.createTable(TableTests.guilds)
            try tx.insert([.uint(1), "one", .timestamp(10)], statement)
            try tx.addColumn(to: "guilds", ColumnDefinition("tier", .int, default: .value(.int(2))))
            try tx.insert([.uint(2), "two", .timestamp(20)], statement)
        }
        try engine.read { tx throws in
            #expect(try tx.rows("guilds").map { $0["tier"] } == [.int(2), .int(2)])
            #expect(try tx.rows("guilds", index: "active_by_created").map { $0["id"] } == [.uint(2), .uint(1)])
        }
    }
}
