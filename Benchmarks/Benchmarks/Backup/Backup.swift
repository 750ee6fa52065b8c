// Snapshot backups (issue 12) against SQLite, on the same data in the same run: the `default`
// profile in GuildStore and in its SQLite twin (`BackupFixture`, answers checked equal on the
// originals and on every restored copy before anything is timed).
//
//   Backup/GuildStore                     db.backup(to:): one LZ4 frame, synced and renamed
//   Backup/SQLite.backupAPI+lz4           sqlite3_backup_step(-1) into a file, lz4, fsync
//   Backup/SQLite.vacuumInto+lz4          VACUUM INTO a file, lz4, fsync
//   Restore/GuildStore                    Database.restore(from:to:) (checks, writes, syncs,
//                                         renames, opens and runs check() on the result)
//   Restore/SQLite.lz4d+copy              lz4 -d of the backup API's .lz4, copy into place, fsync
//   Restore/SQLite.lz4d                   lz4 -d straight into place, fsync
//   CommitLatency/GuildStore              a durable single-row commit's latency with and
//   CommitLatency/SQLite                  without a backup running (see CommitLatency.swift)
//   Archive/GuildStore.durableCommit      durable commits with and without continuous
//                                         archiving (see Archiving.swift)
//
// Wall clock is per backup or restore (one per iteration). Custom metrics: the file sizes as
// per mille of the database file (backup bytes / database file bytes x 1000) and, for SQLite,
// the time of each step. The ratios the goals are about are SQLite's p50 / GuildStore's
// p50 from this one run.

import Benchmark
import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

let sizeMetric = BenchmarkMetric.custom("backup / database file (permille)", polarity: .prefersSmaller, useScalingFactor: false)
let copyMetric = BenchmarkMetric.custom("copy step (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let compressMetric = BenchmarkMetric.custom("lz4 step (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let syncMetric = BenchmarkMetric.custom("fsync step (ms)", polarity: .prefersSmaller, useScalingFactor: false)

func wholeFileConfiguration(_ extra: [BenchmarkMetric] = []) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock] + extra,
        timeUnits: .milliseconds,
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(20),
        maxIterations: 9
    )
}

func permille(_ part: Int64, of whole: Int64) -> Int { Int((Double(part) * 1000 / Double(max(whole, 1))).rounded()) }

func milliseconds(_ nanos: Int) -> Int { (nanos + 500_000) / 1_000_000 }

/// What one benchmark process has open: the fixture, and the engine handle its benchmark uses.
final class BackupRun: @unchecked Sendable {
    // Used from one thread at a time: package-benchmark runs setup, iterations, teardown in turn.
    let fixture: BackupFixture
    let folder: String
    var database: Database?
    var store: GuildDatabase?
    var sqlite: SQLiteConnection?
    /// Pages the first backup stored: the database does not change, so every backup stores as many.
    var expectedPages: Int?
    /// A backup file made in setup, for the restore benchmarks.
    var backupFile = ""

    init(_ name: String) async throws {
        fixture = try await BackupFixture.shared()
        folder = try fixture.scratch(name.replacingOccurrences(of: "/", with: "_"))
        Self.current = self
    }

    func file(_ name: String) -> String { folder + "/" + name }

    func openGuildStore() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(fixture.databasePath)))
        self.store = store
        database = store.database
    }

    func finish() async {
        if let store { try? await store.close() }
        store = nil
        database = nil
        sqlite = nil
        try? FileManager.default.removeItem(atPath: folder)
    }
}

func guildStoreBackup() {
    let name = "Backup/GuildStore"
    Benchmark(name, configuration: wholeFileConfiguration([sizeMetric])) { (benchmark: Benchmark, run: BackupRun) in
        await orExit(name) {
            guard let db = run.database else { throw BenchmarkSupport.BenchError.setup("not open") }
            let path = run.file("full.gsbackup")
            for _ in benchmark.scaledIterations {
                Files.remove(path)
                TemporaryDirectory.settleFileSystem()
                benchmark.startMeasurement()
                let info = try await db.backup(to: path)
                benchmark.stopMeasurement()
                guard let stored = info.pagesStored, stored > 0, stored == run.expectedPages ?? stored, info.fileBytes == Files.size(path) else {
                    verificationFailed("\(name): stored \(info.pagesStored.map(String.init) ?? "?") pages, \(run.expectedPages.map(String.init) ?? "?") before; \(info.fileBytes) bytes")
                }
                run.expectedPages = stored
                benchmark.measurement(sizeMetric, permille(info.fileBytes, of: run.fixture.databaseBytes))
            }
        }
    } setup: {
        await orExit("\(name) setup") {
            let run = try await BackupRun(name)
            try await run.openGuildStore()
            return run
        }
    } teardown: {
        await BackupRun.current?.finish()
    }
}

