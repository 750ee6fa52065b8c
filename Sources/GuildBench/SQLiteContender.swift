import GuildSQLite

/// SQLite through its C API (`SQLiteConnection`): each workload's statements are prepared
/// once, and each run binds its inputs, steps through every row and reads every column, as
/// an application reading the result would.
///
/// The connection gets seed 004's pragmas (`SQLitePragmas.seed`); the file is in WAL mode
/// already (`SQLiteTwin`).
public final class SQLiteContender: BenchContender {
    public let key: String
    public let name: String
    public let path: String
    let connection: SQLiteConnection

    /// Opens `path` (which must exist) and applies `pragmas`.
    public init(key: String, name: String, path: String, pragmas: [String] = SQLitePragmas.seed) throws {
        self.key = key
        self.name = name
        self.path = path
        connection = try SQLiteConnection(path: path, mode: .readWrite)
        for pragma in pragmas { try connection.execute(pragma) }
    }

    public func prepare(_ workload: Workload) throws -> PreparedWorkload {
        let kinds = workload.columnKinds
        switch workload.task {
        case .pattern(let pattern, let inputs):
            let statement = try connection.prepare(pattern.sql)
            let parameters = try pattern.sqliteParameters(inputs)
            return PreparedWorkload {
                try statement.bind(parameters)
                var rows: [[SQLiteValue]] = []
                while try statement.step() { rows.append(statement.row()) }
                statement.reset()
                return DeferredAnswer { try rows.map { try CanonicalRow(sqlite: $0, kinds: kinds) } }
            }
        case .pointLookup(let lookup):
            let statement = try connection.prepare(PointLookup.sql)
            let connection = self.connection
            let ids = lookup.messageIDs.map { SQLiteValue.integer(Int64(bitPattern: $0)) }
            return PreparedWorkload {
                // One read transaction for the batch, as GuildStore reads it from one snapshot.
                let rows = try connection.transaction {
                    var rows: [[SQLiteValue]] = []
                    rows.reserveCapacity(ids.count)
                    for id in ids {
                        try statement.bind(id, at: 1)
                        while try statement.step() { rows.append(statement.row()) }
                        statement.reset()
                    }
                    return rows
                }
                return DeferredAnswer { try rows.map { try CanonicalRow(sqlite: $0, kinds: kinds) } }
            }
        case .retention(let cutoff):
            let connection = self.connection
            let tables = ["message_events", "voice_events", "member_events", "presence_events"]
            let deletes = try tables.map { try connection.prepare("DELETE FROM \($0) WHERE created_at < ?") }
            return PreparedWorkload {
                let counts = try connection.transaction(.immediate) {
                    try deletes.map { delete -> Int in
                        try delete.run([.integer(cutoff)])
                        return connection.changes
                    }
                }
                return .canonical(zip(tables, counts).map { CanonicalRow([.text($0), .integer(Int64($1))]) })
            }
        case .durableCommits(let plan):
            let connection = self.connection
            let insert = try connection.prepare("""
                INSERT INTO message_events (id, guild_id, channel_id, user_id, character_count, created_at)
                VALUES (?, ?, ?, ?, 42, ?)
                """)
            let find = try connection.prepare("SELECT COUNT(*) FROM message_events WHERE id >= ? AND id < ?")
            func id(_ value: UInt64) -> SQLiteValue { .integer(Int64(bitPattern: value)) }
            var run = 0
            return PreparedWorkload {
                let ids = plan.ids(run: run)
                run += 1
                for value in ids {
                    // Autocommit: each INSERT is its own transaction, synced at its commit (FULL).
                    try insert.run([id(value), id(plan.guild), id(plan.channel), id(plan.user), .integer(plan.createdAt)])
                }
                try find.bind([id(ids.lowerBound), id(ids.upperBound)])
                let found = try find.step() ? find.column(0) : .null
                find.reset()
                return DeferredAnswer { [try CanonicalRow(sqlite: [found], kinds: kinds)] }
            }
        }
    }
}

/// The pragmas every SQLite contender's connection runs.
public enum SQLitePragmas {
    /// Seed 004's settings (journal_mode is the file's, set once by `SQLiteTwin`).
    public static let seed = [
        "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = 10000", "PRAGMA temp_store = MEMORY",
        "PRAGMA mmap_size = 268435456", "PRAGMA foreign_keys = ON",
    ]

    /// The seed's settings but every commit synced (`synchronous = FULL`), for the write
    /// workloads on scratch copies; GuildStore's copy opens with `.full` to match.
    public static let durable = seed.map { $0 == "PRAGMA synchronous = NORMAL" ? "PRAGMA synchronous = FULL" : $0 }
}
