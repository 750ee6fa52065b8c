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
}
