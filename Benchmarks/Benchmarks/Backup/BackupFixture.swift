// The data every Backup benchmark runs on: the `default` profile (about 1M events) seeded into
// a GuildStore database and exported to its SQLite twin (GuildBench's `SQLiteTwin`, seed 004's
// schema and indexes, WAL mode), both checkpointed so each file holds everything.
//
// Seeding and exporting the default profile take about a minute, and package-benchmark runs
// every benchmark in a process of its own, so the first process of a run makes the fixture in
// `$TMPDIR/guildstore-bench-backup-<pid of the benchmark runner>` and the later ones of the
// same run (same parent) reuse it; each run's directory is removed by the next run (once its
// runner has exited). `GUILDSTORE_BACKUP_FIXTURE=DIR` names a directory to make or reuse
// instead (kept, for profiling).
//
// Before the fixture is marked ready, and so before any timing, the answers are checked: a
// GuildStore backup restored with `Database.restore`, the SQLite backup API's copy and
// `VACUUM INTO`'s copy, each after an lz4 round trip, and the two originals, answer every read
// workload of GuildBench's catalog (the query patterns on the busiest, a median and an empty
// guild, and a point-lookup batch) equal to the original SQLite file (AnswerComparison).

import BenchmarkSupport
import Foundation
@_spi(Benchmarks) import GuildBench
@_spi(Benchmarks) import GuildStore
@_spi(Benchmarks) import GuildStoreEngine
@_spi(Benchmarks) import GuildStoreSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct BackupFixture {
    static let prefix = "guildstore-bench-backup-default-"
    static let readyMarker = "ready"

    let directory: String
    /// The GuildStore database (its WAL empty).
    let databasePath: String
    /// The SQLite twin with seed 004's indexes (its WAL empty).
    let sqlitePath: String

    var databaseBytes: Int64 { Files.size(databasePath) }
    var sqliteBytes: Int64 { Files.size(sqlitePath) }

    /// A folder of its own in the fixture's directory for one benchmark's files (emptied first).
    func scratch(_ name: String) throws -> String {
        let path = directory + "/scratch-" + name
        try? FileManager.default.removeItem(atPath: path)
        try DatabaseFiles.makeFolder(path)
        return path
    }

    /// The fixture, made and checked on the first call of the run; later calls reuse it.
    static func shared() async throws -> BackupFixture {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let named = ProcessInfo.processInfo.environment["GUILDSTORE_BACKUP_FIXTURE"]
        let directory = named ?? "\(base)/\(prefix)\(getppid())"
        if named == nil { removeStale(in: base) }
        let fixture = BackupFixture(directory: directory, databasePath: directory + "/default.gsdb",
                                    sqlitePath: directory + "/default.sqlite")
        if FileManager.default.fileExists(atPath: directory + "/" + readyMarker) {
            printToStandardError("Backup fixture: reusing \(directory) (made and checked earlier in this run)")
            return fixture
        }
        try? FileManager.default.removeItem(atPath: directory)
        try DatabaseFiles.makeFolder(directory)
        try await fixture.make()
        return fixture
    }

    /// Removes the fixtures of earlier runs whose runner process is gone.
    private static func removeStale(in base: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getppid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: base + "/" + name) }
        }
    }

    private func make() async throws {
        let started = ContinuousClock.now
        let store = try await GuildDatabase.open(DatabaseConfiguration(.file(databasePath)))
        try await FixtureGenerator(profile: .default).load(into: store.database)
        let twin = SQLiteTwin(besideDatabase: databasePath)
        _ = try await twin.make(from: store.database)
        _ = try await store.database.checkpoint(.truncate)
        try await store.close()
        try SQLiteConnection(path: sqlitePath, mode: .readWrite).execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try DatabaseFiles.remove(twin.coveringPath)  // Patterns' covering copy: not compared here
        let seeded = ContinuousClock.now - started
        let workloads = try await checkAnswers()
        try Data("checked".utf8).write(to: URL(fileURLWithPath: directory + "/" + Self.readyMarker))
        printToStandardError("Backup fixture: default profile seeded and exported in \(seeded); GuildStore \(databaseBytes) bytes, "
                             + "SQLite \(sqliteBytes) bytes; \(workloads) read workloads checked equal on the originals and the "
                             + "restored copies in \(ContinuousClock.now - started) in all")
    }

    /// Backs both databases up the ways the benchmarks do, restores each, and checks every
    /// read workload's answer on all of them equal to the original SQLite file's. Returns the
    /// number of workloads checked.
    private func checkAnswers() async throws -> Int {
        let check = try scratch("check")
        defer { try? FileManager.default.removeItem(atPath: check) }

        // GuildStore: backup, verify, restore.
        let original = try await GuildDatabase.open(DatabaseConfiguration(.file(databasePath)))
        let backup = try await original.database.backup(to: check + "/full.gsbackup")
        _ = try Database.verifyBackup(at: backup.path)
        _ = try Database.restore(from: [backup.path], to: check + "/restored.gsdb")
        let restored = try await GuildDatabase.open(DatabaseConfiguration(.file(check + "/restored.gsdb")))

        // SQLite: each method, lz4, then back.
        let source = try SQLiteConnection(path: sqlitePath, mode: .readWrite)
        var sqliteCopies: [(label: String, path: String)] = [("SQLite (original)", sqlitePath)]
        for method in SQLiteBackupMethod.allCases {
            let copy = check + "/\(method.rawValue).sqlite"
            _ = try method.run(source, copyPath: copy, lz4Path: copy + ".lz4")
            Files.remove(copy)
            let back = check + "/\(method.rawValue).restored.sqlite"
            try SQLiteRestoreMethod.decompressThenCopy.run(lz4Path: copy + ".lz4", staging: back + ".staging", destination: back)
            sqliteCopies.append(("SQLite (\(method.rawValue), lz4 round trip)", back))
        }

        let subjects = try BenchSubjects.discover(sqlitePath: sqlitePath, lookups: 1_000)
        let reads = WorkloadCatalog().reads(subjects)
        var contenders: [(label: String, contender: any BenchContender)] = [
            ("GuildStore (original)", BenchContenders.guildStore(database: original.database)),
            ("GuildStore (restored from its backup)", BenchContenders.guildStore(database: restored.database)),
        ]
        for (i, copy) in sqliteCopies.enumerated() {
            contenders.append((copy.label, try BenchContenders.sqlite(path: copy.path, key: "sqlite\(i)", name: copy.label)))
        }
        let comparison = AnswerComparison()
        for workload in reads {
            var answers: [(String, [CanonicalRow])] = []
            for (label, contender) in contenders {
                let prepared = try await contender.prepare(workload)
                answers.append((label, try await prepared.run(answer: true).rows ?? []))
            }
            let reference = answers[2]  // the original SQLite file: the specification
            for answer in answers where answer.0 != reference.0 {
                try comparison.check(workload: workload.name, reference: reference, candidate: answer)
            }
        }
        contenders = []
        try await restored.close()
        try await original.close()
        return reads.count
    }
}
