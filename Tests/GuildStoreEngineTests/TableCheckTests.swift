import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// `checkTables`: silent on a sound database, and naming the index, the table and the row when
/// an index lost an entry, holds a wrong value or holds an entry no row implies.
@Suite("Table check")
struct TableCheckTests {
    static let schema = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("size", .int),
                  ColumnDefinition("tag", .text, nullable: true)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild", on: ["guild_id"], including: ["size"]),
                  IndexDefinition("by_tag", on: ["tag"], unique: true, where: .isNotNull("tag"))])

    @Test("a sound table passes; a lost, a wrong and a stray index entry are each reported")
    func reportsDisagreements() throws {
        let directory = try TemporaryDirectory("table-check")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("c.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.schema)
            for i in 0..<500 as Range<UInt64> {
                try tx.insert(["id": .uint(i), "guild_id": .uint(i % 7), "size": .int(Int64(i)), "tag": i % 10 == 0 ? .text("t\(i)") : .null],
                              into: "events")
            }
            try tx.update("events", key: [.uint(3)], set: ["guild_id": .uint(99)])
            _ = try tx.delete(from: "events", key: [.uint(4)])
        }
        #expect(try engine.read { try $0.checkTables() } == [])

        let row: [Value] = [.uint(5), .uint(5), .int(5), .null]
        let table = try engine.read { try $0.compiledTable("events") }
        let guildIndex = try #require(table.index(named: "by_guild"))
        let entry = try guildIndex.entry(for: row)
        try engine.write { tx in
            let tree = try #require(try tx.tree(guildIndex.treeName))
            #expect(try tx.delete(entry.key, in: tree))                      // row 5 loses its entry
            let six = try guildIndex.entry(for: [.uint(6), .uint(6), .int(6), .null])
            try tx.put(six.key, try RowEncoding.encode([.uint(6), .int(-1)], types: [.uint, .int]), in: tree)  // wrong size
            let stray = try guildIndex.entry(for: [.uint(9_999), .uint(1), .int(0), .null])
            try tx.put(stray.key, stray.value, in: tree)                     // no such row
        }
        let problems = try engine.read { try $0.checkTables() }
        #expect(problems.contains("index by_guild of events lacks the entry of row (5u)"), "\(problems)")
        #expect(problems.contains("index by_guild of events holds a wrong value for row (6u)"), "\(problems)")
        #expect(problems.count == 2, "a lost and a stray entry balance the count; the lookups still find both rows: \(problems)")
        try engine.write { tx in
            let tree = try #require(try tx.tree(guildIndex.treeName))
            let stray = try guildIndex.entry(for: [.uint(9_998), .uint(2), .int(0), .null])
            try tx.put(stray.key, stray.value, in: tree)
        }
        #expect(try engine.read { try $0.checkTables() }.contains("index by_guild of events holds 500 entries; its rows imply 499"))
        try engine.close()
    }
}
