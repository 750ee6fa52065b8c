// Seed 004's message_events table with its four secondary indexes (declared once, in
// GuildStoreSQLite's `SQLiteTable`), GuildStore's table API against SQLite (C API through
// GuildStoreSQLite's `SQLiteConnection`, the seeds' pragmas) with integer ids and with the
// seed's TEXT ids:
//
//   BulkInsert/<engine>   1,000,000 rows into an empty table, 10,000 rows per transaction
//                         (reported per row); the file's bytes per row after a checkpoint
//   RangeAggregate/<engine> COUNT(*) and SUM(character_count) of one guild's rows in one day,
//                         through the (guild_id, created_at) index (per query)
//
// Rows come from Workload.swift. Every load is checked after its measured region (rows, sum,
// rows per guild through the guild/time index, all equal to the workload's); the range
// benchmarks share a fixture of both engines loaded with the same rows, whose answers to
// every query are checked equal to each other and to the workload's before any timing.

import BenchmarkSupport
import Benchmark

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// package-benchmark shows a custom metric in K once its mean passes 10,000 (rows per second
// do), so each insert benchmark also prints a summary line with the exact figures when it
// ends: `BulkInsert/<engine>: rows/s per load [...], median ...; file bytes per row ...`.
let rowsPerSecondMetric = BenchmarkMetric.custom("rows per second", polarity: .prefersLarger, useScalingFactor: false)
let bytesPerRowMetric = BenchmarkMetric.custom("file bytes per row", polarity: .prefersSmaller, useScalingFactor: false)

var insertConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .mallocCountTotal, rowsPerSecondMetric, bytesPerRowMetric],
    timeUnits: .nanoseconds,  // per row (scaled by the 1M rows of each load)
    warmupIterations: 0,
    scalingFactor: .mega,
    maxDuration: .seconds(150),  // three loads also for the slowest engine
    maxIterations: 3
) }

var rangeConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    timeUnits: .microseconds,
    warmupIterations: 20,
    scalingFactor: .one,  // one query (and its read transaction) per iteration
    maxDuration: .seconds(4),
    maxIterations: 100_000
) }

/// Checks a loaded store's whole contents against the workload.
func checkTotals<S: MessageStore>(_ store: S) throws {
    let totals = try store.totals()
    guard totals == Workload.totals else {
        verificationFailed("\(S.engineName) holds \(totals.rows) rows, character sum \(totals.characters), per guild \(totals.perGuild.prefix(5))...; expected \(Workload.totals.rows), \(Workload.totals.characters), \(Workload.totals.perGuild.prefix(5))...")
    }
}

/// Loads the whole workload in batches.
func load<S: MessageStore>(_ store: S) throws {
    var start = 0
    while start < Workload.count {
        let end = min(start + Workload.batchSize, Workload.count)
        try store.insert(start..<end)
        start = end
    }
}

/// Each load's rows per second and file size, for the summary line of a benchmark process.
final class LoadLog: @unchecked Sendable {
    // Used from one thread at a time: the benchmark runner's.
    nonisolated(unsafe) static var current: LoadLog?
    var rates: [Double] = []
    var fileBytes: [Int] = []

    func summary(_ name: String) -> String {
        let sorted = rates.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let sizes = Set(fileBytes).sorted().map { "\($0) (\(Double($0 * 10 / Workload.count) / 10) bytes/row)" }
        return "\(name): rows/s per load \(rates.map { Int($0.rounded()) }), median \(Int(median.rounded())); file bytes \(sizes.joined(separator: ", "))"
    }
}

func bulkInsert<S: MessageStore>(_ engine: S.Type) {
    let name = "BulkInsert/\(S.engineName)"
    Benchmark(name, configuration: insertConfiguration) { (benchmark: Benchmark, log: LoadLog) in
        orExit(name) {
            let store = try S()
            defer { store.close() }
            let clock = ContinuousClock()
            benchmark.startMeasurement()
            let started = clock.now
            try load(store)
            let elapsed = clock.now - started
            benchmark.stopMeasurement()
            try store.settle()
            let bytes = store.fileBytes
            try checkTotals(store)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = Double(Workload.count) / seconds
            benchmark.measurement(rowsPerSecondMetric, Int(rate.rounded()))
            benchmark.measurement(bytesPerRowMetric, Int((Double(bytes) / Double(Workload.count)).rounded()))
            log.rates.append(rate)
            log.fileBytes.append(bytes)
        }
    } setup: {
        let log = LoadLog()
        LoadLog.current = log
        return log
    } teardown: {
        guard let log = LoadLog.current else { return }
        LoadLog.current = nil
        printToStandardError(log.summary(name))
    }
}

/// Both engines loaded with the workload and settled, answers checked; the seeded queries.
final class RangeFixture: @unchecked Sendable {
    // Used from one thread at a time: the benchmark runner calls setup, then the iterations.
    let guild: GuildStoreMessages
    let sqlite: SQLiteIntMessages
    let queries = Workload.rangeQueries(1 << 10)
    var position = 0

    nonisolated(unsafe) private static var cached: RangeFixture?

    static func shared() throws -> RangeFixture {
        if let cached { return cached }
        let fixture = try RangeFixture()
        cached = fixture
        atexit { RangeFixture.cached?.close() }
        return fixture
    }

    private init() throws {
        var clock = ContinuousClock.now
        func lap(_ what: String) {
            let now = ContinuousClock.now
            printToStandardError("Tables fixture: \(what) in \(now - clock)")
            clock = now
        }
        guild = try GuildStoreMessages()
        try load(guild)
        try guild.settle()
        lap("GuildStore loaded \(Workload.count) rows (\(guild.fileBytes >> 10) KiB)")
        sqlite = try SQLiteIntMessages()
        try load(sqlite)
        try sqlite.settle()
        lap("SQLite loaded \(Workload.count) rows (\(sqlite.fileBytes >> 10) KiB)")
        try checkTotals(guild)
        try checkTotals(sqlite)
        var matched: Int64 = 0
        for query in queries {
            let expected = Workload.expected(query)
            let a = try guild.rangeAggregate(query)
            let b = try sqlite.rangeAggregate(query)
            guard a == expected, b == expected else {
                verificationFailed("guild \(query.guild) created_at [\(query.from), \(query.below)): GuildStore \(a), SQLite \(b), expected \(expected)")
            }
            matched += expected.count
        }
        lap("checked: totals, and \(queries.count) range aggregates equal (\(matched / Int64(queries.count)) rows each on average)")
    }

    func close() {
        guild.close()
        sqlite.close()
    }
}

func rangeAggregate<S: MessageStore>(_ engine: S.Type, _ store: @escaping (RangeFixture) -> S) {
    let name = "RangeAggregate/\(S.engineName)"
    Benchmark(name, configuration: rangeConfiguration) { benchmark, fixture in
        orExit(name) {
            let query = fixture.queries[fixture.position]
            fixture.position = (fixture.position + 1) % fixture.queries.count
            blackHole(try store(fixture).rangeAggregate(query))
        }
    } setup: {
        orExit("\(name) setup") { try RangeFixture.shared() }
    }
}

let benchmarks: @Sendable () -> Void = {
    bulkInsert(GuildStoreMessages.self)
    bulkInsert(SQLiteIntMessages.self)
    bulkInsert(SQLiteTextMessages.self)

    rangeAggregate(GuildStoreMessages.self) { $0.guild }
    rangeAggregate(SQLiteIntMessages.self) { $0.sqlite }
}
