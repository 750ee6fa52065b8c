// GuildStore's core operations against SQLite (C API through GuildStoreSQLite's
// `SQLiteConnection`, WITHOUT ROWID table, prepared statements) and LMDB on the same keys in
// the same run:
//
//   PointLookup/<engine>   one random existing key, value bytes read   (per lookup; 1,000
//                          lookups share one read transaction)
//   PointLookupTxn/<engine> the same, each lookup in a read transaction of its own
//                          (both also for "GuildStore read-only opening": the same file
//                          opened a second time, read-only, beside its owner, RO-1)
//   SortedInsert/<engine>  1M keys in increasing order into an empty database, one transaction
//   RandomInsert/<engine>  the same 1M keys in a seeded random order, one transaction
//   RangeScan/<engine>     10,000 consecutive entries from a random start (per scan)
//
// Keys are 8-byte big-endian, values 8 bytes (see Workload.swift). The read benchmarks share
// three 1M-key databases built once per process outside the measured region, and checked to
// give identical answers before anything is timed; each insert iteration loads an empty
// database and its contents are checked after the measured region.
//
// package-benchmark runs every benchmark in a process of its own, so each read benchmark
// builds its fixture anew (a few seconds), and no database outlives the run.

import BenchmarkSupport
import Benchmark

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The three read databases, loaded with the same sorted keys, settled into their main files
/// and cross-checked; plus the seeded lookup keys and scan starts every engine uses.
final class ReadFixture: @unchecked Sendable {
    // Used from one thread at a time: the benchmark runner calls setup, then the iterations.
    let guild: GuildStoreKV
    let guildReadOnly: GuildStoreReadOnlyKV
    let sqlite: SQLiteKV
    let lmdb: LMDBKV
    let lookupKeys: [UInt64]
    let scanStarts: [UInt64]
    var lookupPosition = 0
    var scanPosition = 0

    nonisolated(unsafe) private static var cached: ReadFixture?

    /// The fixture of this process, built on first use.
    static func shared() throws -> ReadFixture {
        if let cached { return cached }
        let fixture = try ReadFixture()
        cached = fixture
        atexit { ReadFixture.cached?.close() }
        return fixture
    }

    private init() throws {
        let n = Workload.count
        let sorted = Array(0..<n)
        var clock = ContinuousClock.now
        func lap(_ what: String) {
            let now = ContinuousClock.now
            printToStandardError("EngineCore fixture: \(what) in \(now - clock)")
            clock = now
        }
        guild = try GuildStoreKV()
        try guild.load(sorted)
        try guild.settle()
        lap("GuildStore loaded \(n) keys (\(guild.directory.bytes >> 10) KiB on disk)")
        guildReadOnly = try GuildStoreReadOnlyKV(beside: guild)
        sqlite = try SQLiteKV()
        try sqlite.load(sorted)
        try sqlite.settle()
        lap("SQLite loaded \(n) keys (\(sqlite.directory.bytes >> 10) KiB on disk)")
        lmdb = try LMDBKV()
        try lmdb.load(sorted)
        try lmdb.settle()
        lap("LMDB loaded \(n) keys (\(lmdb.directory.bytes >> 10) KiB on disk)")

        // Full contents of each, then the same sample of answers from all three. The full
        // scans also warm each engine's pages (and GuildStore's verified-page bits).
        try Checks.contents(guild, count: n)
        try Checks.contents(guildReadOnly, count: n)
        try Checks.contents(sqlite, count: n)
        try Checks.contents(lmdb, count: n)
        try Checks.agree(guild, sqlite, lmdb, count: n)
        lap("checked: contents equal and 10k lookups + 1k misses + one 10k-entry scan agree")

        lookupKeys = Workload.sample(1 << 20, below: n, seed: Workload.seed).map(Workload.key)
        scanStarts = Workload.sample(1 << 12, below: n - Workload.scanLength, seed: Workload.seed ^ 0x5CA7).map(Workload.key)
    }

    func store<S: KVStore>(_: S.Type) -> S {
        if S.self == GuildStoreKV.self { return guild as! S }
        if S.self == GuildStoreReadOnlyKV.self { return guildReadOnly as! S }
        if S.self == SQLiteKV.self { return sqlite as! S }
        return lmdb as! S
    }

    func close() {
        guildReadOnly.close()
        guild.close()
        sqlite.close()
        lmdb.close()
    }
}

/// A key order for the insert benchmarks (the setup result of each).
final class InsertOrder: @unchecked Sendable {
    let indices: [Int]
    init(_ indices: [Int]) { self.indices = indices }
}

// MARK: - Benchmarks

var lookupConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    timeUnits: .nanoseconds,
    warmupIterations: 20,
    scalingFactor: .kilo,  // 1,000 lookups per iteration, one read transaction around them
    maxDuration: .seconds(4),
    maxIterations: 1_000_000
) }

var scanConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    timeUnits: .microseconds,
    warmupIterations: 10,
    scalingFactor: .one,  // one 10,000-entry scan (and its read transaction) per iteration
    maxDuration: .seconds(4),
    maxIterations: 100_000
) }

