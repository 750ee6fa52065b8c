import Foundation
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine

/// One whole benchmark on a seeded GuildStore database: makes its SQLite twin (`SQLiteTwin`),
/// finds the subjects (`BenchSubjects`), runs the read workloads on the three contenders, the
/// write workloads on throwaway copies (`ScratchCopies`), measures the files, and returns the
/// report. `guildstore bench` is this plus seeding and printing.
package struct BenchSession: Sendable {
    package var runs: Int
    /// Message ids per point-lookup batch.
    package var lookups: Int
    /// Whether to run the write workloads (durable commits, retention, and, as
    /// `catalog.includeSlowWrites` says, bulk ingest, concurrent commits, open with a WAL).
    package var includeWrites: Bool
    package var catalog: WorkloadCatalog
    /// Runs only the workloads whose name (`group · subject`) contains one of these, ignoring
    /// case; empty: every workload.
    package var only: [String]

    package init(runs: Int = 7, lookups: Int = 1_000, includeWrites: Bool = true, catalog: WorkloadCatalog = WorkloadCatalog(),
                 only: [String] = []) {
        self.runs = runs
        self.lookups = lookups
        self.includeWrites = includeWrites
        self.catalog = catalog
        self.only = only
    }

    /// Whether `workload` is one the session runs (`only`).
    func selects(_ workload: Workload) -> Bool {
        only.isEmpty || only.contains { workload.name.localizedCaseInsensitiveContains($0) }
    }

    /// What the session tells its caller while it works.
    package struct Observer {
        /// A step starts (`exporting to SQLite ...`).
        package var status: (String) -> Void
        /// Workloads done, total, the current workload's name.
        package var progress: (Int, Int, String) -> Void

        package init(status: @escaping (String) -> Void = { _ in }, progress: @escaping (Int, Int, String) -> Void = { _, _, _ in }) {
            self.status = status
            self.progress = progress
        }
    }

    /// Runs the benchmark on `database` (open, at `databasePath`), its twin beside it. The
    /// report's command, machine and total time are filled in; `seededProfile` is the caller's.
    package func run(database: Database, databasePath: String, command: String, seededProfile: String? = nil,
                    started: ContinuousClock.Instant = .now, phases earlier: [BenchPhase] = [],
                    observer: Observer = Observer()) async throws -> BenchReport {
        var phases = earlier
        var phaseStart = ContinuousClock.now
        func endPhase(_ name: String) {
            phases.append(BenchPhase(name: name, seconds: seconds(since: phaseStart)))
            phaseStart = .now
        }
        let twin = SQLiteTwin(besideDatabase: databasePath)
        let outcome = try await twin.make(from: database, status: observer.status)
        endPhase(outcome.exported ? "SQLite export and covering copy" : outcome.coveringBuilt ? "covering copy" : "SQLite files checked (reused)")

        // Every log emptied into its file: each run starts alike (a freshly seeded GuildStore
        // would otherwise read through a WAL full of the load), and the sizes are the data's.
        observer.status("checkpointing the databases")
        _ = try await database.checkpoint(.truncate)
        try SQLiteTwin.checkpoint(twin.seedPath)
        try SQLiteTwin.checkpoint(twin.coveringPath)

        let runner = BenchRunner(runs: runs)
        var results: [WorkloadResult] = []
        let subjects: BenchSubjects
        var footprint: [StorageFootprint] = []
        do {
            let contenders = try BenchContenders.make(database: database, twin: twin)
            guard let seed = contenders[BenchContenders.reference] as? SQLiteContender else {
                throw BenchError.unusableDataset("the reference contender is not SQLite")
            }
            observer.status("finding the busiest, a median and an empty guild")
            subjects = try BenchSubjects.discover(in: seed.connection, lookups: lookups)
            let reads = catalog.reads(subjects).filter(selects)
            let scratchFolder = databasePath + ".bench-scratch"
            let writes = includeWrites ? catalog.writes(subjects, scratchFolder: scratchFolder).filter(selects) : []
            let total = reads.count + writes.count
            footprint = [
                StorageFootprint(contender: BenchContenders.guildStoreKey, path: databasePath, walPath: databasePath + "-wal",
                                 events: subjects.totalEvents),
                StorageFootprint(contender: BenchContenders.seedKey, path: twin.seedPath, walPath: twin.seedPath + "-wal",
                                 events: subjects.totalEvents),
                StorageFootprint(contender: BenchContenders.coveringKey, path: twin.coveringPath, walPath: twin.coveringPath + "-wal",
                                 events: subjects.totalEvents),
            ]
            endPhase("checkpoints and subjects")
            results = try await runner.run(reads, on: contenders, reference: BenchContenders.reference,
                                           measured: BenchContenders.measured) { done, _, name in
                if !name.isEmpty { observer.progress(done, total, name) }  // the end is reported once, below
            }
            endPhase("read workloads")
            if !writes.isEmpty {
                observer.status("copying the databases for the write workloads")
                let scratch = try await ScratchCopies(database: database, databasePath: databasePath, twin: twin,
                                                      folder: scratchFolder)
                do {
                    let copies = try await scratch.contenders()
                    results += try await runner.run(writes, on: copies, reference: BenchContenders.reference,
                                                    measured: BenchContenders.measured) { done, _, name in
                        if !name.isEmpty { observer.progress(reads.count + done, total, name) }
                    }
                } catch {
                    try? await scratch.remove()
                    throw error
                }
                try await scratch.remove()
                endPhase("write workloads (on copies)")
            }
            observer.progress(total, total, "")
        }
        let others = BenchContenders.descriptions.map(\.key).filter { $0 != BenchContenders.guildStoreKey }
        let directory = URL(fileURLWithPath: databasePath).deletingLastPathComponent().path
        return BenchReport(
            command: command, machine: .current(directory: directory),
            dataset: DatasetDescription(
                databasePath: databasePath, seededProfile: seededProfile,
                eventsPerTable: Dictionary(uniqueKeysWithValues: subjects.eventCounts.map { ($0.table, $0.rows) }),
                totalEvents: subjects.totalEvents, now: subjects.now,
                guilds: subjects.guilds.map { GuildDescription(label: $0.label, id: String($0.guild), user: String($0.user), messages: $0.messages) }),
            runsPerWorkload: runner.runs, contenders: BenchContenders.descriptions, measured: BenchContenders.guildStoreKey,
            workloads: results, footprint: footprint, geometricMeans: BenchReport.geometricMeans(results, against: others),
            phases: phases, totalSeconds: seconds(since: started))
    }
}
