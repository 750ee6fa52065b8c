import Foundation
import Testing
import TestSupport
import GuildStoreEngine
@testable import GuildStore

@Suite("Guild tables")
struct GuildTablesTests {
    @Test("the migrations create every table once; the catalog holds each schema as declared, with its rollups; foreign keys use indexes")
    func migrationsCreateTheSchema() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let names = try await store.database.read { tx in try tx.tables().map(\.name) }
        #expect(Set(names) == Set(GuildTables.all.map(\.name)))
        #expect(!GuildTables.rollups.isEmpty)
        for schema in GuildTables.all {
            var expected = schema
            expected.rollups = GuildTables.rollups.filter { $0.table == schema.name }.map(\.rollup)
            #expect(try await store.database.read { try $0.table(schema.name) } == expected)
            for key in schema.foreignKeys { #expect(schema.childLookup(for: key) != .scan, "\(schema.name).\(key.columns)") }
        }
        #expect(try await store.database.migrate(GuildTables.migrations).isEmpty)
        try await store.close()
    }

    /// The bytes and modification dates of the files in `directory`, by name.
    private func snapshot(_ directory: TemporaryDirectory) throws -> [String: (Data, Date?)] {
        var files: [String: (Data, Date?)] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let path = directory.file(name)
            files[name] = (try Data(contentsOf: URL(fileURLWithPath: path)),
                           try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        }
        return files
    }

    private func same(_ a: [String: (Data, Date?)], _ b: [String: (Data, Date?)]) -> Bool {
        a.keys.sorted() == b.keys.sorted() && a.allSatisfy { name, file in b[name].map { $0.0 == file.0 && $0.1 == file.1 } ?? false }
    }

    @Test("requireApplied: a database lacking migrations is refused with .migrationsPending and not written; an up-to-date one opens without a write")
    func requireApplied() async throws {
        let directory = try TemporaryDirectory("guild-tables")
        defer { directory.remove() }
        let path = directory.file("old.gsdb")
        // A database made before the rollup migrations existed.
        let old = try Database.open(DatabaseConfiguration(.file(path)))
        try await old.migrate(Array(GuildTables.migrations.prefix(1)))
        try await old.close()
        let before = try snapshot(directory)
        await #expect(throws: GuildStoreError.migrationsPending(path: path, names: ["0002_activity_rollups", "0003_member_rollup"])) {
            _ = try await GuildDatabase.open(DatabaseConfiguration(.file(path), createIfMissing: false), migrations: .requireApplied)
        }
        #expect(same(try snapshot(directory), before), "the refused open wrote nothing")

        let migrated = try await GuildDatabase.open(DatabaseConfiguration(.file(path)))
        #expect(try await migrated.database.read { try $0.appliedMigrations().map(\.name) } == GuildTables.migrations.map(\.name))
        try await migrated.close()
        let current = try snapshot(directory)
        for policy: GuildDatabase.MigrationPolicy in [.requireApplied, .apply] {
            let store = try await GuildDatabase.open(DatabaseConfiguration(.file(path), createIfMissing: false), migrations: policy)
            #expect(try await store.database.read { try $0.count("guilds") } == 0)
            try await store.close()
            #expect(same(try snapshot(directory), current), "\(policy): opening an up-to-date database wrote nothing")
        }
    }
}
