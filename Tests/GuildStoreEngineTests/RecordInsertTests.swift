import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `insert(record)` by position (`TableRecord.orderedValues`, `RecordOrderedCollector`,
/// `RecordInserts`): a record whose column list is its schema's columns in order is stored,
/// indexed and checked exactly as its `values` by name; any other record goes by name.
@Suite("Record inserts by position")
struct RecordInsertTests {
    /// `TableTests.messageEvents`' columns, listed in the table's order.
    struct Message: TableRecord, Equatable {
        static var schema: TableSchema { TableTests.messageEvents }
        var id: UInt64, guild: UInt64, channel: UInt64, user: UInt64, message: UInt64
        var characters: Int64, attachment: Bool, createdAt: Int64

        static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
            try c.uint("id", &r.id)
            try c.uint("guild_id", &r.guild)
            try c.uint("channel_id", &r.channel)
            try c.uint("user_id", &r.user)
            try c.uint("message_id", &r.message)
            try c.int("character_count", &r.characters)
            try c.bool("has_attachment", &r.attachment)
            try c.timestamp("created_at", &r.createdAt)
        }

        init(id: UInt64, guild: UInt64, channel: UInt64, user: UInt64, message: UInt64, characters: Int64, attachment: Bool, createdAt: Int64) {
            (self.id, self.guild, self.channel, self.user, self.message) = (id, guild, channel, user, message)
            (self.characters, self.attachment, self.createdAt) = (characters, attachment, createdAt)
        }

        init(row: Row) throws {
            self.init(id: 0, guild: 0, channel: 0, user: 0, message: 0, characters: 0, attachment: false, createdAt: 0)
            try RecordRowReader.read(row, into: &self, Self.columns)
        }

        var values: [String: Value] { RecordValueCollector.values(of: self, columns: 8, Self.columns) }
        var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
    }

    /// The same table, its column list in another order: no ordered values, so inserts go by name.
    struct ShuffledMessage: TableRecord {
        static var schema: TableSchema { TableTests.messageEvents }
        var message: Message

        static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
            try c.uint("guild_id", &r.message.guild)
            try c.uint("id", &r.message.id)
            try c.uint("channel_id", &r.message.channel)
            try c.uint("user_id", &r.message.user)
            try c.uint("message_id", &r.message.message)
            try c.int("character_count", &r.message.characters)
            try c.bool("has_attachment", &r.message.attachment)
            try c.timestamp("created_at", &r.message.createdAt)
        }

        init(_ message: Message) { self.message = message }
        init(row: Row) throws { message = try Message(row: row) }
        var values: [String: Value] { RecordValueCollector.values(of: self, columns: 8, Self.columns) }
        var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
    }

    /// `TableTests.users`, whose two times default to now: a nil time leaves the record to go by name.
    struct User: TableRecord {
        static var schema: TableSchema { TableTests.users }
        var id: UInt64, email: String, name: String?
        var createdAt: Int64?, updatedAt: Int64?

        static func columns<C: RecordColumnVisitor>(_ c: inout C, _ r: inout Self) throws(C.Failure) {
            try c.uint("id", &r.id)
            try c.text("email", &r.email)
            try c.optionalText("name", &r.name)
            try c.defaultedTimestamp("created_at", &r.createdAt)
            try c.defaultedTimestamp("updated_at", &r.updatedAt)
        }

        init(id: UInt64, email: String, name: String?, createdAt: Int64? = nil, updatedAt: Int64? = nil) {
            (self.id, self.email, self.name, self.createdAt, self.updatedAt) = (id, email, name, createdAt, updatedAt)
        }

        init(row: Row) throws {
            self.init(id: 0, email: "", name: nil)
            try RecordRowReader.read(row, into: &self, Self.columns)
        }

        var values: [String: Value] { RecordValueCollector.values(of: self, columns: 5, Self.columns) }
        var orderedValues: [Value]? { RecordOrderedCollector.orderedValues(of: self, Self.columns) }
    }

    static func messages() -> [Message] {
        var random = SplitMix64(seed: 21)
        return (0..<400).map { i in
            Message(id: UInt64(2_000 + i * 11 % 250), guild: random.next() % 5, channel: random.next() % 9, user: random.next() % 40,
                    message: random.next(), characters: Int64(random.next() % 500), attachment: random.next() % 2 == 0,
                    createdAt: Int64(random.next() % 10_000))
        }
    }

    @Test("which records give ordered values: the schema's columns in order, every one given")
    func orderedValues() {
        let message = Self.messages()[0]
        #expect(message.orderedValues == TableTests.messageEvents.columns.map { message.values[$0.name] ?? .null })
        #expect(ShuffledMessage(message).orderedValues == nil)
        #expect(User(id: 1, email: "a@example.com", name: nil).orderedValues == nil)
        #expect(User(id: 1, email: "a@example.com", name: nil, createdAt: 5, updatedAt: 6).orderedValues
            == [.uint(1), "a@example.com", .null, .timestamp(5), .timestamp(6)])
    }

    @Test("records inserted by position store, index and check as their values inserted by name, across conflicts")
    func sameAsByName() throws {
        let directory = try TemporaryDirectory("record-insert")
        defer { directory.remove() }
        let byName = try StorageEngine.open(path: directory.file("name.gsdb"))
        let byRecord = try StorageEngine.open(path: directory.file("record.gsdb"))
        defer {
            try? byName.close()
            try? byRecord.close()
        }
        for engine in [byName, byRecord] { try engine.write { tx in try tx.createTable(TableTests.messageEvents) } }
        // Ids repeat: the first of each id is inserted, later ones fail, are ignored or replace.
        let policies: [ConflictPolicy] = [.fail, .ignore, .replace]
        var nameResults: [Bool] = [], recordResults: [Bool] = []
        for (i, message) in Self.messages().enumerated() {
            let policy = policies[i % 3]
            let named = try byName.write { tx in try? tx.insert(message.values, into: "message_events", onConflict: policy) }
            nameResults.append(named ?? false)
            // Every other one through the shuffled list, which goes by name.
            let recorded = try byRecord.write { tx in
                try? (i % 2 == 0 ? tx.insert(message, onConflict: policy) : tx.insert(ShuffledMessage(message), onConflict: policy))
            }
            recordResults.append(recorded ?? false)
        }
        #expect(recordResults == nameResults)
        #expect(nameResults.contains(false) && nameResults.contains(true))
        #expect(try PreparedInsertTests.contents(byRecord) == PreparedInsertTests.contents(byName))
        #expect(try byRecord.read { tx in try tx.checkTables() }.isEmpty)
        let stored = try byRecord.read { tx in try tx.rows("message_events").map(Message.init(row:)) }
        #expect(Set(stored.map(\.id)).count == stored.count)
    }

    @Test("a record with a time left to its default takes the default; with both times given, it keeps them")
    func defaults() throws {
        let directory = try TemporaryDirectory("record-insert-defaults")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("t.gsdb"))
        defer { try? engine.close() }
        let before = Int64(Date().timeIntervalSince1970)
        try engine.write { tx throws in
            try tx.createTable(TableTests.users)
            try tx.insert(User(id: 1, email: "a@example.com", name: "A"))
            try tx.insert(User(id: 2, email: "b@example.com", name: nil, createdAt: 5, updatedAt: 6))
            #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "email_unique", key: "(\"a@example.com\")")) {
                try tx.insert(User(id: 3, email: "a@example.com", name: nil, createdAt: 7, updatedAt: 7))
            }
        }
        let users = try engine.read { tx in try tx.rows("users").map(User.init(row:)) }
        #expect(users.map(\.id) == [1, 2])
        #expect(try #require(users[0].createdAt) >= before)
        #expect(users[1].createdAt == 5 && users[1].updatedAt == 6 && users[1].name == nil)
    }
}
