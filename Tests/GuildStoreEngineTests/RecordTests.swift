import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// A member as seed 004 keeps it: snowflake ids, a JSON roles array, an optional nickname.
private struct Member: TableRecord, Equatable {
    static let schema = TableSchema(
        "members",
        columns: [
            ColumnDefinition("guild_id", .uint),
            ColumnDefinition("user_id", .uint),
            ColumnDefinition("nickname", .text, nullable: true),
            ColumnDefinition("roles", .json, default: .value(.json("[]"))),
            ColumnDefinition("joined_at", .timestamp),
        ],
        primaryKey: ["guild_id", "user_id"],
        indexes: [IndexDefinition("by_joined", on: ["guild_id", "joined_at"])])

    var guildID: UInt64
    var userID: UInt64
    var nickname: String?
    var roles: String
    var joinedAt: Int64

    init(guildID: UInt64, userID: UInt64, nickname: String?, roles: String = "[]", joinedAt: Int64) {
        self.guildID = guildID
        self.userID = userID
        self.nickname = nickname
        self.roles = roles
        self.joinedAt = joinedAt
    }

    init(row: Row) throws {
        guildID = try row.uint("guild_id")
        userID = try row.uint("user_id")
        nickname = try row.optional("nickname", Row.text)
        roles = try row.json("roles")
        joinedAt = try row.timestamp("joined_at")
    }

    var values: [String: Value] {
        ["guild_id": .uint(guildID), "user_id": .uint(userID), "nickname": nickname.map(Value.text) ?? .null,
         "roles": .json(roles), "joined_at": .timestamp(joinedAt)]
    }
}

@Suite("Typed records")
struct RecordTests {
    @Test("a record type gets insert, get, update, delete and index scans")
    func roundTrip() throws {
        let directory = try TemporaryDirectory("records")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("r.gsdb"))
        let owner = Member(guildID: 1, userID: 10, nickname: "owner", roles: #"["owner"]"#, joinedAt: 1_700_000_000)
        try engine.write { tx in
            try tx.createTable(Member.schema)
            try tx.insert(owner)
            for user in 11..<20 as Range<UInt64> {
                try tx.insert(Member(guildID: 1, userID: user, nickname: nil, joinedAt: 1_700_000_000 + Int64(user)))
            }
        }
        try engine.write { tx throws in
            #expect(try tx.get(Member.self, key: [.uint(1), .uint(10)]) == owner)
            var renamed = owner
            renamed.nickname = nil
            renamed.roles = #"["owner","admin"]"#
            #expect(try tx.update(renamed))
            #expect(try tx.get(Member.self, key: owner.primaryKey) == renamed)
            let latest = try tx.records(Member.self, index: "by_joined", equals: [.uint(1)], reverse: true, limit: 3)
            #expect(latest.map(\.userID) == [19, 18, 17])
            #expect(try tx.delete(renamed))
            #expect(try tx.get(Member.self, key: owner.primaryKey) == nil)
            #expect(try tx.insert(Member(guildID: 1, userID: 11, nickname: "dup", joinedAt: 0), onConflict: .ignore) == false)
        }
        try engine.close()
    }

    @Test("a row that does not fit the record type is a typed error naming the column")
    func mismatch() throws {
        let row = Row(table: "members", columns: ["guild_id", "user_id"], values: [.int(1), .uint(2)])
        #expect(throws: GuildStoreError.columnTypeMismatch(table: "members", column: "guild_id", expected: "uint", found: "int")) {
            _ = try row.uint("guild_id")
        }
        #expect(throws: GuildStoreError.unknownColumn(table: "members", column: "nickname")) { _ = try row.text("nickname") }
    }
}