var insertConfiguration: Benchmark.Configuration { .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    timeUnits: .nanoseconds,  // per key (scaled by the 1M keys of each load)
    warmupIterations: 1,
    scalingFactor: .mega,  // one 1,000,000-key load per iteration
    maxDuration: .seconds(15),
    maxIterations: 10
) }

func pointLookup<S: KVStore>(_ engine: S.Type) {
    let name = "PointLookup/\(S.engineName)"
    Benchmark(name, configuration: lookupConfiguration) { benchmark, fixture in
        orExit(name) {
            let store = fixture.store(S.self)
            let keys = fixture.lookupKeys
            var position = fixture.lookupPosition
            try store.beginRead()
            for _ in benchmark.scaledIterations {
                guard let value = try store.get(keys[position]) else {
                    verificationFailed("\(S.engineName) lost key \(Checks.hex(keys[position]))")
                }
                blackHole(value)
                position = position + 1 == keys.count ? 0 : position + 1
            }
            try store.endRead()
            fixture.lookupPosition = position
        }
    } setup: {
        orExit("\(name) setup") { try ReadFixture.shared() }
    }
}

/// The same lookups, each in a read transaction of its own (`engine.read { }` per request).
func pointLookupOwnTransaction<S: KVStore>(_ engine: S.Type) {
    let name = "PointLookupTxn/\(S.engineName)"
    Benchmark(name, configuration: lookupConfiguration) { benchmark, fixture in
        orExit(name) {
            let store = fixture.store(S.self)
            let keys = fixture.lookupKeys
            var position = fixture.lookupPosition
            for _ in benchmark.scaledIterations {
                try store.beginRead()
                guard let value = try store.get(keys[position]) else {
                    verificationFailed("\(S.engineName) lost key \(Checks.hex(keys[position]))")
                }
                try store.endRead()
                blackHole(value)
                position = position + 1 == keys.count ? 0 : position + 1
            }
            fixture.lookupPosition = position
        }
    } setup: {
        orExit("\(name) setup") { try ReadFixture.shared() }
    }
}

func rangeScan<S: KVStore>(_ engine: S.Type) {
    let name = "RangeScan/\(S.engineName)"
    Benchmark(name, configuration: scanConfiguration) { benchmark, fixture in
        orExit(name) {
            let store = fixture.store(S.self)
            let start = fixture.scanStarts[fixture.scanPosition]
            fixture.scanPosition = (fixture.scanPosition + 1) % fixture.scanStarts.count
            try store.beginRead()
            var digest: UInt64 = 0
            let visited = try store.scan(from: start, limit: Workload.scanLength) { key, value in
                digest = digest &+ (key ^ value)
            }
            try store.endRead()
            guard visited == Workload.scanLength else {
                verificationFailed("\(S.engineName) scanned \(visited) entries from \(Checks.hex(start))")
            }
            blackHole(digest)
        }
    } setup: {
        orExit("\(name) setup") { try ReadFixture.shared() }
    }
}

func bulkInsert<S: KVStore>(_ label: String, _ engine: S.Type, order: @escaping @Sendable () -> [Int]) {
    let name = "\(label)/\(S.engineName)"
    Benchmark(name, configuration: insertConfiguration) { benchmark, order in
        orExit(name) {
            let store = try S()
            defer { store.close() }
            benchmark.startMeasurement()
            try store.load(order.indices)
            benchmark.stopMeasurement()
            try Checks.contents(store, count: order.indices.count)
        }
    } setup: {
        InsertOrder(order())
    }
}

let benchmarks: @Sendable () -> Void = {
    precondition(Workload.randomInsertCount == 1_000_000 && Workload.count == 1_000_000,
                 "insertConfiguration.scalingFactor assumes 1M keys per load")

    pointLookup(GuildStoreKV.self)
    pointLookup(GuildStoreReadOnlyKV.self)
    pointLookup(SQLiteKV.self)
    pointLookup(LMDBKV.self)

    pointLookupOwnTransaction(GuildStoreKV.self)
    pointLookupOwnTransaction(GuildStoreReadOnlyKV.self)
    pointLookupOwnTransaction(SQLiteKV.self)
    pointLookupOwnTransaction(LMDBKV.self)

    let sorted: @Sendable () -> [Int] = { Array(0..<Workload.count) }
    bulkInsert("SortedInsert", GuildStoreKV.self, order: sorted)
    bulkInsert("SortedInsert", SQLiteKV.self, order: sorted)
    bulkInsert("SortedInsert", LMDBKV.self, order: sorted)

    let random: @Sendable () -> [Int] = { Workload.shuffled(Workload.randomInsertCount, seed: Workload.seed) }
    bulkInsert("RandomInsert", GuildStoreKV.self, order: random)
    bulkInsert("RandomInsert", SQLiteKV.self, order: random)
    bulkInsert("RandomInsert", LMDBKV.self, order: random)

    rangeScan(GuildStoreKV.self)
    rangeScan(SQLiteKV.self)
    rangeScan(LMDBKV.self)
}
