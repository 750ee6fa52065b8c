import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `deleteRewriting` (RW-1, RW-2): deleting a range of rows by rewriting the table's trees
/// leaves every tree, rollups and indexes included, holding exactly what deleting the same
/// rows through `delete(_ plan:)` leaves, entry for entry; the file checks clean; the
/// transaction sees its own rewrite; a rollback leaves nothing of it; a reopen keeps it.
@Suite("Range deletes by rewriting")
struct RangeDeleteTests {
    /// The rollup suite's table (rollups with and without a time bucket, with a predicate and
    /// with a distinct counter) with more indexes: descending, unique and partial, covering,
    /// and text long enough to go to overflow pages.
    static let events = TableSchema(
        "events",
        columns: RollupTests.events.columns + [ColumnDefinition("note", .text, nullable: true), ColumnDefinition("body", .text, nullable: true)],
        primaryKey: ["id"],
        indexes: RollupTests.events.indexes + [
            IndexDefinition("by_user_created", on: ["user_id", "created_at"], descending: [false, true]),
            IndexDefinition("by_note", on: ["note"], unique: true, where: .isNotNull("note")),
            IndexDefinition("by_kind", on: ["kind"], including: ["chars"]),
        ],
        rollups: RollupTests.events.rollups)

    /// A two-column primary key (the rewrite's keys as bytes) and a nullable range column.
    static let pairs = TableSchema(
        "pairs",
        columns: [ColumnDefinition("guild_id", .uint), ColumnDefinition("id", .uint), ColumnDefinition("created_at", .timestamp, nullable: true),
                  ColumnDefinition("v", .int)],
        primaryKey: ["guild_id", "id"],
        indexes: [IndexDefinition("by_created", on: ["created_at"]), IndexDefinition("by_v", on: ["v"])])

    static func eventRow(_ id: UInt64, _ random: inout SplitMix64) -> [String: Value] {
        var row = RollupTests.row(id, &random)
        if Int.random(in: 0..<3, using: &random) == 0 { row["note"] = .text("note \(id)") }
        if Int.random(in: 0..<20, using: &random) == 0 { row["body"] = .text(String(repeating: "body \(id) ", count: 900)) }
        return row
    }

    static func pairRow(_ id: UInt64, _ random: inout SplitMix64) -> [String: Value] {
        let created: Value = Int.random(in: 0..<8, using: &random) == 0
            ? .null : .timestamp(RollupTests.t0 + Int64.random(in: 0..<(5 * 86_400), using: &random))
        return ["guild_id": .uint(UInt64.random(in: 1...4, using: &random)), "id": .uint(id), "created_at": created,
                "v": .int(Int64.random(in: -100...100, using: &random))]
    }

    /// Every tree's entries, by tree name; the table catalog as its schemas (the JSON of
    /// equal schemas may list an object's keys in another order).
    static func contents(_ engine: StorageEngine) throws -> [String: [[UInt8]]] {
        try engine.read { tx in
            var all: [String: [[UInt8]]] = [:]
            for tree in try tx.trees() where tree.name != Transaction.catalogTreeName {
                all[tree.name] = try tx.entries(tree).map { $0.key + [0xFF, 0xFE] + $0.value }
            }
            all[Transaction.catalogTreeName] = try tx.tables().map { Array("\($0)".utf8) }
            return all
        }
    }

    /// The same rows in a new database at `path`.
    static func seeded(_ path: String, seed: UInt64) throws -> StorageEngine {
        let engine = try StorageEngine.open(path: path)
        var random = SplitMix64(seed: seed)
        try engine.write { tx in
            try tx.createTable(Self.events)
            try tx.createTable(Self.pairs)
            for id in 1...700 { try tx.insert(Self.eventRow(UInt64(id), &random), into: "events") }
            for id in 1...300 { try tx.insert(Self.pairRow(UInt64(id), &random), into: "pairs") }
        }
        return engine
    }

