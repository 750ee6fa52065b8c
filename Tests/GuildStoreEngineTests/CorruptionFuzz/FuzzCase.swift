import Foundation
import Testing
@testable @_spi(Benchmarks) import GuildStoreEngine

/// One case of the corruption fuzzer: a damaged copy of a fixture's files and what the engine
/// did with it. `run` opens it, checks it, reads every table, writes and commits, checkpoints,
/// vacuums, checks and reads again, and records every error on the way.
struct FuzzCase {
    let index: Int
    let fixture: FuzzFixture
    let mutations: [FuzzMutation]
    let database: [UInt8]
    let wal: [UInt8]

    /// What went wrong from the fuzzer's point of view; empty for a passing case.
    struct Findings {
        /// Errors that were not a `GuildStoreError`.
        var untyped: [String] = []
        /// Rows that read differently from before the damage with nothing reported.
        var silentDamage: String?
        /// A refused vacuum left its copy behind (DISK-8).
        var vacuumLeftovers: String?
        /// The check passed, yet reading every table failed: the check missed damage.
        var unreadableAfterCheck: String?
    }

    /// What the engine did, for the run's tallies.
    struct Outcome {
        var opened = false
        var reported = false
        var wrote = false
        var vacuumed = false
        var finalCheckPassed = false
        var findings = Findings()
    }

    /// Case `index` of a run seeded with `seed`: a fixture and 1-3 mutations, all drawn from
    /// the case's own generator, so one case reproduces alone.
    static func make(index: Int, seed: UInt64, fixtures: [FuzzFixture]) -> FuzzCase {
        var rng = SplitMix64.derived(seed, stream: 0xF022, index: UInt64(index))
        let fixture = fixtures[Int.random(in: 0..<fixtures.count, using: &rng)]
        var database = fixture.database, wal = fixture.wal
        let roll = Int.random(in: 0..<10, using: &rng)
        var mutations: [FuzzMutation] = []
        for _ in 0..<(roll < 7 ? 1 : roll < 9 ? 2 : 3) {
            let mutation = FuzzMutation.random(&rng, fixture: fixture, database: database, wal: wal)
            mutation.apply(to: &database, wal: &wal, fixture: fixture, rng: &rng)
            mutations.append(mutation)
        }
        return FuzzCase(index: index, fixture: fixture, mutations: mutations, database: database, wal: wal)
    }

