// PostgreSQL 15 (the seeds' production database) through libpq, on a throwaway cluster
// (`PostgresCluster`) holding the same rows as the seed-index SQLite file:
//
// - the schema: every table of the SQLite file in PostgreSQL's dialect (INTEGER columns as
//   bigint, TEXT as text, REAL as double precision, the same primary keys), seed 004's
//   indexes under their names, then seed 004's foreign keys (its "Relationships" section,
//   PostgreSQL's `ALTER TABLE ... ADD CONSTRAINT`), then `VACUUM ANALYZE`;
// - the rows: copied from the SQLite file (read through GRDB) with `COPY ... FROM STDIN`;
// - the queries: each pattern's SQL, adapted where the dialects differ (`postgresSQL`), as
//   statements prepared once per workload (`PQprepare`) and run with the inputs bound as
//   text parameters (`PQexecPrepared`). Reads only.

import CLibPQ
import Foundation
import GRDB
@_spi(Benchmarks) import GuildBench

final class PostgresContender: BenchContender {
    let key = "postgresql"
    let name = "PostgreSQL 15 (seed indexes)"
    let connection: PostgresConnection
    private var statements = 0

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// Seed 004's foreign keys, as its "Relationships" section writes them for PostgreSQL.
    static let foreignKeys = [
        "ALTER TABLE channels ADD CONSTRAINT fk_channels_guild FOREIGN KEY (guild_id) REFERENCES guilds(id) ON DELETE CASCADE",
        "ALTER TABLE members ADD CONSTRAINT fk_members_guild FOREIGN KEY (guild_id) REFERENCES guilds(id) ON DELETE CASCADE",
        "ALTER TABLE members ADD CONSTRAINT fk_members_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
        "ALTER TABLE message_events ADD CONSTRAINT fk_message_events_guild FOREIGN KEY (guild_id) REFERENCES guilds(id) ON DELETE CASCADE",
        "ALTER TABLE message_events ADD CONSTRAINT fk_message_events_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
        "ALTER TABLE message_events ADD CONSTRAINT fk_message_events_channel FOREIGN KEY (channel_id) REFERENCES channels(id) ON DELETE CASCADE",
    ]

