import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Planned reads (index choice, filters, order, limit) and aggregates over streaming scans.
@Suite("Planned reads and aggregates")
struct AggregateTests {
    /// message_events with a nullable `rating` so NULL handling shows.
    static let events = TableSchema(
        "events",
        columns: [
            ColumnDefinition("id", .uint),
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("user_id", .uint),
            ColumnDefinition("chars", .int),
            ColumnDefinition("attachment", .bool),
            ColumnDefinition("rating", .double, nullable: true),
            ColumnDefinition("label", .text, nullable: true),
            ColumnDefinition("created_at", .timestamp),
        ],
        primaryKey: ["id"],
        indexes: [
            IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
            IndexDefinition("by_guild_user_created", on: ["guild_id", "user_id", "created_at"]),
            IndexDefinition("by_created", on: ["created_at"], descending: [true]),
            IndexDefinition("labelled", on: ["label"], where: .isNotNull("label")),
        ])

    /// 100 events: id i, guild i % 2, user i % 5, chars i, attachment every 3rd, rating i / 10
    /// for even i (NULL for odd), label for every 4th, one every 900 s from t0.
    static let t0: Int64 = 1_700_000_000 - 1_700_000_000 % 86_400
    static func row(_ i: Int) -> [String: Value] {
        ["id": .uint(UInt64(i)), "guild_id": .uint(UInt64(i % 2)), "user_id": .uint(UInt64(i % 5)), "chars": .int(Int64(i)),
         "attachment": .bool(i % 3 == 0), "rating": i % 2 == 0 ? .double(Double(i) / 10) : .null,
         "label": i % 4 == 0 ? .text("l\(i % 3)") : .null, "created_at": .timestamp(t0 + Int64(i) * 900)]
    }

    func withEvents(_ body: (ReadTransaction) throws -> Void) throws {
        let directory = try TemporaryDirectory("aggregates")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("a.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.events)
            for i in 0..<100 { try tx.insert(Self.row(i), into: "events") }
        }
        try engine.read(body)
        try engine.close()
    }

    @Test("planScan picks the index covering the most equalities, then the range; the primary key counts")
    func planChoice() throws {
        try withEvents { tx in
            let pk = try tx.planScan("events", equals: ["id": .uint(3)])
            #expect(pk.usesPrimaryKey && pk.prefix == [.uint(3)])
            let guild = try tx.planScan("events", equals: ["guild_id": .uint(1)], range: ColumnRange("created_at", from: .timestamp(Self.t0)))
            #expect(guild.index == "by_guild_created" && guild.range != nil)
            let user = try tx.planScan("events", equals: ["guild_id": .uint(1), "user_id": .uint(2)], range: ColumnRange("created_at", from: .timestamp(Self.t0)))
            #expect(user.index == "by_guild_user_created" && user.prefix == [.uint(1), .uint(2)] && user.range != nil)
            let time = try tx.planScan("events", range: ColumnRange("created_at", from: .timestamp(Self.t0)))
            #expect(time.index == "by_created")
            // Nothing to narrow by: the primary key, no row fetch.
            #expect(try tx.planScan("events", equals: ["chars": 5]).usesPrimaryKey)
            // A partial index only when the conditions imply its predicate.
            #expect(try tx.planScan("events", equals: ["label": "l1"]).index == "labelled")
            #expect(try tx.planScan("events", equals: ["label": nil]).usesPrimaryKey)
            // Order decides among equals: newest first walks the descending index forwards.
            let newest = try tx.planScan("events", orderBy: [.descending("created_at")])
            #expect(newest.index == "by_created" && !newest.reverse)
            let oldest = try tx.planScan("events", orderBy: [.ascending("created_at")])
            #expect(oldest.index == "by_created" && oldest.reverse)
            #expect("\(guild)".contains("index by_guild_created"))
            // The walk's order after the fixed prefix; a fixed column is free anywhere in it.
            #expect(guild.provides([.ascending("guild_id"), .ascending("created_at"), .ascending("id")]))
            #expect(guild.provides([.descending("created_at")]) == false)
            #expect(newest.provides([.descending("created_at"), .ascending("id")]))
            #expect(throws: GuildStoreError.unknownColumn(table: "events", column: "nope")) { _ = try tx.planScan("events", equals: ["nope": 1]) }
            #expect(throws: GuildStoreError.self) { _ = try tx.planScan("events", equals: ["guild_id": "text"]) }
        }
    }

