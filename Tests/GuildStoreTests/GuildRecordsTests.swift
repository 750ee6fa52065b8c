import Testing
import TestSupport
import GuildStoreEngine
@testable import GuildStore

/// The typed records: each lists its columns once (`columns`, run with a
/// `RecordColumnVisitor`), and both `values` and `init(row:)` come from that list.
@Suite("Guild records")
struct GuildRecordsTests {
    static let t: Int64 = 1_700_000_000

    /// One record of every type, every optional property set, and one with the optionals nil.
    static let guild = Guild(id: 1, name: "Mocha", icon: "a1", ownerID: 7, memberCount: 2, isActive: false, createdAt: t, updatedAt: t + 1)
    static let owner = User(id: 7, username: "owner", discriminator: "0001", globalName: "Owner", avatar: "b2", bot: true,
                            createdAt: t, updatedAt: t + 2)
    static let channel = Channel(id: 20, guildID: 1, name: "general", type: 2, parentID: 19, position: 3, createdAt: t, updatedAt: t + 3)
    static let category = Channel(id: 19, guildID: 1, name: nil, type: 4, createdAt: t, updatedAt: t)
    static let member = Member(guildID: 1, userID: 7, nickname: "o", roles: #"["owner"]"#, joinedAt: t - 10, premiumSince: t - 5,
                               createdAt: t, updatedAt: t + 4)
    static let message = MessageEvent(id: 100, guildID: 1, channelID: 20, userID: 7, messageType: 19, hasAttachment: true,
                                      hasEmbed: true, characterCount: 42, wordCount: 8, createdAt: t + 60)
    static let voice = VoiceEvent(id: 101, guildID: 1, channelID: 20, userID: 7, eventType: "leave", sessionStart: t, sessionEnd: t + 60,
                                  duration: 60_000, muted: true, deafened: true, createdAt: t + 60)
    static let disconnect = VoiceEvent(id: 102, guildID: 1, channelID: nil, userID: 7, eventType: "leave", createdAt: t + 61)
    static let memberEvent = MemberEvent(id: 103, guildID: 1, userID: 7, eventType: "join", memberCount: 2, createdAt: t)
    static let presence = PresenceEvent(id: 104, guildID: 1, userID: 7, status: "online", activityType: 0, activityName: "chess",
                                        createdAt: t)
    static let unknownPresence = PresenceEvent(id: 105, guildID: 1, userID: 7, status: nil, createdAt: t)
    static let reminder = ReminderEvent(id: 200, messageID: 100, channelID: 20, guildID: 1, title: "raid", description: "at 8",
                                        intervalMinutes: 30, isPaused: true, lastReminder: t, requiredReactions: #"["✅"]"#,
                                        createdAt: t, updatedAt: t + 5)
    static let reaction = Reaction(id: 300, eventID: 200, userID: 7, emoji: "✅", reactedAt: t + 1, createdAt: t, updatedAt: t + 6)
    static let log = ReminderLog(id: 400, eventID: 200, scheduledAt: t, sentAt: t + 2, usersNotified: 3, status: "failed",
                                 errorMessage: "rate limited", createdAt: t, updatedAt: t + 7)

    /// The column names a record's list visits, in order.
    struct ColumnNames: RecordColumnVisitor {
        var names: [String] = []
        mutating func uint(_ column: String, _ property: inout UInt64) { names.append(column) }
        mutating func optionalUInt(_ column: String, _ property: inout UInt64?) { names.append(column) }
        mutating func int(_ column: String, _ property: inout Int64) { names.append(column) }
        mutating func optionalInt(_ column: String, _ property: inout Int64?) { names.append(column) }
        mutating func bool(_ column: String, _ property: inout Bool) { names.append(column) }
        mutating func text(_ column: String, _ property: inout String) { names.append(column) }
        mutating func optionalText(_ column: String, _ property: inout String?) { names.append(column) }
        mutating func json(_ column: String, _ property: inout String) { names.append(column) }
        mutating func timestamp(_ column: String, _ property: inout Int64) { names.append(column) }
        mutating func optionalTimestamp(_ column: String, _ property: inout Int64?) { names.append(column) }
        mutating func defaultedTimestamp(_ column: String, _ property: inout Int64?) { names.append(column) }

        static func of<R: TableRecord>(_ record: R, _ columns: (inout ColumnNames, inout R) -> Void) -> [String] {
            var visitor = ColumnNames()
            var record = record
            columns(&visitor, &record)
            return visitor.names
        }
    }

