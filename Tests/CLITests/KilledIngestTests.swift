import Foundation
@_spi(Benchmarks) import GuildStoreEngine
import Testing
import TestSupport

/// kill -9 rounds: `guildstore ingest` (every commit durable, `synchronous: .full`) killed with
/// SIGKILL at a seeded point of its progress, again and again on the same database. After
/// each kill the database is opened in this process: every record the child acknowledged
/// (`ok ID`) is there, the acknowledgements came in input order, and the integrity check and
/// the index check pass. At the end every record acknowledged in any round is still there.
///
/// Each round is small (tens of records, a few commits) so a hundred of them stay within a
/// few seconds: `GUILDSTORE_KILL_ROUNDS` runs more, `GUILDSTORE_KILL_SEED` changes the points.
@Suite("kill -9 during ingest")
struct KilledIngestTests {
    static let environment = ProcessInfo.processInfo.environment
    static let rounds = environment["GUILDSTORE_KILL_ROUNDS"].flatMap { Int($0) }.map { max(1, $0) } ?? 100
    static let seed: UInt64 = 0x6B69_6C6C_396E_6765 &+ (environment["GUILDSTORE_KILL_SEED"].flatMap { UInt64($0) } ?? 0)

    static let guild: UInt64 = 81_384_788_765_712_384
    static let user: UInt64 = 80_351_110_224_678_912
    static let channel: UInt64 = 81_384_788_765_712_385

    /// The parents every message names; upserts, so each round sends them again.
    static let parentLines = [
        #"{"event":"guild","id":"\#(guild)","name":"Mocha","created_at":1700000000}"#,
        #"{"event":"user","id":"\#(user)","username":"ann"}"#,
        #"{"event":"channel","id":"\#(channel)","guild_id":"\#(guild)","type":0}"#,
    ]
    static let parentKeys = [String(guild), String(user), String(channel)]

    static func messageLine(_ id: UInt64) -> String {
        #"{"event":"message","id":"\#(id)","guild_id":"\#(guild)","channel_id":"\#(channel)","user_id":"\#(user)","character_count":\#(id % 97),"created_at":\#(1_700_000_000 + id % 1_000_000)}"#
    }

    @Test("kill -9 at random points of ingest: every acknowledged record is there after reopen and check passes")
    func killedIngest() async throws {
        let directory = try TemporaryDirectory("cli-killed-ingest")
        defer { directory.remove() }
        let child = KilledIngestChild(directory: directory)
        let database = directory.file("killed.gsdb")
        var rng = SplitMix64(seed: Self.seed)
        var everAcknowledged: [UInt64] = []
        var killedWhileRunning = 0
        var commitsAcknowledged = 0
        let clock = ContinuousClock()
        let started = clock.now
        for round in 0..<Self.rounds {
            let messages = Int.random(in: 10...80, using: &rng)
            let batch = Int.random(in: 1...24, using: &rng)
            // Acknowledgements to wait for before the kill: 0 kills at once (in the open, or
            // before it), past the end lets the child finish.
            let killAfter = Int.random(in: 0...(Self.parentLines.count + messages + 2), using: &rng)
            let ids = (0..<UInt64(messages)).map { 1_100_000_000_000_000_000 + UInt64(round) * 1_000 + $0 }
            let lines = Self.parentLines + ids.map(Self.messageLine)
            let keys = Self.parentKeys + ids.map(String.init)
            let context = "round \(round) (\(messages) messages, batch \(batch), kill after \(killAfter) acknowledgements)"

            let outcome = try child.run(database: database, lines: lines, batch: batch, killAfter: killAfter)
            if outcome.killed { killedWhileRunning += 1 }
            #expect(outcome.killed || outcome.status == 0, "\(context): the child exited with \(outcome.status)")
            #expect(outcome.acknowledged == Array(keys.prefix(outcome.acknowledged.count)),
                    "\(context): acknowledgements out of input order: \(outcome.acknowledged.prefix(10))")
            commitsAcknowledged += outcome.acknowledged.count
            let acknowledgedMessages = outcome.acknowledged.dropFirst(Self.parentKeys.count).compactMap { UInt64($0) }
            everAcknowledged += acknowledgedMessages

            guard FileManager.default.fileExists(atPath: database) else {
                #expect(everAcknowledged.isEmpty, "\(context): the database is gone")
                continue
            }
            try await Self.verify(database: database, present: acknowledgedMessages, context: context)
        }
        // Nothing acknowledged in an earlier round was lost to a later kill.
        try await Self.verify(database: database, present: everAcknowledged, context: "after \(Self.rounds) rounds")
        let seconds = Double((clock.now - started).components.seconds)
        print("kill -9 during ingest: \(Self.rounds) rounds, \(killedWhileRunning) killed while running, \(everAcknowledged.count) messages acknowledged, \(commitsAcknowledged) acknowledgements in all, ~\(Int(seconds)) s")
    }

    /// Opens the database in this process: every id of `present` is a message row, the
    /// integrity check and the index check pass.
    static func verify(database: String, present: [UInt64], context: String) async throws {
        let (logger, _) = CapturingLogHandler.logger()
        let db: Database
        do {
            db = try Database.open(DatabaseConfiguration(.file(database), logger: logger, createIfMissing: false))
        } catch {
            // Killed before its first commit: the file may be empty or absent, never damaged.
            #expect(present.isEmpty, "\(context): reopen failed: \(error)")
            if case GuildStoreError.databaseNotFound = error { return }
            if case GuildStoreError.emptyDatabaseFile = error { return }
            Issue.record("\(context): reopen failed: \(error)")
            return
        }
        let missing = try await db.read { tx in
            try present.filter { try tx.get("message_events", key: [.uint($0)]) == nil }
        }
        #expect(missing.isEmpty, "\(context): \(missing.count) acknowledged messages missing, e.g. \(missing.prefix(5))")
        let report = try await db.check()
        #expect(report.isOK, "\(context): check: \(report.problems.prefix(5))")
        let tables = try await db.read { try $0.checkTables() }
        #expect(tables.isEmpty, "\(context): index check: \(tables.prefix(5))")
        try await db.close()
    }
}
