import Foundation
import Synchronization
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// Issue 13: a seeded corruption fuzzer. Each case damages a copy of a small real database
/// (`FuzzFixture`: three tables with indexes, overflow values, a free list, commits in the
/// WAL) with 1-3 `FuzzMutation`s, then opens, checks, reads every table, writes and commits,
/// checkpoints and vacuums it (`FuzzCase.run`). Every case must end without a trap or a hang,
/// every failure must be a `GuildStoreError`, and nothing may be damaged silently: when the
/// writes were accepted and the check passes afterwards with nothing reported on the way,
/// every row read before the damage reads back as it was.
///
/// `GUILDSTORE_FUZZ_CASES` sets the number of cases (10,000 by default), `GUILDSTORE_FUZZ_SEED`
/// the seed (a fixed one by default, so CI runs the same cases; `random` draws one), and
/// `GUILDSTORE_FUZZ_CASE` runs one case alone. A failure names all three; a case that traps
/// ends the process, and `GUILDSTORE_FUZZ_TRACE=1` prints each case before it runs.
@Suite("Corruption fuzzer")
struct CorruptionFuzzTests {
    static let shards = 4
    static let defaultSeed: UInt64 = 0x6775_696C_6473_7431

    struct Settings: Sendable {
        var cases: Int
        var seed: UInt64
        var only: Int?

        static func fromEnvironment() -> Settings {
            let environment = ProcessInfo.processInfo.environment
            let cases = environment["GUILDSTORE_FUZZ_CASES"].flatMap { Int($0) } ?? 10_000
            var seed = defaultSeed
            if let text = environment["GUILDSTORE_FUZZ_SEED"] {
                seed = text == "random" ? UInt64.random(in: 0...UInt64.max)
                    : UInt64(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: text.hasPrefix("0x") ? 16 : 10) ?? defaultSeed
            }
            return Settings(cases: cases, seed: seed, only: environment["GUILDSTORE_FUZZ_CASE"].flatMap { Int($0) })
        }

        func reproduce(_ index: Int) -> String {
            "GUILDSTORE_FUZZ_SEED=\(seed) GUILDSTORE_FUZZ_CASE=\(index) (of GUILDSTORE_FUZZ_CASES=\(cases))"
        }
    }

    static let settings = Settings.fromEnvironment()

    /// The fixtures, built once for every shard.
    static let fixtures: Result<[FuzzFixture], GuildStoreError> = {
        do {
            let directory = try TemporaryDirectory("gs-fuzz-fixtures")
            defer { directory.remove() }
            return .success(try (0..<3).map { try FuzzFixture.build(variant: $0, in: directory.path) })
        } catch let error as GuildStoreError {
            return .failure(error)
        } catch {
            return .failure(.io(operation: "build fuzz fixtures: \(error)", path: "", errno: 0))
        }
    }()

    /// Cases run in a directory on tmpfs when there is one: the engine's files, its mapping
    /// and its syncs as on any disk, without waiting for one.
    static func caseDirectory() throws -> String {
        var isDirectory: ObjCBool = false
        let shm = FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory) && isDirectory.boolValue
            && FileManager.default.isWritableFile(atPath: "/dev/shm")
        let path = (shm ? "/dev/shm" : FileManager.default.temporaryDirectory.path) + "/gs-fuzz-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("damaged, crafted and half-written copies of real databases: typed errors only, no silent damage",
          arguments: 0..<shards)
    func corruptionFuzz(shard: Int) throws {
        let settings = Self.settings
        let fixtures = try Self.fixtures.get()
        let directory = try Self.caseDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/case.gsdb"
        let watchdog = Watchdog(settings: settings)
        defer { watchdog.stop() }

        var tallies = Tallies()
        let indices = settings.only.map { [$0] } ?? Array(stride(from: shard, to: settings.cases, by: Self.shards))
        if settings.only != nil && shard != 0 { return }
        let trace = ProcessInfo.processInfo.environment["GUILDSTORE_FUZZ_TRACE"] != nil
        // Printed first: a case that traps ends the process before any summary.
        print("corruption fuzzer shard \(shard): \(indices.count) cases, seed \(settings.seed) (GUILDSTORE_FUZZ_TRACE=1 names each case before it runs)")
        let start = ContinuousClock.now
        for index in indices {
            watchdog.started(index)
            let fuzzCase = FuzzCase.make(index: index, seed: settings.seed, fixtures: fixtures)
            if trace { print("case \(index): \(fuzzCase.fixture.name): \(fuzzCase.mutations.map(\.description).joined(separator: ", "))") }
            let outcome = try fuzzCase.run(at: path)
            tallies.add(outcome)
            let name = "case \(index) (\(fuzzCase.fixture.name): \(fuzzCase.mutations.map(\.description).joined(separator: ", "))); reproduce with \(settings.reproduce(index))"
            for error in outcome.findings.untyped {
                Issue.record("an error that is not a GuildStoreError, \(name): \(error)")
            }
            if let leftovers = outcome.findings.vacuumLeftovers { Issue.record("\(leftovers), \(name)") }
            if let unreadable = outcome.findings.unreadableAfterCheck { Issue.record("\(unreadable), \(name)") }
            if let damage = outcome.findings.silentDamage {
                if let reason = FuzzMutation.explainsSilentChange(fuzzCase.mutations, fixture: fuzzCase.fixture) {
                    tallies.explained[reason, default: 0] += 1
                } else {
                    Issue.record("silent damage, \(name): \(damage)")
                }
            }
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds) + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        print("corruption fuzzer shard \(shard): \(indices.count) cases in \(String(format: "%.1f", seconds)) s, seed \(settings.seed): \(tallies)")
    }
}

