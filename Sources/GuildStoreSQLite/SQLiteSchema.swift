import GuildStore
import GuildStoreEngine

/// How the export types id columns in the SQLite file.
///
/// ```swift
/// try await SQLiteExport.export(from: store.database, to: "exports/stats.db")             // .text, like Mocha
/// try await SQLiteExport.export(from: store.database, to: "check.db", ids: .integer)      // numeric ids
/// ```
public enum IDAffinity: Sendable, Hashable {
    /// Seed 004's own: `text` ids holding decimal strings (`'1234567890123456789'`). Ordered
    /// as text by SQLite.
    case text
    /// `integer` ids, so SQLite orders and compares them numerically (the query patterns'
    /// SQL, run against the export, then answers as GuildStore does). Every id must be below
    /// 2^63. The members table's `"guild_id:user_id"` key stays text.
    case integer
}

/// The SQLite side of the guild schema: seed 004's tables exactly as Drizzle Kit creates them
/// from Mocha's `schema.ts` (column order, types, `DEFAULT`s, `NOT NULL`, index names), our
/// extra columns appended to them, and our extra tables (seed 003's reminders, seed 001's
/// rollups) in the same style.
///
/// Invariants:
/// - (SQS-1) Every column of every `GuildTables` table has a column of the same name in the file
///   the export writes, so import ∘ export loses nothing.
/// - (SQS-2) Seed 004's columns come first, in the seed's order, with the seed's declarations:
///   a Mocha that opens the export sees its own schema (plus columns it ignores).
/// - (SQS-3) The only column of the file that is not one of ours is `members.id`, the text
///   `"guild_id:user_id"` (see `SQLiteTable.memberKeyColumn`).
///
/// Seed 004's `schema.ts` declares no foreign keys (its "Relationships" section shows
/// PostgreSQL `ALTER TABLE ... ADD CONSTRAINT`, which SQLite has no form of), so the file has
/// none either; the import checks parents itself through the store's foreign keys. Besides
/// the indexes `schema.ts` declares, the seed's prose lists indexes on `guilds.created_at`,
/// `users.bot` and `channels.type`; the export creates them under `GuildTables`' names.
///
/// `@_spi(Benchmarks)`: the Benchmarks package's Tables suite creates seed 004's
/// `message_events` from here on both engines (`createStatements`, `fileSchema`).
@_spi(Benchmarks)
public struct SQLiteTable: Sendable {
    /// A column of seed 004 as Drizzle Kit declares it.
    struct SeedColumn: Sendable {
        var name: String
        /// nil: an id column, typed by the export's `IDAffinity`.
        var type: String?
        /// What follows the type: `PRIMARY KEY NOT NULL`, `DEFAULT 0`, `NOT NULL`, ...
        var constraints: String

        static func id(_ name: String, _ constraints: String = "") -> SeedColumn { SeedColumn(name: name, type: nil, constraints: constraints) }
        static func text(_ name: String, _ constraints: String = "") -> SeedColumn { SeedColumn(name: name, type: "text", constraints: constraints) }
        static func integer(_ name: String, _ constraints: String = "") -> SeedColumn { SeedColumn(name: name, type: "integer", constraints: constraints) }
    }

    /// Our table.
    let schema: TableSchema
    /// Seed 004's columns, in its order; nil for a table seed 004 does not have.
    let seedColumns: [SeedColumn]?
    /// Seed 004's indexes: name and columns (ours for the extra tables).
    let indexes: [(name: String, columns: [String])]

    var name: String { schema.name }

    /// The column of the file that is not ours: the members' text key (SQS-3).
    static let memberKeyColumn = "id"
    var hasMemberKey: Bool { name == GuildTables.members.name }

    /// Our columns seed 004 does not have, appended after its own (SQS-2).
    var extraColumns: [ColumnDefinition] {
        guard let seedColumns else { return schema.columns }
        let seedNames = Set(seedColumns.map(\.name))
        return schema.columns.filter { !seedNames.contains($0.name) }
    }