    @Test("select: filters stream, order from the index or a sort, limit; results match a model")
    func select() throws {
        try withEvents { tx in
            let model = (0..<100).map { Self.row($0) }
            // Index order, reversed walk, limit.
            let recent = try tx.select("events", where: ["guild_id": .uint(0)], range: ColumnRange("created_at", from: .timestamp(Self.t0 + 9_000)),
                                       orderBy: [.descending("created_at")], limit: 3)
            #expect(recent.map { $0["id"] } == [.uint(98), .uint(96), .uint(94)])
            // A sort (chars is not indexed), with a filter, ties broken by the key.
            let sorted = try tx.select("events", filter: { $0["attachment"] == true }, orderBy: [.descending("user_id"), .ascending("id")], limit: 5)
            let expected = model.filter { $0["attachment"] == true }
                .sorted { ($0["user_id"]!, $1["id"]!) > ($1["user_id"]!, $0["id"]!) }.prefix(5).map { $0["id"] }
            #expect(sorted.map { $0["id"] } == Array(expected))
            // Bounded sort buffer: a big scan with a small limit still gives the right rows.
            let top = try tx.select("events", orderBy: [.descending("chars")], limit: 2)
            #expect(top.map { $0["id"] } == [.uint(99), .uint(98)])
            // A range without a lower end does not admit NULLs.
            let rated = try tx.select("events", range: ColumnRange("rating", below: 1.0))
            #expect(rated.map { $0["id"] } == [0, 2, 4, 6, 8].map { Value.uint($0) })
            // Equality on NULL means IS NULL.
            #expect(try tx.select("events", where: ["label": nil]).count == 75)
            #expect(try tx.select("events", limit: 0).isEmpty)
        }
    }

    @Test("aggregates reading only their columns equal the same aggregates over whole rows")
    func projectionMatchesWholeRows() throws {
        try withEvents { tx in
            let aggregates: [Aggregate] = [.count, .sum("chars"), .min("rating"), .max("label"), .avg("chars"),
                                           .countDistinct("user_id"), .countWhere("attachment", equals: true)]
            // Equalities and ranges the walk decides, and ones it checks on each row (chars and
            // rating are in no index: residual conditions, whose columns must be decoded too).
            let conditions: [([String: Value], ColumnRange?)] = [
                ([:], nil), (["guild_id": .uint(1)], nil), (["attachment": .bool(true)], nil),
                (["guild_id": .uint(0)], ColumnRange("rating", below: .double(5))),
                ([:], ColumnRange("chars", from: .int(10), below: .int(60))),
            ]
            for (equals, range) in conditions {
                for groupBy in [[], [GroupKey.column("user_id")], [GroupKey.timeBucket("created_at", seconds: 3_600)]] {
                    let projected = try tx.aggregate("events", where: equals, range: range, groupBy: groupBy, aggregates)
                    // A filter sees whole rows, so every column is decoded.
                    let whole = try tx.aggregate("events", where: equals, range: range, filter: { _ in true }, groupBy: groupBy, aggregates)
                    #expect(projected == whole, "where \(equals) \(range.map { "\($0)" } ?? "") group by \(groupBy)")
                }
                let count = try tx.aggregate("events", where: equals, range: range, [.count]).first?.int(0)
                let expected = (0..<100).map(Self.row).filter { row in
                    equals.allSatisfy { row[$0.key] == $0.value } && (range.map { $0.contains(row[$0.column] ?? .null) } ?? true)
                }.count
                #expect(count == Int64(expected), "where \(equals)")
            }
        }
    }

