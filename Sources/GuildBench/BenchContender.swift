/// A database the benchmark runs every workload on: GuildStore through its public API, SQLite
/// with seed 004's indexes, SQLite with the covering indexes, or a test's stand-in.
///
/// A contender belongs to one task at a time (SQLite connections are not `Sendable`); the
/// runner calls it from its own task only.
@_spi(Benchmarks) public protocol BenchContender: AnyObject {
    /// Short and stable, for JSON and file names: `guildstore`, `sqlite_seed`, `sqlite_covering`.
    var key: String { get }
    /// What the report prints: `GuildStore`, `SQLite (seed indexes)`, ...
    var name: String { get }

    /// Readies `workload` (prepares statements, builds keys, makes the files a write workload
    /// starts from) so that each run of the result only binds inputs and executes;
    /// `BenchError.unsupportedWorkload` when it cannot.
    func prepare(_ workload: Workload) async throws -> PreparedWorkload
}

/// One workload readied on one contender. `execute` is what the clock measures: it runs the
/// workload once and hands back the answer still in the contender's own form (typed records,
/// SQLite values), turned canonical only when the runner compares it, outside the timing.
///
/// A workload that needs a fresh start for each run (an empty database to load, a copy of a
/// file whose log the run replays) makes it in `setUp`, which runs before each `execute`,
/// untimed; `tearDown` runs after each one (and after its answer was read), untimed, also
/// when the run failed.
@_spi(Benchmarks) public struct PreparedWorkload {
    @_spi(Benchmarks) public let setUp: (() async throws -> Void)?
    @_spi(Benchmarks) public let execute: () async throws -> DeferredAnswer
    @_spi(Benchmarks) public let tearDown: (() async throws -> Void)?
    /// What the contender found while preparing that the report should show (how many WAL
    /// frames a thousand commits left, ...).
    package let note: String?

    @_spi(Benchmarks) public init(setUp: (() async throws -> Void)? = nil, tearDown: (() async throws -> Void)? = nil, note: String? = nil,
                execute: @escaping () async throws -> DeferredAnswer) {
        self.setUp = setUp
        self.execute = execute
        self.tearDown = tearDown
        self.note = note
    }

    /// One run: `setUp`, then `execute` on the clock, then (when `answer` is true) the answer
    /// made canonical, then `tearDown`. Returns the milliseconds `execute` took.
    @_spi(Benchmarks) public func run(answer: Bool) async throws -> (milliseconds: Double, rows: [CanonicalRow]?) {
        if let setUp { try await setUp() }
        do {
            let start = ContinuousClock.now
            let deferred = try await execute()
            let elapsed = seconds(since: start) * 1_000
            let rows = answer ? try deferred.rows() : nil
            if let tearDown { try await tearDown() }
            return (elapsed, rows)
        } catch {
            if let tearDown { try? await tearDown() }
            throw error
        }
    }
}

/// An answer not yet made canonical: `rows()` converts it.
@_spi(Benchmarks) public struct DeferredAnswer {
    package let rows: () throws -> [CanonicalRow]

    @_spi(Benchmarks) public init(rows: @escaping () throws -> [CanonicalRow]) {
        self.rows = rows
    }

    /// An answer that is canonical already.
    package static func canonical(_ rows: [CanonicalRow]) -> DeferredAnswer {
        DeferredAnswer { rows }
    }
}
