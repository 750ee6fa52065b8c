import Foundation
@_spi(Benchmarks) import GuildStoreSQLite

/// SQLite through its C API (`SQLiteConnection`): each workload's statements are prepared
/// once, and each run binds its inputs, steps through every row and reads every column, as
/// an application reading the result would.
///
/// The connection gets seed 004's pragmas (`SQLitePragmas.seed`); the file is in WAL mode
/// already (`SQLiteTwin`). `indexStatements` are what this contender's file has beyond seed
/// 004's schema (the covering indexes): a bulk ingest's empty copy gets them too. The
/// workloads that need files of their own (bulk ingest, open with a WAL) make them in
/// `workFolder`; without one they are `BenchError.unsupportedWorkload`.
public final class SQLiteContender: BenchContender {
    public let key: String
    public let name: String
    public let path: String
    public let pragmas: [String]
    public let indexStatements: [String]
    public var workFolder: String?
    let connection: SQLiteConnection

    /// Opens `path` (which must exist) and applies `pragmas`.
    public init(key: String, name: String, path: String, pragmas: [String] = SQLitePragmas.seed, indexStatements: [String] = [],
                workFolder: String? = nil) throws {
        self.key = key
        self.name = name
        self.path = path
        self.pragmas = pragmas
        self.indexStatements = indexStatements
        self.workFolder = workFolder
        connection = try SQLiteConnection(path: path, mode: .readWrite)
        for pragma in pragmas { try connection.execute(pragma) }
    }

    public func prepare(_ workload: Workload) async throws -> PreparedWorkload {
        let kinds = workload.columnKinds
        switch workload.task {
        case .pattern(let pattern, let inputs):
            let statement = try connection.prepare(pattern.sql)
            let parameters = try pattern.sqliteParameters(inputs)
            return PreparedWorkload {
                try statement.bind(parameters)
                var rows: [[SQLiteValue]] = []
                while try statement.step() { rows.append(statement.row()) }
                statement.reset()
                return DeferredAnswer { try rows.map { try CanonicalRow(sqlite: $0, kinds: kinds) } }
            }
        case .pointLookup(let lookup):
            let statement = try connection.prepare(PointLookup.sql)
            let connection = self.connection
            let ids = lookup.messageIDs.map { SQLiteValue.integer(Int64(bitPattern: $0)) }
            return PreparedWorkload {
                // One read transaction for the batch, as GuildStore reads it from one snapshot.
                let rows = try connection.transaction {
                    var rows: [[SQLiteValue]] = []
                    rows.reserveCapacity(ids.count)
                    for id in ids {
                        try statement.bind(id, at: 1)
                        while try statement.step() { rows.append(statement.row()) }
                        statement.reset()
                    }
                    return rows
                }
                return DeferredAnswer { try rows.map { try CanonicalRow(sqlite: $0, kinds: kinds) } }
            }
        case .retention(let cutoff):
            let connection = self.connection
            let tables = ["message_events", "voice_events", "member_events", "presence_events"]
            let deletes = try tables.map { try connection.prepare("DELETE FROM \($0) WHERE created_at < ?") }
            return PreparedWorkload {
                let counts = try connection.transaction(.immediate) {
                    try deletes.map { delete -> Int in
                        try delete.run([.integer(cutoff)])
                        return connection.changes
                    }
                }
                return .canonical(zip(tables, counts).map { CanonicalRow([.text($0), .integer(Int64($1))]) })
            }
        case .durableCommits(let plan):
            if plan.writers > 1 { return try prepareConcurrentCommits(plan) }
            let connection = self.connection
            let insert = try connection.prepare(DurableCommits.insertSQL)
            let find = try connection.prepare("SELECT COUNT(*) FROM message_events WHERE id >= ? AND id < ?")
            var run = 0
            return PreparedWorkload {
                let ids = plan.ids(run: run)
                run += 1
                for value in ids {
                    // Autocommit: each INSERT is its own transaction, synced at its commit (FULL).
                    try insert.run(plan.sqliteParameters(value))
                }
                let found = try Self.count(find, ids)
                return DeferredAnswer { [try CanonicalRow(sqlite: [found], kinds: kinds)] }
            }
        case .bulkIngest(let ingest):
            return try await prepareIngest(ingest, workload: workload)
        case .openWithWAL(let plan):
            return try prepareOpen(plan, workload: workload)
        }
    }