extension FuzzMutation {
    /// Why rows may read differently with nothing reported after `mutations`, when one of them
    /// changes what the files validly say rather than damaging it; nil when none does, and a
    /// silent change is a bug. See docs/invariants.md, "What the format cannot tell".
    static func explainsSilentChange(_ mutations: [FuzzMutation], fixture: FuzzFixture) -> String? {
        for mutation in mutations {
            switch mutation {
            case .stalePage:
                // An older image of a page at its own place passes its checksum (WALR-4 covers
                // the page number, not the page's version): a lost write of a table leaf whose
                // rows changed only in columns no index holds leaves nothing to compare.
                return "stale page"
            case .resealedRun:
                // Bytes rewritten and sealed again with the engine's checksum are what the
                // file says: a value edited in place reads as edited.
                return "re-sealed edit"
            case .truncate(.wal, let length)
                    where length < WriteAheadLog.headerSize || (length - WriteAheadLog.headerSize) % WALBytes.frameSize == 0:
                // A log cut at a frame boundary (or inside its header) is a log that ended
                // there: nothing outside the log records how long it was.
                return "log cut at a frame boundary"
            default:
                continue
            }
        }
        return nil
    }
}

/// Counts of what the engine did over a shard's cases.
struct Tallies: CustomStringConvertible {
    var cases = 0, opened = 0, reported = 0, wrote = 0, vacuumed = 0, finalCheckPassed = 0
    var explained: [String: Int] = [:]
    var unreportedIntact = 0

    mutating func add(_ outcome: FuzzCase.Outcome) {
        cases += 1
        if outcome.opened { opened += 1 }
        if outcome.reported { reported += 1 } else if outcome.findings.silentDamage == nil { unreportedIntact += 1 }
        if outcome.wrote { wrote += 1 }
        if outcome.vacuumed { vacuumed += 1 }
        if outcome.finalCheckPassed { finalCheckPassed += 1 }
    }

    var description: String {
        "\(opened) opened, \(reported) with an error or a problem reported, \(unreportedIntact) unreported and intact, \(wrote) took the writes, \(vacuumed) vacuumed, \(finalCheckPassed) passed the final check, silent changes the format cannot tell: \(explained.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))"
    }
}

/// Ends the test process with the case's name when one case runs for minutes: a hang is a bug
/// (every walk has a page budget), and a hung test would tell nobody which case it was.
final class Watchdog: Sendable {
    private let state = Mutex<(index: Int, started: ContinuousClock.Instant, stopped: Bool)>((-1, .now, false))
    static let limit: Duration = .seconds(300)

    init(settings: CorruptionFuzzTests.Settings) {
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 2)
                let (index, started, stopped) = state.withLock { $0 }
                if stopped { return }
                if index >= 0, ContinuousClock.now - started > Self.limit {
                    FileHandle.standardError.write(Data("corruption fuzzer: case \(index) ran for more than \(Self.limit): a hang; reproduce with \(settings.reproduce(index))\n".utf8))
                    abort()
                }
            }
        }
        thread.start()
    }

    func started(_ index: Int) { state.withLock { $0.index = index; $0.started = .now } }
    func stop() { state.withLock { $0.stopped = true } }
}