    /// The file's columns in order: the seed's, then our extras (SQS-1, SQS-2).
    var fileColumns: [String] {
        (seedColumns?.map(\.name) ?? []) + extraColumns.map(\.name)
    }

    /// `CREATE TABLE` and `CREATE INDEX` statements, Drizzle Kit style.
    public func createStatements(ids: IDAffinity) -> [String] {
        let idType = ids == .integer ? "integer" : "text"
        var definitions: [String] = []
        for column in seedColumns ?? [] {
            let type = column.type ?? idType
            definitions.append("`\(column.name)` \(type)" + (column.constraints.isEmpty ? "" : " " + column.constraints))
        }
        let singleKey = schema.primaryKey.count == 1 ? schema.primaryKey[0] : nil
        for column in extraColumns {
            definitions.append(Self.declaration(column, idType: idType, primaryKey: column.name == singleKey))
        }
        if seedColumns == nil, singleKey == nil {
            definitions.append("PRIMARY KEY(" + schema.primaryKey.map { "`\($0)`" }.joined(separator: ", ") + ")")
        }
        var statements = ["CREATE TABLE `\(name)` (\n\t" + definitions.joined(separator: ",\n\t") + "\n);"]
        for index in indexes {
            statements.append("CREATE \(isUnique(index.name) ? "UNIQUE " : "")INDEX `\(index.name)` ON `\(name)` ("
                              + index.columns.map { "`\($0)`" }.joined(separator: ",") + ");")
        }
        return statements
    }

    /// One of our columns as Drizzle Kit would declare it.
    static func declaration(_ column: ColumnDefinition, idType: String, primaryKey: Bool) -> String {
        let type: String
        switch column.type {
        case .uint: type = idType
        case .int, .bool, .timestamp: type = "integer"
        case .double: type = "real"
        case .text, .json: type = "text"
        case .bytes: type = "blob"
        }
        var text = "`\(column.name)` \(type)"
        if primaryKey { text += " PRIMARY KEY" }
        if case .value(let value) = column.defaultValue, let literal = literal(value) { text += " DEFAULT \(literal)" }
        if primaryKey || !column.nullable { text += " NOT NULL" }
        return text
    }

    /// A default as an SQL literal (Drizzle writes booleans as `true` / `false`).
    static func literal(_ value: Value) -> String? {
        switch value {
        case .null: "NULL"
        case .int(let v), .timestamp(let v): "\(v)"
        case .uint(let v): "\(v)"
        case .bool(let v): v ? "true" : "false"
        case .double(let v): "\(v)"
        case .text(let s), .json(let s): "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
        case .bytes: nil
        }
    }

    /// The table for GuildStore as the file declares it: our columns and primary key (the
    /// members' text key aside, Q3), the file's indexes by name, columns and uniqueness
    /// (seed 004's; ours, without predicates or covering columns, for the tables seed 004
    /// lacks) and no foreign keys (the file has none). For `message_events` that is seed 004's
    /// declaration exactly: a comparison of the two engines on the seed's own table creates it
    /// from this and from `createStatements`.
    public var fileSchema: TableSchema {
        TableSchema(name, columns: schema.columns, primaryKey: schema.primaryKey, indexes: indexes.map { index in
            IndexDefinition(index.name, on: index.columns, unique: isUnique(index.name))
        })
    }

    /// Whether our index of that name is unique (the file's index of the name is, too).
    private func isUnique(_ index: String) -> Bool {
        schema.indexes.first { $0.name == index }?.unique == true
    }

    // MARK: The tables

    /// Every table, parents before children (`GuildTables.all`'s order).
    static let all: [SQLiteTable] = GuildTables.all.map(SQLiteTable.init)

    private static let createdAt = SeedColumn.integer("created_at", "NOT NULL")
    private static let updatedAt = SeedColumn.integer("updated_at", "NOT NULL")