    /// Runs the case on files at `path` (and `path-wal`), which it replaces.
    func run(at path: String) throws -> Outcome {
        for suffix in ["", "-wal", "-vacuum", "-vacuum-wal", "-create"] { unlink(path + suffix) }
        try writeFile(path, database)
        try writeFile(path + "-wal", wal)
        var outcome = Outcome()
        var errors: [String] = []

        /// Runs `body`; a thrown error counts as reported, and must be a `GuildStoreError`.
        func attempt<T>(_ step: String, _ body: () throws -> T) -> T? {
            do {
                return try body()
            } catch let error as GuildStoreError {
                outcome.reported = true
                errors.append("\(step): \(error)")
            } catch {
                outcome.reported = true
                outcome.findings.untyped.append("\(step): \(type(of: error)): \(error)")
            }
            return nil
        }

        guard let engine = attempt("open", { try StorageEngine.open(path: path, configuration: FuzzFixture.configuration) }) else {
            return outcome
        }
        defer { try? engine.close() }
        outcome.opened = true
        // WALR-2: frames recovery left out are reported (counted, logged), torn tail or not.
        let statistics = engine.statistics()
        if statistics.walFramesDiscarded > 0 || statistics.walCommitsLost > 0 { outcome.reported = true }

        // The table check only when the page check passed: damage is reported already
        // otherwise (and the vacuum below runs the page check again).
        if let report = attempt("check", { try engine.check() }), !report.isOK {
            outcome.reported = true
        } else if let problems = attempt("checkTables", { try engine.read { try $0.checkTables() } }), !problems.isEmpty {
            outcome.reported = true
        }
        var differences: [String] = []
        if let rows = attempt("read", { try engine.read { try FuzzFixture.readAllRows($0) } }) {
            differences += Self.compare(rows, fixture.rows, skipping: [:])
        }

        // A few writes: a new row in each table, an update and a delete of rows read before.
        let inserted: [String: [String: Value]] = [
            "users": FuzzFixture.user(90_000 + UInt64(index % 1000)),
            "events": FuzzFixture.event(900_000 + UInt64(index % 1000)),
            "settings": FuzzFixture.setting(7, 100 + index % 1000),
        ]
        var touched: [String: Set<[Value]>] = [:]
        for (table, values) in inserted {
            let schema = FuzzFixture.schemas.first { $0.name == table }!
            touched[table, default: []].insert(schema.primaryKey.map { values[$0]! })
        }
        let updated = fixture.rows["users"]!.first!, deleted = fixture.rows["events"]!.first!
        touched["users", default: []].insert([updated["id"]!])
        touched["events", default: []].insert([deleted["id"]!])
        let wrote: Void? = attempt("write") {
            try engine.write { tx in
                for (table, values) in inserted { try tx.insert(values, into: table) }
                _ = try tx.update("users", key: [updated["id"]!], set: ["name": .text("updated \(index)")])
                _ = try tx.delete(from: "events", key: [deleted["id"]!])
            }
        }
        outcome.wrote = wrote != nil
        _ = attempt("checkpoint") { try engine.checkpoint(.truncate, timeout: .zero) }
        if attempt("vacuum", { try engine.vacuum() }) != nil {
            outcome.vacuumed = true
        } else if FileManager.default.fileExists(atPath: path + "-vacuum") {
            outcome.findings.vacuumLeftovers = "a vacuum that failed left \(path)-vacuum behind"
        }

        if let report = attempt("final check", { try engine.check() }) {
            let problems = attempt("final checkTables") { try engine.read { try $0.checkTables() } }
            outcome.finalCheckPassed = report.isOK && problems?.isEmpty == true
            if !outcome.finalCheckPassed { outcome.reported = true }
        }
        let finalRows: [String: [Row]]?
        do {
            finalRows = try engine.read { try FuzzFixture.readAllRows($0) }
        } catch {
            finalRows = nil
            outcome.reported = true
            if !(error is GuildStoreError) { outcome.findings.untyped.append("final read: \(type(of: error)): \(error)") }
            if outcome.finalCheckPassed { outcome.findings.unreadableAfterCheck = "the check passed, then reading every table threw \(error)" }
        }
        if let rows = finalRows {
            differences += Self.compare(rows, fixture.rows, skipping: touched).map { "after the writes: \($0)" }
            if outcome.wrote {
                for (table, values) in inserted where !(rows[table] ?? []).contains(where: { row in values.allSatisfy { row[$0.key] == $0.value } }) {
                    differences.append("after the writes: the row inserted into \(table) is missing or differs")
                }
            }
        }

        // The no-silent-damage rule: writes accepted and the check passing afterwards with
        // nothing reported on the way means every row read before the damage reads back as
        // it was.
        if outcome.wrote && outcome.finalCheckPassed && !outcome.reported && !differences.isEmpty {
            outcome.findings.silentDamage = differences.prefix(5).joined(separator: "; ")
        }
        return outcome
    }

    /// Differences between `rows` and `expected`, leaving out the primary keys in `skipping`.
    static func compare(_ rows: [String: [Row]], _ expected: [String: [Row]], skipping: [String: Set<[Value]>]) -> [String] {
        var differences: [String] = []
        for schema in FuzzFixture.schemas {
            let skip = skipping[schema.name] ?? []
            if skip.isEmpty && rows[schema.name] == expected[schema.name] { continue }
            func keyed(_ rows: [Row]) -> [[Value]: Row] {
                var result: [[Value]: Row] = [:]
                for row in rows {
                    let key = schema.primaryKey.map { row[$0] ?? .null }
                    if !skip.contains(key) { result[key] = row }
                }
                return result
            }
            let actual = keyed(rows[schema.name] ?? []), wanted = keyed(expected[schema.name] ?? [])
            let missing = wanted.keys.filter { actual[$0] == nil }
            let extra = actual.keys.filter { wanted[$0] == nil }
            let changed = wanted.keys.filter { actual[$0] != nil && actual[$0] != wanted[$0] }
            if !missing.isEmpty || !extra.isEmpty || !changed.isEmpty {
                differences.append("\(schema.name): \(missing.count) rows missing, \(extra.count) extra, \(changed.count) changed (e.g. \((changed + missing + extra).first.map { "\($0)" } ?? ""))")
            }
        }
        return differences
    }
}