    /// A range for `events`: on the time column (aligned or not, open at either end), or on a
    /// column no rollup buckets (every group counted down, none dropped whole).
    static func eventRange(_ random: inout SplitMix64) -> ColumnRange {
        switch Int.random(in: 0..<5, using: &random) {
        case 0: return ColumnRange("user_id", from: .uint(2), below: .uint(UInt64.random(in: 3...6, using: &random)))
        case 1: return ColumnRange("chars", below: .int(Int64.random(in: -50...500, using: &random)))
        default: return RollupTests.range(&random) ?? ColumnRange("created_at")
        }
    }

    @Test("a rewrite leaves every tree as deleting the same rows one by one does; the file checks clean")
    func equalsRowDeletes() throws {
        let directory = try TemporaryDirectory("range-delete")
        defer { directory.remove() }
        var random = SplitMix64(seed: 0x7e3a)
        for round in 0..<10 {
            let rewritten = try Self.seeded(directory.file("a\(round).gsdb"), seed: UInt64(round))
            let deleted = try Self.seeded(directory.file("b\(round).gsdb"), seed: UInt64(round))
            defer {
                try? rewritten.close()
                try? deleted.close()
            }
            let range = Self.eventRange(&random)
            let t = RollupTests.t0 + Int64.random(in: 0..<(5 * 86_400), using: &random)
            let pairRange = ColumnRange("created_at", from: Bool.random(using: &random) ? nil : .timestamp(t - 86_400), below: .timestamp(t))
            var more = SplitMix64(seed: UInt64(round) + 100)
            let extra = (701...720).map { Self.eventRow(UInt64($0), &more) }
            // Each side deletes, then writes more and reads its rollups in the same transaction.
            let (countA, answerA) = try rewritten.write { tx in
                // Small batches: a tree takes many, each resumed after the last key read; one
                // byte limit is below a long `body`, another stops batches of short entries.
                let events = try tx.deleteRewriting(from: "events", range: range, batch: [1, 7, 64, 4_096][round % 4],
                                                    batchBytes: [1 << 22, 1_000, 1 << 22, 200][round % 4])
                let pairs = try tx.deleteRewriting(from: "pairs", range: pairRange, batch: 16, batchBytes: 1 << 22)
                for row in extra { try tx.insert(row, into: "events") }
                let answer = try tx.aggregate("events", where: ["guild_id": .uint(2)], range: ColumnRange("created_at"),
                                              groupBy: [.hour("created_at")], [.count, .countDistinct("user_id")])
                return ([events, pairs], answer)
            }
            let (countB, answerB) = try deleted.write { tx in
                let events = try tx.delete(try tx.planScan("events", range: range))
                let pairs = try tx.delete(try tx.planScan("pairs", range: pairRange))
                for row in extra { try tx.insert(row, into: "events") }
                let answer = try tx.aggregate("events", where: ["guild_id": .uint(2)], range: ColumnRange("created_at"),
                                              groupBy: [.hour("created_at")], [.count, .countDistinct("user_id")])
                return ([events, pairs], answer)
            }
            #expect(countA == countB, "round \(round): \(range) \(pairRange)")
            #expect(answerA == answerB, "round \(round)")
            let (a, b) = (try Self.contents(rewritten), try Self.contents(deleted))
            #expect(a == b, "round \(round): \(range) \(pairRange): \(Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted())")
            #expect(try rewritten.check().isOK, "round \(round)")
            #expect(try rewritten.read { try $0.checkTables() } == [], "round \(round)")
        }
    }

