import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Aggregates over slot walks (SL-1, SL-2): index entries decoded into machine words, grouped
/// and counted without a `Value` per column. Every answer is compared with the `Value` walk's
/// (a filter that admits every row sends an aggregate down that walk).
@Suite("Slot aggregates")
struct SlotAggregateTests {
    static let schema = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("user_id", .uint, nullable: true),
                  ColumnDefinition("kind", .text, nullable: true), ColumnDefinition("size", .int, nullable: true),
                  ColumnDefinition("flag", .bool, nullable: true), ColumnDefinition("amount", .uint, nullable: true),
                  ColumnDefinition("ratio", .double, nullable: true), ColumnDefinition("created_at", .timestamp)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild_time", on: ["guild_id", "created_at"],
                                  including: ["user_id", "kind", "size", "flag", "amount", "ratio"]),
                  // Key columns read into slots, NULLs among them, one descending.
                  IndexDefinition("by_flag_size", on: ["flag", "size"], descending: [false, true], including: ["user_id"]),
                  // No stored value: the primary key comes from the key's end.
                  IndexDefinition("by_user_time", on: ["user_id", "created_at"])])

    static let kinds: [Value] = [.text("join"), .text("leave"), .text("é"), .text(""), .null]

    func populated(rows: Int = 3_000, hugeAmounts: Bool = false) throws -> (TemporaryDirectory, StorageEngine) {
        let directory = try TemporaryDirectory("slot-aggregates")
        let engine = try StorageEngine.open(path: directory.file("s.gsdb"))
        var random = SplitMix64(seed: 0x5107)
        try engine.write { tx in
            try tx.createTable(Self.schema)
            for i in 0..<rows {
                func maybe(_ value: Value) -> Value { Int.random(in: 0..<6, using: &random) == 0 ? .null : value }
                // Snowflake-sized ids (9-byte varints), small ones (1-2 bytes) and everything between.
                let user: UInt64 = switch Int.random(in: 0..<3, using: &random) {
                case 0: 496_882_971_312_128_000 + UInt64.random(in: 0..<40, using: &random)
                case 1: UInt64.random(in: 0..<200, using: &random)
                default: UInt64.random(in: 0..<40, using: &random) << 40
                }
                let amount = hugeAmounts ? UInt64.max / 3 : UInt64.random(in: 0...UInt64(1) << 52, using: &random)
                try tx.insert(["id": .uint(UInt64(i)), "guild_id": .uint(UInt64.random(in: 0..<3, using: &random)),
                               "user_id": maybe(.uint(user)),
                               "kind": Self.kinds[Int.random(in: 0..<Self.kinds.count, using: &random)],
                               "size": maybe(.int(Int64.random(in: -70...70, using: &random) * 1_000)),
                               "flag": maybe(.bool(Bool.random(using: &random))), "amount": maybe(.uint(amount)),
                               "ratio": maybe(.double(Double.random(in: -1...1, using: &random))),
                               "created_at": .timestamp(Int64.random(in: -200_000...2_000_000, using: &random))], into: "events")
            }
        }
        return (directory, engine)
    }

    /// The answer of the `Value` walk, or the error it throws, as text.
    static func answer(_ body: () throws -> [AggregateRow]) -> String {
        do { return "\(try body())" } catch { return "error: \(error)" }
    }

    @Test("every slot shape over random ranges and conditions equals the Value walk, and index-only walks take slots")
    func slotShapesEqualValueWalk() throws {
        let (directory, engine) = try populated()
        defer { directory.remove() }
        let groupings: [[GroupKey]] = [[], [.column("user_id")], [.column("flag")], [.column("size")],
                                       [.hour("created_at")], [.timeBucket("created_at", seconds: 86_400)]]
        let aggregateSets: [[Aggregate]] = [
            [.count], [.count, .sum("size"), .avg("size")], [.countNonNull("size"), .countNonNull("user_id"), .sum("amount")],
            [.countWhere("kind", equals: "leave"), .countWhere("kind", equals: "é"), .countWhere("kind", equals: "")],
            [.countWhere("flag", equals: true), .countWhere("size", equals: .int(5_000)), .sum("flag"), .avg("created_at")],
            // Ordered by sums: NULL where a group has no value, negative ones, unsigned ones.
            [.sum("size"), .count], [.sum("amount"), .countNonNull("amount")],
        ]
        var random = SplitMix64(seed: 0x51_07_02)
        var (slotRuns, indexOnlyRuns) = (0, 0)
        try engine.read { tx throws in
            for case_ in 0..<420 {
                let groupBy = groupings[case_ % groupings.count]
                let aggregates = aggregateSets[(case_ / groupings.count) % aggregateSets.count]
                var equals: [String: Value] = ["guild_id": .uint(UInt64.random(in: 0..<4, using: &random))]
                // Residual conditions the index walk does not decide: a text, a bool, an int.
                switch Int.random(in: 0..<4, using: &random) {
                case 0: equals["kind"] = Self.kinds[Int.random(in: 0..<4, using: &random)]
                case 1: equals["flag"] = .bool(Bool.random(using: &random))
                case 2: equals["user_id"] = .uint(UInt64.random(in: 0..<3, using: &random))
                default: break
                }
                let from = Int64.random(in: -250_000...2_000_000, using: &random)
                // Sizes are whole thousands: bounds land on rows' values, so each end's inclusion shows.
                let size = Int64.random(in: -80...60, using: &random) * 1_000
                // A range on created_at bounds the walk; one on size is a residual condition.
                let range: ColumnRange? = switch Int.random(in: 0..<5, using: &random) {
                case 0: nil
                case 1: ColumnRange("size", from: .int(size), below: .int(size + Int64.random(in: 0...70, using: &random) * 1_000))
                case 2: ColumnRange("size", below: .int(size))
                default: ColumnRange("created_at", from: .timestamp(from), below: .timestamp(from + Int64.random(in: 0...900_000, using: &random)))
                }
                let orderBy: [AggregateOrder] = groupBy.isEmpty ? [] : [.aggregate(0, descending: Bool.random(using: &random))]
                let limit = [Int.max, 5, 0][Int.random(in: 0..<3, using: &random)]
                let slots = Self.answer {
                    try tx.aggregate("events", where: equals, range: range, groupBy: groupBy, aggregates, orderBy: orderBy, limit: limit)
                }
                let values = Self.answer {
                    try tx.aggregate("events", where: equals, range: range, filter: { _ in true }, groupBy: groupBy, aggregates,
                                     orderBy: orderBy, limit: limit)
                }
                #expect(slots == values, "case \(case_): \(groupBy) \(aggregates) where \(equals) \(range.map { "\($0)" } ?? "")")
                // The shapes above are all slot shapes: the walk took slots.
                let plan = try tx.planScan("events", equals: equals, range: range,
                                           reading: groupBy.map(\.column) + aggregates.compactMap(\.column))
                let shape = try AggregateShape(try tx.table("events"), groupBy: groupBy, aggregates, orderBy: orderBy)
                guard plan.indexOnly else { continue }  // a range on size with a flag walks by_flag_size and the rows
                indexOnlyRuns += 1
                if try tx.aggregateSlots(plan, shape: shape, limit: limit) != nil { slotRuns += 1 }
            }
        }
        #expect(slotRuns == indexOnlyRuns && indexOnlyRuns >= 180, "\(slotRuns) of \(indexOnlyRuns)")
    }

    @Test("key columns read into slots (NULLs, a descending int, a bool) and a primary key read from the key's end")
    func keySlots() throws {
        let (directory, engine) = try populated()
        defer { directory.remove() }
        try engine.read { tx throws in
            for flag in [Value.bool(true), .bool(false), .null] {
                let range = ColumnRange("size", from: .int(-20_000), below: .int(30_000))
                for groupBy in [[GroupKey.column("size")], [.column("user_id")], []] {
                    let plan = try tx.planScan("events", equals: ["flag": flag], range: range, reading: ["size", "user_id"])
                    #expect(plan.index == "by_flag_size" && plan.indexOnly, "\(plan)")
                    let shape = try AggregateShape(try tx.table("events"), groupBy: groupBy, [.count, .sum("size")], orderBy: [])
                    let slots = try tx.aggregateSlots(plan, shape: shape, limit: .max)
                    #expect(slots != nil)
                    #expect(slots == (try tx.aggregate(plan, filter: { _ in true }, groupBy: groupBy, [.count, .sum("size")])))
                }
            }
            let plan = try tx.planScan("events", equals: ["user_id": .uint(7 << 40)], reading: ["id"])
            #expect(plan.index == "by_user_time" && plan.indexOnly, "\(plan)")
            let shape = try AggregateShape(try tx.table("events"), groupBy: [.column("id")], [.count], orderBy: [])
            let slots = try tx.aggregateSlots(plan, shape: shape, limit: .max)
            #expect(slots != nil && !(slots ?? []).isEmpty)
            #expect(slots == (try tx.aggregate(plan, filter: { _ in true }, groupBy: [.column("id")], [.count])))
        }
    }

    @Test("shapes a slot cannot hold take the Value walk: min, max, distinct counts, doubles, text groups, NULL comparisons")
    func valueWalkShapes() throws {
        let (directory, engine) = try populated(rows: 400)
        defer { directory.remove() }
        try engine.read { tx throws in
            let table = try tx.table("events")
            let plan = try tx.planScan("events", equals: ["guild_id": .uint(1)], reading: ["user_id", "size", "kind", "ratio"])
            let shapes: [(groupBy: [GroupKey], aggregates: [Aggregate])] = [
                ([], [.min("size")]), ([], [.max("size")]), ([], [.countDistinct("user_id")]), ([], [.sum("ratio")]),
                ([.column("kind")], [.count]), ([], [.countWhere("size", equals: .null)]), ([], [.countNonNull("kind")]),
                ([.column("user_id"), .column("size")], [.count]),
            ]
            for shape in shapes {
                let resolved = try AggregateShape(table, groupBy: shape.groupBy, shape.aggregates, orderBy: [])
                #expect(try tx.aggregateSlots(plan, shape: resolved, limit: .max) == nil, "\(shape)")
            }
            // A residual equality with NULL (which `Value` equality admits NULL for) is not a slot filter.
            let nullPlan = try tx.planScan("events", equals: ["guild_id": .uint(1), "size": .null], reading: ["user_id"])
            let count = try AggregateShape(table, groupBy: [], [.count], orderBy: [])
            #expect(try tx.aggregateSlots(nullPlan, shape: count, limit: .max) == nil)
            #expect((try tx.aggregate(nullPlan, [.count])).first?.int(0) ?? 0 > 0)
        }
    }

    @Test("an unsigned sum past 64 bits is the same typed error on both walks; avg carries on")
    func overflowMatches() throws {
        let (directory, engine) = try populated(rows: 300, hugeAmounts: true)
        defer { directory.remove() }
        try engine.read { tx throws in
            for aggregates in [[Aggregate.sum("amount")], [.avg("amount")]] {
                let slots = Self.answer { try tx.aggregate("events", where: ["guild_id": .uint(0)], aggregates) }
                let values = Self.answer { try tx.aggregate("events", where: ["guild_id": .uint(0)], filter: { _ in true }, aggregates) }
                #expect(slots == values)
            }
            #expect(Self.answer { try tx.aggregate("events", where: ["guild_id": .uint(0)], [.sum("amount")]) }.hasPrefix("error:"))
        }
    }

    @Test("a damaged stored value fails the slot walk as it fails the Value walk")
    func damagedValues() throws {
        let index = try CompiledIndex(Self.schema.indexes[0], schema: Self.schema, tree: nil)
        let positions = [2, 3, 4, 5, 6]  // user_id, kind, size, flag, amount: every included column but the double
        let entryReading = index.entryReading(positions)
        let reading = try #require(SlotReading(index, reading: entryReading, columnCount: Self.schema.columns.count))
        let good = try RowEncoding.encode([.uint(9), .uint(496_882_971_312_128_001), .text("leave"), .int(-5), .bool(true), .uint(7), .null],
                                          types: index.valueTypes)
        let key = TupleEncoding.encode([.uint(1), .timestamp(10), .uint(9)])
        var cases: [[UInt8]] = [good, Array(good.dropLast()), good + [0], [], [0x40] + Array(good.dropFirst())]
        for i in 1..<good.count {
            var damaged = good
            damaged[i] ^= 0x80
            cases.append(damaged)
        }
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: Self.schema.columns.count)
        defer { slots.deallocate() }
        for value in cases {
            var row = Value.nulls(Self.schema.columns.count)
            let valueWalk: String
            do {
                try value.withUnsafeBytes { v in try key.withUnsafeBytes { k in try index.decodeEntry(key: k, value: v, into: &row, reading: entryReading) } }
                valueWalk = "decoded"
            } catch { valueWalk = "\(error)" }
            let slotWalk: String
            do {
                _ = try value.withUnsafeBytes { v in try key.withUnsafeBytes { k in try reading.decode(key: k, value: v, into: slots) } }
                slotWalk = "decoded"
            } catch { slotWalk = "\(error)" }
            // Text is read into a slot unchecked (its reader checks it), so only that case may differ.
            if valueWalk.contains("UTF-8") {
                #expect(slotWalk == "decoded")
            } else {
                #expect(slotWalk == valueWalk, "\(value)")
            }
        }
        // The reader's check: bytes unequal to the expected text must be UTF-8.
        let invalid: [UInt8] = [0x02, 0xC3, 0x28]
        let (invalidText, validText) = invalid.withUnsafeBytes { value in
            Array("leave".utf8).withUnsafeBytes { expected in
                (Result { try SlotWord.textEquals(1 << 32 | 2, in: value, expected, column: 3) },
                 Result { try SlotWord.textEquals(2 << 32 | 1, in: value, expected, column: 3) })
            }
        }
        #expect(throws: GuildStoreError.self) { try invalidText.get() }
        #expect(try validText.get() == false)
    }
}
