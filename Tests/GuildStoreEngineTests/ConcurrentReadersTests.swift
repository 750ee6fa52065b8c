import Dispatch
import Foundation
import Testing
import TestSupport
@testable @_spi(Benchmarks) import GuildStoreEngine

/// The engine is used from many threads at once: one writer, several snapshot readers,
/// automatic checkpoints and WAL restarts in between.
@Suite("Concurrent snapshot readers")
struct ConcurrentReadersTests {
    /// Also with no WAL page cache: every WAL page a reader needs is read back from the log
    /// file while checkpoints restart the log under it (WI-1).
    @Test("every snapshot sees the same total while a writer moves amounts and checkpoints run",
          arguments: [32 << 20, 0])
    func bankInvariant(walCacheBytes: Int) throws {
        let dir = try TemporaryDirectory("bank")
        defer { dir.remove() }
        let engine = try StorageEngine.open(
            path: dir.file("bank.gsdb"),
            configuration: EngineConfiguration(checkpointThreshold: 64, walCacheBytes: walCacheBytes))
        let accounts = 200
        let initial: UInt64 = 1_000
        try engine.write { tx in
            let tree = try tx.createTree("accounts")
            for i in 0..<accounts { try tx.put(bigEndianKey(UInt64(i)), bigEndianKey(initial), in: tree) }
        }
        let expected = UInt64(accounts) * initial
        let done = Locked(false)
        let snapshotsChecked = Locked(0)
        let failures = Locked<[String]>([])

        let work: @Sendable (Int) -> Void = { worker in
            if worker == 0 {
                // The writer: 3,000 transfers, a checkpoint of each mode now and then.
                var generator = SplitMix64(seed: 42)
                do {
                    for n in 0..<3_000 {
                        try engine.write { tx in
                            let tree = try tx.openTree("accounts")
                            let from = bigEndianKey(UInt64.random(in: 0..<UInt64(accounts), using: &generator))
                            let to = bigEndianKey(UInt64.random(in: 0..<UInt64(accounts), using: &generator))
                            let a = decode(try tx.get(from, in: tree))
                            let amount = min(a, UInt64.random(in: 0...50, using: &generator))
                            try tx.put(from, bigEndianKey(a - amount), in: tree)
                            let b = decode(try tx.get(to, in: tree))
                            try tx.put(to, bigEndianKey(b + amount), in: tree)
                        }
                        if n % 500 == 499 {
                            _ = try engine.checkpoint(n % 1000 == 999 ? .truncate : .full, timeout: .milliseconds(50))
                        }
                    }
                } catch {
                    failures.withLock { $0.append("writer: \(error)") }
                }
                done.withLock { $0 = true }
            } else {
                repeat {
                    do {
                        let total = try engine.read { tx -> UInt64 in
                            guard let tree = try tx.tree("accounts") else { return 0 }
                            var sum: UInt64 = 0
                            try tx.scan(tree) { _, value in
                                sum += decode(Array(value))
                                return true
                            }
                            return sum
                        }
                        if total != expected { failures.withLock { $0.append("snapshot total \(total)") } }
                        snapshotsChecked.withLock { $0 += 1 }
                    } catch {
                        failures.withLock { $0.append("reader: \(error)") }
                        return
                    }
                } while !done.withLock { $0 }
            }
        }
        // Real threads, so the readers run while the writer does whatever the scheduler does.
        let finished = DispatchGroup()
        for worker in 0..<5 {
            finished.enter()
            let thread = Thread {
                defer { finished.leave() }
                work(worker)
            }
            thread.start()
        }
        finished.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
        #expect(snapshotsChecked.withLock { $0 } > 0)
        #expect(try engine.check().isOK)
        try engine.close()
    }
}

private func decode(_ bytes: [UInt8]?) -> UInt64 {
    guard let bytes, bytes.count == 8 else { return 0 }
    return bytes.reduce(0) { $0 << 8 | UInt64($1) }
}
