import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `planScan` caches its choice per query shape (QP-1): a cached plan with other values must
/// equal the plan a fresh engine makes for those values, including where a partial index's
/// predicate makes the values sway the choice.
@Suite("Plan cache")
struct PlanCacheTests {
    static let events = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("active", .bool),
                  ColumnDefinition("label", .text, nullable: true), ColumnDefinition("created_at", .timestamp)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
                  IndexDefinition("active_created", on: ["created_at"], where: .equals("active", true), including: ["guild_id"]),
                  IndexDefinition("labelled", on: ["label"], where: .isNotNull("label"))])

    @Test("cached plans with new values equal fresh plans; partial-index predicates split shapes")
    func cachedEqualsFresh() throws {
        let directory = try TemporaryDirectory("plan-cache")
        defer { directory.remove() }
        let cached = try StorageEngine.open(path: directory.file("a.gsdb"))
        defer { try? cached.close() }
        try cached.write { tx in try tx.createTable(Self.events) }
        for name in ["b0.gsdb", "b1.gsdb"] {
            let fresh = try StorageEngine.open(path: directory.file(name))
            try fresh.write { tx in try tx.createTable(Self.events) }
            try fresh.close()
        }
        var random = SplitMix64(seed: 0x9a17)
        func values() -> (equals: [[String: Value]], range: ColumnRange?) {
            let guild = Value.uint(UInt64.random(in: 0...9, using: &random))
            let active = Value.bool(Bool.random(using: &random))
            let label: Value = Bool.random(using: &random) ? .null : .text("l\(Int.random(in: 0...3, using: &random))")
            let t = Int64.random(in: 0...1_000, using: &random)
            let range: ColumnRange? = switch Int.random(in: 0..<4, using: &random) {
            case 0: nil
            case 1: ColumnRange("created_at", from: .timestamp(t))
            case 2: ColumnRange("created_at", below: .timestamp(t))
            default: ColumnRange("created_at", from: .timestamp(t), below: .timestamp(t + 50))
            }
            return ([["guild_id": guild], ["active": active], ["label": label], ["guild_id": guild, "active": active], [:]], range)
        }
        var shapes: [String: Set<String?>] = [:]
        for round in 0..<200 {
            let (equalities, range) = values()
            for equals in equalities {
                for orderBy: [SortKey] in [[], [.descending("created_at")]] {
                    let plan = try cached.read { try $0.planScan("events", equals: equals, range: range, orderBy: orderBy, reading: ["id", "guild_id"]) }
                    // A fresh engine on the same file has an empty cache.
                    let fresh = try StorageEngine.open(path: directory.file("b\(round % 2).gsdb"))
                    let expected = try fresh.read { try $0.planScan("events", equals: equals, range: range, orderBy: orderBy, reading: ["id", "guild_id"]) }
                    try fresh.close()
                    #expect(plan == expected, "round \(round): \(equals) \(String(describing: range)) \(orderBy)")
                    shapes["\(equals.keys.sorted())", default: []].insert(plan.index)
                }
            }
        }
        // The values of `active` and `label` chose different indexes for one set of columns.
        #expect((shapes["[\"active\"]"]?.count ?? 0) >= 2 && (shapes["[\"label\"]"]?.count ?? 0) >= 2, "\(shapes)")
        #expect(cached.planCache.withLock { $0.count } > 0)
    }
}

