import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// An index walk fetches each entry's row starting from the leaf the previous fetch ended in
/// (`LeafFinger`) when the row's key lies in that leaf's span. These tests walk indexes whose
/// entries name rows in ascending, scattered and descending key order, and change rows in the
/// middle of a walk, where a remembered leaf is out of date.
@Suite("Index walks")
struct IndexWalkTests {
    static let schema = TableSchema(
        "events",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("guild_id", .uint), ColumnDefinition("scatter", .uint),
                  ColumnDefinition("note", .text)],
        primaryKey: ["id"],
        indexes: [IndexDefinition("by_guild", on: ["guild_id"]),
                  IndexDefinition("by_scatter", on: ["scatter"]),
                  IndexDefinition("by_guild_desc", on: ["guild_id", "id"], descending: [false, true])])

    static let rows: UInt64 = 6_000

    /// Row i: guild i % 5 (ids ascend inside a guild), a scattered value, and a note.
    static func row(_ i: UInt64) -> [String: Value] {
        ["id": .uint(i), "guild_id": .uint(i % 5), "scatter": .uint(i &* 0x9E37_79B9 % 10_007), "note": .text("n\(i)")]
    }

    func withEvents(_ body: (StorageEngine) throws -> Void) throws {
        let directory = try TemporaryDirectory("index-walk")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("w.gsdb"))
        try engine.write { tx in
            try tx.createTable(Self.schema)
            for i in 0..<Self.rows { try tx.insert(Self.row(i), into: "events") }
        }
        try body(engine)
        try engine.close()
    }

    /// (id, note) of each row the walk gives, in walk order.
    static func walk(_ tx: Transaction, index: String, equals: [Value] = [], reverse: Bool = false) throws -> [[Value]] {
        var seen: [[Value]] = []
        try tx.scan("events", index: index, equals: equals, reverse: reverse) { row in
            seen.append([row["id"] ?? .null, row["note"] ?? .null])
            return true
        }
        return seen
    }

    @Test("ascending, scattered and descending walks give every row once, whole")
    func everyRowOnce() throws {
        try withEvents { engine in
            try engine.read { tx in
                for guild in UInt64(0)..<5 {
                    let expected = stride(from: guild, to: Self.rows, by: 5).map { [Value.uint($0), .text("n\($0)")] }
                    #expect(try Self.walk(tx, index: "by_guild", equals: [.uint(guild)]) == expected)
                    #expect(try Self.walk(tx, index: "by_guild_desc", equals: [.uint(guild)]) == expected.reversed())
                    #expect(try Self.walk(tx, index: "by_guild", equals: [.uint(guild)], reverse: true) == expected.reversed())
                }
                let scattered = try Self.walk(tx, index: "by_scatter")
                let byScatter = (0..<Self.rows).sorted {
                    (Self.row($0)["scatter"]!, $0) < (Self.row($1)["scatter"]!, $1)
                }
                #expect(scattered == byScatter.map { [Value.uint($0), .text("n\($0)")] })
            }
            // Fetching through a leaf with a gap: rows deleted, then looked up by an index
            // whose entries went with them, still resolves to the rows that are left.
            try engine.write { tx in
                for i in stride(from: UInt64(0), to: Self.rows, by: 10) {
                    _ = try tx.delete(from: "events", key: [.uint(i)])
                }
            }
            try engine.read { tx in
                let left = try Self.walk(tx, index: "by_guild", equals: [.uint(0)])
                #expect(left.map { $0[0] } == stride(from: UInt64(5), to: Self.rows, by: 10).map { Value.uint($0) })
            }
        }
    }

    static func rowKey(_ id: UInt64) -> [UInt8] { TupleEncoding.encode([.uint(id)]) }

    /// A lookup answered by the remembered leaf never reads the root it is given: with page 0
    /// (the header, not a tree node) as the root, it succeeds only through the finger.
    static func lookUp(_ key: [UInt8], _ tx: Transaction, root: UInt32, _ finger: inout LeafFinger?) throws -> [UInt8]? {
        try key.withUnsafeBytes { try tx.withValue($0, root: root, near: &finger) { Array($0) } }
    }

    @Test("a key inside the remembered leaf's span is answered there, present or absent; others descend")
    func fingerSpan() throws {
        try withEvents { engine in
            try engine.read { tx throws in
                let root = try #require(try tx.tree("table:events")).root
                var finger: LeafFinger?
                #expect(try Self.lookUp(Self.rowKey(3_000), tx, root: root, &finger) != nil)
                let leaf = try #require(finger).node
                let first = try leaf.withKey(0) { Array($0) }, last = try leaf.withKey(leaf.count - 1) { Array($0) }
                #expect(leaf.count > 2 && first != last)
                // Both ends and an absent key between two present ones, without a descent.
                #expect(try Self.lookUp(first, tx, root: 0, &finger) != nil)
                #expect(try Self.lookUp(last, tx, root: 0, &finger) != nil)
                #expect(try Self.lookUp(first + [0x00], tx, root: 0, &finger) == nil)
                // Outside the span it descends (and page 0 is no tree).
                #expect(throws: GuildStoreError.self) { _ = try Self.lookUp(last + [0x00], tx, root: 0, &finger) }
            }
            try engine.write { tx in
                let root = try #require(try tx.tree("table:events")).root
                var finger: LeafFinger?
                #expect(try Self.lookUp(Self.rowKey(3_000), tx, root: root, &finger) != nil)
                #expect(try Self.lookUp(Self.rowKey(3_000), tx, root: 0, &finger) != nil)
                // Any write retires the finger: the next lookup descends.
                try tx.insert(Self.row(Self.rows), into: "events")
                #expect(throws: GuildStoreError.self) { _ = try Self.lookUp(Self.rowKey(3_000), tx, root: 0, &finger) }
            }
        }
    }

    @Test("a walk whose transaction ends in its body stops with transactionFinished")
    func endedInTheBody() throws {
        try withEvents { engine in
            try engine.read { tx in
                var rows = 0
                #expect(throws: GuildStoreError.transactionFinished) {
                    try tx.scan("events", index: "by_guild", equals: [.uint(1)]) { _ in
                        rows += 1
                        tx.end()
                        return true
                    }
                }
                #expect(rows == 1)
            }
        }
    }

    @Test("rows changed in the middle of a walk are read as they are now")
    func changesDuringTheWalk() throws {
        try withEvents { engine in
            try engine.write { tx in
                // Each visit rewrites the guild's next row with a note long enough to split
                // leaves; when the walk gets there it must read the new note.
                let long = String(repeating: "x", count: 700)
                var visited: [[Value]] = []
                try tx.scan("events", index: "by_guild", equals: [.uint(2)]) { row in
                    visited.append([row["id"] ?? .null, row["note"] ?? .null])
                    let next = try row.uint("id") + 5
                    if next < Self.rows {
                        #expect(try tx.update("events", key: [.uint(next)], set: ["note": .text(long + "\(next)")]))
                    }
                    return true
                }
                let ids = Array(stride(from: UInt64(2), to: Self.rows, by: 5))
                #expect(visited.map { $0[0] } == ids.map { Value.uint($0) })
                #expect(visited.first?[1] == .text("n2"))
                // The first row read with its old note, if any (reported alone: the notes are long).
                let stale = zip(ids, visited).dropFirst().first { id, row in row[1] != .text(long + "\(id)") }
                #expect(stale == nil, "row \(stale?.0 ?? 0) was read with its note from before the walk changed it")
            }
            let report = try engine.check()
            #expect(report.problems.isEmpty, "\(report.problems)")
        }
    }
}
