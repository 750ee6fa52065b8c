// GRDB.swift 7 on the seed-index SQLite file: what a Swift developer would pick. The
// patterns' SQL through GRDB's own API: a `DatabaseQueue` (one connection with seed 004's
// pragmas), each run one `read` (a read transaction) fetching `Row`s from
// `cachedStatement(sql:)`, GRDB's prepared-statement cache, with the inputs bound as
// `StatementArguments`. Reads only: the write workloads are not its to run.

import Foundation
import GRDB
@_spi(Benchmarks) import GuildBench

final class GRDBContender: BenchContender {
    let key = "grdb"
    let name = "GRDB.swift 7 (seed indexes)"
    let queue: DatabaseQueue

    /// Seed 004's pragmas, as the other SQLite contenders run them (journal_mode is the file's).
    static let pragmas = [
        "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = 10000", "PRAGMA temp_store = MEMORY",
        "PRAGMA mmap_size = 268435456", "PRAGMA foreign_keys = ON",
    ]

    init(path: String) throws {
        var configuration = Configuration()
        configuration.label = "grdb-contender"
        configuration.prepareDatabase { db in
            for pragma in GRDBContender.pragmas { try db.execute(sql: pragma) }
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    func prepare(_ workload: Workload) async throws -> PreparedWorkload {
        let queue = self.queue
        let kinds = workload.columnKinds
        switch workload.task {
        case .pattern(let pattern, let inputs):
            let sql = pattern.sql
            let arguments = StatementArguments(try pattern.integerParameters(inputs))
            return PreparedWorkload {
                let rows = try queue.read { db in try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: arguments) }
                return DeferredAnswer { try rows.map { try Self.canonical($0, kinds: kinds) } }
            }
        case .pointLookup(let lookup):
            let ids = lookup.messageIDs.map { Int64(bitPattern: $0) }
            let sql = PointLookup.sql
            return PreparedWorkload {
                // One read transaction for the batch, as the other contenders read it.
                let rows = try queue.read { db in
                    let statement = try db.cachedStatement(sql: sql)
                    var rows: [Row] = []
                    rows.reserveCapacity(ids.count)
                    for id in ids { rows += try Row.fetchAll(statement, arguments: [id]) }
                    return rows
                }
                return DeferredAnswer { try rows.map { try Self.canonical($0, kinds: kinds) } }
            }
        case .retention, .durableCommits, .bulkIngest, .openWithWAL:
            throw GuildBench.BenchError.unsupportedWorkload(workload: workload.name, contender: name)
        }
    }

    /// A GRDB row in the canonical form, column `i` read as `kinds[i]`.
    static func canonical(_ row: Row, kinds: [ColumnKind]) throws -> CanonicalRow {
        let values = Array(row.databaseValues)
        guard values.count == kinds.count else {
            throw GuildBench.BenchError.unexpectedColumnCount(expected: kinds.count, actual: values.count)
        }
        return CanonicalRow(try zip(values, kinds).map { value, kind -> CanonicalValue in
            switch (kind, value.storage) {
            case (_, .null): return .null
            case (.id, .int64(let v)): return .id(UInt64(bitPattern: v))
            case (.integer, .int64(let v)): return .integer(v)
            case (.real, .double(let v)): return .real(v)
            case (.real, .int64(let v)): return .real(Double(v))
            case (.text, .string(let s)): return .text(s)
            default: throw GuildBench.BenchError.unexpectedSQLiteValue(kind: kind.rawValue, value: value.description)
            }
        })
    }
}