    @Test("every record lists each column of its table once, in the table's order, and nothing else")
    func columnListsMatchTheTables() {
        let lists: [(listed: [String], table: TableSchema)] = [
            (ColumnNames.of(Self.guild, Guild.columns), Guild.schema), (ColumnNames.of(Self.owner, User.columns), User.schema),
            (ColumnNames.of(Self.channel, Channel.columns), Channel.schema), (ColumnNames.of(Self.member, Member.columns), Member.schema),
            (ColumnNames.of(Self.message, MessageEvent.columns), MessageEvent.schema),
            (ColumnNames.of(Self.voice, VoiceEvent.columns), VoiceEvent.schema),
            (ColumnNames.of(Self.memberEvent, MemberEvent.columns), MemberEvent.schema),
            (ColumnNames.of(Self.presence, PresenceEvent.columns), PresenceEvent.schema),
            (ColumnNames.of(Self.reminder, ReminderEvent.columns), ReminderEvent.schema),
            (ColumnNames.of(Self.reaction, Reaction.columns), Reaction.schema), (ColumnNames.of(Self.log, ReminderLog.columns), ReminderLog.schema),
        ]
        for (listed, table) in lists { #expect(listed == table.columns.map(\.name), "\(table.name)") }
    }

    @Test("every record, optionals set and nil, reads back equal to what was inserted")
    func roundTrip() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        try await store.database.write { tx in
            try tx.insert(Self.guild)
            try tx.insert(Self.owner)
            for record in [Self.category, Self.channel] { try tx.insert(record) }
            try tx.insert(Self.member)
            try tx.insert(Self.message)
            for record in [Self.voice, Self.disconnect] { try tx.insert(record) }
            try tx.insert(Self.memberEvent)
            for record in [Self.presence, Self.unknownPresence] { try tx.insert(record) }
            try tx.insert(Self.reminder)
            try tx.insert(Self.reaction)
            try tx.insert(Self.log)
        }
        try await store.database.read { tx throws in
            #expect(try tx.get(Guild.self, key: Self.guild.primaryKey) == Self.guild)
            #expect(try tx.get(User.self, key: Self.owner.primaryKey) == Self.owner)
            #expect(try tx.get(Channel.self, key: Self.channel.primaryKey) == Self.channel)
            #expect(try tx.get(Channel.self, key: Self.category.primaryKey) == Self.category)
            #expect(try tx.get(Member.self, key: Self.member.primaryKey) == Self.member)
            #expect(try tx.get(MessageEvent.self, key: Self.message.primaryKey) == Self.message)
            #expect(try tx.get(VoiceEvent.self, key: Self.voice.primaryKey) == Self.voice)
            #expect(try tx.get(VoiceEvent.self, key: Self.disconnect.primaryKey) == Self.disconnect)
            #expect(try tx.get(MemberEvent.self, key: Self.memberEvent.primaryKey) == Self.memberEvent)
            #expect(try tx.get(PresenceEvent.self, key: Self.presence.primaryKey) == Self.presence)
            #expect(try tx.get(PresenceEvent.self, key: Self.unknownPresence.primaryKey) == Self.unknownPresence)
            #expect(try tx.get(ReminderEvent.self, key: Self.reminder.primaryKey) == Self.reminder)
            #expect(try tx.get(Reaction.self, key: Self.reaction.primaryKey) == Self.reaction)
            #expect(try tx.get(ReminderLog.self, key: Self.log.primaryKey) == Self.log)
        }
        try await store.close()
    }

    @Test("a nil created_at / updated_at is left out of values: the insert takes now, an update keeps created_at")
    func defaultedTimestamps() async throws {
        let fresh = Guild(id: 2, name: "new")
        #expect(fresh.values["created_at"] == nil && fresh.values["updated_at"] == nil)
        #expect(fresh.values["member_count"] == .int(0) && fresh.values["icon"] == .null)
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let stored = try await store.database.write { tx in
            try tx.insert(fresh)
            return try #require(try tx.get(Guild.self, key: fresh.primaryKey))
        }
        let createdAt = try #require(stored.createdAt)
        #expect(stored.updatedAt != nil && createdAt > Self.t)
        var renamed = fresh
        renamed.name = "renamed"
        let updated = try await store.database.write { tx throws in
            #expect(try tx.update(renamed))
            return try #require(try tx.get(Guild.self, key: fresh.primaryKey))
        }
        #expect(updated.name == "renamed" && updated.createdAt == createdAt)
        try await store.close()
    }

    @Test("a row that does not fit the record is a typed error naming the column: another type, NULL, a missing column")
    func mismatches() async throws {
        let store = try await GuildDatabase.open(DatabaseConfiguration(.temporary))
        let rows = try await store.database.write { tx in
            // message_events' columns, with character_count as text and guild_id nullable.
            let columns = GuildTables.messageEvents.columns.map { column in
                switch column.name {
                case "character_count": ColumnDefinition(column.name, .text)
                case "guild_id": ColumnDefinition(column.name, .uint, nullable: true)
                default: column
                }
            }
            try tx.createTable(TableSchema("odd_events", columns: columns, primaryKey: ["id"]))
            let row: [String: Value] = ["id": .uint(1), "guild_id": .uint(1), "channel_id": .uint(2), "user_id": .uint(3),
                                        "character_count": "many", "created_at": .timestamp(Self.t)]
            try tx.insert(row, into: "odd_events")
            var null = row
            null["id"] = .uint(2)
            null["guild_id"] = .null
            null["character_count"] = .text("0")
            try tx.insert(null, into: "odd_events")
            return try tx.rows("odd_events")
        }
        #expect(throws: GuildStoreError.columnTypeMismatch(table: "odd_events", column: "character_count", expected: "int", found: "text")) {
            _ = try MessageEvent(row: rows[0])
        }
        #expect(throws: GuildStoreError.columnTypeMismatch(table: "odd_events", column: "guild_id", expected: "uint", found: "null")) {
            _ = try MessageEvent(row: rows[1])
        }
        let member = try await store.database.write { tx in
            try tx.insert(Self.guild)
            try tx.insert(Self.owner)
            try tx.insert(Self.member)
            return try tx.rows("members")[0]
        }
        #expect(throws: GuildStoreError.unknownColumn(table: "members", column: "id")) { _ = try MessageEvent(row: member) }
        try await store.close()
    }
}
