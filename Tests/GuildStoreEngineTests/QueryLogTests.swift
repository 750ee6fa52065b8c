import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

@Suite("Query log")
struct QueryLogTests {
    @Test("each planned query is logged with the index it chose, rows read and duration")
    func logsPlans() throws {
        let directory = try TemporaryDirectory("query-log")
        defer { directory.remove() }
        var (logger, store) = CapturingLogHandler.logger()
        logger.logLevel = .debug
        let engine = try StorageEngine.open(path: directory.file("q.gsdb"), configuration: EngineConfiguration(queryLog: logger))
        try engine.write { tx in
            try tx.createTable(TableSchema("events",
                columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("created_at", .timestamp)],
                primaryKey: ["id"], indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])]))
            for i in 0..<100 as Range<UInt64> {
                try tx.insert(["id": .uint(i), "guild_id": .uint(i % 5), "created_at": .timestamp(Int64(i))], into: "events")
            }
        }
        let rows = try engine.read { try $0.select("events", where: ["guild_id": .uint(3)], limit: 100) }
        #expect(rows.count == 20)
        let messages = store.messages.filter { $0.level == .debug }.map(\.message)
        #expect(messages.count == 1)
        #expect(messages.first?.contains("by_guild_created") == true, "\(messages)")
        #expect(messages.first?.contains("20 rows read") == true, "\(messages)")
        try engine.close()
    }

    @Test("of the rollups that answer a query, the one with the widest bucket is read; narrower ones where it cannot")
    func widestRollupFirst() throws {
        let directory = try TemporaryDirectory("query-log-rollups")
        defer { directory.remove() }
        var (logger, store) = CapturingLogHandler.logger()
        logger.logLevel = .debug
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"), configuration: EngineConfiguration(queryLog: logger))
        defer { try? engine.close() }
        let day: Int64 = 86_400
        try engine.write { tx in
            // The hour rollup comes first in the table: order alone would pick it.
            try tx.createTable(TableSchema("events",
                columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("created_at", .timestamp)],
                primaryKey: ["id"], indexes: [IndexDefinition("by_guild_created", on: ["guild_id", "created_at"])],
                rollups: [RollupDefinition("by_hour", groupBy: [.column("guild_id"), .hour("created_at")], []),
                          RollupDefinition("by_day", groupBy: [.column("guild_id"), .day("created_at")], [])]))
            for i in 0..<200 as Range<UInt64> {
                try tx.insert(["id": .uint(i), "guild_id": .uint(i % 2), "created_at": .timestamp(Int64(i) * 1_800)], into: "events")
            }
        }
        let byDay = PreparedAggregate("events", equals: ["guild_id"], range: "created_at", groupBy: [.day("created_at")], [.count])
        let byHour = PreparedAggregate("events", equals: ["guild_id"], range: "created_at", groupBy: [.hour("created_at")], [.count])
        func rollupRead(_ read: (Transaction) throws -> [AggregateRow]) throws -> [String] {
            store.clear()
            let rows = try engine.read { try read($0) }
            #expect(!rows.isEmpty)
            return store.messages.map(\.message).filter { $0.contains("via rollup") }
        }
        // Whole days: the day rollup, through the dictionary form and prepared alike.
        #expect(try rollupRead { try $0.aggregate("events", where: ["guild_id": .uint(1)], range: ColumnRange("created_at", from: .timestamp(0)),
                                                  groupBy: [.day("created_at")], [.count]) }.allSatisfy { $0.contains("via rollup by_day") })
        #expect(try rollupRead { try $0.aggregate(byDay, equals: [.uint(1)], from: .timestamp(0)) }.first?.contains("via rollup by_day") == true)
        // Hours: only the hour rollup answers them.
        #expect(try rollupRead { try $0.aggregate(byHour, equals: [.uint(1)], from: .timestamp(0)) }.first?.contains("via rollup by_hour") == true)
        // A range without a whole day: the day rollup gives way to the hour rollup.
        #expect(try rollupRead { try $0.aggregate(byDay, equals: [.uint(1)], from: .timestamp(day + 3_600), below: .timestamp(day + 7_200 * 3)) }
            .last?.contains("via rollup by_hour") == true)
    }
}
