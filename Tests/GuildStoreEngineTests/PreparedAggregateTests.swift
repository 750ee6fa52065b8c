import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// A prepared aggregate gives exactly the answer of the same aggregate asked with a `where:`
/// dictionary (QP-3), whatever the values, the partial indexes' predicates they satisfy or not,
/// the rollups that answer, and the schema changes between runs.
@Suite("Prepared aggregates")
struct PreparedAggregateTests {
    /// RollupTests' events, with partial indexes whose predicates the values sway.
    static let events: TableSchema = {
        var schema = RollupTests.events
        schema.indexes += [
            IndexDefinition("flagged_created", on: ["created_at"], where: .equals("flag", true), including: ["guild_id", "chars"]),
            IndexDefinition("scored", on: ["score"], where: .isNotNull("score"), including: ["guild_id"]),
            IndexDefinition("kind_user", on: ["kind", "user_id", "created_at"], including: ["chars"]),
        ]
        return schema
    }()

    /// A query's shape, prepared, with how to draw its values.
    struct Case: Sendable {
        let prepared: PreparedAggregate
        let values: @Sendable (inout SplitMix64) -> [Value]
    }

    static let cases: [Case] = {
        @Sendable func guild(_ r: inout SplitMix64) -> Value { .uint(UInt64.random(in: 0...3, using: &r)) }
        @Sendable func user(_ r: inout SplitMix64) -> Value { .uint(UInt64.random(in: 1...7, using: &r)) }
        @Sendable func kind(_ r: inout SplitMix64) -> Value { .text(["leave", "join", "other"][Int.random(in: 0..<3, using: &r)]) }
        @Sendable func flag(_ r: inout SplitMix64) -> Value { .bool(Bool.random(using: &r)) }
        @Sendable func score(_ r: inout SplitMix64) -> Value { Bool.random(using: &r) ? .null : .int(Int64.random(in: -9...9, using: &r)) }
        return [
            Case(prepared: PreparedAggregate("events", equals: ["guild_id"], range: "created_at", groupBy: [.hour("created_at")],
                                             [.count, .countDistinct("user_id"), .sum("chars")])) { [guild(&$0)] },
            Case(prepared: PreparedAggregate("events", equals: ["guild_id", "user_id"], range: "created_at",
                                             [.count, .sum("chars"), .countWhere("flag", equals: true)])) { [guild(&$0), user(&$0)] },
            // The columns in another order than any index's.
            Case(prepared: PreparedAggregate("events", equals: ["user_id", "guild_id"], range: "created_at", groupBy: [.day("created_at")],
                                             [.sum("score"), .countNonNull("score")])) { [user(&$0), guild(&$0)] },
            // A rollup with a predicate (`kind = 'leave'`) answers only when the value is its.
            Case(prepared: PreparedAggregate("events", equals: ["guild_id", "kind"], range: "created_at", groupBy: [.column("user_id")],
                                             [.sum("chars"), .count], orderBy: [.aggregate(0)])) { [guild(&$0), kind(&$0)] },
            // A partial index's predicate (`flag = true`) sways the walk.
            Case(prepared: PreparedAggregate("events", equals: ["flag"], range: "created_at", groupBy: [.column("guild_id")],
                                             [.count, .max("chars"), .avg("chars")], orderBy: [.group(0, descending: true)])) { [flag(&$0)] },
            // `score IS NOT NULL` holds for a non-NULL value only; NULL equals NULL.
            Case(prepared: PreparedAggregate("events", equals: ["score"], groupBy: [.column("guild_id")], [.count, .min("created_at")])) {
                [score(&$0)]
            },
            // An equality past the index's prefix is checked on each row.
            Case(prepared: PreparedAggregate("events", equals: ["kind", "flag"], range: "created_at", [.count, .sum("chars")])) {
                [kind(&$0), flag(&$0)]
            },
            Case(prepared: PreparedAggregate("events", groupBy: [.column("kind")], [.count, .sum("chars")],
                                             orderBy: [.aggregate(0)])) { _ in [] },
        ]
    }()

    /// The same query through the `where:` dictionary.
    static func unprepared(_ tx: Transaction, _ query: PreparedAggregate, _ values: [Value], _ range: ColumnRange?,
                           limit: Int) throws -> [AggregateRow] {
        try tx.aggregate(query.table, where: Dictionary(uniqueKeysWithValues: zip(query.equalColumns, values)), range: range,
                         groupBy: query.groupBy, query.aggregates, orderBy: query.orderBy, limit: limit)
    }

    static func compare(_ engine: StorageEngine, rounds: Int, _ random: inout SplitMix64) throws {
        try engine.read { tx in
            for round in 0..<rounds {
                for test in cases {
                    let values = test.values(&random)
                    let range = test.prepared.rangeColumn == nil ? nil : RollupTests.range(&random)
                    let limit = Int.random(in: 0..<4, using: &random) == 0 ? Int.random(in: 0...3, using: &random) : .max
                    let prepared = try tx.aggregate(test.prepared, equals: values, from: range?.from, below: range?.below, limit: limit)
                    let expected = try unprepared(tx, test.prepared, values, range, limit: limit)
                    #expect(prepared == expected, "round \(round): \(test.prepared) \(values) \(String(describing: range)) limit \(limit)")
                }
            }
        }
    }

