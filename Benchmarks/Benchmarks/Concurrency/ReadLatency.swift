// Point-lookup latency, each lookup in a read transaction of its own (`db.read` per lookup),
// on a database of 100,000 rows, idle and while a concurrent bulk writer commits
// 1,000-row transactions back to back; for GuildStore also through a read-only opening of the
// file beside the database that writes it (RO-1, RO-2).
//
// Every lookup is timed on its own (CLOCK_MONOTONIC around the read transaction) and recorded
// in a custom metric, so package-benchmark's percentiles are per lookup. The value is copied
// out inside the timed region and checked against the expected bytes outside it.
//
// The bulk writer appends rows after the fixture's (keys 100,000, 100,001, ...), as a bot
// importing history while it serves lookups of older rows; its rows are checked when it stops.
// Both engines run `synchronous` NORMAL here (the seeds' setting and `Database`'s default).
// GuildStore's reader and bulk writer are tasks on a TaskPool thread each; SQLite's reader is
// the benchmark runner's thread and its writer an OS thread with a connection of its own.

import BenchmarkSupport
import Benchmark
@_spi(Benchmarks) import GuildStoreEngine
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let lookupLatencyMetric = BenchmarkMetric.custom("lookup latency (ns)", polarity: .prefersSmaller, useScalingFactor: false)

var readConfiguration: Benchmark.Configuration { .init(
    metrics: [lookupLatencyMetric],
    warmupIterations: 10,
    scalingFactor: .kilo,  // 1,000 lookups per iteration, each timed and recorded on its own
    maxDuration: .seconds(4),
    maxIterations: 20_000
) }

/// State shared by both engines' fixtures: the lookup keys, the copy-out buffer and the bulk
/// writer's progress.
final class LookupState: @unchecked Sendable {
    // `keys`, `position` and the buffers are used by the benchmark's reader only;
    // `committedRows` and `stopFlag` are shared with the bulk writer.
    let keys = Rows.sample(1 << 20, below: Rows.fixtureRows, seed: Rows.seed)
    var position = 0
    let key = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
    let value = UnsafeMutableRawPointer.allocate(byteCount: Rows.valueSize, alignment: 8)
    let committedRows = Atomic(0)
    let stopFlag = StopFlag()
    var writerStart = 0
    var writerNanos = 0
    /// Every measured lookup's latency, for the exact percentiles of the summary line.
    var latencies: [Int] = []

    func summary(_ name: String) -> String {
        let p = Percentiles(latencies)
        return "\(name): \(latencies.count) lookups measured: p50 \(p.nanos(50)) ns, p90 \(p.nanos(90)) ns, p99 \(p.nanos(99)) ns, p99.9 \(p.nanos(99.9)) ns, max \(p.nanos(100)) ns"
    }

    @inline(__always)
    func nextKey() -> UInt64 {
        let k = keys[position]
        position = (position + 1) & (keys.count - 1)
        return k
    }

    /// The looked-up value must be the key's.
    @inline(__always)
    func check(_ engine: String, key k: UInt64, length: Int) {
        guard length == Rows.valueSize, Rows.isValue(UnsafeRawBufferPointer(start: value, count: length), of: k) else {
            verificationFailed("\(engine): lookup of key \(k) returned \(length < 0 ? "nothing" : "a wrong \(length)-byte value")")
        }
    }

    func writerSummary(_ name: String, rowsChecked: Int) -> String {
        let rows = committedRows.load(ordering: .acquiring)
        let seconds = Double(writerNanos) / 1e9
        return "\(name): the bulk writer committed \(rows) rows in \(rows / Rows.bulkRowsPerTransaction) transactions over \(format(seconds, decimals: 2)) s (\(format(seconds > 0 ? Double(rows) / seconds : 0, decimals: 0)) rows/s); \(rowsChecked) rows checked"
    }

    deinit {
        key.deallocate()
        value.deallocate()
    }
}

// MARK: - GuildStore

final class GuildReadFixture: @unchecked Sendable {
    // The benchmark's reader uses it; the bulk writer task shares only `db`, `tree` and
    // `lookups.committedRows` / `lookups.stopFlag`.
    nonisolated(unsafe) static var current: GuildReadFixture?
    /// The bulk writer stops the run when the WAL passes this (seen at about 90 MiB).
    static let walLimit: Int64 = 4 << 30

    let directory: TemporaryDirectory
    let db: Database
    let tree: Tree
    /// Where the lookups go: `db` itself, or a read-only opening of its file beside it (RO-1,
    /// RO-2: the path another process's lookups take), with its own handle of the tree.
    let reader: Database
    let readerTree: Tree
    let lookups = LookupState()
    var writer: Task<Void, Never>?

