import GuildStoreEngine

/// What one ingest line records: the value of its `"event"` key, and the table it writes.
///
/// Invariants:
/// - (IN-2) Each kind writes exactly one table of `GuildTables`, and no two kinds write the same one.
/// - (IN-3) The four entity kinds (`guild`, `user`, `channel`, `member`) are upserts
///   (`ConflictPolicy.replace`, so a later line updates the row and `updated_at` moves); every
///   other kind is an insert that fails on a duplicate primary key (`.fail`), so replaying an
///   event twice is a `GuildStoreError.uniqueViolation`, never a silent double count.
@_spi(Benchmarks) public enum IngestKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case guild
    case user
    case channel
    case member
    case message
    case voice
    case memberEvent = "member_event"
    case presence
    case reminderEvent = "reminder_event"
    case reaction
    case reminderLog = "reminder_log"

    /// The table this kind writes (IN-2).
    package var table: TableSchema {
        switch self {
        case .guild: GuildTables.guilds
        case .user: GuildTables.users
        case .channel: GuildTables.channels
        case .member: GuildTables.members
        case .message: GuildTables.messageEvents
        case .voice: GuildTables.voiceEvents
        case .memberEvent: GuildTables.memberEvents
        case .presence: GuildTables.presenceEvents
        case .reminderEvent: GuildTables.reminderEvents
        case .reaction: GuildTables.reactions
        case .reminderLog: GuildTables.reminderLogs
        }
    }

    /// True for the entity kinds, which upsert (IN-3).
    package var isUpsert: Bool {
        switch self {
        case .guild, .user, .channel, .member: true
        default: false
        }
    }

    /// True for the four gateway event tables of seed 004 (messages, voice, member, presence).
    package var isGatewayEvent: Bool {
        switch self {
        case .message, .voice, .memberEvent, .presence: true
        default: false
        }
    }

    /// How `IngestRecord.apply(to:)` treats an existing primary key (IN-3).
    package var conflictPolicy: ConflictPolicy { isUpsert ? .replace : .fail }

    /// Columns a line must give: NOT NULL without a default.
    package var requiredColumns: [String] {
        table.columns.filter { !$0.nullable && $0.defaultValue == nil }.map(\.name)
    }

    @_spi(Benchmarks) public var description: String { rawValue }
}
