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
}
