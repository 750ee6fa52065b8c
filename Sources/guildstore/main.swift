import Foundation
import StorageEngine

/// `guildstore demo [--db PATH] [--count N]`: creates a database, writes N message events keyed
/// by snowflake id, reads them back (point lookups and a range scan), checkpoints, runs 64
/// concurrent durable writers on a second database (group commit), vacuums after deleting
/// most events, checks integrity, and prints what it measured.
/// (The full operator command line arrives with the guild schema.)

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("guildstore: \(message)\n".utf8))
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.isEmpty ? "demo" : arguments.removeFirst()
guard command == "demo" else { fail("unknown command '\(command)'; try: guildstore demo [--db PATH] [--count N]") }
var databasePath = "./data/demo.gsdb"
var count = 200_000
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { fail("\(flag) needs a value") }
    arguments.removeFirst()
    switch flag {
    case "--db": databasePath = value
    case "--count":
        guard let n = Int(value), n > 0 else { fail("--count needs a positive whole number, not '\(value)'") }
        count = n
    default: fail("unknown option \(flag)")
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// A message event row: guild, channel, user, created_at, character count.
func row(_ i: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    for field in [UInt64(1_000 + i % 50), UInt64(20_000 + i % 400), UInt64(900_000 + i % 5_000), UInt64(1_700_000_000 + i), UInt64(i % 300)] {
        withUnsafeBytes(of: field.littleEndian) { bytes += $0 }
    }
    return bytes
}

/// Snowflake-like increasing ids, big-endian so they sort with memcmp.
func key(_ i: Int) -> [UInt8] {
    let snowflake = (UInt64(1_700_000_000_000 + i) << 22) | UInt64(i & 0xFFF)
    return withUnsafeBytes(of: snowflake.bigEndian) { Array($0) }
}

do {
    let directory = (databasePath as NSString).deletingLastPathComponent
    if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
    for suffix in ["", "-wal"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }

    let db = try Database.open(DatabaseConfiguration(.file(databasePath), synchronous: .normal))
    print("GuildStore demo: \(databasePath), \(count) message events, \(db.engine.pageSize)-byte pages")

    let start = ContinuousClock.now
    var written = 0
    while written < count {
        let batch = min(10_000, count - written)
        let first = written
        try await db.write { tx in
            let events = try tx.openTree("message_events")
            for i in first..<(first + batch) { try tx.put(key(i), row(i), in: events) }
        }
        written += batch
    }
    let load = seconds(since: start)
    print(String(format: "  insert   %8.0f rows/s  (batches of 10,000, synchronous normal)", Double(count) / load))

    let checkpoint = try await db.checkpoint(.truncate)
    print("  checkpoint: \(checkpoint.framesCheckpointed) of \(checkpoint.framesInWAL) WAL frames in the file, WAL restarted: \(checkpoint.walRestarted)")

    let lookups = min(count, 100_000)
    let lookupStart = ContinuousClock.now
    let found = try await db.read { tx -> Int in
        guard let events = try tx.tree("message_events") else { fail("tree message_events is missing") }
        var generator = SystemRandomNumberGenerator()
        var found = 0
        for _ in 0..<lookups {
            let i = Int.random(in: 0..<count, using: &generator)
            if try tx.get(key(i), in: events) == row(i) { found += 1 }
        }
        return found
    }
    let lookup = seconds(since: lookupStart)
    guard found == lookups else { fail("read back \(found) of \(lookups) rows correctly") }
    print(String(format: "  lookup   %8.2f µs each (%d random rows read back and compared)", lookup / Double(lookups) * 1e6, lookups))

    let scanStart = ContinuousClock.now
    let scanned = try await db.read { tx -> Int in
        guard let events = try tx.tree("message_events") else { fail("tree message_events is missing") }
        var scanned = 0
        try tx.scan(events, KeyRange(reverse: true)) { _, value in
            scanned += value.count == 40 ? 1 : 0
            return true
        }
        return scanned
    }
    let scan = seconds(since: scanStart)
    guard scanned == count else { fail("scanned \(scanned) rows, expected \(count)") }
    print(String(format: "  scan     %8.0f rows/s  (newest first)", Double(scanned) / scan))

    // Gateway-style traffic: 64 tasks each committing single events durably (.full) into a
    // second database; they share WAL syncs (group commit).
    let durablePath = databasePath + "-durable"
    for suffix in ["", "-wal"] { try? FileManager.default.removeItem(atPath: durablePath + suffix) }
    let durable = try Database.open(DatabaseConfiguration(.file(durablePath), synchronous: .full))
    try await durable.write { tx in _ = try tx.createTree("message_events") }
    let syncsBefore = durable.statistics().syncs
    let commitsStart = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<64 {
            group.addTask {
                for n in 0..<20 {
                    let i = writer * 20 + n
                    try await durable.write { tx in try tx.put(key(i), row(i), in: try tx.openTree("message_events")) }
                }
            }
        }
        try await group.waitForAll()
    }
    let commits = seconds(since: commitsStart)
    let syncs = durable.statistics().syncs - syncsBefore
    print(String(format: "  durable  %8.0f commits/s (64 concurrent writers, synchronous full, %d commits in %d WAL syncs)", 1280 / commits, 1280, syncs))
    try await durable.close()
    for suffix in ["", "-wal"] { try? FileManager.default.removeItem(atPath: durablePath + suffix) }

    let total = count
    try await db.write { tx in
        let events = try tx.openTree("message_events")
        for i in 0..<total where i % 10 != 0 { try tx.delete(key(i), in: events) }
    }
    let vacuum = try await db.vacuum()
    print("  retention: kept every 10th row; vacuum \(vacuum.fileBytesBefore / 1024) KiB -> \(vacuum.fileBytesAfter / 1024) KiB")

    let report = try db.engine.check()
    guard report.isOK else { fail("integrity check failed: \(report.problems.joined(separator: "; "))") }
    let stats = db.statistics()
    print("  check: ok, \(report.pageCount) pages, fragmentation \(String(format: "%.1f", report.fragmentation * 100))%, hardware CRC32C: \(stats.hardwareChecksums)")
    try await db.close()
} catch {
    fail("\(error)")
}
