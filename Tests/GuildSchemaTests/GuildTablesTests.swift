import Testing
import TestSupport
import StorageEngine
@testable import GuildSchema

@Suite("Guild tables")
struct GuildTablesTests {
    @Test("the migrations create every table once; the catalog holds each schema as declared; foreign keys use indexes")
    func migrationsCreateTheSchema() async throws {
        let store = try await GuildStore.open(DatabaseConfiguration(.temporary))
        let names = try await store.database.read { tx in try tx.tables().map(\.name) }
        #expect(Set(names) == Set(GuildTables.all.map(\.name)))
        for schema in GuildTables.all {
            #expect(try await store.database.read { try $0.table(schema.name) } == schema)
            for key in schema.foreignKeys { #expect(schema.childLookup(for: key) != .scan, "\(schema.name).\(key.columns)") }
        }
        #expect(try await store.database.migrate(GuildTables.migrations).isEmpty)
        try await store.close()
    }
}