    /// `SELECT COUNT(*)` of the ids in `ids`, with `find` taking the range's two ends.
    private static func count(_ find: SQLiteStatement, _ ids: Range<UInt64>) throws -> SQLiteValue {
        try find.bind([.integer(Int64(bitPattern: ids.lowerBound)), .integer(Int64(bitPattern: ids.upperBound))])
        let found = try find.step() ? find.column(0) : .null
        find.reset()
        return found
    }

    /// Opens a connection to this contender's file as each of its connections is opened.
    private func openConnection(_ path: String, pragmas: [String]) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        for pragma in pragmas { try connection.execute(pragma) }
        return connection
    }

    private func folder(for workload: Workload) throws -> String {
        guard let workFolder else { throw BenchError.unsupportedWorkload(workload: workload.name, contender: name) }
        try DatabaseFiles.makeFolder(workFolder)
        return workFolder
    }

    /// `writers` threads, each with its own connection (this contender's pragmas and a
    /// `busy_timeout`, opened off the clock), each making its share of the commits, one
    /// `BEGIN IMMEDIATE` ... `COMMIT` per row (`WriterThreads.Writer`), as the Concurrency
    /// suite's SQLite writers do.
    private func prepareConcurrentCommits(_ plan: DurableCommits) throws -> PreparedWorkload {
        let writers = try (0..<plan.writers).map { _ in
            let connection = try openConnection(path, pragmas: pragmas + ["PRAGMA busy_timeout = \(WriterThreads.busyTimeoutMilliseconds)"])
            return WriterThreads.Writer(connection: connection, insert: try connection.prepare(DurableCommits.insertSQL))
        }
        let find = try connection.prepare("SELECT COUNT(*) FROM message_events WHERE id >= ? AND id < ?")
        let kinds: [ColumnKind] = [.integer]
        var run = 0
        return PreparedWorkload {
            let number = run
            run += 1
            try await WriterThreads.run(writers) { writer, index in
                for id in plan.ids(run: number, writer: index) {
                    try writer.commitRetryingBusy(plan.sqliteParameters(id))
                }
            }
            let found = try Self.count(find, plan.ids(run: number))
            return DeferredAnswer { [try CanonicalRow(sqlite: [found], kinds: kinds)] }
        }
    }

    /// Each run: a fresh copy of the template (seed 004's schema and indexes, the parents, no
    /// events) with this contender's `indexStatements`, opened with its pragmas, off the
    /// clock; on the clock, the events through prepared INSERTs (one per table and column
    /// list), `BEGIN IMMEDIATE` ... `COMMIT` around each `batchSize` of them. The answer: each
    /// event table's rows.
    private func prepareIngest(_ ingest: BulkIngest, workload: Workload) async throws -> PreparedWorkload {
        let folder = try folder(for: workload)
        let template = folder + "/ingest-template.sqlite", target = folder + "/ingest.sqlite"
        let materials = try await ingest.source.materials()
        try DatabaseFiles.copy(materials.sqliteTemplate, to: template)
        do {
            let connection = try openConnection(template, pragmas: pragmas)
            for statement in indexStatements { try connection.execute(statement) }
            try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        // Each event as (its INSERT's number, its values), made before any run.
        var statementNumbers: [String: Int] = [:]
        var statementTexts: [String] = []
        var rows: [(statement: Int, values: [SQLiteValue])] = []
        rows.reserveCapacity(materials.events.count)
        for record in materials.events {
            let columns = record.values.keys.sorted()
            let text = "INSERT INTO \"\(record.kind.table.name)\" (" + columns.map { "\"\($0)\"" }.joined(separator: ", ")
                + ") VALUES (" + columns.map { _ in "?" }.joined(separator: ", ") + ")"
            let number: Int
            if let known = statementNumbers[text] {
                number = known
            } else {
                number = statementTexts.count
                statementNumbers[text] = number
                statementTexts.append(text)
            }
            rows.append((number, try columns.map { try IngestMaterials.sqliteValue(record.values[$0] ?? .null) }))
        }
        let batchSize = ingest.batchSize
        let pragmas = self.pragmas
        var open: (connection: SQLiteConnection, inserts: [SQLiteStatement])?
        return PreparedWorkload(
            setUp: {
                open = nil
                try DatabaseFiles.copy(template, to: target)
                let connection = try self.openConnection(target, pragmas: pragmas)
                open = (connection, try statementTexts.map { try connection.prepare($0) })
            },
            tearDown: { open = nil },
            execute: {
                guard let (connection, inserts) = open else { throw BenchError.unusableDataset("the ingest copy is not open") }
                var start = 0
                while start < rows.count {
                    let end = min(rows.count, start + batchSize)
                    try connection.transaction(.immediate) {
                        for row in rows[start..<end] { try inserts[row.statement].run(row.values) }
                    }
                    start = end
                }
                return DeferredAnswer {
                    try IngestMaterials.eventTables.map { table in
                        let count = try connection.query("SELECT COUNT(*) FROM \"\(table)\"")
                        return try CanonicalRow(sqlite: [.text(table)] + (count.first ?? [.null]), kinds: [.text, .integer])
                    }
                }
            })
    }

    /// Off the clock, once: a copy of this file given the plan's commits by a connection with
    /// this contender's pragmas, `wal_autocheckpoint = 0` and `synchronous = NORMAL` (as no
    /// crash comes between them and the copy), and, while that connection still
    /// holds them in the WAL (closing it would checkpoint them), a copy of the file and its
    /// WAL: the template. Each run opens a fresh copy of the template (no `-shm`, so SQLite
    /// rebuilds its WAL index by reading the whole log, as after a crash or a copy) with this
    /// contender's pragmas and reads the last committed row.
    private func prepareOpen(_ plan: DurableCommits, workload: Workload) throws -> PreparedWorkload {
        let folder = try folder(for: workload)
        let source = folder + "/wal-source.sqlite", template = folder + "/wal-template.sqlite", target = folder + "/wal-open.sqlite"
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try DatabaseFiles.copy(path, to: source)
        let frames: Int
        do {
            let writer = try openConnection(source, pragmas: pragmas + ["PRAGMA wal_autocheckpoint = 0", "PRAGMA synchronous = NORMAL"])
            let insert = try writer.prepare(DurableCommits.insertSQL)
            for id in plan.ids(run: 0) { try insert.run(plan.sqliteParameters(id)) }
            try DatabaseFiles.copy(source, to: template)
            guard case .integer(let pageSize)? = try writer.query("PRAGMA page_size").first?.first, pageSize > 0 else {
                throw BenchError.unusableDataset("no page size")
            }
            // A WAL is a 32-byte header and, per frame, a 24-byte header and a page.
            frames = Int((StorageFootprint.size(template + "-wal") - 32) / (pageSize + 24))
        }
        try DatabaseFiles.remove(source)
        let bytes = StorageFootprint.size(template + "-wal")
        let last = Int64(bitPattern: plan.ids(run: 0).upperBound - 1)
        let pragmas = self.pragmas
        let kinds = PointLookup.columnKinds
        var opened: SQLiteConnection?
        return PreparedWorkload(
            setUp: {
                opened = nil
                try DatabaseFiles.copy(template, to: target)
            },
            tearDown: {
                // The connection's close checkpoints the copy's WAL: here, off the clock.
                if opened != nil { opened = nil }
            },
            note: "\(plan.commits) commits left \(frames) frames (\(ReportFormatting.megabytes(bytes))) in the WAL",
            execute: {
                let connection = try self.openConnection(target, pragmas: pragmas)
                opened = connection
                let select = try connection.prepare(PointLookup.sql)
                try select.bind([.integer(last)])
                var rows: [[SQLiteValue]] = []
                while try select.step() { rows.append(select.row()) }
                return DeferredAnswer { try rows.map { try CanonicalRow(sqlite: $0, kinds: kinds) } }
            })
    }
}

/// The pragmas every SQLite contender's connection runs.
public enum SQLitePragmas {
    /// Seed 004's settings (journal_mode is the file's, set once by `SQLiteTwin`).
    public static let seed = [
        "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = 10000", "PRAGMA temp_store = MEMORY",
        "PRAGMA mmap_size = 268435456", "PRAGMA foreign_keys = ON",
    ]

    /// The seed's settings but every commit synced (`synchronous = FULL`), for the write
    /// workloads on scratch copies; GuildStore's copy opens with `.full` to match.
    public static let durable = seed.map { $0 == "PRAGMA synchronous = NORMAL" ? "PRAGMA synchronous = FULL" : $0 }
}
