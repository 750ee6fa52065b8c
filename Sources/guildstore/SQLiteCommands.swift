import ArgumentParser
import Foundation
import GuildStore
import GuildStoreSQLite
import GuildStoreEngine

/// `guildstore import-sqlite --from FILE`: a SQLite database with seed 004's (Mocha's)
/// schema into this one; TEXT ids become `UInt64`.
struct ImportSQLiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-sqlite", abstract: "Import a SQLite database with seed 004's schema.",
        discussion: creatingDiscussion)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The SQLite file to read.") var from: String
    @Option(help: "Rows per transaction.") var batch: Int = SQLiteImport.defaultBatchSize

    func validate() throws {
        guard FileManager.default.fileExists(atPath: from) else { throw ValidationError("no such file: \(from)") }
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        let bar = ProgressBar("import")
        let start = ContinuousClock.now
        let source = from, batch = self.batch
        let summary = try await withStore(database, .create) { store in
            try await SQLiteImport.import(from: source, into: store.database, batchSize: batch) { progress in
                bar.update(progress.tableRows, of: progress.tableTotal, detail: progress.table)
            }
        }
        bar.finish()
        for (table, rows) in summary.tables { print("\(table): \(rows) rows") }
        print(String(format: "imported %d rows in %.2f s", summary.totalRows, seconds(since: start)))
    }
}

/// `guildstore export-sqlite --to FILE`: this database as a SQLite file with seed 004's
/// schema (TEXT ids) plus GuildStore's extra columns and tables.
struct ExportSQLiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-sqlite", abstract: "Export to a SQLite database with seed 004's schema.", discussion: readOnlyDiscussion)

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The SQLite file to write (must not exist unless --replace).") var to: String
    @Flag(help: "Replace the file if it exists.") var replace = false
    @Flag(name: .customLong("integer-ids"), help: "Write ids as INTEGER columns instead of the seed's TEXT.") var integerIDs = false

    func run() async throws {
        let start = ContinuousClock.now
        let target = to, replace = self.replace, ids: IDAffinity = integerIDs ? .integer : .text
        let summary = try await withStore(database, .read) { store in
            try await SQLiteExport.export(from: store.database, to: target, ids: ids, replace: replace)
        }
        for (table, rows) in summary.tables { print("\(table): \(rows) rows") }
        print(String(format: "exported %d rows in %.2f s", summary.totalRows, seconds(since: start)))
    }
}