    @Test("count, count(column), count where, count distinct; NULLs as in SQL")
    func counts() throws {
        try withEvents { tx in
            let all = try #require(try tx.aggregate("events", [.count, .countNonNull("rating"), .countWhere("attachment", equals: true),
                                                               .countDistinct("user_id"), .countDistinct("rating"), .countDistinct("label")]).first)
            #expect(all.values == [.int(100), .int(50), .int(34), .int(5), .int(50), .int(3)])
            #expect(try tx.count("events", where: ["guild_id": .uint(1)]) == 50)
            // No rows: one result row without grouping, counts 0, the rest NULL.
            let none = try tx.aggregate("events", where: ["guild_id": .uint(7)], [.count, .sum("chars"), .min("chars"), .avg("chars"), .countDistinct("user_id")])
            #expect(none == [AggregateRow(group: [], values: [.int(0), .null, .null, .null, .int(0)])])
            #expect(try tx.aggregate("events", where: ["guild_id": .uint(7)], groupBy: [.column("user_id")], [.count]).isEmpty)
        }
    }

    @Test("sum, min, max, avg: typed by column; integer avg divides the exact sum")
    func sums() throws {
        try withEvents { tx in
            let row = try #require(try tx.aggregate("events", [.sum("chars"), .min("chars"), .max("chars"), .avg("chars"),
                                                               .sum("rating"), .avg("rating"), .min("rating"), .max("label"),
                                                               .sum("attachment"), .min("created_at"), .max("user_id")]).first)
            #expect(row.int(0) == 4_950)
            #expect(row.values[1] == .int(0) && row.values[2] == .int(99))
            #expect(row.double(3) == 49.5)
            let ratingSum = (0..<100).filter { $0 % 2 == 0 }.reduce(0.0) { $0 + Double($1) / 10 }
            #expect(abs((row.double(4) ?? 0) - ratingSum) < 1e-9)
            #expect(abs((row.double(5) ?? 0) - ratingSum / 50) < 1e-9)
            #expect(row.values[6] == .double(0) && row.values[7] == .text("l2"))
            #expect(row.int(8) == 34)
            #expect(row.values[9] == .timestamp(Self.t0) && row.uint(10) == 4)
            #expect(throws: GuildStoreError.self) { _ = try tx.aggregate("events", [.sum("label")]) }
        }
    }

    @Test("a sum past 64 bits is a typed error; avg goes on in floating point")
    func overflow() throws {
        let directory = try TemporaryDirectory("aggregates-overflow")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("a.gsdb"))
        try engine.write { tx in
            try tx.createTable(TableSchema("n", columns: [ColumnDefinition("k", .int), ColumnDefinition("v", .int)], primaryKey: ["k"]))
            try tx.insert(["k": 1, "v": .int(.max)], into: "n")
            try tx.insert(["k": 2, "v": .int(.max)], into: "n")
        }
        try engine.read { tx in
            #expect(throws: GuildStoreError.aggregateOverflow(table: "n", column: "v")) { _ = try tx.aggregate("n", [.sum("v")]) }
            let avg = try tx.aggregate("n", [.avg("v")]).first?.double(0)
            #expect(avg == Double(Int64.max))
        }
        try engine.close()
    }

    @Test("group by one uint column: the ids' groups and the NULL group, sums exact, in any walk order")
    func groupByNullableUInt() throws {
        let directory = try TemporaryDirectory("aggregates-uint")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("u.gsdb"))
        defer { try? engine.close() }
        let schema = TableSchema("replies", columns: [ColumnDefinition("id", .uint), ColumnDefinition("parent", .uint, nullable: true),
                                                      ColumnDefinition("chars", .int)],
                                 primaryKey: ["id"])
        var random = SplitMix64(seed: 0x6f0b)
        var model: [UInt64?: (count: Int64, chars: Int64)] = [:]
        try engine.write { tx in
            try tx.createTable(schema)
            for id in 0..<2_000 {
                // Parents scattered over the walk (by id), a fifth of them NULL.
                let parent: UInt64? = Int.random(in: 0..<5, using: &random) == 0 ? nil : UInt64.random(in: 0..<300, using: &random) * 7_919
                let chars = Int64.random(in: -100...1_000, using: &random)
                try tx.insert(["id": .uint(UInt64(id)), "parent": parent.map(Value.uint) ?? .null, "chars": .int(chars)], into: "replies")
                model[parent, default: (0, 0)].count += 1
                model[parent, default: (0, 0)].chars += chars
            }
        }
        try engine.read { tx throws in
            let groups = try tx.aggregate("replies", groupBy: [.column("parent")], [.count, .sum("chars")])
            // Ascending by the group key: NULL first, then the ids. (SQL's ascending order of this engine's values).
            func precedes(_ a: UInt64?, _ b: UInt64?) -> Bool {
                switch (a, b) {
                case let (x?, y?): x < y
                case (nil, _?): true
                default: false
                }
            }
            let expected = model.sorted { precedes($0.key, $1.key) }
            #expect(groups.map(\.group) == expected.map { [$0.key.map(Value.uint) ?? .null] })
            #expect(groups.map { $0.int(0) } == expected.map { $0.value.count })
            #expect(groups.map { $0.int(1) } == expected.map { $0.value.chars })
            let top = try tx.aggregate("replies", groupBy: [.column("parent")], [.count], orderBy: [.aggregate(0)], limit: 5)
            let best = expected.sorted { a, b in
                a.value.count != b.value.count ? a.value.count > b.value.count : precedes(a.key, b.key)
            }.prefix(5)
            #expect(top.map(\.group) == best.map { [$0.key.map(Value.uint) ?? .null] })
        }
    }

    @Test("group by one and two columns, top-N with ties broken by the group key")
    func groups() throws {
        try withEvents(checkGroups)
    }

    func checkGroups(_ tx: ReadTransaction) throws {
        do {
            let model = (0..<100).map { Self.row($0) }
            let perUser = try tx.aggregate("events", groupBy: [.column("user_id")], [.count, .sum("chars")])
            #expect(perUser.map(\.group) == (0..<5).map { [Value.uint(UInt64($0))] })
            for row in perUser {
                let mine = model.filter { $0["user_id"] == row.group[0] }
                var chars: Int64 = 0
                for event in mine { if case .int(let c)? = event["chars"] { chars += c } }
                let count = Int64(mine.count)
                #expect(row.int(0) == count)
                #expect(row.int(1) == chars)
            }
            let pairs = try tx.aggregate("events", groupBy: [.column("guild_id"), .column("user_id")], [.count])
            #expect(pairs.count == 10 && pairs.allSatisfy { $0.int(0) == 10 })
            #expect(pairs.first?.group == [.uint(0), .uint(0)] && pairs.last?.group == [.uint(1), .uint(4)])
            // Leaderboard: guild 0 since t0 + 9000, by count desc, ties by user ascending, top 3.
            let board = try tx.aggregate("events", where: ["guild_id": .uint(0)], range: ColumnRange("created_at", from: .timestamp(Self.t0 + 9_000)),
                                         groupBy: [.column("user_id")], [.count], orderBy: [.aggregate(0)], limit: 3)
            var counts: [UInt64: Int64] = [:]
            for i in stride(from: 10, to: 100, by: 2) { counts[UInt64(i % 5), default: 0] += 1 }
            let expected = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3)
            #expect(board.map(\.group) == expected.map { [Value.uint($0.key)] })
            #expect(board.map { $0.int(0) } == expected.map { $0.value })
            // Group with NULLs: one NULL group, first in ascending order.
            let labels = try tx.aggregate("events", groupBy: [.column("label")], [.count])
            #expect(labels.map(\.group) == [[nil], ["l0"], ["l1"], ["l2"]])
            #expect(labels.first?.int(0) == 75)
            #expect(throws: GuildStoreError.self) { _ = try tx.aggregate("events", groupBy: [.column("label")], [.count], orderBy: [.aggregate(3)]) }
        }
    }

    @Test("hour and day buckets: floor(ts / B) * B, with count distinct per bucket")
    func buckets() throws {
        try withEvents { tx in
            let hourly = try tx.aggregate("events", where: ["guild_id": .uint(0)], groupBy: [.hour("created_at")],
                                          [.count, .countDistinct("user_id"), .sum("chars")])
            // Events every 900 s: four an hour, two of them in guild 0.
            #expect(hourly.count == 25)
            for (h, row) in hourly.enumerated() {
                #expect(row.timestamp(group: 0) == Self.t0 + Int64(h) * 3_600)
                #expect(row.int(0) == 2 && row.int(1) == 2 && row.int(2) == Int64(8 * h + 2))
            }
            let daily = try tx.aggregate("events", groupBy: [.day("created_at")], [.count])
            #expect(daily.map { $0.int(0) } == [96, 4])
            #expect(daily.map { $0.timestamp(group: 0) } == [Self.t0, Self.t0 + 86_400])
            // Negative times floor downwards.
            #expect(Transaction.bucket(.timestamp(-1), seconds: 3_600) == .timestamp(-3_600))
            #expect(Transaction.bucket(.timestamp(3_599), seconds: 3_600) == .timestamp(0))
            #expect(Transaction.bucket(nil, seconds: 3_600) == .some(.null))
            #expect(Transaction.bucket(.timestamp(.min), seconds: 7) == nil)
            #expect(throws: GuildStoreError.self) { _ = try tx.aggregate("events", groupBy: [.hour("label")], [.count]) }
            #expect(throws: GuildStoreError.self) { _ = try tx.aggregate("events", groupBy: [.timeBucket("created_at", seconds: 0)], [.count]) }
        }
    }
}
