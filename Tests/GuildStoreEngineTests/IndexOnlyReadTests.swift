import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Reads answered from index entries alone (covering indexes): the same answers as reading
/// the rows, and the plan says when it reads no row.
@Suite("Index-only reads")
struct IndexOnlyReadTests {
    static let schema = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("user_id", .uint),
                  ColumnDefinition("kind", .text, nullable: true), ColumnDefinition("size", .int),
                  ColumnDefinition("note", .text, nullable: true), ColumnDefinition("created_at", .timestamp)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild_time", on: ["guild_id", "created_at"], including: ["user_id", "size"]),
                  IndexDefinition("by_user_time_desc", on: ["user_id", "created_at"], descending: [false, true]),
                  IndexDefinition("by_kind_unique", on: ["kind", "user_id"], unique: true, including: ["size"]),
                  IndexDefinition("recent_big", on: ["created_at"], where: .equals("guild_id", .uint(1)), including: ["size"])])

    func populated() throws -> (TemporaryDirectory, StorageEngine) {
        let directory = try TemporaryDirectory("index-only")
        let engine = try StorageEngine.open(path: directory.file("i.gsdb"))
        var random = SplitMix64(seed: 11)
        try engine.write { tx in
            try tx.createTable(Self.schema)
            for i in 0..<2_000 as Range<UInt64> {
                let user = UInt64.random(in: 0..<40, using: &random)
                // `kind` is unique per user when set: NULL kinds must not collide.
                let kind: Value = i < 40 ? .text("k\(i)") : .null
                try tx.insert(["id": .uint(i), "guild_id": .uint(UInt64.random(in: 0..<4, using: &random)), "user_id": .uint(i < 40 ? i : user),
                               "kind": kind, "size": .int(Int64.random(in: -50...500, using: &random)),
                               "note": i % 3 == 0 ? .null : .text("n\(i)"), "created_at": .timestamp(Int64(i / 3))], into: "events")
            }
        }
        return (directory, engine)
    }

    @Test("aggregates from a covering index equal the same aggregates over the rows")
    func aggregatesMatchRows() throws {
        let (directory, engine) = try populated()
        defer { directory.remove() }
        try engine.read { tx throws in
            let equals: [String: Value] = ["guild_id": .uint(2)]
            let range = ColumnRange("created_at", from: .timestamp(100), below: .timestamp(500))
            let aggregates: [Aggregate] = [.count, .sum("size"), .min("size"), .max("created_at"), .countDistinct("user_id")]
            let plan = try tx.planScan("events", equals: equals, range: range, reading: ["user_id", "size", "created_at"])
            #expect(plan.index == "by_guild_time" && plan.indexOnly, "\(plan)")
            #expect(plan.description.hasSuffix("index only"))
            let fromIndex = try tx.aggregate("events", where: equals, range: range, groupBy: [.column("user_id")], aggregates,
                                             orderBy: [.aggregate(0)], limit: 10)
            // A filter that accepts everything forces a row read: the reference answer.
            let fromRows = try tx.aggregate("events", where: equals, range: range, filter: { _ in true }, groupBy: [.column("user_id")],
                                            aggregates, orderBy: [.aggregate(0)], limit: 10)
            #expect(fromIndex == fromRows)
            #expect(fromIndex.count == 10)
            // A column the index does not carry (note) forbids the index-only read.
            #expect(try !tx.planScan("events", equals: equals, range: range, reading: ["note"]).indexOnly)
            // Unique (with and without NULLs in the key) and partial covering indexes decode too.
            let kinds = try tx.aggregate("events", where: ["kind": .text("k7")], [.sum("size"), .max("user_id")])
            #expect(kinds == (try tx.aggregate("events", where: ["kind": .text("k7")], filter: { _ in true }, [.sum("size"), .max("user_id")])))
            #expect(try tx.planScan("events", equals: ["kind": .null], reading: ["size"]).indexOnly)
            let nullKinds = try tx.aggregate("events", where: ["kind": .null], [.count, .sum("size")])
            #expect(nullKinds == (try tx.aggregate("events", where: ["kind": .null], filter: { _ in true }, [.count, .sum("size")])))
            #expect(nullKinds.first?.int(0) == Int64(2_000 - 40))
            let partial = try tx.aggregate("events", where: ["guild_id": .uint(1)], range: ColumnRange("created_at", from: .timestamp(10)),
                                           groupBy: [.hour("created_at")], [.count, .avg("size")])
            #expect(partial == (try tx.aggregate("events", where: ["guild_id": .uint(1)], range: ColumnRange("created_at", from: .timestamp(10)),
                                                 filter: { _ in true }, groupBy: [.hour("created_at")], [.count, .avg("size")])))
        }
        try engine.close()
    }

    @Test("select of named columns reads a covering index alone, in order, with the same rows")
    func selectColumns() throws {
        let (directory, engine) = try populated()
        defer { directory.remove() }
        try engine.read { tx throws in
            // Descending index column: newest first for one user, primary key as the tie-break.
            let newest = try tx.select("events", columns: ["id", "created_at"], where: ["user_id": .uint(5)],
                                       orderBy: [.descending("created_at")], limit: 7)
            let plan = try tx.planScan("events", equals: ["user_id": .uint(5)], orderBy: [.descending("created_at")],
                                       reading: ["id", "created_at"])
            #expect(plan.index == "by_user_time_desc" && plan.indexOnly, "\(plan)")
            let reference = try tx.select("events", where: ["user_id": .uint(5)], orderBy: [.descending("created_at"), .ascending("id")], limit: 7)
            #expect(newest.map(\.values) == reference.map { [$0["id"]!, $0["created_at"]!] })
            #expect(newest.first?.columns == ["id", "created_at"])
        }
        try engine.close()
    }

    @Test("an index-only walk reading some columns writes exactly those, as a full decode of each entry gives them")
    func partialEntryDecode() throws {
        let (directory, engine) = try populated()
        defer { directory.remove() }
        let schema = Self.schema
        var random = SplitMix64(seed: 0xe7)
        try engine.read { tx throws in
            for index in schema.indexes {
                let carried = Set([index.columns, index.including, schema.primaryKey].flatMap { $0 }.compactMap { name in
                    schema.columns.firstIndex { $0.name == name }
                })
                let table = try tx.compiledTable("events")
                for _ in 0..<12 {
                    // A random subset of the columns the entries carry, in random order.
                    let reading = carried.filter { _ in Bool.random(using: &random) }.shuffled(using: &random)
                    var full: [[Value]] = []
                    try tx.walk(table, index: index.name, equals: [], from: nil, below: nil, reverse: false, indexOnly: true) { values in
                        full.append(values)
                        return true
                    }
                    var partial: [[Value]] = []
                    try tx.walk(table, index: index.name, equals: [], from: nil, below: nil, reverse: false, indexOnly: true,
                                reading: reading) { values in
                        partial.append(values)
                        return true
                    }
                    #expect(partial.count == full.count && partial.count > 0)
                    for (a, b) in zip(partial, full) {
                        for p in schema.columns.indices {
                            // Read positions as decoded whole; the others never written.
                            #expect(a[p] == (reading.contains(p) ? b[p] : .null), "\(index.name) reading \(reading) at \(p)")
                        }
                    }
                }
            }
        }
        try engine.close()
    }
}
