@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// GuildStore as a bot uses it: each run is one `Database.read` (or `write`) calling the
/// public typed methods, so the time includes taking the snapshot, as a bot's call does.
///
/// The workloads that need files of their own (bulk ingest, open with a WAL) make them in
/// `workFolder`; without one they are `BenchError.unsupportedWorkload`.
package final class GuildStoreContender: BenchContender {
    package let key = "guildstore"
    package let name = "GuildStore"
    package let database: Database
    package var workFolder: String?

    package init(database: Database, workFolder: String? = nil) {
        self.database = database
        self.workFolder = workFolder
    }

    /// The database's file, when it has one.
    var path: String? {
        if case .file(let path) = database.configuration.location { path } else { nil }
    }

    package func prepare(_ workload: Workload) async throws -> PreparedWorkload {
        let database = self.database
        switch workload.task {
        case .pattern(let pattern, let inputs):
            return PreparedWorkload {
                try await database.read { tx in try pattern.answer(on: tx, inputs) }
            }
        case .pointLookup(let lookup):
            let keys = lookup.messageIDs.map { [Value.uint($0)] }
            return PreparedWorkload {
                let events = try await database.read { tx in try keys.map { try tx.get(MessageEvent.self, key: $0) } }
                return DeferredAnswer { events.compactMap { $0.map(Self.lookupRow) } }
            }
        case .retention(let cutoff):
            return PreparedWorkload {
                let deleted = try await database.write { tx in try tx.deleteEvents(olderThan: cutoff) }
                return DeferredAnswer {
                    [("message_events", deleted.messageEvents), ("voice_events", deleted.voiceEvents),
                     ("member_events", deleted.memberEvents), ("presence_events", deleted.presenceEvents)]
                        .map { CanonicalRow([.text($0.0), .integer(Int64($0.1))]) }
                }
            }
        case .durableCommits(let plan):
            var run = 0
            return PreparedWorkload {
                let ids = plan.ids(run: run)
                let number = run
                run += 1
                if plan.writers == 1 {
                    for id in ids {
                        _ = try await database.write { tx in try tx.insert(plan.event(id)) }
                    }
                } else {
                    // Each writer a task of its own, as a bot's handlers are: their commits
                    // meet at the writer actor and share syncs (group commit).
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for writer in 0..<plan.writers {
                            let share = plan.ids(run: number, writer: writer)
                            group.addTask {
                                for id in share {
                                    _ = try await database.write { tx in try tx.insert(plan.event(id)) }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                let found = try await database.read { tx in
                    try ids.filter { try tx.get(MessageEvent.self, key: [.uint($0)]) != nil }.count
                }
                return .canonical([CanonicalRow([.integer(Int64(found))])])
            }
        case .bulkIngest(let ingest):
            return try await prepareIngest(ingest, workload: workload)
        case .openWithWAL(let plan):
            return try await prepareOpen(plan, workload: workload)
        }
    }

    static func lookupRow(_ event: MessageEvent) -> CanonicalRow {
        CanonicalRow([.id(event.id), .id(event.guildID), .id(event.channelID), .id(event.userID), .integer(event.characterCount),
                      .integer(event.hasAttachment), .integer(event.createdAt)])
    }

    private func folder(for workload: Workload) throws -> String {
        guard let workFolder else { throw BenchError.unsupportedWorkload(workload: workload.name, contender: name) }
        try DatabaseFiles.makeFolder(workFolder)
        return workFolder
    }

    /// Each run: a fresh copy of the template (guild schema, every migration, the parents, no
    /// events) opened through `GuildDatabase.open` off the clock; on the clock, the events
    /// through the public prepared insert (`PreparedInsert`, which keeps every index and
    /// rollup; one per table and column list, the values by position, made off the clock as
    /// SQLite's side prepares its INSERTs and binds) in write transactions of `batchSize`.
    /// The answer: each event table's rows.
    private func prepareIngest(_ ingest: BulkIngest, workload: Workload) async throws -> PreparedWorkload {
        let target = try folder(for: workload) + "/ingest.gsdb"
        let materials = try await ingest.source.materials()
        var statements: [String: PreparedInsert] = [:]
        let rows = materials.events.map { record in
            let columns = record.values.keys.sorted()
            let key = record.kind.table.name + "(" + columns.joined(separator: ",") + ")"
            let statement = statements[key] ?? PreparedInsert(into: record.kind.table.name, columns: columns,
                                                              onConflict: record.kind.conflictPolicy)
            statements[key] = statement
            return (statement: statement, values: columns.map { record.values[$0] ?? .null })
        }
        let batchSize = max(1, ingest.batchSize)
        var store: GuildDatabase?
        return PreparedWorkload(
            setUp: {
                try DatabaseFiles.copy(materials.guildStoreTemplate, to: target)
                store = try await GuildDatabase.open(DatabaseConfiguration(.file(target)))
            },
            tearDown: {
                try await store?.close()
                store = nil
            },
            execute: {
                guard let database = store?.database else { throw BenchError.unusableDataset("the ingest copy is not open") }
                var start = 0
                while start < rows.count {
                    let batch = rows[start..<min(rows.count, start + batchSize)]
                    try await database.write { tx in for row in batch { try tx.insert(row.values, row.statement) } }
                    start += batchSize
                }
                return DeferredAnswer {
                    let tx = try database.beginRead()
                    defer { tx.end() }
                    return try IngestMaterials.eventTables.map { CanonicalRow([.text($0), .integer(try tx.count($0))]) }
                }
            })
    }

    /// Off the clock, once: a copy of this database given the plan's commits (automatic
    /// checkpoints off; `.normal`, as no crash comes between them and the copy) and closed,
    /// which leaves them in its WAL. Each run opens a
    /// fresh copy of that (file and WAL) through `GuildDatabase.open` and reads the last
    /// committed row: the clock covers the open, the WAL's recovery and the first read.
    private func prepareOpen(_ plan: DurableCommits, workload: Workload) async throws -> PreparedWorkload {
        guard let source = path else { throw BenchError.unsupportedWorkload(workload: workload.name, contender: name) }
        let folder = try folder(for: workload)
        let template = folder + "/wal-template.gsdb", target = folder + "/wal-open.gsdb"
        _ = try await database.checkpoint(.truncate)
        try DatabaseFiles.copy(source, to: template)
        let writer = try await GuildDatabase.open(DatabaseConfiguration(.file(template), synchronous: .normal, checkpointThreshold: 0))
        let frames: Int
        do {
            for id in plan.ids(run: 0) {
                _ = try await writer.database.write { tx in try tx.insert(plan.event(id)) }
            }
            frames = writer.database.statistics().walFrames
        } catch {
            try? await writer.close()
            throw error
        }
        try await writer.close()
        let bytes = StorageFootprint.size(template + "-wal")
        let last = plan.ids(run: 0).upperBound - 1
        var store: GuildDatabase?
        return PreparedWorkload(
            setUp: { try DatabaseFiles.copy(template, to: target) },
            tearDown: {
                try await store?.close()
                store = nil
            },
            note: "\(plan.commits) commits left \(frames) frames (\(ReportFormatting.megabytes(bytes))) in the WAL",
            execute: {
                let opened = try await GuildDatabase.open(DatabaseConfiguration(.file(target), synchronous: .full))
                store = opened
                let event = try await opened.database.read { tx in try tx.get(MessageEvent.self, key: [.uint(last)]) }
                return DeferredAnswer { event.map { [Self.lookupRow($0)] } ?? [] }
            })
    }
}