    @Test("a rolled-back rewrite leaves nothing; a committed one survives a reopen")
    func rollbackAndReopen() throws {
        let directory = try TemporaryDirectory("range-delete-reopen")
        defer { directory.remove() }
        var engine = try Self.seeded(directory.file("r.gsdb"), seed: 9)
        let before = try Self.contents(engine)
        struct Abandon: Error {}
        let range = ColumnRange("created_at", below: .timestamp(RollupTests.t0 + 3 * 86_400 + 1_234))
        #expect(throws: Abandon.self) {
            try engine.write { tx in
                #expect(try tx.deleteRewriting(from: "events", range: range) > 0)
                throw Abandon()
            }
        }
        #expect(try Self.contents(engine) == before)
        #expect(try engine.check().isOK)
        // An empty range deletes nothing and rewrites nothing (the schema counter stays).
        let counter = try engine.read { $0.header.schemaCounter }
        let t = Value.timestamp(RollupTests.t0 + 86_400)
        #expect(try engine.write { tx in try tx.deleteRewriting(from: "events", range: ColumnRange("created_at", from: t, below: t)) } == 0)
        #expect(try engine.read { $0.header.schemaCounter } == counter)
        #expect(try Self.contents(engine) == before)

        let removed = try engine.write { tx in try tx.deleteRewriting(from: "events", range: range) }
        #expect(removed > 0)
        let after = try Self.contents(engine)
        #expect(after != before)
        try engine.close()
        engine = try StorageEngine.open(path: directory.file("r.gsdb"))
        defer { try? engine.close() }
        #expect(try Self.contents(engine) == after)
        #expect(try engine.check().isOK)
        #expect(try engine.read { try $0.checkTables() } == [])
        #expect(try engine.read { try $0.count("events", range: range) } == 0)
    }

    @Test("a table others reference deletes through its plan: cascades and restrictions hold")
    func referencedTableCascades() throws {
        let directory = try TemporaryDirectory("range-delete-fk")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("f.gsdb"))
        defer { try? engine.close() }
        let parents = TableSchema("parents", columns: [ColumnDefinition("id", .uint), ColumnDefinition("created_at", .timestamp)],
                                  primaryKey: ["id"])
        let children = TableSchema("children", columns: [ColumnDefinition("id", .uint), ColumnDefinition("parent_id", .uint)],
                                   primaryKey: ["id"], indexes: [IndexDefinition("by_parent", on: ["parent_id"])],
                                   foreignKeys: [ForeignKey(["parent_id"], references: "parents", onDelete: .cascade)])
        try engine.write { tx in
            try tx.createTable(parents)
            try tx.createTable(children)
            for id in 1...10 { try tx.insert(["id": .uint(UInt64(id)), "created_at": .timestamp(Int64(id) * 100)], into: "parents") }
            for id in 1...30 { try tx.insert(["id": .uint(UInt64(id)), "parent_id": .uint(UInt64(id % 10 + 1))], into: "children") }
        }
        let removed = try engine.write { tx in try tx.deleteRewriting(from: "parents", range: ColumnRange("created_at", below: .timestamp(501))) }
        #expect(removed == 5)
        #expect(try engine.read { try $0.count("parents") } == 5)
        #expect(try engine.read { try $0.count("children") } == 15)  // the cascade took the children of parents 1-5
        #expect(try engine.read { try $0.checkTables() } == [])
    }

    @Test("bounds of another type than the column's are refused")
    func wrongType() throws {
        let directory = try TemporaryDirectory("range-delete-type")
        defer { directory.remove() }
        let engine = try Self.seeded(directory.file("t.gsdb"), seed: 3)
        defer { try? engine.close() }
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in try tx.deleteRewriting(from: "events", range: ColumnRange("created_at", below: .text("soon"))) }
        }
        #expect(throws: GuildStoreError.self) {
            try engine.write { tx in try tx.deleteRewriting(from: "events", range: ColumnRange("no_such_column", below: .int(1))) }
        }
    }
}