    @Test("prepared aggregates equal the where: dictionary's answers on random values, before and after schema changes")
    func equalsUnprepared() throws {
        let directory = try TemporaryDirectory("prepared")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("p.gsdb"))
        defer { try? engine.close() }
        var random = SplitMix64(seed: 0x9e3a)
        try engine.write { tx in
            try tx.createTable(Self.events)
            for id in 1...600 { _ = try tx.insert(RollupTests.row(UInt64(id), &random), into: "events") }
        }
        try Self.compare(engine, rounds: 30, &random)
        // Every shape ran, so every resolution is cached for this schema counter; a new index,
        // a dropped one and a new rollup each move the counter and must be seen.
        try engine.write { tx in try tx.addIndex(to: "events", IndexDefinition("guild_user", on: ["guild_id", "user_id", "created_at"])) }
        try Self.compare(engine, rounds: 10, &random)
        try engine.write { tx in
            try tx.dropIndex(from: "events", named: "by_guild_created")
            try tx.addRollup(to: "events", RollupDefinition("by_flag_day", groupBy: [.column("flag"), .day("created_at")],
                                                            [.countWhere("kind", equals: "join")]))
        }
        try Self.compare(engine, rounds: 10, &random)
        try engine.write { tx in
            for id in 601...700 { _ = try tx.insert(RollupTests.row(UInt64(id), &random), into: "events") }
            try tx.delete(from: "events", key: [.uint(5)])
        }
        try Self.compare(engine, rounds: 10, &random)
    }

    @Test("one prepared aggregate serves two databases whose schemas differ")
    func twoDatabases() throws {
        let directory = try TemporaryDirectory("prepared-two")
        defer { directory.remove() }
        let query = PreparedAggregate("events", equals: ["guild_id"], groupBy: [.column("user_id")], [.count], orderBy: [.group(0)])
        var counts: [[AggregateRow]] = []
        for (name, rows) in [("a.gsdb", 50), ("b.gsdb", 80)] {
            let engine = try StorageEngine.open(path: directory.file(name))
            defer { try? engine.close() }
            var random = SplitMix64(seed: UInt64(rows))
            try engine.write { tx in
                // The second database's table has no rollup and no index on guild_id.
                var schema = Self.events
                if rows == 80 { (schema.rollups, schema.indexes) = ([], []) }
                try tx.createTable(schema)
                for id in 1...rows { _ = try tx.insert(RollupTests.row(UInt64(id), &random), into: "events") }
            }
            let (prepared, expected) = try engine.read { tx in
                (try tx.aggregate(query, equals: [.uint(2)]), try Self.unprepared(tx, query, [.uint(2)], nil, limit: .max))
            }
            #expect(prepared == expected)
            counts.append(prepared)
        }
        #expect(counts[0] != counts[1])
    }

    @Test("bad values and bad shapes are typed errors")
    func errors() throws {
        let directory = try TemporaryDirectory("prepared-errors")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("e.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in try tx.createTable(Self.events) }
        let byGuild = PreparedAggregate("events", equals: ["guild_id"], range: "created_at", [.count])
        let unranged = PreparedAggregate("events", equals: ["guild_id"], [.count])
        try engine.read { tx in
            #expect(throws: GuildStoreError.invalidQuery("prepared query of events takes 1 equal values, given 2")) {
                try tx.aggregate(byGuild, equals: [.uint(1), .uint(2)])
            }
            #expect(throws: GuildStoreError.columnTypeMismatch(table: "events", column: "guild_id", expected: "uint", found: "text")) {
                try tx.aggregate(byGuild, equals: ["1"])
            }
            #expect(throws: GuildStoreError.columnTypeMismatch(table: "events", column: "created_at", expected: "timestamp", found: "int")) {
                try tx.aggregate(byGuild, equals: [.uint(1)], from: .int(5))
            }
            #expect(throws: GuildStoreError.invalidQuery("prepared query of events has no range column, given a range")) {
                try tx.aggregate(unranged, equals: [.uint(1)], below: .timestamp(5))
            }
            #expect(throws: GuildStoreError.invalidQuery("prepared query of events names guild_id twice")) {
                try tx.aggregate(PreparedAggregate("events", equals: ["guild_id", "guild_id"], [.count]), equals: [.uint(1), .uint(1)])
            }
            #expect(throws: GuildStoreError.unknownColumn(table: "events", column: "nope")) {
                try tx.aggregate(PreparedAggregate("events", equals: ["nope"], [.count]), equals: [.uint(1)])
            }
            #expect(throws: GuildStoreError.unknownTable("missing")) {
                try tx.aggregate(PreparedAggregate("missing", [.count]))
            }
            #expect(throws: GuildStoreError.invalidQuery("sum(kind) on events.kind: the column is not numeric")) {
                try tx.aggregate(PreparedAggregate("events", [.sum("kind")]))
            }
        }
    }
}