    /// Creates the SQLite file's tables and indexes in `connection`'s database and copies
    /// every row; returns the rows copied.
    static func load(from sqlitePath: String, into connection: PostgresConnection) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let source = try DatabaseQueue(path: sqlitePath, configuration: configuration)
        return try source.read { db in
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                """)
            var copied = 0
            for table in tables {
                let columns = try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid",
                                               arguments: [table])
                let names: [String] = columns.map { $0["name"] }
                var definitions: [String] = []
                var keyColumns: [(position: Int, name: String)] = []
                for column in columns {
                    let name: String = column["name"], type: String = column["type"]
                    let notNull: Bool = column["notnull"], key: Int = column["pk"]
                    definitions.append("\"\(name)\" \(postgresType(type))" + (notNull ? " NOT NULL" : ""))
                    if key > 0 { keyColumns.append((key, name)) }
                }
                if !keyColumns.isEmpty {
                    definitions.append("PRIMARY KEY (" + keyColumns.sorted { $0.position < $1.position }.map { "\"\($0.name)\"" }
                        .joined(separator: ", ") + ")")
                }
                try connection.execute("CREATE TABLE \"\(table)\" (" + definitions.joined(separator: ", ") + ")")

                var lines: [String] = []
                let rows = try Row.fetchCursor(db, sql: "SELECT " + names.map { "\"\($0)\"" }.joined(separator: ", ") + " FROM \"\(table)\"")
                while let row = try rows.next() {
                    lines.append(row.databaseValues.map(copyText).joined(separator: "\t") + "\n")
                }
                try connection.copy(into: table, columns: names, lines: lines)
                copied += lines.count

                // The file's own indexes (seed 004's, and ours on our extra tables), not the
                // ones SQLite makes for a primary key.
                let indexes = try String.fetchAll(db, sql: """
                    SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name
                    """, arguments: [table])
                for index in indexes { try connection.execute(index.replacingOccurrences(of: "`", with: "\"")) }
            }
            for constraint in foreignKeys { try connection.execute(constraint) }
            try connection.execute("VACUUM ANALYZE")
            return copied
        }
    }

    /// A SQLite declared type in PostgreSQL (SQLite's affinity rules, in brief).
    static func postgresType(_ declared: String) -> String {
        let type = declared.lowercased()
        if type.contains("int") { return "bigint" }
        if type.contains("char") || type.contains("clob") || type.contains("text") || type.isEmpty { return "text" }
        if type.contains("real") || type.contains("floa") || type.contains("doub") { return "double precision" }
        if type.contains("blob") { return "bytea" }
        return "text"
    }

    /// A value in COPY's text format.
    static func copyText(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: return "\\N"
        case .int64(let v): return String(v)
        case .double(let v): return String(format: "%.17g", v)
        case .string(let s):
            var escaped = ""
            for character in s.unicodeScalars {
                switch character {
                case "\\": escaped += "\\\\"
                case "\t": escaped += "\\t"
                case "\n": escaped += "\\n"
                case "\r": escaped += "\\r"
                default: escaped.unicodeScalars.append(character)
                }
            }
            return escaped
        case .blob(let data): return "\\\\x" + data.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// The pattern's SQL in PostgreSQL's dialect: `$1 ... $n` for `?`; `SUM(boolean)`, which
    /// PostgreSQL has not, as a `CASE`; NULLs first in ascending order, where SQLite puts
    /// them (PostgreSQL puts them last). Each adaptation must apply, so a change to the SQL
    /// that makes one stale is an error, not a silent difference.
    static func postgresSQL(_ pattern: GuildQueryPattern) throws -> String {
        var sql = pattern.sql
        let adaptations: [(String, String)] = switch pattern {
        case .memberGrowth:
            [("SUM(event_type = 'join')", "SUM(CASE WHEN event_type = 'join' THEN 1 ELSE 0 END)"),
             ("SUM(event_type = 'leave')", "SUM(CASE WHEN event_type = 'leave' THEN 1 ELSE 0 END)")]
        case .presenceDistribution: [("ORDER BY events DESC, status ASC", "ORDER BY events DESC, status ASC NULLS FIRST")]
        case .dueReminders: [("ORDER BY due_at, id", "ORDER BY due_at NULLS FIRST, id")]
        default: []
        }
        for (from, to) in adaptations {
            guard sql.contains(from) else { throw PostgresError("\(pattern.rawValue): its SQL no longer has `\(from)`") }
            sql = sql.replacingOccurrences(of: from, with: to)
        }
        return numberParameters(sql)
    }

    /// `?` parameters as `$1 ... $n` (the patterns' SQL has no `?` inside a literal).
    static func numberParameters(_ sql: String) -> String {
        var number = 0
        var result = ""
        for character in sql {
            if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    func prepare(_ workload: Workload) async throws -> PreparedWorkload {
        let connection = self.connection
        let kinds = workload.columnKinds
        statements += 1
        let name = "w\(statements)"
        switch workload.task {
        case .pattern(let pattern, let inputs):
            let sql = try Self.postgresSQL(pattern)
            let parameters = try pattern.integerParameters(inputs).map(String.init)
            try connection.prepare(name, sql, parameters: parameters.count)
            return PreparedWorkload {
                let rows = try connection.run(name, parameters)
                return DeferredAnswer { try rows.map { try Self.canonical($0, kinds: kinds) } }
            }
        case .pointLookup(let lookup):
            try connection.prepare(name, Self.numberParameters(PointLookup.sql), parameters: 1)
            let ids = lookup.messageIDs.map { String(Int64(bitPattern: $0)) }
            return PreparedWorkload {
                // One transaction for the batch, as the other contenders read it from one snapshot.
                try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                var rows: [[String?]] = []
                rows.reserveCapacity(ids.count)
                do {
                    for id in ids { rows += try connection.run(name, [id]) }
                } catch {
                    try? connection.execute("ROLLBACK")
                    throw error
                }
                try connection.execute("COMMIT")
                return DeferredAnswer { try rows.map { try Self.canonical($0, kinds: kinds) } }
            }
        case .retention, .durableCommits, .bulkIngest, .openWithWAL:
            throw GuildBench.BenchError.unsupportedWorkload(workload: workload.name, contender: self.name)
        }
    }

    /// A row of text values in the canonical form, column `i` read as `kinds[i]` (sums of
    /// bigints are numeric in PostgreSQL: whole numbers, read as integers).
    static func canonical(_ row: [String?], kinds: [ColumnKind]) throws -> CanonicalRow {
        guard row.count == kinds.count else { throw GuildBench.BenchError.unexpectedColumnCount(expected: kinds.count, actual: row.count) }
        return CanonicalRow(try zip(row, kinds).map { text, kind -> CanonicalValue in
            guard let text else { return .null }
            switch kind {
            case .id: if let v = Int64(text) { return .id(UInt64(bitPattern: v)) }
            case .integer: if let v = Int64(text) { return .integer(v) }
            case .real: if let v = Double(text) { return .real(v) }
            case .text: return .text(text)
            }
            throw GuildBench.BenchError.unexpectedSQLiteValue(kind: kind.rawValue, value: "PostgreSQL '\(text)'")
        })
    }
}
