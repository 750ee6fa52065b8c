// Answers compared before anything is timed: a mismatch throws from the benchmark's setup, so
// package-benchmark reports the benchmark as failed and exits non-zero.

#if canImport(Glibc)
import BenchmarkSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum Checks {
    /// Every entry of `store`, in order, must be key(i) -> value(i) for i in 0..<count.
    static func contents<S: KVStore>(_ store: S, count: Int) throws {
        try store.beginRead()
        defer { try? store.endRead() }
        var next = 0
        var problem: String?
        let visited = try store.scan(from: 0, limit: count + 1) { key, value in
            if problem == nil, key != Workload.key(next) || value != Workload.value(next) {
                problem = "entry \(next) is \(hex(key)) -> \(hex(value)), expected \(hex(Workload.key(next))) -> \(hex(Workload.value(next)))"
            }
            next += 1
        }
        if let problem { verificationFailed("\(S.engineName): \(problem)") }
        guard visited == count else { verificationFailed("\(S.engineName) holds \(visited) entries, expected \(count)") }
    }

    /// Answers of one store to the sample: lookups of present and absent keys, and one range scan.
    struct Answers: Equatable {
        var lookups: [UInt64?] = []
        var scan: [UInt64] = []  // key, value, key, value, ...
    }

    static func answers<S: KVStore>(_ store: S, lookups: [UInt64], scanFrom start: UInt64, scanLength: Int) throws -> Answers {
        var answers = Answers()
        try store.beginRead()
        defer { try? store.endRead() }
        answers.lookups.reserveCapacity(lookups.count)
        for key in lookups { answers.lookups.append(try store.get(key)) }
        _ = try store.scan(from: start, limit: scanLength) { key, value in
            answers.scan.append(key)
            answers.scan.append(value)
        }
        return answers
    }

    /// The three engines answer a sample of present and absent lookups and a range scan, and
    /// agree with each other and with the workload.
    static func agree(_ guild: GuildStoreKV, _ sqlite: SQLiteKV, _ lmdb: LMDBKV, count: Int) throws {
        let present = Workload.sample(10_000, below: count, seed: Workload.seed ^ 0xC0FFEE).map(Workload.key)
        let absent = Workload.sample(1_000, below: count, seed: Workload.seed ^ 0xDECAF).map { Workload.key($0) + 1 }
        let keys = present + absent + [0, Workload.key(count - 1) + 16, .max]
        let startIndex = Workload.sample(1, below: count - Workload.scanLength, seed: Workload.seed ^ 0x5CA1AB1E)[0]
        // Start between two keys, so "first key >= start" is exercised too.
        let start = Workload.key(startIndex) - 3

        var expected = Answers()
        expected.lookups = keys.map { key in Workload.index(ofKey: key).map(Workload.value) }
        for i in startIndex..<(startIndex + Workload.scanLength) {
            expected.scan.append(Workload.key(i))
            expected.scan.append(Workload.value(i))
        }

        let results: [(String, Answers)] = [
            (GuildStoreKV.engineName, try answers(guild, lookups: keys, scanFrom: start, scanLength: Workload.scanLength)),
            (SQLiteKV.engineName, try answers(sqlite, lookups: keys, scanFrom: start, scanLength: Workload.scanLength)),
            (LMDBKV.engineName, try answers(lmdb, lookups: keys, scanFrom: start, scanLength: Workload.scanLength)),
        ]
        for (name, got) in results where got != expected {
            if got.lookups != expected.lookups {
                let i = (0..<min(got.lookups.count, expected.lookups.count)).first { got.lookups[$0] != expected.lookups[$0] }
                    ?? min(got.lookups.count, expected.lookups.count)
                let g = i < got.lookups.count ? got.lookups[i].map(hex) ?? "nil" : "missing"
                let e = i < expected.lookups.count ? expected.lookups[i].map(hex) ?? "nil" : "missing"
                verificationFailed("\(name): lookup of \(hex(keys[i])) returned \(g), expected \(e)")
            }
            verificationFailed("\(name): range scan from \(hex(start)) returned \(got.scan.count / 2) entries that differ from the expected \(expected.scan.count / 2)")
        }
    }

    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

}