    init(bulkWriter: Bool, readOnlyOpening: Bool) async throws {
        directory = try TemporaryDirectory("guildstore-read")
        db = try Database.open(DatabaseConfiguration(.file(directory.file("bench.gsdb")), synchronous: .normal))
        tree = try await db.write { tx in try tx.openTree("t") }
        try await Self.insert(db, tree, 0..<UInt64(Rows.fixtureRows))
        let settled = try await db.checkpoint(.truncate)
        guard settled.walRestarted || settled.framesInWAL == 0, !settled.blockedByReaders else {
            throw BenchError.setup("GuildStore checkpoint left frames in the WAL: \(settled)")
        }
        try await GuildRows.check(db, tree, rows: Rows.fixtureRows, label: "GuildStore fixture")
        if readOnlyOpening {
            var configuration = DatabaseConfiguration(.file(directory.file("bench.gsdb")))
            configuration.readOnly = true
            reader = try Database.open(configuration)
            guard let found = try await reader.read({ try $0.tree("t") }) else { throw BenchError.setup("the read-only opening has no tree t") }
            readerTree = found
        } else {
            reader = db
            readerTree = tree
        }
        if bulkWriter { startWriter() }
    }

    /// Rows `keys` in one write transaction.
    static func insert(_ db: Database, _ tree: Tree, _ keys: Range<UInt64>) async throws {
        try await db.write { tx in
            try withUnsafeTemporaryAllocation(byteCount: Rows.valueSize, alignment: 8) { value in
                for k in keys {
                    Rows.fillValue(k, value.baseAddress!)
                    var key = k.bigEndian
                    try withUnsafeBytes(of: &key) { try tx.put($0, UnsafeRawBufferPointer(value), in: tree) }
                }
            }
        }
    }

    private func startWriter() {
        let db = self.db, tree = self.tree, lookups = self.lookups
        lookups.writerStart = monotonicNanos()
        writer = Task.detached(executorPreference: TaskPool.shared) {
            var next = UInt64(Rows.fixtureRows)
            while !lookups.stopFlag.stopped {
                let batch = next..<(next + UInt64(Rows.bulkRowsPerTransaction))
                await orExit("GuildStore bulk writer") { try await Self.insert(db, tree, batch) }
                next = batch.upperBound
                lookups.committedRows.store(Int(next) - Rows.fixtureRows, ordering: .releasing)
                if (next / UInt64(Rows.bulkRowsPerTransaction)) % 100 == 0 {
                    // A WAL that never restarts under a continuous writer would fill the disk.
                    let walBytes = db.statistics().walBytes
                    if walBytes > GuildReadFixture.walLimit {
                        verificationFailed("GuildStore's WAL grew to \(walBytes >> 20) MiB under the bulk writer: it is not restarting")
                    }
                }
            }
        }
    }

    /// Stops the bulk writer; the database must hold the fixture and every row it committed.
    func stopWriter(_ name: String) async throws {
        guard let writer else { return }
        lookups.stopFlag.stop()
        await writer.value
        lookups.writerNanos = monotonicNanos() - lookups.writerStart
        let rows = Rows.fixtureRows + lookups.committedRows.load(ordering: .acquiring)
        try await GuildRows.check(db, tree, rows: rows, label: "GuildStore after the bulk writer")
        printToStandardError(lookups.writerSummary(name, rowsChecked: rows))
    }

    func close() async {
        if reader !== db { try? await reader.close() }
        try? await db.close()
        directory.remove()
    }
}

/// `readOnlyOpening`: the lookups go through a read-only opening of the file beside the
/// owner that writes it (issue 15's goal: a reader's p99 while another process bulk-loads at
/// most 2x its idle p99).
func guildReadLatency(bulkWriter: Bool, readOnlyOpening: Bool = false) {
    let name = "ReadLatency/GuildStore\(readOnlyOpening ? " read-only opening" : "")/\(bulkWriter ? "bulkWriter" : "idle")"
    Benchmark(name, configuration: readConfiguration) { (benchmark: Benchmark, fixture: GuildReadFixture) async in
        await orExit(name) {
            let db = fixture.reader, tree = fixture.readerTree, lookups = fixture.lookups
            let key = UnsafeRawBufferPointer(start: lookups.key, count: 8)
            let value = lookups.value
            let measured = isMeasured(benchmark)
            // The reader runs on a TaskPool thread, the bulk writer on the other (see TaskPool).
            try await withTaskExecutorPreference(TaskPool.shared) {
                for _ in benchmark.scaledIterations {
                    let k = lookups.nextKey()
                    lookups.key.storeBytes(of: k.bigEndian, as: UInt64.self)
                    let t0 = monotonicNanos()
                    let length = try await db.read { snapshot in
                        try snapshot.withValue(key, in: tree) { v -> Int in
                            if v.count <= Rows.valueSize { value.copyMemory(from: v.baseAddress!, byteCount: v.count) }
                            return v.count
                        } ?? -1
                    }
                    let t1 = monotonicNanos()
                    benchmark.measurement(lookupLatencyMetric, t1 - t0)
                    if measured { lookups.latencies.append(t1 - t0) }
                    lookups.check("GuildStore", key: k, length: length)
                }
            }
        }
    } setup: {
        let fixture = await orExit("\(name) setup") { try await GuildReadFixture(bulkWriter: bulkWriter, readOnlyOpening: readOnlyOpening) }
        GuildReadFixture.current = fixture
        return fixture
    } teardown: {
        guard let fixture = GuildReadFixture.current else { return }
        GuildReadFixture.current = nil
        printToStandardError(fixture.lookups.summary(name))
        await orExit("\(name) teardown") { try await fixture.stopWriter(name) }
        await fixture.close()
        TemporaryDirectory.settleFileSystem()
    }
}

