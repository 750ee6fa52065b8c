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

    /// Each entry decoded by both walks: the same values, or the same error.
    static func expectSameDecodes(_ index: CompiledIndex, positions: [Int], entries: [(key: [UInt8], value: [UInt8])]) throws {
        let entryReading = index.entryReading(positions)
        let reading = try #require(SlotReading(index, positions: positions, reading: entryReading, columnCount: schema.columns.count))
        let slots = UnsafeMutablePointer<UInt64>.allocate(capacity: schema.columns.count)
        defer { slots.deallocate() }
        var decodedCount = 0
        for (key, value) in entries {
            var row = Value.nulls(schema.columns.count)
            let valueWalk: String
            do {
                try value.withUnsafeBytes { v in try key.withUnsafeBytes { k in try index.decodeEntry(key: k, value: v, into: &row, reading: entryReading) } }
                valueWalk = "decoded"
            } catch { valueWalk = "\(error)" }
            let slotWalk: String
            do {
                let nulls = try value.withUnsafeBytes { v in try key.withUnsafeBytes { k in try reading.decode(key: k, value: v, into: slots) } }
                // The words read back as the Value walk's values (text through the slot's bytes).
                slotWalk = "decoded"
                for p in positions {
                    let type = schema.columns[p].type
                    let word = slots[p]
                    let read: Value = if nulls & (1 << UInt64(p)) != 0 {
                        .null
                    } else if type == .text {
                        value.withUnsafeBytes { .text(String(decoding: SlotReading.text(word, in: $0), as: UTF8.self)) }
                    } else {
                        SlotProgram.Key(position: p, type: type, bucket: nil).value(word)
                    }
                    #expect(read == row[p], "column \(p) of \(value)")
                }
                decodedCount += 1
            } catch { slotWalk = "\(error)" }
            #expect(slotWalk == valueWalk, "\(key) \(value)")
        }
        #expect(decodedCount > 0)
    }

    @Test("a damaged entry fails the slot walk with the Value walk's error, text's UTF-8 included; a good one reads the same values")
    func damagedValues() throws {
        let index = try CompiledIndex(Self.schema.indexes[0], schema: Self.schema, tree: nil)
        let good = try RowEncoding.encode([.uint(9), .uint(496_882_971_312_128_001), .text("leave"), .int(-5), .bool(true), .uint(7), .null],
                                          types: index.valueTypes)
        let key = TupleEncoding.encode([.uint(1), .timestamp(10), .uint(9)])
        var values: [[UInt8]] = [good, Array(good.dropLast()), good + [0], [], [0x40] + Array(good.dropFirst())]
        for i in 1..<good.count {
            var damaged = good
            damaged[i] ^= 0x80
            values.append(damaged)
        }
        // Invalid UTF-8 in the text ("leave" is bytes 11...15 after the count, the two ids and the length).
        var badText = good
        badText[12] = 0xC3
        badText[13] = 0x28
        values.append(badText)
        // user_id, kind, size, flag, amount: every included column but the double.
        try Self.expectSameDecodes(index, positions: [2, 3, 4, 5, 6], entries: values.map { (key, $0) })

        // An index without a stored value: the primary key from the key's end, then nothing.
        let byUser = try CompiledIndex(Self.schema.indexes[2], schema: Self.schema, tree: nil)
        let userKey = TupleEncoding.encode([.uint(7), .timestamp(-3), .uint(42)])
        try Self.expectSameDecodes(byUser, positions: [0, 2], entries: [(userKey, []), (userKey + [0x00], []), (Array(userKey.dropLast()), []),
                                                                       (TupleEncoding.encode([.null, .timestamp(1), .uint(5)]), [])])
    }

    @Test("text is checked where the Value walk checks it: an entry a condition drops still fails on damaged text")
    func damagedTextBehindAFilter() throws {
        let (directory, engine) = try populated(rows: 50)
        defer { directory.remove() }
        let table = try engine.read { tx in try tx.compiledTable("events") }
        let index = try #require(table.index(named: "by_guild_time"))
        let tree = try #require(index.tree)
        // One entry's stored kind made invalid UTF-8, in place.
        try engine.write { tx in
            let (key, value) = try #require(try tx.entries(tree, limit: 1).first)
            var row = try RowEncoding.decode(value, types: index.valueTypes)
            row[2] = .text("ab")
            var damaged = try RowEncoding.encode(row, types: index.valueTypes)
            let at = try #require(damaged.firstIndex(of: UInt8(ascii: "a")))
            (damaged[at], damaged[at + 1]) = (0xC3, 0x28)
            try tx.put(key, damaged, in: tree)
        }
        try engine.read { tx throws in
            let guild = try #require(try tx.entries(tree, limit: 1).first.map { try TupleEncoding.decode($0.key, types: [.uint, .timestamp, .uint])[0] })
            // A residual on flag first (which drops some entries), then one on kind.
            for flag in [true, false] {
                let equals: [String: Value] = ["guild_id": guild, "flag": .bool(flag), "kind": "join"]
                // An index-only plan on both walks (a `where:` aggregate with a filter would read the rows).
                let plan = try tx.planScan("events", equals: equals, reading: [])
                #expect(plan.indexOnly && plan.index == "by_guild_time", "\(plan)")
                let slots = Self.answer { try tx.aggregate(plan, [.count]) }
                let values = Self.answer { try tx.aggregate(plan, filter: { _ in true }, [.count]) }
                #expect(slots == values && slots.contains("UTF-8"), "\(slots) / \(values)")
            }
        }
    }

    @Test("a plan made reading fewer columns than the aggregate reads: the others are NULL on both walks")
    func uncoveredColumns() throws {
        let (directory, engine) = try populated(rows: 400)
        defer { directory.remove() }
        try engine.read { tx throws in
            let plan = try tx.planScan("events", equals: ["flag": .bool(true)], reading: ["size"])
            #expect(plan.index == "by_flag_size" && plan.indexOnly, "\(plan)")
            for groupBy in [[GroupKey](), [.column("amount")]] {
                let aggregates: [Aggregate] = [.sum("amount"), .countNonNull("amount"), .count]
                let shape = try AggregateShape(try tx.table("events"), groupBy: groupBy, aggregates, orderBy: [])
                #expect(try tx.aggregateSlots(plan, shape: shape, limit: .max) == nil)
                let rows = try tx.aggregate(plan, groupBy: groupBy, aggregates)
                #expect(rows == (try tx.aggregate(plan, filter: { _ in true }, groupBy: groupBy, aggregates)))
                #expect(rows.allSatisfy { $0.values[0] == .null && $0.values[1] == .int(0) }, "\(rows)")
            }
        }
    }

    @Test("sums overflowing in two groups name the same column on both walks, the NULL group first or not")
    func overflowNamesTheFirstGroupsColumn() throws {
        let directory = try TemporaryDirectory("slot-overflow")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("o.gsdb"))
        defer { try? engine.close() }
        let schema = TableSchema("t", columns: [ColumnDefinition("id", .uint), ColumnDefinition("g", .uint),
                                                ColumnDefinition("user", .uint, nullable: true), ColumnDefinition("a", .int),
                                                ColumnDefinition("b", .int)],
                                 primaryKey: ["id"], indexes: [IndexDefinition("by_g", on: ["g"], including: ["user", "a", "b"])])
        try engine.write { tx in
            try tx.createTable(schema)
            // Guild 1: the NULL user's b overflows, then user 5's a. Guild 2: the other way round.
            let rows: [(UInt64, Value, Int64, Int64)] = [(1, .null, 0, .max), (1, .null, 0, .max), (1, .uint(5), .max, 0), (1, .uint(5), .max, 0),
                                                         (2, .uint(5), .max, 0), (2, .uint(5), .max, 0), (2, .null, 0, .max), (2, .null, 0, .max)]
            for (i, row) in rows.enumerated() {
                try tx.insert(["id": .uint(UInt64(i)), "g": .uint(row.0), "user": row.1, "a": .int(row.2), "b": .int(row.3)], into: "t")
            }
        }
        try engine.read { tx throws in
            for guild in [UInt64(1), 2] {
                for orderBy in [[AggregateOrder](), [.aggregate(0)]] {
                    let slots = Self.answer { try tx.aggregate("t", where: ["g": .uint(guild)], groupBy: [.column("user")], [.sum("a"), .sum("b")], orderBy: orderBy) }
                    let values = Self.answer {
                        try tx.aggregate("t", where: ["g": .uint(guild)], filter: { _ in true }, groupBy: [.column("user")], [.sum("a"), .sum("b")], orderBy: orderBy)
                    }
                    #expect(slots == values && slots.hasPrefix("error:"), "guild \(guild): \(slots) / \(values)")
                }
            }
        }
    }
}