/// `IntegerSet` against `Set<UInt64>` on random values, zero and repeats included.
@Suite("Integer set")
struct IntegerSetTests {
    @Test("holds exactly what was inserted")
    func matchesSet() {
        var random = SplitMix64(seed: 0x1d5)
        var set = IntegerSet()
        var model: Set<UInt64> = []
        for _ in 0..<20_000 {
            let value = Int.random(in: 0..<4, using: &random) == 0 ? UInt64.random(in: 0...50, using: &random) : random.next()
            set.insert(value)
            model.insert(value)
        }
        for value in model { #expect(set.contains(value)) }
        for _ in 0..<20_000 {
            let probe = Bool.random(using: &random) ? UInt64.random(in: 0...100, using: &random) : random.next()
            #expect(set.contains(probe) == model.contains(probe))
        }
    }
}

/// RW-2 with RU-3: a rollup tree rewritten in the middle of a transaction (a delete that
/// empties half its groups or more) takes a new root; the deltas noted after it are filed
/// under that root, so a read in the same transaction flushes them, and the commit holds
/// exactly what the rows imply.
@Suite("Rollups rewritten inside a transaction")
struct RollupRewriteInTransactionTests {
    static let events = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("created_at", .timestamp)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])],
        rollups: [RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")], [])])

    @Test("deltas after a rewrite of the rollup's tree are seen by the same transaction and committed exactly")
    func deltasAfterRewrite() throws {
        let directory = try TemporaryDirectory("rollup-rewrite")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"))
        defer { try? engine.close() }
        let t0: Int64 = 1_700_000_000 - 1_700_000_000 % 3_600
        // Guild 1: two events an hour for 2,400 hours; guild 2: a few.
        try engine.write { tx in
            try tx.createTable(Self.events)
            var id: UInt64 = 0
            for hour in 0..<Int64(2_400) {
                for minute: Int64 in [10, 40] {
                    id += 1
                    try tx.insert(["id": .uint(id), "guild_id": .uint(1), "created_at": .timestamp(t0 + hour * 3_600 + minute * 60)], into: "events")
                }
            }
            for hour: Int64 in [5, 6, 7] {
                id += 1
                try tx.insert(["id": .uint(id), "guild_id": .uint(2), "created_at": .timestamp(t0 + hour * 3_600 + 600)], into: "events")
            }
        }
        // The cutoff falls inside an hour: that hour is an edge, counted down row by row.
        let cutoff = t0 + 2_300 * 3_600 + 30 * 60
        func perHour(_ tx: Transaction, guild: UInt64) throws -> [[Value]] {
            try tx.aggregate("events", where: ["guild_id": .uint(guild)], range: ColumnRange("created_at", from: .timestamp(t0)),
                             groupBy: [.hour("created_at")], [.count]).map { $0.group + $0.values }
        }
        try engine.write { tx in
            // Empties 2,300 of guild 1's 2,400 hour groups whole: the rollup's tree is rewritten.
            let removed = try tx.delete(try tx.planScan("events", equals: ["guild_id": .uint(1)], range: ColumnRange("created_at", below: .timestamp(cutoff))))
            #expect(removed == 4_601)
            let edge = try perHour(tx, guild: 1).first
            #expect(edge == [.timestamp(t0 + 2_300 * 3_600), .int(1)])  // the edge hour's deleted row is counted down
            // A late event of guild 2, then its old events deleted: the groups stay exact.
            try tx.insert(["id": .uint(10_000), "guild_id": .uint(2), "created_at": .timestamp(t0 + 6 * 3_600 + 1_200)], into: "events")
            #expect(try tx.delete(try tx.planScan("events", equals: ["guild_id": .uint(2)], range: ColumnRange("created_at", below: .timestamp(cutoff)))) == 4)
            #expect(try perHour(tx, guild: 2) == [])
        }
        let (problems, guild2, guild1Hours) = try engine.read { tx in
            (try tx.checkTables(), try perHour(tx, guild: 2), try perHour(tx, guild: 1).count)
        }
        #expect(problems == [])
        #expect(guild2 == [])
        #expect(guild1Hours == 100)
        #expect(try engine.check().isOK)
    }
}
