import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Migrations (MG-1 to MG-3) and the schema changes they make on tables that hold rows.
@Suite("Migrations")
struct MigrationTests {
    static let users = TableSchema(
        "users",
        columns: [ColumnDefinition("id", .uint), ColumnDefinition("username", .text)],
        primaryKey: ["id"])

    static let base: [Migration] = [
        Migration("20241101_users") { tx in try tx.createTable(users) },
        Migration("20241102_seed") { tx in
            for id in 1...3 as ClosedRange<UInt64> { try tx.insert(["id": .uint(id), "username": .text("u\(id)")], into: "users") }
        },
    ]

    @Test("applies pending migrations in order, records them, and re-running is a no-op, also after reopen")
    func deploy() throws {
        let directory = try TemporaryDirectory("migrate-deploy")
        defer { directory.remove() }
        let path = directory.file("m.gsdb")
        do {
            let engine = try StorageEngine.open(path: path)
            #expect(try engine.migrate(Self.base) == ["20241101_users", "20241102_seed"])
            #expect(try engine.migrate(Self.base) == [])
            try engine.close()
        }
        let engine = try StorageEngine.open(path: path)
        let more = Self.base + [Migration("20241201_add_user_roles") { tx in
            try tx.addColumn(to: "users", ColumnDefinition("role", .text, default: .value("MEMBER")))
        }]
        #expect(try engine.migrate(more) == ["20241201_add_user_roles"])
        let applied = try engine.appliedMigrations()
        #expect(applied.map(\.name) == ["20241101_users", "20241102_seed", "20241201_add_user_roles"])
        #expect(applied.map(\.ordinal) == [0, 1, 2])
        #expect(try engine.read { try $0.rows("users").count } == 3)
        try engine.close()
    }