func sqliteBackup(_ method: SQLiteBackupMethod) {
    let name = "Backup/SQLite.\(method.rawValue)+lz4"
    Benchmark(name, configuration: wholeFileConfiguration([sizeMetric, copyMetric, compressMetric, syncMetric])) { (benchmark: Benchmark, run: BackupRun) in
        orExit(name) {
            guard let connection = run.sqlite else { throw BenchmarkSupport.BenchError.setup("not open") }
            let copy = run.file("backup.sqlite")
            let lz4 = copy + ".lz4"
            for _ in benchmark.scaledIterations {
                Files.remove(copy, lz4)
                TemporaryDirectory.settleFileSystem()
                benchmark.startMeasurement()
                let steps = try method.run(connection, copyPath: copy, lz4Path: lz4)
                benchmark.stopMeasurement()
                // The copy must be a whole database: the backup API's is the file page for
                // page; VACUUM INTO's at most that size. (Its answers were checked by the fixture.)
                let copyBytes = Files.size(copy)
                guard copyBytes > 0, method == .vacuumInto ? copyBytes <= run.fixture.sqliteBytes : copyBytes == run.fixture.sqliteBytes else {
                    verificationFailed("\(name): the copy has \(copyBytes) bytes, the database \(run.fixture.sqliteBytes)")
                }
                benchmark.measurement(sizeMetric, permille(Files.size(lz4), of: run.fixture.sqliteBytes))
                benchmark.measurement(copyMetric, milliseconds(steps.copy))
                benchmark.measurement(compressMetric, milliseconds(steps.compress))
                benchmark.measurement(syncMetric, milliseconds(steps.sync))
                Files.remove(copy)
            }
        }
    } setup: {
        await orExit("\(name) setup") {
            let run = try await BackupRun(name)
            run.sqlite = try SQLiteConnection(path: run.fixture.sqlitePath, mode: .readWrite)
            return run
        }
    } teardown: {
        await BackupRun.current?.finish()
    }
}

func guildStoreRestore() {
    let name = "Restore/GuildStore"
    Benchmark(name, configuration: wholeFileConfiguration()) { (benchmark: Benchmark, run: BackupRun) in
        orExit(name) {
            let destination = run.file("restored.gsdb")
            for _ in benchmark.scaledIterations {
                try DatabaseFiles.remove(destination)
                TemporaryDirectory.settleFileSystem()
                benchmark.startMeasurement()
                let result = try Database.restore(from: [run.backupFile], to: destination)
                benchmark.stopMeasurement()
                guard result.pagesWritten > 0, Files.size(destination) == run.fixture.databaseBytes else {
                    verificationFailed("\(name): restored \(Files.size(destination)) bytes, the database has \(run.fixture.databaseBytes)")
                }
            }
        }
    } setup: {
        await orExit("\(name) setup") {
            let run = try await BackupRun(name)
            try await run.openGuildStore()
            run.backupFile = try await run.database!.backup(to: run.file("full.gsbackup")).path
            try await run.store?.close()
            run.store = nil
            run.database = nil
            return run
        }
    } teardown: {
        await BackupRun.current?.finish()
    }
}

func sqliteRestore(_ method: SQLiteRestoreMethod) {
    let name = "Restore/SQLite.\(method.rawValue)"
    Benchmark(name, configuration: wholeFileConfiguration()) { (benchmark: Benchmark, run: BackupRun) in
        orExit(name) {
            let destination = run.file("restored.sqlite")
            let staging = run.file("restored.staging")
            for _ in benchmark.scaledIterations {
                try DatabaseFiles.remove(destination)
                Files.remove(staging)
                TemporaryDirectory.settleFileSystem()
                benchmark.startMeasurement()
                try method.run(lz4Path: run.backupFile, staging: staging, destination: destination)
                benchmark.stopMeasurement()
                guard Files.size(destination) == run.fixture.sqliteBytes else {
                    verificationFailed("\(name): restored \(Files.size(destination)) bytes, the database has \(run.fixture.sqliteBytes)")
                }
            }
        }
    } setup: {
        await orExit("\(name) setup") {
            let run = try await BackupRun(name)
            let connection = try SQLiteConnection(path: run.fixture.sqlitePath, mode: .readWrite)
            let copy = run.file("backup.sqlite")
            _ = try SQLiteBackupMethod.backupAPI.run(connection, copyPath: copy, lz4Path: copy + ".lz4")
            Files.remove(copy)
            run.backupFile = copy + ".lz4"
            return run
        }
    } teardown: {
        await BackupRun.current?.finish()
    }
}

extension BackupRun {
    // The run of this process's one benchmark, for its teardown.
    nonisolated(unsafe) static var current: BackupRun?
}

let benchmarks: @Sendable () -> Void = {
    guildStoreBackup()
    for method in SQLiteBackupMethod.allCases { sqliteBackup(method) }
    guildStoreRestore()
    for method in SQLiteRestoreMethod.allCases { sqliteRestore(method) }
    commitLatencyBenchmarks()
    archivingBenchmark()
}
