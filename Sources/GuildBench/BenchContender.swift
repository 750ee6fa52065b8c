/// A database the benchmark runs every workload on: GuildStore through its public API, SQLite
/// with seed 004's indexes, SQLite with the covering indexes, or a test's stand-in.
///
/// A contender belongs to one task at a time (SQLite connections are not `Sendable`); the
/// runner calls it from its own task only.
public protocol BenchContender: AnyObject {
    /// Short and stable, for JSON and file names: `guildstore`, `sqlite_seed`, `sqlite_covering`.
    var key: String { get }
    /// What the report prints: `GuildStore`, `SQLite (seed indexes)`, ...
    var name: String { get }

    /// Readies `workload` (prepares statements, builds keys) so that each run of the result
    /// only binds inputs and executes; `BenchError.unsupportedWorkload` when it cannot.
    func prepare(_ workload: Workload) throws -> PreparedWorkload
}

/// One workload readied on one contender. `execute` is what the clock measures: it runs the
/// workload once and hands back the answer still in the contender's own form (typed records,
/// SQLite values), turned canonical only when the runner compares it, outside the timing.
public struct PreparedWorkload {
    public let execute: () async throws -> DeferredAnswer

    public init(execute: @escaping () async throws -> DeferredAnswer) {
        self.execute = execute
    }
}

/// An answer not yet made canonical: `rows()` converts it.
public struct DeferredAnswer {
    public let rows: () throws -> [CanonicalRow]

    public init(rows: @escaping () throws -> [CanonicalRow]) {
        self.rows = rows
    }

    /// An answer that is canonical already.
    public static func canonical(_ rows: [CanonicalRow]) -> DeferredAnswer {
        DeferredAnswer { rows }
    }
}
