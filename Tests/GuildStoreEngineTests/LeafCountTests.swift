import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `count` without a filter counts a leaf at a time (`Cursor.countForward`): it must equal a
/// walk that counts entry by entry, on every kind of range, across many leaves.
@Suite("Counting a leaf at a time")
struct LeafCountTests {
    static let events = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("created_at", .timestamp),
                  ColumnDefinition("label", .text, nullable: true)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"]),
                  IndexDefinition("by_created_desc", on: ["created_at"], descending: [true]),
                  IndexDefinition("labelled", on: ["label"], where: .isNotNull("label"))])

    @Test("leaf counts equal entry-by-entry counts over prefixes, ranges, descending and partial indexes")
    func countsMatchWalks() throws {
        let directory = try TemporaryDirectory("leaf-count")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"))
        defer { try? engine.close() }
        // 20,000 rows over 7 guilds: hundreds of leaves in each tree, deletes leave gaps.
        var random = SplitMix64(seed: 0x1eaf)
        try engine.write { tx in
            try tx.createTable(Self.events)
            for i in 0..<20_000 {
                try tx.insert(["id": .uint(UInt64(i)), "guild_id": .uint(UInt64(i % 7)), "created_at": .timestamp(Int64(i / 3)),
                               "label": i % 5 == 0 ? .text("l\(i % 11)") : .null], into: "events")
            }
            for i in stride(from: 0, to: 20_000, by: 13) { try tx.delete(from: "events", key: [.uint(UInt64(i))]) }
        }
        try engine.read { tx in
            func walked(_ plan: ScanPlan) throws -> Int64 {
                var n: Int64 = 0
                try tx.walk(plan) { _ in n += 1; return true }
                return n
            }
            var cases: [ScanPlan] = [try tx.planScan("events"), try tx.planScan("events", equals: ["guild_id": .uint(99)])]
            for guild in 0..<8 { cases.append(try tx.planScan("events", equals: ["guild_id": .uint(UInt64(guild))])) }
            for _ in 0..<60 {
                let a = Int64.random(in: -5...7_000, using: &random), b = Int64.random(in: -5...7_000, using: &random)
                let guild = Value.uint(UInt64.random(in: 0...7, using: &random))
                let range = ColumnRange("created_at", from: Bool.random(using: &random) ? .timestamp(min(a, b)) : nil,
                                        below: Bool.random(using: &random) ? .timestamp(max(a, b)) : nil)
                cases.append(try tx.planScan("events", equals: ["guild_id": guild], range: range))
                cases.append(try tx.planScan("events", range: range))  // the descending index
                cases.append(try tx.planScan("events", range: ColumnRange("id", from: .uint(UInt64(max(0, min(a, b)))),
                                                                         below: .uint(UInt64(max(0, max(a, b)) * 3)))))
            }
            cases.append(try tx.planScan("events", equals: ["label": .text("l3")]))
            #expect(cases.contains { $0.index == "by_created_desc" } && cases.contains { $0.index == "labelled" })
            for plan in cases where plan.residual.isEmpty {
                #expect(try tx.countEntries(plan) == walked(plan), "\(plan)")
            }
            // The public count takes the same path and agrees with an explicit filter's walk.
            #expect(try tx.count("events", where: ["guild_id": .uint(3)]) == tx.count("events", where: ["guild_id": .uint(3)], filter: { _ in true }))
        }
    }
}