    /// Seed 004's `schema.ts`, table by table, as Drizzle Kit emits it.
    private static let seed004: [String: (columns: [SeedColumn], indexes: [(name: String, columns: [String])])] = [
        "guilds": ([.id("id", "PRIMARY KEY NOT NULL"), .text("name"), .text("icon"), .integer("member_count"), createdAt, updatedAt],
                   [("idx_guilds_created_at", ["created_at"])]),
        "users": ([.id("id", "PRIMARY KEY NOT NULL"), .text("username"), .text("discriminator"), .text("avatar"),
                   .integer("bot", "DEFAULT false"), createdAt, updatedAt],
                  [("idx_users_bot", ["bot"])]),
        "channels": ([.id("id", "PRIMARY KEY NOT NULL"), .id("guild_id", "NOT NULL"), .text("name"), .integer("type", "NOT NULL"),
                      .id("parent_id"), .integer("position"), createdAt, updatedAt],
                     [("idx_channels_guild_id", ["guild_id"]), ("idx_channels_type", ["type"])]),
        "members": ([.text("id", "PRIMARY KEY NOT NULL"), .id("guild_id", "NOT NULL"), .id("user_id", "NOT NULL"), .text("nickname"),
                     .integer("joined_at"), .integer("premium_since"), createdAt, updatedAt],
                    [("idx_members_guild_id", ["guild_id"]), ("idx_members_user_id", ["user_id"]),
                     ("idx_members_joined_at", ["joined_at"])]),
        "message_events": ([.id("id", "PRIMARY KEY NOT NULL"), .id("guild_id", "NOT NULL"), .id("channel_id", "NOT NULL"),
                            .id("user_id", "NOT NULL"), .integer("message_type", "DEFAULT 0"), .integer("has_attachment", "DEFAULT false"),
                            .integer("has_embed", "DEFAULT false"), .integer("character_count", "DEFAULT 0"),
                            .integer("word_count", "DEFAULT 0"), createdAt],
                           [("idx_message_events_guild_time", ["guild_id", "created_at"]),
                            ("idx_message_events_user_time", ["user_id", "created_at"]),
                            ("idx_message_events_channel_time", ["channel_id", "created_at"]),
                            ("idx_message_events_guild_user", ["guild_id", "user_id"])]),
        "voice_events": ([.id("id", "PRIMARY KEY NOT NULL"), .id("guild_id", "NOT NULL"), .id("channel_id"), .id("user_id", "NOT NULL"),
                          .text("event_type", "NOT NULL"), .integer("session_start"), .integer("session_end"),
                          .integer("duration", "DEFAULT 0"), .integer("muted", "DEFAULT false"), .integer("deafened", "DEFAULT false"),
                          createdAt],
                         [("idx_voice_events_guild_time", ["guild_id", "created_at"]),
                          ("idx_voice_events_user_time", ["user_id", "created_at"]),
                          ("idx_voice_events_channel_time", ["channel_id", "created_at"]),
                          ("idx_voice_events_session", ["session_start", "session_end"])]),
        "member_events": ([.id("id", "PRIMARY KEY NOT NULL"), .id("guild_id", "NOT NULL"), .id("user_id", "NOT NULL"),
                           .text("event_type", "NOT NULL"), .integer("member_count"), createdAt],
                          [("idx_member_events_guild_time", ["guild_id", "created_at"]),
                           ("idx_member_events_type_time", ["event_type", "created_at"])]),
        "presence_events": ([.id("id", "PRIMARY KEY NOT NULL"), .id("guild_id", "NOT NULL"), .id("user_id", "NOT NULL"), .text("status"),
                             .integer("activity_type"), .text("activity_name"), createdAt],
                            [("idx_presence_events_guild_time", ["guild_id", "created_at"]),
                             ("idx_presence_events_user_time", ["user_id", "created_at"]),
                             ("idx_presence_events_status", ["status"])]),
    ]
}

extension SQLiteTable {
    /// The SQLite side of `schema`, one of `GuildTables`' tables: seed 004's declaration of
    /// it where the seed has the table, else ours.
    public init(_ schema: TableSchema) {
        if let seed = Self.seed004[schema.name] {
            self.init(schema: schema, seedColumns: seed.columns, indexes: seed.indexes)
        } else {
            self.init(schema: schema, seedColumns: nil, indexes: schema.indexes.map { ($0.name, $0.columns) })
        }
    }
}