// MARK: - SQLite

final class SQLiteReadFixture: @unchecked Sendable {
    // `reader` is the benchmark's; `writer` belongs to the bulk writer thread once it starts.
    nonisolated(unsafe) static var current: SQLiteReadFixture?

    let directory: TemporaryDirectory
    let writer: SQLiteKVConnection
    let reader: SQLiteKVConnection
    let lookups = LookupState()
    var thread: OSThread?

    init(bulkWriter: Bool) throws {
        directory = try TemporaryDirectory("sqlite-read")
        let path = directory.file("bench.sqlite")
        writer = try SQLiteKVConnection(path: path, synchronous: .NORMAL)
        reader = try SQLiteKVConnection(path: path, synchronous: .NORMAL)
        try writer.insertTransaction(0..<UInt64(Rows.fixtureRows))
        try writer.checkpointTruncate()
        try check(rows: Rows.fixtureRows, label: "SQLite fixture")
        if bulkWriter { startWriter() }
    }

    func check(rows: Int, label: String) throws {
        guard try reader.count() == rows else { verificationFailed("\(label) holds \(try reader.count()) rows, expected \(rows)") }
        var next: UInt64 = 0
        try reader.scanAll { key, value in
            guard key == next, Rows.isValue(value, of: next) else {
                verificationFailed("\(label): row \(next) is key \(key.map(String.init) ?? "?") with a \(value.count)-byte value that is not the expected one")
            }
            next += 1
        }
        guard next == UInt64(rows) else { verificationFailed("\(label) scanned \(next) rows, expected \(rows)") }
    }

    private func startWriter() {
        let writer = self.writer, lookups = self.lookups
        lookups.writerStart = monotonicNanos()
        thread = OSThread {
            var next = UInt64(Rows.fixtureRows)
            while !lookups.stopFlag.stopped {
                let batch = next..<(next + UInt64(Rows.bulkRowsPerTransaction))
                orExit("SQLite bulk writer") { try writer.insertTransaction(batch) }
                next = batch.upperBound
                lookups.committedRows.store(Int(next) - Rows.fixtureRows, ordering: .releasing)
            }
        }
    }

    func stopWriter(_ name: String) throws {
        guard let thread else { return }
        lookups.stopFlag.stop()
        thread.join()
        lookups.writerNanos = monotonicNanos() - lookups.writerStart
        let rows = Rows.fixtureRows + lookups.committedRows.load(ordering: .acquiring)
        try check(rows: rows, label: "SQLite after the bulk writer")
        printToStandardError(lookups.writerSummary(name, rowsChecked: rows))
    }

    func close() {
        writer.close()
        reader.close()
        directory.remove()
    }
}

func sqliteReadLatency(bulkWriter: Bool) {
    let name = "ReadLatency/SQLite/\(bulkWriter ? "bulkWriter" : "idle")"
    Benchmark(name, configuration: readConfiguration) { (benchmark: Benchmark, fixture: SQLiteReadFixture) in
        orExit(name) {
            let reader = fixture.reader, lookups = fixture.lookups
            let measured = isMeasured(benchmark)
            for _ in benchmark.scaledIterations {
                let k = lookups.nextKey()
                let t0 = monotonicNanos()
                let length = try reader.lookup(k, into: lookups.value)
                let t1 = monotonicNanos()
                benchmark.measurement(lookupLatencyMetric, t1 - t0)
                if measured { lookups.latencies.append(t1 - t0) }
                lookups.check("SQLite", key: k, length: length)
            }
        }
    } setup: {
        let fixture = orExit("\(name) setup") { try SQLiteReadFixture(bulkWriter: bulkWriter) }
        SQLiteReadFixture.current = fixture
        return fixture
    } teardown: {
        guard let fixture = SQLiteReadFixture.current else { return }
        SQLiteReadFixture.current = nil
        printToStandardError(fixture.lookups.summary(name))
        orExit("\(name) teardown") { try fixture.stopWriter(name) }
        fixture.close()
        TemporaryDirectory.settleFileSystem()
    }
}