    @Test("a failing migration rolls back alone, stops the run and is named; fixed, the run resumes")
    func failure() throws {
        let directory = try TemporaryDirectory("migrate-fail")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("m.gsdb"))
        let broken = Self.base + [
            Migration("20241203_half_done") { tx in
                try tx.createTable(TableSchema("notes", columns: [ColumnDefinition("id", .uint)], primaryKey: ["id"]))
                try tx.insert(["id": .uint(1), "username": "u1"], into: "users")  // duplicate primary key
            },
            Migration("20241204_never") { tx in
                try tx.createTable(TableSchema("never", columns: [ColumnDefinition("id", .uint)], primaryKey: ["id"]))
            },
        ]
        let thrown = #expect(throws: GuildStoreError.self) { try engine.migrate(broken) }
        guard case .migrationFailed(let name, let reason)? = thrown else {
            Issue.record("expected migrationFailed, got \(String(describing: thrown))")
            return
        }
        #expect(name == "20241203_half_done")
        #expect(reason.contains("primary key already holds (1u)"))
        try engine.read { tx throws in
            #expect(try tx.appliedMigrations().map(\.name) == ["20241101_users", "20241102_seed"])
            #expect(try tx.tables().map(\.name) == ["users"])
            #expect(try tx.tree("table:notes") == nil)
        }
        var fixed = broken
        fixed[2] = Migration("20241203_half_done") { tx in
            try tx.createTable(TableSchema("notes", columns: [ColumnDefinition("id", .uint)], primaryKey: ["id"]))
        }
        #expect(try engine.migrate(fixed) == ["20241203_half_done", "20241204_never"])
        #expect(throws: GuildStoreError.migrationFailed(name: "a", reason: "the name appears twice in the list")) {
            try engine.migrate([Migration("a") { _ in }, Migration("a") { _ in }])
        }
        try engine.close()
    }

    @Test("addColumn: old rows read the default (NOT NULL) or NULL (nullable) without being rewritten")
    func addColumn() throws {
        let directory = try TemporaryDirectory("migrate-column")
        defer { directory.remove() }
        let path = directory.file("m.gsdb")
        do {
            let engine = try StorageEngine.open(path: path)
            try engine.migrate(Self.base + [Migration("add") { tx in
                try tx.addColumn(to: "users", ColumnDefinition("role", .text, default: .value("MEMBER")))
                try tx.addColumn(to: "users", ColumnDefinition("global_name", .text, nullable: true))
                // The change is visible in the same transaction.
                #expect(try tx.table("users").columns.count == 4)
                #expect(try tx.get("users", key: [.uint(1)])?["role"] == "MEMBER")
            }])
            try engine.close()
        }
        let engine = try StorageEngine.open(path: path)
        try engine.write { tx throws in
            let old = try #require(try tx.get("users", key: [.uint(2)]))
            #expect(old.values == [.uint(2), "u2", "MEMBER", nil])
            try tx.insert(["id": .uint(4), "username": "u4", "role": "ADMIN", "global_name": "Four"], into: "users")
            #expect(try tx.update("users", key: [.uint(1)], set: ["global_name": "One"]))
            #expect(try tx.get("users", key: [.uint(1)])?.values == [.uint(1), "u1", "MEMBER", "One"])
            // An index built over old and new rows sees the filled defaults.
            try tx.addIndex(to: "users", IndexDefinition("idx_users_role", on: ["role"]))
            #expect(try tx.rows("users", index: "idx_users_role", equals: ["MEMBER"]).map { $0["id"] } == [.uint(1), .uint(2), .uint(3)])
            #expect(try tx.rows("users", index: "idx_users_role", equals: ["ADMIN"]).map { $0["id"] } == [.uint(4)])
            #expect(try tx.delete(from: "users", key: [.uint(3)]))
            #expect(try tx.rows("users", index: "idx_users_role", equals: ["MEMBER"]).count == 2)
            // Combinations old rows could not read back exactly are refused, changing nothing.
            #expect(throws: GuildStoreError.self) { try tx.addColumn(to: "users", ColumnDefinition("a", .int)) }
            #expect(throws: GuildStoreError.self) { try tx.addColumn(to: "users", ColumnDefinition("b", .int, nullable: true, default: .value(1))) }
            #expect(throws: GuildStoreError.self) { try tx.addColumn(to: "users", ColumnDefinition("c", .timestamp, default: .now)) }
            #expect(throws: GuildStoreError.self) { try tx.addColumn(to: "users", ColumnDefinition("role", .text, nullable: true)) }
            #expect(try tx.table("users").columns.count == 4)
        }
        // The scan path (Table+Read) must fill defaults too, through TableSchema.decodeRow.
        let roles = try engine.read { tx in try tx.rows("users").map { $0["role"] } }
        #expect(roles == ["MEMBER", "MEMBER", "ADMIN"])
        try engine.close()
    }

    @Test("addIndex over existing rows; a unique index that rows violate fails and leaves nothing; dropIndex")
    func indexes() throws {
        let directory = try TemporaryDirectory("migrate-index")
        defer { directory.remove() }
        let engine = try StorageEngine.open(path: directory.file("m.gsdb"))
        try engine.migrate(Self.base + [Migration("dupe") { tx in try tx.insert(["id": .uint(9), "username": "u1"], into: "users") }])
        #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "idx_users_username", key: #"("u1")"#)) {
            try engine.write { tx in try tx.addIndex(to: "users", IndexDefinition("idx_users_username", on: ["username"], unique: true)) }
        }
        try engine.write { tx throws in
            // Outside a rollback too: nothing was written.
            #expect(throws: GuildStoreError.self) {
                try tx.addIndex(to: "users", IndexDefinition("idx_users_username", on: ["username"], unique: true))
            }
            #expect(try tx.tree("index:users.idx_users_username") == nil)
            #expect(try tx.table("users").indexes.isEmpty)
        }
        let thrown = #expect(throws: GuildStoreError.self) {
            try engine.migrate([Migration("unique_username") { tx in
                try tx.addIndex(to: "users", IndexDefinition("idx_users_username", on: ["username"], unique: true))
            }])
        }
        #expect(thrown.map { if case .migrationFailed(name: "unique_username", _) = $0 { true } else { false } } == true)

        try engine.migrate([
            Migration("fix") { tx in try tx.delete(from: "users", key: [.uint(9)]) },
            Migration("unique_username") { tx in
                try tx.addIndex(to: "users", IndexDefinition("idx_users_username", on: ["username"], unique: true))
                try tx.addIndex(to: "users", IndexDefinition("idx_users_desc", on: ["username"], descending: [true], where: .equals("username", "u2")))
            },
        ])
        try engine.write { tx throws in
            #expect(try tx.rows("users", index: "idx_users_username").map { $0["id"] } == [.uint(1), .uint(2), .uint(3)])
            #expect(try tx.rows("users", index: "idx_users_desc").map { $0["id"] } == [.uint(2)])
            #expect(throws: GuildStoreError.uniqueViolation(table: "users", index: "idx_users_username", key: #"("u3")"#)) {
                try tx.insert(["id": .uint(10), "username": "u3"], into: "users")
            }
            try tx.dropIndex(from: "users", named: "idx_users_username")
            #expect(try tx.tree("index:users.idx_users_username") == nil)
            #expect(try tx.table("users").indexes.map(\.name) == ["idx_users_desc"])
            try tx.insert(["id": .uint(10), "username": "u3"], into: "users")
            #expect(throws: GuildStoreError.self) { try tx.rows("users", index: "idx_users_username") }
            #expect(throws: GuildStoreError.self) { try tx.dropIndex(from: "users", named: "idx_users_username") }
        }
        // Readers see the committed catalog.
        #expect(try engine.read { try $0.table("users").indexes.map(\.name) } == ["idx_users_desc"])
        try engine.close()
    }
}