/// A prepared scan's plan for a run's values equals `planScan`'s for the same conditions
/// (QP-1), including where the values sway a partial index's predicate, and follows a schema
/// change; `walkPlan` gives that plan with its reading columns' positions and whether it
/// comes in the query's order.
@Suite("Prepared scans")
struct PreparedScanTests {
    /// A prepared plan carries its table and index resolved (`PlanTarget`, QP-3); schema
    /// counters repeat across databases, so a plan made in one and run in another must read the
    /// other's trees, never the first one's.
    @Test("a prepared plan run in another database with the same schema counter reads that database's rows")
    func planFromAnotherDatabase() throws {
        let directory = try TemporaryDirectory("prepared-scan-elsewhere")
        defer { directory.remove() }
        let other = TableSchema("other", columns: [ColumnDefinition("id", .uint), ColumnDefinition("note", .text)], primaryKey: ["id"])
        let first = try StorageEngine.open(path: directory.file("a.gsdb"))
        defer { try? first.close() }
        let second = try StorageEngine.open(path: directory.file("b.gsdb"))
        defer { try? second.close() }
        // The same schema made in another order: equal counters, other root pages.
        try first.write { tx in
            try tx.createTable(other)
            try tx.createTable(PlanCacheTests.events)
        }
        try second.write { tx in
            try tx.createTable(PlanCacheTests.events)
            try tx.createTable(other)
        }
        func event(_ id: UInt64, guild: UInt64) -> [String: Value] {
            ["id": .uint(id), "guild_id": .uint(guild), "active": true, "label": .text("e\(id)"), "created_at": .timestamp(Int64(id))]
        }
        try first.write { tx in
            for id in 0..<300 as Range<UInt64> { try tx.insert(event(id, guild: 1), into: "events") }
            try tx.insert(["id": .uint(1), "note": "first"], into: "other")
        }
        try second.write { tx in
            for id in 1_000..<1_040 as Range<UInt64> { try tx.insert(event(id, guild: 1), into: "events") }
            try tx.insert(["id": .uint(1), "note": "second"], into: "other")
        }
        #expect(try first.read { $0.header.schemaCounter } == second.read { $0.header.schemaCounter })

        let scan = PreparedScan("events", equals: ["guild_id"], range: "created_at", reading: ["id", "label"])
        let plan = try first.read { tx in try tx.planScan(scan, equals: [.uint(1)], from: .timestamp(0)) }
        let ids = try second.read { tx in try tx.select(plan).map { try $0.uint("id") } }
        #expect(ids == Array(1_000..<1_040))
        #expect(try second.read { tx in try tx.aggregate(plan, shape: AggregateShape(try tx.table("events"), groupBy: [], [.count], orderBy: []),
                                                          filter: nil, limit: 1).first?.int(0) } == 40)
        // In its own database the plan still reads that database's rows.
        #expect(try first.read { tx in try tx.select(plan).count } == 300)
    }

    @Test("prepared plans equal planScan's for random values, before and after an index is added and dropped")
    func equalsPlanScan() throws {
        let directory = try TemporaryDirectory("prepared-scan")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("s.gsdb"))
        defer { try? engine.close() }
        try engine.write { tx in try tx.createTable(PlanCacheTests.events) }
        let scans = [
            PreparedScan("events", equals: ["guild_id"], range: "created_at", reading: ["id", "guild_id"]),
            PreparedScan("events", equals: ["active"], range: "created_at", orderBy: [.descending("created_at")], reading: ["guild_id"]),
            PreparedScan("events", equals: ["label"], reading: ["id"]),
            PreparedScan("events", equals: ["guild_id", "active"], range: "created_at", orderBy: [.ascending("created_at")]),
            // Listed out of name order: the plan's selection lists them sorted either way.
            PreparedScan("events", equals: ["label", "guild_id"], range: "created_at"),
            PreparedScan("events", orderBy: [.descending("created_at")]),
        ]
        var random = SplitMix64(seed: 0x51ce)
        func value(_ column: String) -> Value {
            switch column {
            case "guild_id": .uint(UInt64.random(in: 0...9, using: &random))
            case "active": .bool(Bool.random(using: &random))
            default: Bool.random(using: &random) ? .null : .text("l\(Int.random(in: 0...3, using: &random))")
            }
        }
        func compare(rounds: Int) throws {
            try engine.read { tx in
                for round in 0..<rounds {
                    for scan in scans {
                        let values = scan.equalColumns.map(value)
                        let t = Int64.random(in: 0...1_000, using: &random)
                        let bounds: (Value?, Value?) = switch scan.rangeColumn == nil ? 0 : Int.random(in: 0..<4, using: &random) {
                        case 0: (nil, nil)
                        case 1: (.timestamp(t), nil)
                        case 2: (nil, .timestamp(t))
                        default: (.timestamp(t), .timestamp(t + 50))
                        }
                        let range = bounds.0 == nil && bounds.1 == nil ? nil : scan.rangeColumn.map { ColumnRange($0, from: bounds.0, below: bounds.1) }
                        let prepared = try tx.planScan(scan, equals: values, from: bounds.0, below: bounds.1)
                        let expected = try tx.planScan("events", equals: Dictionary(uniqueKeysWithValues: zip(scan.equalColumns, values)),
                                                       range: range, orderBy: scan.orderBy, reading: scan.reading)
                        #expect(prepared == expected, "round \(round): \(scan) \(values) \(String(describing: range))")
                        // What a walk's caller reads without a name lookup: the same plan, the
                        // reading columns' positions, whether the walk gives the query's order.
                        let walk = try tx.walkPlan(scan, equals: values, from: bounds.0, below: bounds.1)
                        let schema = try tx.table("events")
                        #expect(walk.plan == expected)
                        #expect(walk.columns == (try (scan.reading ?? []).map { try schema.columnIndex($0) }))
                        #expect(walk.ordered == expected.provides(scan.orderBy), "round \(round): \(scan) \(values)")
                    }
                }
            }
        }
        try compare(rounds: 100)
        try engine.write { tx in try tx.addIndex(to: "events", IndexDefinition("guild_active", on: ["guild_id", "active", "created_at"])) }
        try compare(rounds: 20)
        try engine.write { tx in try tx.dropIndex(from: "events", named: "by_guild_created") }
        try compare(rounds: 20)
    }
}
