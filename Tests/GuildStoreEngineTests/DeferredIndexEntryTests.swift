import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// A table's non-unique index entries are applied sorted when the transaction commits or
/// next touches the index (DP-1 in `WriteTransaction+DeferredPuts.swift`): inside the
/// transaction every read, update and delete must still see them, a rollback must drop them,
/// and a failed statement must not leave any behind.
@Suite("Deferred index entries")
struct DeferredIndexEntryTests {
    static let schema = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("size", .int),
                  ColumnDefinition("tag", .text, nullable: true)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild", on: ["guild_id"], including: ["size"]),
                  IndexDefinition("by_size", on: ["size"]),
                  IndexDefinition("by_tag", on: ["tag"], unique: true, where: .isNotNull("tag"))])

    static func row(_ i: UInt64) -> [String: Value] {
        ["id": .uint(i), "guild_id": .uint(i % 7), "size": .int(Int64(i % 100)), "tag": i % 10 == 0 ? .text("t\(i)") : .null]
    }

    /// Ids of guild `guild`'s rows, read through the guild index.
    static func ids(ofGuild guild: UInt64, _ tx: Transaction) throws -> [UInt64] {
        var ids: [UInt64] = []
        try tx.scan("events", index: "by_guild", equals: [.uint(guild)]) { row in
            ids.append(try row.uint("id"))
            return true
        }
        return ids.sorted()
    }

    @Test("reads, updates and deletes inside the writing transaction see the entries it deferred")
    func visibleInsideTheTransaction() throws {
        let directory = try TemporaryDirectory("deferred")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("d.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.schema)
            for i in 0..<2_000 as Range<UInt64> { try tx.insert(Self.row(i), into: "events") }
            // Read through the index before anything was committed.
            #expect(try Self.ids(ofGuild: 3, tx) == (0..<2_000).filter { $0 % 7 == 3 })
            #expect(try tx.count("events", where: ["size": .int(42)]) == 20)
            for i in 2_000..<3_000 as Range<UInt64> { try tx.insert(Self.row(i), into: "events") }
            // An update moves a row between guilds; a delete goes through the index too.
            try tx.update("events", key: [.uint(2_003)], set: ["guild_id": .uint(99)])
            #expect(try tx.delete(from: "events") { try $0.uint("guild_id") == 5 } == (0..<3_000).filter { $0 % 7 == 5 }.count)
            #expect(try Self.ids(ofGuild: 99, tx) == [2_003])
            #expect(try Self.ids(ofGuild: 5, tx).isEmpty)
            for i in 3_000..<3_500 as Range<UInt64> { try tx.insert(Self.row(i), into: "events") }
        }
        try engine.read { tx throws in
            #expect(try tx.checkTables() == [])
            #expect(try Self.ids(ofGuild: 3, tx) == (0..<3_500).filter { $0 % 7 == 3 })
            #expect(try Self.ids(ofGuild: 1, tx) == (0..<3_500).filter { $0 % 7 == 1 && $0 != 2_003 })
            // Guild 5's rows were deleted before rows 3,000-3,499 went in.
            #expect(try tx.count("events") == Int64(3_500 - (0..<3_000).filter { $0 % 7 == 5 }.count))
            #expect(try Self.ids(ofGuild: 5, tx) == (3_000..<3_500).filter { $0 % 7 == 5 })
        }
        try engine.close()
    }

    @Test("a rollback drops deferred entries; a statement refused by a unique index leaves none")
    func rollbackAndRefusedStatements() throws {
        let directory = try TemporaryDirectory("deferred-rollback")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("d.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.schema)
            for i in 0..<100 as Range<UInt64> { try tx.insert(Self.row(i), into: "events") }
        }
        struct Abandon: Error {}
        #expect(throws: Abandon.self) {
            try engine.write { tx in
                for i in 100..<1_000 as Range<UInt64> { try tx.insert(Self.row(i), into: "events") }
                throw Abandon()
            }
        }
        try engine.write { tx in
            for i in 100..<200 as Range<UInt64> { try tx.insert(Self.row(i), into: "events") }
            // Tag "t10" is taken: the statement fails before it writes, the transaction goes on.
            var duplicate = Self.row(5_000)
            duplicate["tag"] = .text("t10")
            #expect(throws: GuildStoreError.self) { try tx.insert(duplicate, into: "events") }
        }
        try engine.read { tx throws in
            #expect(try tx.checkTables() == [])
            #expect(try tx.count("events") == 200)
            #expect(try Self.ids(ofGuild: 0, tx) == (0..<200).filter { $0 % 7 == 0 })
            #expect(try tx.get("events", key: [.uint(5_000)]) == nil)
        }
        try engine.close()
    }

    /// A rollup's flush puts its groups' counters again each time, so deferred puts meet present
    /// keys: a small old value is replaced in the leaf; a longer new value that no longer fits
    /// goes through the ordinary insert (a split), as does one replacing an overflow chain.
    @Test("deferred puts of present keys replace their values, in place or through a split, overflow chains included")
    func deferredPutsReplacePresentKeys() throws {
        let directory = try TemporaryDirectory("deferred-replace")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"))
        defer { try? engine.close() }
        var random = SplitMix64(seed: 0xdefe_4ed)
        var model: [UInt64: [UInt8]] = [:]
        func value(_ k: UInt64, _ length: Int) -> [UInt8] { (0..<length).map { UInt8(truncatingIfNeeded: k &+ UInt64($0)) } }
        try engine.write { tx in
            let tree = try tx.openTree("t")
            for k in 0..<UInt64(20_000) {
                // Every 211th value lives in overflow pages.
                let v = value(k, k % 211 == 0 ? 6_000 : Int(k % 24))
                try tx.put(bigEndianKey(k), v, in: tree)
                model[k] = v
            }
        }
        for round in 0..<24 {
            try engine.write { tx in
                let tree = try tx.openTree("t")
                for _ in 0..<Int.random(in: 1...4_000, using: &random) {
                    let k = UInt64.random(in: 0..<21_000, using: &random)  // a few absent keys
                    let length = switch round % 3 {
                    case 0: Int.random(in: 0..<6, using: &random)  // shrinking
                    case 1: Int.random(in: 30..<300, using: &random)  // growing: leaves fill and split
                    default: Int.random(in: 0..<40, using: &random) == 0 ? 6_000 : Int.random(in: 0..<40, using: &random)
                    }
                    let v = value(k &+ UInt64(round), length)
                    try tx.deferPut(bigEndianKey(k), v, in: tree)
                    model[k] = v  // the last put of a key wins (DP-1)
                }
            }
            try engine.read { tx in
                let tree = try #require(try tx.tree("t"))
                let entries = try tx.entries(tree)
                #expect(entries.count == model.count, "round \(round)")
                #expect(entries.elementsEqual(model.sorted { $0.key < $1.key }) { $0.key == bigEndianKey($1.key) && $0.value == $1.value },
                        "round \(round)")
                #expect(try checkStructure(tx).entries["t"] == model.count, "round \(round)")
            }
        }
    }
}
