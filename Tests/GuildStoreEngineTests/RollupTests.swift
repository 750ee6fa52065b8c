import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Rollups (maintained aggregates): their counters equal what the rows imply after any mix of
/// writes, rollbacks and reopens (`checkTables` recomputes them, RU-1), and an aggregate answered
/// from a rollup equals the same aggregate over the rows, for any range.
@Suite("Rollups")
struct RollupTests {
    static let events = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("user_id", .uint),
                  ColumnDefinition("kind", .text), ColumnDefinition("chars", .int), ColumnDefinition("flag", .bool),
                  ColumnDefinition("created_at", .timestamp), ColumnDefinition("score", .int, nullable: true)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])],
        rollups: [
            RollupDefinition("by_guild_hour", groupBy: [.column("guild_id"), .hour("created_at")],
                             [.countDistinct("user_id"), .sum("chars")]),
            RollupDefinition("by_guild_user_day", groupBy: [.column("guild_id"), .column("user_id"), .day("created_at")],
                             [.sum("chars"), .countWhere("flag", equals: true), .sum("score"), .countNonNull("score")]),
            RollupDefinition("leaves_by_guild_day_user", groupBy: [.column("guild_id"), .day("created_at"), .column("user_id")],
                             [.sum("chars")], where: .equals("kind", "leave")),
            // No bucket: ranges holding every row of their guild (`RollupCoverage`, through
            // `by_guild_created`).
            RollupDefinition("by_guild_user", groupBy: [.column("guild_id"), .column("user_id")], [.sum("chars")]),
            RollupDefinition("leaves_by_guild_user", groupBy: [.column("guild_id"), .column("user_id")], [.sum("chars")],
                             where: .equals("kind", "leave")),
        ])

    static let t0: Int64 = 1_700_000_000 - 1_700_000_000 % 86_400

    static func row(_ id: UInt64, _ random: inout SplitMix64) -> [String: Value] {
        ["id": .uint(id), "guild_id": .uint(UInt64.random(in: 1...3, using: &random)), "user_id": .uint(UInt64.random(in: 1...6, using: &random)),
         "kind": .text(Bool.random(using: &random) ? "leave" : "join"), "chars": .int(Int64.random(in: -50...500, using: &random)),
         "flag": .bool(Bool.random(using: &random)), "created_at": .timestamp(t0 + Int64.random(in: 0..<(5 * 86_400), using: &random)),
         "score": Int.random(in: 0..<3, using: &random) == 0 ? .int(Int64.random(in: -9...9, using: &random)) : .null]
    }

    /// Random time ranges: aligned and unaligned to hours and days, open at either end, empty.
    static func range(_ random: inout SplitMix64) -> ColumnRange? {
        func time() -> Int64 {
            let t = t0 + Int64.random(in: -86_400...(6 * 86_400), using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return t - t % 86_400
            case 1: return t - t % 3_600
            default: return t
            }
        }
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return nil
        case 1: return ColumnRange("created_at", from: .timestamp(time()))
        case 2: return ColumnRange("created_at", below: .timestamp(time()))
        default:
            let (a, b) = (time(), time())
            return ColumnRange("created_at", from: .timestamp(min(a, b)), below: .timestamp(max(a, b)))
        }
    }

    /// Each aggregate a rollup answers, from the rollup and from the rows; they must agree.
    /// A range without one whole bucket is the rows' to answer (`aggregateFromRollup` gives
    /// nil); the others must come from the rollup.
    static func compareAnswers(_ tx: Transaction, _ random: inout SplitMix64) throws {
        var answered = 0
        for _ in 0..<40 {
            let guild = Value.uint(UInt64.random(in: 0...3, using: &random))
            let user = Value.uint(UInt64.random(in: 1...7, using: &random))
            let range = Self.range(&random)
            let queries: [(equals: [String: Value], groupBy: [GroupKey], aggregates: [Aggregate], orderBy: [AggregateOrder])] = [
                (["guild_id": guild], [.hour("created_at")], [.count, .countDistinct("user_id"), .sum("chars")], []),
                (["guild_id": guild], [.day("created_at")], [.count, .sum("chars")], []),
                (["guild_id": guild, "user_id": user], [], [.count, .sum("chars"), .countWhere("flag", equals: true)], []),
                (["guild_id": guild, "user_id": user], [.day("created_at")], [.sum("chars")], []),
                // A nullable column: SUM of NULLs alone is NULL.
                (["guild_id": guild, "user_id": user], [], [.sum("score")], []),
                (["guild_id": guild, "user_id": user], [.day("created_at")], [.countNonNull("score"), .sum("score"), .countNonNull("chars")], []),
                (["guild_id": guild, "kind": "leave"], [.column("user_id")], [.sum("chars"), .count], [.aggregate(0)]),
                (["guild_id": guild], [.column("user_id")], [.count, .sum("chars")], [.aggregate(0)]),
            ]
            for query in queries {
                let rollup = try tx.aggregateFromRollup("events", where: query.equals, range: range, groupBy: query.groupBy,
                                                        query.aggregates, orderBy: query.orderBy, limit: .max)
                let rows = try tx.aggregateRows("events", where: query.equals, range: range, filter: nil, groupBy: query.groupBy,
                                                query.aggregates, orderBy: query.orderBy, limit: .max)
                guard let rollup else { continue }
                answered += 1
                #expect(rollup == rows, "\(query.equals) \(query.groupBy) \(query.aggregates) over \(String(describing: range))")
            }
            // What no rollup keeps goes to the rows.
            #expect(try tx.aggregateFromRollup("events", where: ["guild_id": guild], range: range, groupBy: [.column("user_id")],
                                               [.countDistinct("kind")], orderBy: [], limit: .max) == nil)
        }
        #expect(answered >= 140, "rollups answered \(answered) of 320 queries")
    }

    /// The flush's in-place rewrites (`withWritableValue`) over rollup trees of many leaves:
    /// thousands of groups and distinct values, so the hinted leaf is left for a descent at
    /// each upper fence; a transaction budget of 32 pages, so pages spill between groups and
    /// come back writable from their frames; a few hot users whose counts and sums cross the
    /// encodings' length steps (63 to 64, 8,191 to 8,192) up and, through deletes, down to zero.
    @Test("counters stay exact when the flush rewrites them in place across many leaves and spills")
    func inPlaceAcrossLeavesAndSpills() throws {
        let directory = try TemporaryDirectory("rollups-in-place")
        defer { directory.remove() }
        var random = SplitMix64(seed: 0x1_0c0_5ca1e)
        let configuration = EngineConfiguration(pageSize: 4096, synchronous: .normal, transactionCacheBytes: 32 * 4096)
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"), configuration: configuration)
        defer { try? engine.close() }
        try engine.write { tx in try tx.createTable(Self.events) }
        var nextID: UInt64 = 1
        var live: [UInt64] = []
        func event(user: UInt64, chars: Int64) -> [String: Value] {
            ["id": .uint(nextID), "guild_id": .uint(UInt64.random(in: 1...3, using: &random)), "user_id": .uint(user),
             "kind": .text(Bool.random(using: &random) ? "leave" : "join"), "chars": .int(chars),
             "flag": .bool(Bool.random(using: &random)), "created_at": .timestamp(Self.t0 + Int64.random(in: 0..<(5 * 86_400), using: &random)),
             "score": .null]
        }
        for round in 0..<8 {
            try engine.write { tx in
                // Wide: thousands of users, so every rollup tree spans many leaves.
                for _ in 0..<2_500 {
                    try tx.insert(event(user: UInt64.random(in: 1...4_000, using: &random), chars: Int64.random(in: -50...500, using: &random)),
                                  into: "events")
                    live.append(nextID)
                    nextID += 1
                }
                // Hot: three users whose groups count past 64 and whose sums pass 8,192.
                for _ in 0..<600 {
                    try tx.insert(event(user: UInt64.random(in: 1...3, using: &random), chars: Int64.random(in: 0...40, using: &random)),
                                  into: "events")
                    live.append(nextID)
                    nextID += 1
                }
                // Deletes: counts and sums step back down, some groups to zero.
                if round >= 4 {
                    for _ in 0..<1_500 {
                        let id = live.remove(at: Int.random(in: 0..<live.count, using: &random))
                        try tx.delete(from: "events", key: [.uint(id)])
                    }
                }
            }
            try engine.read { tx throws in #expect(try tx.checkTables() == [], "round \(round)") }
        }
        #expect(engine.statistics().spilledPages > 0, "the transactions spilled")
        // A hot user's all-time group crossed the length steps (more than 64 rows, a sum past
        // 8,192), and its rollup answer is the rows' answer.
        let hot: [String: Value] = ["guild_id": .uint(1), "user_id": .uint(1)]
        let (fromRollup, fromRows) = try engine.read { tx in
            (try tx.aggregateFromRollup("events", where: hot, range: nil, groupBy: [], [.count, .sum("chars")], orderBy: [], limit: .max),
             try tx.aggregateRows("events", where: hot, range: nil, filter: nil, groupBy: [], [.count, .sum("chars")], orderBy: [], limit: .max))
        }
        #expect(fromRollup != nil && fromRollup == fromRows)
        let counts = try #require(fromRows.first)
        #expect((counts.int(0) ?? 0) > 64 && (counts.int(1) ?? 0) > 8_192, "\(counts)")
    }

    @Test("counters equal the rows' after random writes, rollbacks and reopens; answers equal the rows'")
    func randomWrites() throws {
        let directory = try TemporaryDirectory("rollups")
        defer { directory.remove() }
        var random = SplitMix64(seed: 0x5011_0b5)
        var engine = try StorageEngine.open(path: directory.file("r.gsdb"))
        try engine.write { tx in try tx.createTable(Self.events) }
        var nextID: UInt64 = 1
        var live: [UInt64] = []
        for round in 0..<30 {
            let rollBack = round % 4 == 3
            do {
                try engine.write { tx in
                    for _ in 0..<Int.random(in: 1...120, using: &random) {
                        switch Int.random(in: 0..<10, using: &random) {
                        case 0..<6:
                            try tx.insert(Self.row(nextID, &random), into: "events")
                            live.append(nextID)
                            nextID += 1
                        case 6..<8 where !live.isEmpty:
                            let id = live[Int.random(in: 0..<live.count, using: &random)]
                            var changes = Self.row(id, &random)
                            changes["id"] = nil
                            try tx.update("events", key: [.uint(id)], set: changes)
                        case 8..<10 where !live.isEmpty:
                            let id = live.remove(at: Int.random(in: 0..<live.count, using: &random))
                            try tx.delete(from: "events", key: [.uint(id)])
                        default: break
                        }
                    }
                    // A read inside the transaction sees its own waiting deltas (RU-3).
                    try Self.compareAnswers(tx, &random)
                    if rollBack { throw CancellationError() }
                }
            } catch is CancellationError {
                // The rolled-back round's ids are gone again.
                live = try engine.read { tx in try tx.select("events", columns: ["id"]).map { try $0.uint("id") } }
            }
            if round % 10 == 9 {
                try engine.close()
                engine = try StorageEngine.open(path: directory.file("r.gsdb"))
            }
            try engine.read { tx in
                #expect(try tx.checkTables() == [], "round \(round)")
                try Self.compareAnswers(tx, &random)
            }
        }
        // A range delete (retention) and a rollup added to a table that has rows.
        try engine.write { tx in
            try tx.delete(try tx.planScan("events", equals: ["guild_id": .uint(2)], range: ColumnRange("created_at", below: .timestamp(Self.t0 + 2 * 86_400))))
            try tx.addRollup(to: "events", RollupDefinition("by_kind", groupBy: [.column("kind")], [.sum("chars")]))
        }
        try engine.read { tx in
            #expect(try tx.checkTables() == [])
            let fromRollup = try tx.aggregateFromRollup("events", where: [:], range: nil, groupBy: [.column("kind")], [.count, .sum("chars")],
                                                        orderBy: [], limit: .max)
            let fromRows = try tx.aggregateRows("events", where: [:], range: nil, filter: nil, groupBy: [.column("kind")],
                                                [.count, .sum("chars")], orderBy: [], limit: .max)
            #expect(fromRollup != nil && fromRollup == fromRows)
        }
        try engine.close()
    }

    @Test("a statement deleting many rows whose groups interleave keeps every counter exact")
    func batchDeleteInterleavedGroups() throws {
        let directory = try TemporaryDirectory("rollup-batch")
        defer { directory.remove() }
        var random = SplitMix64(seed: 0xba7c4)
        let engine = try StorageEngine.open(path: directory.file("b.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in
            try tx.createTable(Self.events)
            for id in 1...600 { try tx.insert(Self.row(UInt64(id), &random), into: "events") }
        }
        try engine.write { tx in
            // Deltas of the same groups already wait when the batch comes (RU-3).
            for id in 601...700 { try tx.insert(Self.row(UInt64(id), &random), into: "events") }
            // In key order the rows' groups interleave: runs end and the same groups return.
            let deleted = try tx.delete(from: "events") { row in try row.uint("id") % 3 != 0 }
            #expect(deleted == 467)
            try Self.compareAnswers(tx, &random)
        }
        try engine.read { tx in
            #expect(try tx.checkTables() == [])
            #expect(try tx.count("events") == 233)
            for _ in 0..<20 { try Self.compareAnswers(tx, &random) }
        }
    }

    @Test("range deletes drop the groups they empty whole and count the edges: every counter stays exact (RU-4)")
    func rangeDeletesDropWholeGroups() throws {
        let directory = try TemporaryDirectory("rollup-range-delete")
        defer { directory.remove() }
        var random = SplitMix64(seed: 0x4a4_4)
        for round in 0..<12 {
            let engine = try StorageEngine.open(path: directory.file("d\(round).gsdb"))
            try engine.write { tx in
                try tx.createTable(Self.events)
                for id in 1...800 { try tx.insert(Self.row(UInt64(id), &random), into: "events") }
            }
            try engine.write { tx in
                // Deltas wait in the rollups when the deletes come (RU-3).
                for id in 801...850 { try tx.insert(Self.row(UInt64(id), &random), into: "events") }
                for _ in 0..<3 {
                    let guild = Value.uint(UInt64.random(in: 1...3, using: &random))
                    let equals: [String: Value] = switch Int.random(in: 0..<4, using: &random) {
                    case 0: ["user_id": .uint(UInt64.random(in: 1...6, using: &random))]  // leads no rollup: row by row
                    case 1: ["guild_id": guild, "user_id": .uint(UInt64.random(in: 1...6, using: &random))]
                    default: ["guild_id": guild]
                    }
                    let range = Self.range(&random)
                    let expected = try tx.count("events", where: equals, range: range)
                    #expect(try tx.delete(try tx.planScan("events", equals: equals, range: range)) == expected)
                }
                try Self.compareAnswers(tx, &random)
            }
            try engine.read { tx in
                #expect(try tx.checkTables() == [], "round \(round)")
                for _ in 0..<10 { try Self.compareAnswers(tx, &random) }
            }
            try engine.close()
        }
    }

    @Test("the shortcut applies where the equalities lead a rollup's groups and the range is on its bucket")
    func coveredGroupsShape() throws {
        let directory = try TemporaryDirectory("rollup-covered")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in try tx.createTable(Self.events) }
        try engine.write { tx in
            let table = try tx.compiledTable("events")
            let byName = Dictionary(uniqueKeysWithValues: table.rollups.map { ($0.definition.name, $0) })
            let hourly = try #require(byName["by_guild_hour"]), daily = try #require(byName["by_guild_user_day"])
            let cutoff = ColumnRange("created_at", below: .timestamp(Self.t0 + 86_400 + 1_800))
            let guildOnly = ScanPlan.Selection(equals: ["guild_id": .uint(1)], range: cutoff)
            let covered = try #require(tx.coveredGroups(hourly, table: table, selection: guildOnly))
            #expect(covered.covers(bucketStart: .timestamp(Self.t0 + 86_400 - 3_600)), "the hour before the cutoff's is whole")
            #expect(!covered.covers(bucketStart: .timestamp(Self.t0 + 86_400)), "the cutoff's hour is an edge")
            #expect(!covered.covers(bucketStart: .timestamp(Self.t0 + 86_400 + 3_600)), "an hour after the cutoff is kept")
            #expect(!covered.covers(bucketStart: .null))
            let coveredDays = try #require(tx.coveredGroups(daily, table: table, selection: guildOnly))
            #expect(coveredDays.covers(bucketStart: .timestamp(Self.t0)))
            #expect(!coveredDays.covers(bucketStart: .timestamp(Self.t0 + 86_400)), "the cutoff's day is an edge")
            #expect(tx.coveredGroups(hourly, table: table, selection: .init(equals: ["user_id": .uint(1)], range: cutoff)) == nil)
            #expect(tx.coveredGroups(hourly, table: table, selection: .init(equals: ["guild_id": .uint(1), "user_id": .uint(1)],
                                                                            range: cutoff)) == nil)
            #expect(tx.coveredGroups(daily, table: table, selection: .init(equals: ["guild_id": .uint(1)],
                                                                           range: ColumnRange("chars", below: .int(5)))) == nil)
        }
    }

    @Test("a rollup without a bucket answers a range exactly when the range holds every row of its values")
    func bucketlessRollupCoverage() throws {
        let directory = try TemporaryDirectory("rollup-coverage")
        defer { directory.remove() }
        var random = SplitMix64(seed: 0xc0_7e4)
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"))
        defer { try? engine.close() }
        // Only the bucketless rollups can answer a per-user ranking with a range.
        var schema = Self.events
        schema.rollups = Self.events.rollups.filter { $0.bucketPosition == nil }
        try engine.write { tx in
            try tx.createTable(schema)
            for id in 1...300 { try tx.insert(Self.row(UInt64(id), &random), into: "events") }
        }
        func ranking(_ tx: Transaction, _ equals: [String: Value], _ range: ColumnRange?) throws -> (rollup: [AggregateRow]?, rows: [AggregateRow]) {
            let aggregates: [Aggregate] = [.count, .sum("chars")]
            let rollup = try tx.aggregateFromRollup("events", where: equals, range: range, groupBy: [.column("user_id")], aggregates,
                                                    orderBy: [.aggregate(0)], limit: .max)
            let rows = try tx.aggregateRows("events", where: equals, range: range, filter: nil, groupBy: [.column("user_id")], aggregates,
                                            orderBy: [.aggregate(0)], limit: .max)
            return (rollup, rows)
        }
        func times(_ tx: Transaction, guild: UInt64) throws -> (first: Int64, last: Int64) {
            let stamps = try tx.select("events", columns: ["created_at"], where: ["guild_id": .uint(guild)]).map { try $0.timestamp("created_at") }
            return (try #require(stamps.min()), try #require(stamps.max()))
        }
        try engine.read { tx in
            let (first, last) = try times(tx, guild: 1)
            let guild: [String: Value] = ["guild_id": .uint(1)]
            // Ranges holding every row of guild 1: answered from the rollup, equal to the rows.
            for range in [ColumnRange("created_at", from: .timestamp(0)), ColumnRange("created_at", from: .timestamp(first)),
                          ColumnRange("created_at", below: .timestamp(last + 1)),
                          ColumnRange("created_at", from: .timestamp(first), below: .timestamp(last + 1))] {
                let (rollup, rows) = try ranking(tx, guild, range)
                #expect(rollup != nil && rollup == rows, "\(range)")
                #expect(rows.count == 6 && rows.reduce(0) { $0 + ($1.int(0) ?? 0) } > 50)
            }
            // A range that leaves out the first or the last row: the rows answer it.
            for range in [ColumnRange("created_at", from: .timestamp(first + 1)), ColumnRange("created_at", below: .timestamp(last))] {
                #expect(try ranking(tx, guild, range).rollup == nil, "\(range)")
            }
            // The rollup with a predicate, through the same index (a superset of its rows).
            let leaves = try ranking(tx, ["guild_id": .uint(1), "kind": "leave"], ColumnRange("created_at", from: .timestamp(first)))
            #expect(leaves.rollup != nil && leaves.rollup == leaves.rows && !leaves.rows.isEmpty)
            // A guild without rows: every range holds all of them (none).
            let empty = try ranking(tx, ["guild_id": .uint(9)], ColumnRange("created_at", from: .timestamp(first), below: .timestamp(first + 1)))
            #expect(empty.rollup == [] && empty.rows == [])
            // Bounds of another type, NULL, or a range on a column no index orders under the
            // guild: the rows'.
            #expect(try tx.aggregateFromRollup("events", where: guild, range: ColumnRange("created_at", from: .null), groupBy: [.column("user_id")],
                                               [.count], orderBy: [], limit: .max) == nil)
            #expect(try tx.aggregateFromRollup("events", where: guild, range: ColumnRange("created_at", from: .int(0)), groupBy: [.column("user_id")],
                                               [.count], orderBy: [], limit: .max) == nil)
            #expect(try tx.aggregateFromRollup("events", where: guild, range: ColumnRange("chars", from: .int(-1_000)), groupBy: [.column("user_id")],
                                               [.count], orderBy: [], limit: .max) == nil)
        }
        // Inside a write transaction, after deletes that bring guild 2's rows inside a range:
        // the probes and the counters see the transaction's own writes (RU-3).
        try engine.write { tx in
            let (first, last) = try times(tx, guild: 2)
            let cutoff = first + (last - first) / 2
            #expect(try ranking(tx, ["guild_id": .uint(2)], ColumnRange("created_at", from: .timestamp(cutoff))).rollup == nil)
            #expect(try tx.delete(try tx.planScan("events", equals: ["guild_id": .uint(2)], range: ColumnRange("created_at", below: .timestamp(cutoff)))) > 0)
            let after = try ranking(tx, ["guild_id": .uint(2)], ColumnRange("created_at", from: .timestamp(cutoff)))
            #expect(after.rollup != nil && after.rollup == after.rows && !after.rows.isEmpty)
        }
        let problems = try engine.read { tx in try tx.checkTables() }
        #expect(problems == [])
    }

    @Test("a rollup without a bucket takes no range when no complete index orders its rows by the range's NOT NULL column")
    func bucketlessRollupNeedsCoverageIndex() throws {
        let directory = try TemporaryDirectory("rollup-coverage-index")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"))
        defer { try? engine.close() }
        let rollup = RollupDefinition("by_guild", groupBy: [.column("guild_id")], [])
        // A partial index holds some rows only; a nullable column's NULLs are in no range.
        let partial = TableSchema("partial", columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint),
                                                       ColumnDefinition("kind", .text), ColumnDefinition("at", .timestamp)],
                                  primaryKey: ["id"], indexes: [IndexDefinition("leaves", on: ["guild_id", "at"], where: .equals("kind", "leave"))],
                                  rollups: [rollup])
        let nullable = TableSchema("nullable", columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint),
                                                         ColumnDefinition("at", .timestamp, nullable: true)],
                                   primaryKey: ["id"], indexes: [IndexDefinition("by_guild_at", on: ["guild_id", "at"])], rollups: [rollup])
        try engine.write { tx in
            try tx.createTable(partial)
            try tx.createTable(nullable)
            try tx.insert(["id": .uint(1), "guild_id": .uint(1), "kind": "join", "at": .timestamp(10)], into: "partial")
            try tx.insert(["id": .uint(1), "guild_id": .uint(1), "at": .null], into: "nullable")
            try tx.insert(["id": .uint(2), "guild_id": .uint(1), "at": .timestamp(10)], into: "nullable")
        }
        try engine.read { tx in
            for table in ["partial", "nullable"] {
                let all = try tx.aggregateFromRollup(table, where: ["guild_id": .uint(1)], range: nil, groupBy: [], [.count], orderBy: [], limit: .max)
                #expect(all?.first?.int(0) == (table == "partial" ? 1 : 2), "\(table): no range, the rollup answers")
                let ranged = try tx.aggregateFromRollup(table, where: ["guild_id": .uint(1)], range: ColumnRange("at", from: .timestamp(0)),
                                                        groupBy: [], [.count], orderBy: [], limit: .max)
                #expect(ranged == nil, "\(table)")
                let rows = try tx.aggregateRows(table, where: ["guild_id": .uint(1)], range: ColumnRange("at", from: .timestamp(0)), filter: nil,
                                                groupBy: [], [.count], orderBy: [], limit: .max)
                #expect(rows.first?.int(0) == 1, "\(table): the rows count only the row in the range")
            }
        }
    }

    @Test("check reports a rollup whose counters disagree with its rows")
    func checkFindsDamage() throws {
        let directory = try TemporaryDirectory("rollup-check")
        defer { directory.remove() }
        var random = SplitMix64(seed: 7)
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in
            try tx.createTable(Self.events)
            for id in 1...200 { try tx.insert(Self.row(UInt64(id), &random), into: "events") }
        }
        // Damage one counter entry and one distinct count behind the table's back.
        try engine.write { tx in
            let table = try tx.compiledTable("events")
            let rollup = try #require(table.rollups.first)
            let tree = try #require(rollup.tree)
            let (key, value) = try #require(try tx.entries(tree, limit: 1).first)
            var counters = try value.withUnsafeBytes { try rollup.decodeCounters($0) }
            counters[counters.count - 1] += 1
            try tx.put(key, CompiledRollup.encodeCounters(counters), in: tree)
            let distinctTree = try rollup.tree(named: "rollup:events.by_guild_hour#0")
            let (distinctKey, _) = try #require(try tx.entries(distinctTree, limit: 1).first)
            try tx.delete(distinctKey, in: distinctTree)
        }
        let problems = try engine.read { try $0.checkTables() }
        #expect(problems.contains { $0.contains("by_guild_hour") && $0.contains("groups differ") }, "\(problems)")
        #expect(problems.contains { $0.contains("distinct counts") }, "\(problems)")
    }

    /// A flush that meets a damaged counter part way has rewritten the groups before it in
    /// place and lost the rest of its deltas: a caller that catches the error and returns
    /// normally must not commit that (RU-1). The commit throws the flush's error, and the
    /// database is as before the transaction.
    @Test("a rollup flush that fails part way makes the commit refuse with its error; nothing is written")
    func failedFlushRefusesCommit() throws {
        let directory = try TemporaryDirectory("rollup-failed-flush")
        defer { directory.remove() }
        let schema = TableSchema(
            "t", columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("chars", .int)],
            primaryKey: ["id"], rollups: [RollupDefinition("by_guild", groupBy: [.column("guild_id")], [.sum("chars")])])
        let engine = try StorageEngine.open(path: directory.file("f.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in
            try tx.createTable(schema)
            for id in 1...4 as ClosedRange<UInt64> {
                try tx.insert(["id": .uint(id), "guild_id": .uint(id % 2 + 1), "chars": .int(10)], into: "t")
            }
        }
        // Guild 2's counters, the second group in key order, become bytes no varint reads.
        let tree = try engine.write { tx -> Tree in
            let rollup = try #require(try tx.compiledTable("t").rollups.first)
            let tree = try #require(rollup.tree)
            let entries = try tx.entries(tree, limit: 2)
            try #require(entries.count == 2)
            try tx.put(entries[1].0, [0xFF], in: tree)
            return tree
        }
        let before = try engine.read { tx in try tx.entries(tree, limit: 10) }
        var flushFailed = false
        var commitError: (any Error)?
        do {
            try engine.write { tx in
                try tx.insert(["id": .uint(10), "guild_id": .uint(1), "chars": .int(5)], into: "t")
                try tx.insert(["id": .uint(11), "guild_id": .uint(2), "chars": .int(5)], into: "t")
                // Reading the rollup tree flushes its deltas first (RU-3): guild 1 is rewritten
                // in place, guild 2 fails. The error is swallowed here, as a careless caller would.
                do { _ = try tx.entries(tree, limit: 10) } catch { flushFailed = true }
            }
        } catch {
            commitError = error
        }
        #expect(flushFailed)
        guard case .corruptEncoding? = commitError as? GuildStoreError else {
            Issue.record("the commit went through or failed otherwise: \(String(describing: commitError))")
            return
        }
        let (rows, after) = try engine.read { tx in (try tx.select("t", columns: ["id"]).count, try tx.entries(tree, limit: 10)) }
        #expect(rows == 4)
        #expect(after.map { $0.0 + [0] + $0.1 } == before.map { $0.0 + [0] + $0.1 })
    }

    @Test("counters round-trip as shortest varints over 128 bits; malformed ones are refused")
    func counterEncoding() throws {
        let rollup = try CompiledRollup(RollupDefinition("r", groupBy: [.column("guild_id")], [.sum("chars"), .count]),
                                        schema: Self.events) { _ in nil }
        let values: [Int128] = [0, 1, -1, 63, -64, 64, Int128(Int64.max), Int128(Int64.min), .max, .min, 1 << 100, -(1 << 100)]
        for a in values {
            for b in values.reversed() {
                let counters = [a, b, a &- b]
                let bytes = CompiledRollup.encodeCounters(counters)
                #expect(try bytes.withUnsafeBytes { try rollup.decodeCounters($0) } == counters)
            }
        }
        #expect(CompiledRollup.encodeCounters([0, 1, -1]) == [0, 2, 1])
        // Truncated, a byte too many, not shortest (a trailing zero group), past 128 bits.
        for bad: [UInt8] in [[0, 2], [0, 2, 1, 0], [0, 0x82, 0x00, 1], [0, 2] + Array(repeating: 0xFF, count: 18) + [0x7F]] {
            #expect(throws: GuildStoreError.self) { try bad.withUnsafeBytes { try rollup.decodeCounters($0) } }
        }
        #expect(throws: GuildStoreError.self) { try [UInt8]([0]).withUnsafeBytes { try rollup.decodeDistinctCount($0) } }
        #expect(try CompiledRollup.encodeDistinctCount(300).withUnsafeBytes { try rollup.decodeDistinctCount($0) } == 300)
    }

    @Test("definitions are checked: bucket column type, at most one bucket, sums of NOT NULL numbers only")
    func definitionsAreChecked() throws {
        func schema(_ rollup: RollupDefinition) -> TableSchema {
            var schema = Self.events
            schema.rollups = [rollup]
            return schema
        }
        #expect(throws: GuildStoreError.self) { try schema(RollupDefinition("r", groupBy: [.hour("kind")], [])).validate() }
        #expect(throws: GuildStoreError.self) {
            try schema(RollupDefinition("r", groupBy: [.hour("created_at"), .day("created_at")], [])).validate()
        }
        #expect(throws: GuildStoreError.self) { try schema(RollupDefinition("r", groupBy: [.column("guild_id")], [.sum("kind")])).validate() }
        #expect(throws: GuildStoreError.self) { try schema(RollupDefinition("r", groupBy: [.column("nope")], [])).validate() }
        #expect(throws: GuildStoreError.self) { try schema(RollupDefinition("r", groupBy: [.column("guild_id")], [.sum("score")])).validate() }
        try schema(RollupDefinition("r", groupBy: [.column("guild_id")], [.countNonNull("score"), .sum("score")])).validate()
        try schema(RollupDefinition("r", groupBy: [.column("guild_id")], [.sum("flag"), .countDistinct("kind")])).validate()
    }
}
